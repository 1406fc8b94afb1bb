"""Text normalization and the watchlist, shared by the classifier and the detectors. Pure: no Kafka, no Faust.

Character folding (``Normalizer.fold``), in this order:

* Unicode NFKC (full-width letters, ligatures, Arabic presentation forms -> base letters);
* Arabic -> Persian letters: ي ى -> ی, ك -> ک, ة ۀ -> ه, أ إ ٱ -> ا (and ؤ -> و); آ is kept;
* Arabic diacritics (harakat, tanwin, shadda, sukun, superscript alef, Quranic marks) and tatweel dropped;
* ZWNJ is *removed* everywhere (one consistent rule): ``احمدی‌نژاد`` and ``احمدینژاد`` are the same token,
  ``می‌خواهیم`` becomes ``میخواهیم``; the ezafe ``ه‌ی`` at a word's end becomes ``ه`` (like ``ۀ``). Other
  invisible characters (ZWJ, zero-width space, BOM, soft hyphen, bidi marks) are removed too;
* Persian and Arabic-Indic digits -> ASCII digits; Arabic comma, semicolon, question mark, decimal and
  thousands separators -> their ASCII counterparts;
* case folding (``str.casefold``);
* combining marks on Latin letters dropped (NFD, then category Mn): ``démocracy``, ``mousaví`` and
  ``d̲emocracy`` (a combining underline) read as the plain words; marks on other scripts stay.

Tokens (``Normalizer.analyze``): URLs (``http://``, ``www.``, ``host.tld/path``) and e-mail addresses are
dropped, ``@mentions`` are dropped, hashtags are kept as ``#tag``. Apostrophes inside a word are removed
(``can't`` -> ``cant``, ``ta'id`` -> ``taid``) and a trailing possessive ``'s`` is cut. Other punctuation
inside a word (``. - * _ · |``) splits it, unless joining it gives a watchlist spelling (``de.mocracy``,
``موس.وی``): that is an evasion, unless the punctuated spelling is itself listed (``ahmadi-nejad``).

Evasion folding:

* *leet*: only for Latin tokens mixing letters with ``0 1 3 4 5 7 8 @ $``. The folded spelling is used when
  it is a watchlist spelling (``d3mocracy``, ``m0usav1``), or when every digit is inside the word (first and
  last characters are letters: ``pr0xy`` -> ``proxy``). Digits at an edge are ordinary: ``10pm``, ``4iran``,
  ``gr88``, ``iran88``, ``24khordad`` stay as they are, and numbers (``100``, ``2009``) are never touched.
* *homoglyphs*: look-alikes of Latin letters in other scripts (Cyrillic, Greek, Armenian, ...; the table
  is derived from the Unicode confusables data, :mod:`pipeline.classify.homoglyphs`) are mapped to Latin
  only inside tokens that also contain Latin letters and whose every letter of another script is a
  look-alike (``dеmocracy`` with a Cyrillic ``е``, ``demօcracy`` with an Armenian ``օ``); a word written
  wholly in Cyrillic stays as it is (unless, folded, it spells a watchlist term exactly). The Arabic
  script is never mapped: Persian letters keep their meaning.
* *inserted separators*: punctuation inside a word (above), a space inside a watchlist word
  (``de mocracy``, ``موس وی``) or single letters spaced out (``d e m o c r a c y``) are joined when that
  spells a watchlist term.

A watchlist key reached through any of these, and not also spelled plainly in the same post, is listed in
``Analysis.evasions``.

Also here: ``detect_lang`` (``fa`` / ``fa-Latn`` / ``en`` / a script's ISO code / ``und``) and
``fold_finglish``, the spelling fold the classifier uses to compare Finglish words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson

from pipeline.classify.homoglyphs import homoglyph_table

DEFAULT_WATCHLIST_PATH = Path(__file__).resolve().parents[1] / "data" / "watchlist.json"
MAX_TERMS = 32
_MEMO_LIMIT = 200_000
_KEY_RE = re.compile(r"^[a-z0-9_]+$")


class WatchlistError(ValueError):
    """A watchlist that cannot be used; the message names the file when there is one."""


# ---------------------------------------------------------------------------------------------------
# Character folding.


def _char_table() -> dict[int, str | None]:
    table: dict[int, str | None] = {
        0x064A: "ی",  # ARABIC LETTER YEH
        0x0649: "ی",  # ARABIC LETTER ALEF MAKSURA
        0x0643: "ک",  # ARABIC LETTER KAF
        0x0629: "ه",  # TEH MARBUTA
        0x06C0: "ه",  # HEH WITH YEH ABOVE
        0x06D5: "ه",  # AE
        0x06C1: "ه",  # HEH GOAL
        0x0623: "ا",  # ALEF WITH HAMZA ABOVE
        0x0625: "ا",  # ALEF WITH HAMZA BELOW
        0x0671: "ا",  # ALEF WASLA
        0x0624: "و",  # WAW WITH HAMZA ABOVE
        0x066B: ".",  # ARABIC DECIMAL SEPARATOR
        0x066C: ",",  # ARABIC THOUSANDS SEPARATOR
        0x066A: "%",  # ARABIC PERCENT SIGN
        0x060C: ",",  # ARABIC COMMA
        0x061B: ";",  # ARABIC SEMICOLON
        0x061F: "?",  # ARABIC QUESTION MARK
        0x00AB: '"',  # «
        0x00BB: '"',  # »
    }
    for digit in range(10):
        table[0x0660 + digit] = str(digit)  # Arabic-Indic
        table[0x06F0 + digit] = str(digit)  # Extended Arabic-Indic (Persian)
    dropped = [
        *range(0x0610, 0x061B),  # Arabic honorific signs
        *range(0x064B, 0x0660),  # harakat, tanwin, shadda, sukun, hamza above/below, ...
        0x0670,  # superscript alef
        *range(0x06D6, 0x06DD),  # Quranic annotation signs
        *range(0x06DF, 0x06E9),
        *range(0x06EA, 0x06EE),
        0x0640,  # tatweel
        0x200C,  # ZWNJ: removed (the one rule for it)
        0x200B,  # zero-width space
        0x200D,  # ZWJ
        0x2060,  # word joiner
        0xFEFF,  # BOM / zero-width no-break space
        0x00AD,  # soft hyphen
        0x200E,  # LRM
        0x200F,  # RLM
        0x061C,  # Arabic letter mark
        *range(0x202A, 0x202F),  # bidi embeddings and overrides
        *range(0x2066, 0x206A),  # bidi isolates
    ]
    for code in dropped:
        table[code] = None
    return table


_CHAR_TABLE = _char_table()


_EZAFE = re.compile("\u0647\u200c[\u06cc\u064a](?![\u0600-\u06ff])")  # ه‌ی (ezafe after heh) -> ه, like ۀ


# Latin letters beyond ASCII and the combining-mark blocks: only a text with one of them can carry a mark
# on a Latin letter, so Persian and ASCII texts skip the decomposition.
_LATIN_MARK_CANDIDATE = re.compile(
    "[\u00c0-\u024f\u1e00-\u1eff\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)


def _drop_latin_marks(text: str) -> str:
    """Combining marks (category Mn) on Latin characters dropped, after NFD: ``démocracy`` and
    ``d̲emocracy`` become ``democracy``. Marks on any other script stay (Persian ``آ`` keeps its madda)."""
    decomposed = unicodedata.normalize("NFD", text)
    kept = []
    on_latin = False
    category = unicodedata.category
    for char in decomposed:
        if category(char) == "Mn":
            if on_latin:
                continue
        else:
            on_latin = char < "\u0250" or "\u1e00" <= char <= "\u1eff"
        kept.append(char)
    return unicodedata.normalize("NFC", "".join(kept))


def fold_text(text: str) -> str:
    """Character folding only: NFKC, Persian letters, no diacritics/tatweel/ZWNJ, ASCII digits, casefold,
    no combining marks on Latin letters."""
    if text.isascii():
        return text.lower()
    text = unicodedata.normalize("NFKC", text)
    if "\u200c" in text:
        text = _EZAFE.sub("\u0647", text)
    text = text.translate(_CHAR_TABLE).casefold()
    if _LATIN_MARK_CANDIDATE.search(text):
        text = _drop_latin_marks(text)  # after casefold, which can add one (İ -> i̇)
    return text


_FL_DOUBLE = re.compile(r"([a-z])\1+")
_FL_SPELLINGS = (("q", "gh"), ("x", "kh"), ("w", "v"), ("oo", "u"), ("ou", "u"), ("ee", "i"), ("aa", "a"))


def fold_finglish(word: str) -> str:
    """One spelling for the many ways Persian is written in Latin letters (for matching, not display).

    ``q`` -> ``gh``, ``x`` -> ``kh``, ``w`` -> ``v``, ``oo``/``ou`` -> ``u``, ``ee`` -> ``i``,
    ``aa`` -> ``a``, doubled letters single, a final ``eh`` -> ``e``: ``khoon``/``khun``,
    ``dastgeer``/``dastgir``, ``qat``/``ghat``, ``tajammo``/``tajamo`` fold alike. Non-ASCII words are
    returned as they are.
    """
    if not word.isascii():
        return word
    for old, new in _FL_SPELLINGS:
        if old in word:
            word = word.replace(old, new)
    word = _FL_DOUBLE.sub(r"\1", word)
    if word.endswith("eh") and len(word) > 3:
        word = word[:-1]
    return word


# ---------------------------------------------------------------------------------------------------
# Evasion folding tables.

_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "@": "a", "$": "s"}
)
_LEET_ALT = str.maketrans({"1": "l"})
_LEET_CHARS = frozenset("0134578@$")
_HOMOGLYPHS = homoglyph_table()  # from the Unicode confusables data (pipeline/classify/homoglyphs.py)
_HOMOGLYPH_TABLE = str.maketrans(_HOMOGLYPHS)
_HOMOGLYPH_CHARS = frozenset(_HOMOGLYPHS)
_ASCII_LETTERS = frozenset("abcdefghijklmnopqrstuvwxyz")

# Punctuation that may sit inside a word; apostrophes are folded away, the rest split (or evade).
_APOSTROPHES = "'’`ʼ‘"
_INNER = ".-‐'’`ʼ‘*·•|_"
_INNER_SET = frozenset(_INNER)
_NO_APOSTROPHES = str.maketrans("", "", _APOSTROPHES)
_NO_INNER = str.maketrans("", "", _INNER)
_SPLIT_INNER = re.compile(r"[.\-‐*·•|_]+")
_SPLIT_TAG = re.compile(r"[.\-‐*·•|]+")  # hashtags keep their underscores (#sea_of_green)

# A pseudonymized mention (feed/pseudonyms.py) is one token, dropped like any @mention.
_TOKEN = re.compile(r"@p:[0-9a-f]{16}|[#@]?\w+(?:[.\-‐'’`ʼ‘*·•|@$]+\w+)*")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b(?:[a-z0-9-]+\.)+[a-z]{2,6}/\S*")


def _words(text: str) -> list[str]:
    return text.split()


def _is_latin_char(char: str) -> bool:
    return char < "\u0250"


def _only_latin_letters(word: str) -> bool:
    return all(char < "\u0250" or "\u1e00" <= char <= "\u1eff" or not char.isalpha() for char in word)


# ---------------------------------------------------------------------------------------------------
# Stopwords (English, Persian, Finglish) and language cues.

_EN_STOP = frozenset(
    _words(
        """a an the and or but if then than so of to in on at by for with from into onto about as is are
    was were be been being am do does did doing done have has had having i me my mine myself we us our
    ours you your yours he him his she her hers it its itself they them their theirs this that these those
    there here what which who whom whose when where why how all any both each few more most other some such no
    nor not only own same too very can will just should would could may might must shall now also up down out
    over under again further once off via thru rt im ive id dont cant wont isnt arent wasnt werent didnt
    doesnt havent hasnt couldnt wouldnt shouldnt thats theres whats lets youre theyre were weve theyve
    get got gets one two s t d ll re ve m amp http https www com org net html htm ok oh yes yeah lol
    says said say like still even ever every much many well back way since until while because after
    before during through between against among per around within without upon"""
    )
)
_FA_STOP = frozenset(
    fold_text(word)
    for word in _words(
        """و در به از که این آن را با برای تا هم یا اما ولی است هست هستند نیست بود بودند شد شده شدند
    می نمی ها های یک چند خود ما من تو او شما آنها ایشان اینجا آنجا همه هیچ چه چرا کجا کی اگر پس نیز بر
    روی زیر پیش بعد قبل دیگر دیگه خیلی فقط هنوز باید شود کرد کنند کند کردند دارد دارند رو هر ای اینکه
    چون وی آنان ایم اید اند ام ات اش مان تان شان نه آره بله یه اون این‌ها اینها آن‌ها دیگری چی"""
    )
)
_FL_STOP = frozenset(
    _words(
        """va o ke dar be az ba ro ra in oon un ta ham ya vali amma ast hast hastan hastand nist bood shod
    shode shodan mi nemi man to oo ma shoma oona una hame hamash hich che chi chera koja ki age pas bar
    roo ye yek chand khod khodam khodesh dige digar kheili khaili faghat hanooz bayad too hey ha haye
    mikone mikonan mishe dare daran darim kard kardan ke"""
    )
)
STOPWORDS: frozenset[str] = _EN_STOP | _FA_STOP | _FL_STOP

# Finglish cue words (Persian written in Latin letters) and their weight for language detection. Words that
# are also common English words (to, in, man, bad, are, do, raft, ...) are left out or weigh half.
_FL_CUES: dict[str, float] = dict.fromkeys(
    _words(
        """va ke dar az ba ro ra hast hastam hasti hastan hastim hastid hastand nist nistam nisti nistim
    nistid nistan nistand bood boodam boodim boodan shod shodam shodim shodan shode shodeh shodand mishe
    nemishe mishan kard kardam kardim kardan kardid kardand konid konim konan nakon nakonid bokon bokonid
    mikonam mikoni mikone mikonim mikonid mikonan mikonand nemikone nemikonan nemikonam daran dare darim darid
    daram nadaran nadare nadarim nadaram mizanan mizane mizanand zadan zadand zad zadam bayad nabayad kheili
    khaili khyli khili emshab emrooz emruz farda dirooz diruz dishab saat mardom mardome mardomo khiaban
    khiyaban kheyaboon kheyaboone khiaboon khiaboone koocheh kooche koocheha meydoon marg hame hameye hamash
    hamin hamun hamoon haminja oon una oona ina ino uno inja oonja unja ja chand chanta nafar koo kojast koja
    kojaye chera chetor chejoori chie chiye kie kiye baraye baray bara vase vaase vasat yek dige digeh digar
    hanooz hanuz dobare faghat hamishe hargez lotfan movazeb bashid bashim bashe basham berid berim beram
    biayid biaid biain biya biyaid mikhaym mikhaim mikhan mikham mikhay mikhad nemikham nemikhad nemigozarim
    mibine mibinim mibinam bebin bebinid tanha donya raye entekhabat taghalob dastgir bazdasht zakhmi zakhmiha
    bimarestan pezeshk pezeshki jam shoar tajamo rahpeymayi jamiat ashkavar sedaye sedaie tarafdaraye
    tarafdaran tarafdarane daneshjoo daneshjooha daneshgah khabar khabari akhbar hich hichi hichkas kasi
    nemidoonam midoonam midoone midoonim mige migan migim migid begid begoo bego goft goftam goftan gofte
    ast shahr shahre keshvar kharej mobareze hambastegi dolati jaali doroogh dorooghe mahz pakhsh manba shayee
    taid nashode natije rasmi darsad khastare ebtal piroozi shoraye negahban ghabool dozdidan bargh raft
    khabam nemibare mikhoonam khoondam maman baba madar pedar baradar khahar zang khatta kar emtehan jadid
    ghat ghate parazit mahvare mahvareha nazarid kalamati kalame mesle toosh filtershekan hamle hamleye
    dargiri cheshmam cheshme khodam khodet khodesh khodemoon shoma ishoon didam didim didan bordan
    bordanshoon migiran gereftan gereftam begirid dadam dadan bedid bedin esm minevisan fori foran lazem
    zaroori komak darim khoon parastar parvazaye khoone khune sob zohr asr shab rooz hafte pesar amoomo
    dokhtar bache bacheha nazdikane roznamenegara lebas shakhsiha doorbin tahason rayemoon sohbat bishtare
    bishtar kamtar ziad ziade sabz siah meshki bepooshid panjshanbe jome shanbe yekshanbe doshanbe seshanbe
    chaharshanbe sokoot allaho eteraz tazahorat azadi meydan meydane kooye mamoora mamooran mamoor farar
    tamoom beshe zede shooresh nazdike zanha chomagh zanjir mardome bidefa alayhe khoshoonat naarami nadaran
    iraniaye merci mersi mamnoon mamnun agha khanom salam khodahafez khoda doost doostam doostan rafigh
    mellat mobarak harf harfesho bavaram bavar nemisham misham fekr motmaen vaghean vaghan aslan hatman
    shayad mitoonim mitoonid mitoonan nemitoonim chon choon vaghti inke akhe areh kheyr behtar
    badtar khoob khub aziz azizam oomad oomadan umad miad miyad miam neveshtam benevisid aksa aks goshi
    gooshi shologh khalvat zood zoodtar yavash tond ghalat dorost haghighat mitarsan divoone rikhtan
    shekastan avordan"""
    ),
    1.0,
)
_FL_CUES.update(
    dict.fromkeys(_words("ya ha haye too bar akbar allah in to man ma ta na bad do sad raft"), 0.5)
)
_FL_CUES.update(dict.fromkeys(_words("bash key bale azadi meydan"), 0.5))
_FL_MORPH = re.compile(
    r"^(?:mi|nemi)[a-z]{2,}(?:am|im|id|an|and|ad|e|eh|i)$"
    r"|^[a-z]{3,}(?:ha|haye|hamoon|hashoon)$"
    r"|^(?:be|bo|na)[a-z]{3,}(?:id|im|and)$"
    r"|^[a-z]{3,}(?:eshoon|emoon|etoon|esho|amo|aro)$"
)
_EN_FUNCTION = frozenset(
    _words(
        """the and is are was were of for with this that have has had not you your we they my our it its at by
    from will just all can what who there been an a i he she his her their as if or but so do does did no
    would could should about into than then them these those which when where how why more some any now
    today tonight people here very after before again being because only also over out up get got need
    please im dont cant its thats everyone everybody someone anyone nothing something right left just like
    know think want going come coming go gone see saw seen look looks make made take took give gave tell told
    say says said still even never always every much many most good great big huge small new old last first
    next day days night time times week year police street streets square crowd crowds city world news
    report reports friend friends family home house way back down off around across near front"""
    )
)
# English word endings (half weight): marching, arrested, demonstration, quickly, statement, ...
_EN_MORPH = re.compile(r"^[a-z]{3,}(?:ing|ed|tion|tions|ness|ment|ments|ly|ers|ies)$")

_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\u08A0-\u08FF\uFB50-\uFDFF\uFE70-\uFEFF]")
_PERSIAN_ONLY = re.compile("[\u067e\u0686\u0698\u06af\u06a9\u06cc]")  # پ چ ژ گ ک ی
_URDU_ONLY = re.compile("[\u06d2\u0679\u0688\u0691\u06ba]")  # ے ٹ ڈ ڑ ں
_KURDISH_ONLY = re.compile("[\u06ce\u06c6\u06b5\u0695\u06d5]")  # ێ ۆ ڵ ڕ ە
_ARABIC_FUNCTION = frozenset(_words("في على إلى الى التي الذي هذا هذه كان كانت مع قد لقد أن إن"))
_SCRIPTS: tuple[tuple[int, int, str], ...] = (
    (0x0370, 0x03FF, "el"),
    (0x0400, 0x052F, "ru"),
    (0x0530, 0x058F, "hy"),
    (0x0590, 0x05FF, "he"),
    (0x0900, 0x097F, "hi"),
    (0x0E00, 0x0E7F, "th"),
    (0x10A0, 0x10FF, "ka"),
    (0x1100, 0x11FF, "ko"),
    (0x3040, 0x30FF, "ja"),
    (0x4E00, 0x9FFF, "zh"),
    (0xAC00, 0xD7AF, "ko"),
)


def _script_lang(char: str) -> str | None:
    code = ord(char)
    for lo, hi, lang in _SCRIPTS:
        if lo <= code <= hi:
            return lang
    return None


def detect_lang(tokens: Sequence[str], text: str | None = None) -> str:
    """``fa`` for mostly Arabic-script text (``ar``/``ur``/``ckb`` when their own letters show), ``fa-Latn``
    for Latin text with enough Finglish cues and few English function words, ``en`` for other Latin text,
    an ISO 639-1 code by script otherwise (``ru`` for Cyrillic, ``zh``, ``ja``, ...), ``und`` when unknown.

    ``tokens`` are ``Analysis.tokens``; ``text`` (the raw post) lets Arabic be told from Persian.
    """
    arabic = latin = 0
    others: dict[str, int] = {}
    finglish = english = 0.0
    fl_cues = _FL_CUES
    seen: set[str] = set()
    for token in tokens:
        first = token[0]
        if first == "#" or token.isdigit():
            continue
        if "\u0600" <= first <= "\u06ff" or "\u0750" <= first <= "\u08ff":
            arabic += len(token)
        elif _is_latin_char(first):
            latin += len(token)
            if token in seen:  # each distinct word is evidence once
                continue
            seen.add(token)
            weight = fl_cues.get(token)
            if token in _EN_FUNCTION:
                english += 1.0
            elif weight is None and len(token) > 4 and _EN_MORPH.match(token):
                english += 0.5
            if weight is not None:
                finglish += weight
            elif len(token) > 4 and _FL_MORPH.match(token):
                finglish += 0.5
        else:
            lang = _script_lang(first)
            if lang is not None:
                others[lang] = others.get(lang, 0) + len(token)
    best_other = max(others.items(), key=lambda item: item[1]) if others else ("und", 0)
    if arabic and arabic >= latin and arabic >= best_other[1]:
        if text is not None and not _PERSIAN_ONLY.search(text):
            if _URDU_ONLY.search(text):
                return "ur"
            if _KURDISH_ONLY.search(text):
                return "ckb"
            if "\u0629" in text or sum(word in _ARABIC_FUNCTION for word in text.split()) >= 2:
                return "ar"
        return "fa"
    if latin and latin >= best_other[1]:
        if finglish >= 1.5 and finglish >= 1.5 * english:
            return "fa-Latn"
        return "en"
    if best_other[1]:
        if best_other[0] == "zh" and "ja" in others:
            return "ja"
        return best_other[0]
    return "und"


# ---------------------------------------------------------------------------------------------------
# The watchlist.


@dataclass(frozen=True)
class Watchlist:
    """Concepts to watch: canonical key -> spellings (any script). The key itself always matches.

    A spelling ending in ``*`` matches any word starting with it; a spelling with spaces matches
    consecutive words; a spelling with ``-``/``.`` is an ordinary (listed) spelling, not an evasion.
    """

    concepts: Mapping[str, tuple[str, ...]]

    def __post_init__(self) -> None:
        if not isinstance(self.concepts, Mapping) or not self.concepts:
            raise WatchlistError("the watchlist must map at least one concept key to its spellings")
        frozen: dict[str, tuple[str, ...]] = {}
        for key, variants in self.concepts.items():
            if not isinstance(key, str) or not _KEY_RE.match(key):
                raise WatchlistError(f"concept key {key!r} must be lower-case ASCII letters, digits or '_'")
            if isinstance(variants, str) or not isinstance(variants, Iterable):
                raise WatchlistError(f"concept {key!r}: spellings must be a list of strings")
            spellings = tuple(variants)
            if not spellings:
                raise WatchlistError(f"concept {key!r} has no spellings")
            for spelling in spellings:
                if not isinstance(spelling, str):
                    raise WatchlistError(f"concept {key!r}: spelling {spelling!r} is not a string")
                core = _fold_variant(spelling).rstrip("*").replace(" ", "")
                if len(core) < 2 or ("*" in core):
                    raise WatchlistError(
                        f"concept {key!r}: spelling {spelling!r} is too short or has '*' inside "
                        "(at least 2 letters; '*' only at the end)"
                    )
            frozen[key] = spellings
        object.__setattr__(self, "concepts", MappingProxyType(frozen))

    def __hash__(self) -> int:
        return hash(tuple(self.concepts.items()))

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.concepts)

    @classmethod
    def from_mapping(cls, data: Any) -> Watchlist:
        """``{"concepts": {key: [spellings]}}`` or ``{key: [spellings]}``; keys starting '_' are skipped."""
        if not isinstance(data, Mapping):
            raise WatchlistError(f"expected a JSON object, got {type(data).__name__}")
        concepts = data.get("concepts", data)
        if not isinstance(concepts, Mapping):
            raise WatchlistError("'concepts' must be an object mapping keys to lists of spellings")
        return cls({key: value for key, value in concepts.items() if not str(key).startswith("_")})

    @classmethod
    def load(cls, path: Path | str | None = None) -> Watchlist:
        """Read a watchlist JSON file (default ``pipeline/data/watchlist.json``)."""
        source = Path(path) if path is not None else DEFAULT_WATCHLIST_PATH
        try:
            raw = source.read_bytes()
        except OSError as exc:
            raise WatchlistError(f"watchlist {source}: cannot read it ({exc.strerror or exc})") from None
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise WatchlistError(f"watchlist {source}: not valid UTF-8 JSON ({exc})") from None
        try:
            return cls.from_mapping(data)
        except WatchlistError as exc:
            raise WatchlistError(f"watchlist {source}: {exc}") from None


def _fold_variant(spelling: str) -> str:
    folded = fold_text(spelling.strip()).translate(_NO_APOSTROPHES)
    return " ".join(folded.split())


# ---------------------------------------------------------------------------------------------------
# Analysis.


@dataclass(frozen=True, slots=True)
class Analysis:
    tokens: tuple[str, ...]  # normalized word tokens (hashtags as '#tag'; no URLs / @mentions)
    terms: tuple[str, ...]  # unique, first-seen order: watchlist keys, hashtags, content words (<= MAX_TERMS)
    watch: tuple[str, ...]  # watchlist keys present
    evasions: tuple[str, ...]  # watchlist keys reached only through evasion folding


# A piece: (token, watchlist key or None, reached through evasion?, terms it contributes)
_Piece = tuple[str, str | None, bool, tuple[str, ...]]
_EMPTY: tuple[_Piece, ...] = ()


class _Matcher:
    """Watchlist spellings compiled for token lookups."""

    def __init__(self, watchlist: Watchlist) -> None:
        self.exact: dict[str, str] = {}
        self.prefixes: dict[str, list[tuple[str, str]]] = {}  # first two letters -> [(stem, key)]
        self.listed_punct: dict[str, str] = {}  # punctuated spellings listed as such (no '*')
        self.listed_punct_prefix: list[tuple[str, str]] = []
        self.phrases: dict[str, list[tuple[tuple[str, ...], str]]] = {}  # first word -> [(rest, key)]
        for key, spellings in watchlist.concepts.items():
            for spelling in (key, *spellings):
                folded = _fold_variant(spelling)
                prefix = folded.endswith("*")
                core = folded.rstrip("*")
                if " " in core:
                    words = core.split(" ")
                    rest = (*words[1:-1], (words[-1] + "*") if prefix else words[-1])
                    self.phrases.setdefault(words[0], []).append((rest, key))
                    core = core.replace(" ", "")
                if any(char in _INNER_SET for char in core):
                    if prefix:
                        self.listed_punct_prefix.append((core, key))
                    else:
                        self.listed_punct[core] = key
                    core = core.translate(_NO_INNER)
                if prefix:
                    self.prefixes.setdefault(core[:2], []).append((core, key))
                else:
                    self.exact.setdefault(core, key)
        for stems in self.prefixes.values():
            stems.sort(key=lambda item: -len(item[0]))
        # Words that may start a multi-word match: phrase starts and proper prefixes of spellings.
        starts = set(self.phrases)
        for word in self.exact:
            starts.update(word[:cut] for cut in range(2, len(word)))
        for stems in self.prefixes.values():
            for stem, _ in stems:
                starts.update(stem[:cut] for cut in range(2, len(stem)))
        self.starts = frozenset(starts)

    def match(self, word: str) -> str | None:
        key = self.exact.get(word)
        if key is not None:
            return key
        stems = self.prefixes.get(word[:2])
        if stems:
            for stem, key in stems:
                if word.startswith(stem):
                    return key
        return None

    def match_part(self, word: str, part: str) -> bool:
        return word.startswith(part[:-1]) if part.endswith("*") else word == part

    def listed(self, raw: str) -> str | None:
        key = self.listed_punct.get(raw)
        if key is not None:
            return key
        for stem, key in self.listed_punct_prefix:
            if raw.startswith(stem):
                return key
        return None


def _is_content(token: str) -> bool:
    if not token or token in STOPWORDS or token.isdigit():
        return False
    return len(token) >= (3 if _is_latin_char(token[0]) else 2)


class Normalizer:
    """Folds text and finds the watchlist concepts in it. Everything is compiled in ``__init__``."""

    def __init__(self, watchlist: Watchlist | None = None) -> None:
        self.watchlist = watchlist if watchlist is not None else Watchlist.load()
        self._matcher = _Matcher(self.watchlist)
        self._memo: dict[str, tuple[_Piece, ...]] = {}

    # -- public -----------------------------------------------------------------------------------
    fold = staticmethod(fold_text)

    def normalize(self, text: str) -> str:
        """The folded text: normalized tokens joined by single spaces (no URLs or @mentions)."""
        return " ".join(self.analyze(text).tokens)

    def lang(self, text: str) -> str:
        """The detected language of ``text`` (see :func:`detect_lang`)."""
        return detect_lang(self.analyze(text).tokens, text)

    def analyze(self, text: str) -> Analysis:
        """Tokens, terms, watchlist keys and evasions of one post."""
        return self.analyze_canonical(text)[0]

    def analyze_canonical(self, text: str) -> tuple[Analysis, tuple[str, ...]]:
        """``analyze`` plus the tokens with every watchlist word replaced by its key (for the classifier)."""
        folded = fold_text(text)
        if "/" in folded and "." in folded:
            folded = _URL.sub(" ", folded)
        memo = self._memo
        pieces: list[_Piece] = []
        for raw in _TOKEN.findall(folded):
            info = memo.get(raw)
            if info is None:
                info = self._process(raw)
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[raw] = info
            pieces += info
        starts = self._matcher.starts
        for index in range(len(pieces) - 1):
            piece = pieces[index]
            if piece is not None and piece[1] is None and (piece[0] in starts or len(piece[0]) == 1):
                self._join(pieces, index)
        return self._finish(pieces)

    # -- internals --------------------------------------------------------------------------------
    def _finish(self, pieces: list[_Piece | None]) -> tuple[Analysis, tuple[str, ...]]:
        tokens = []
        canonical = []
        seen: dict[str, bool] = {}  # term -> priority (watch key or hashtag)
        plain: set[str] = set()
        evaded: dict[str, None] = {}
        watch: dict[str, None] = {}
        for piece in pieces:
            if piece is None:
                continue
            token, key, evasive, terms = piece
            tokens.append(token)
            canonical.append(token if key is None or token[0] == "#" else key)
            if key is not None:
                watch[key] = None
                if evasive:
                    evaded[key] = None
                else:
                    plain.add(key)
            for term in terms:
                if term not in seen:
                    seen[term] = term == key or term[0] == "#"
        if len(seen) > MAX_TERMS:
            room = MAX_TERMS - sum(seen.values())
            kept = []
            for term, priority in seen.items():
                if priority:
                    kept.append(term)
                elif room > 0:
                    kept.append(term)
                    room -= 1
            terms_out = tuple(kept[:MAX_TERMS])
        else:
            terms_out = tuple(seen)
        analysis = Analysis(
            tokens=tuple(tokens),
            terms=terms_out,
            watch=tuple(watch),
            evasions=tuple(key for key in evaded if key not in plain),
        )
        return analysis, tuple(canonical)

    def _join(self, pieces: list[_Piece | None], index: int) -> None:
        """Multi-word matches starting at ``index``: listed phrases, split words, spaced-out letters."""
        matcher = self._matcher
        first = pieces[index]
        assert first is not None
        word = first[0]
        for rest, key in matcher.phrases.get(word, ()):
            end = index + 1 + len(rest)
            if end > len(pieces):
                continue
            following = pieces[index + 1 : end]
            if all(
                piece is not None and piece[0][0] != "#" and matcher.match_part(piece[0], part)
                for piece, part in zip(following, rest, strict=True)
            ):
                joined = word + "".join(piece[0] for piece in following if piece is not None)
                pieces[index] = (joined, key, False, (key,))
                pieces[index + 1 : end] = [None] * len(rest)
                return
        nxt = pieces[index + 1]
        if nxt is None or nxt[1] is not None or nxt[0][0] == "#":
            return
        if len(word) >= 2:
            joined = word + nxt[0]
            key = matcher.match(joined)
            if key is not None:
                pieces[index] = (joined, key, True, (key,))
                pieces[index + 1] = None
            return
        if not ("a" <= word <= "z") or len(nxt[0]) != 1:
            return
        end = index
        while end < len(pieces):
            piece = pieces[end]
            if piece is None or len(piece[0]) != 1 or not ("a" <= piece[0] <= "z"):
                break
            end += 1
        if end - index >= 3:
            joined = "".join(piece[0] for piece in pieces[index:end] if piece is not None)
            key = matcher.match(joined)
            if key is not None:
                pieces[index] = (joined, key, True, (key,))
                pieces[index + 1 : end] = [None] * (end - index - 1)

    def _process(self, raw: str) -> tuple[_Piece, ...]:
        first = raw[0]
        if first == "@":
            return _EMPTY
        if first == "#":
            return self._hashtag(raw[1:])
        if "@" in raw and "." in raw[raw.index("@") :]:
            return _EMPTY  # an e-mail address
        if raw[-2:] in ("'s", "’s") and len(raw) > 3:
            raw = raw[:-2]
        word = raw.translate(_NO_APOSTROPHES) if any(char in _APOSTROPHES for char in raw) else raw
        if not any(char in _INNER_SET for char in word):
            return (self._word(word),)
        # Punctuation inside the word: a listed spelling, an evasion of a watchlist term, or separate words.
        matcher = self._matcher
        key = matcher.listed(word)
        joined = word.translate(_NO_INNER)
        if not joined:
            return _EMPTY  # punctuation only ("_", "*-*"): no word in it
        if key is not None:
            return ((joined, key, False, (key,)),)
        token, key, _, terms = self._word(joined)
        if key is not None:
            return ((token, key, True, terms),)
        return tuple(self._word(part) for part in _SPLIT_INNER.split(word) if part)

    def _hashtag(self, body: str) -> tuple[_Piece, ...]:
        body = body.translate(_NO_APOSTROPHES)
        if not any(char.isalnum() for char in body):
            return _EMPTY  # "#_", "#__": no tag in it
        parts = (
            [part for part in _SPLIT_TAG.split(body) if part]
            if any(c in _INNER_SET for c in body)
            else [body]
        )
        if not parts:
            return _EMPTY
        tag_body = parts[0]
        if _ASCII_LETTERS.intersection(tag_body) and _HOMOGLYPH_CHARS.intersection(tag_body):
            tag_body = tag_body.translate(_HOMOGLYPH_TABLE)
        tag = "#" + tag_body
        _, key, evasive, _ = self._word(parts[0])
        if key is None:
            stripped = tag_body.rstrip("0123456789_")
            if len(stripped) >= 2 and stripped != tag_body:
                key = self._matcher.match(stripped)
                evasive = False
        piece = (tag, key, evasive, (key, tag) if key is not None else (tag,))
        return (piece, *(self._word(part) for part in parts[1:]))

    def _word(self, word: str) -> _Piece:
        """One word without inner punctuation: plain watchlist match, else leet / homoglyph folding."""
        matcher = self._matcher
        key = matcher.match(word)
        if key is not None:
            return (word, key, False, (key,))
        token = word
        has_ascii = not _ASCII_LETTERS.isdisjoint(word)
        if not _HOMOGLYPH_CHARS.isdisjoint(word):
            folded = word.translate(_HOMOGLYPH_TABLE)
            if _only_latin_letters(folded):  # every letter of another script was a look-alike
                key = matcher.match(folded)
                if key is not None:
                    return (folded, key, True, (key,))
                if has_ascii:
                    token = folded
        if has_ascii and not _LEET_CHARS.isdisjoint(token):
            folded = token.translate(_LEET)
            key = matcher.match(folded)
            if key is None and "1" in token:
                folded_alt = token.translate(_LEET_ALT).translate(_LEET)
                key = matcher.match(folded_alt)
                if key is not None:
                    folded = folded_alt
            if key is not None:
                return (folded, key, True, (key,))
            if token[0].isalpha() and token[-1].isalpha() and token.isascii() and folded.isalpha():
                token = folded
        return (token, None, False, (token,) if _is_content(token) else ())


__all__ = [
    "DEFAULT_WATCHLIST_PATH",
    "MAX_TERMS",
    "STOPWORDS",
    "Analysis",
    "Normalizer",
    "Watchlist",
    "WatchlistError",
    "detect_lang",
    "fold_finglish",
    "fold_text",
]
