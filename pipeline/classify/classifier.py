"""A fast multilingual rule classifier: categories, TREC-IS priority, stance and language. Pure.

The cues live in :mod:`pipeline.classify.lexicon` (English, Persian, Finglish). Each cue found in a post
adds its weight to its *channel* (a category, or a signal used for priority, stance and context); a category
fires when its channel reaches 1. Everything is compiled in ``Classifier.__init__``, and each distinct token
is looked up once (memoized), so a post costs the normalizer's regex pass, one dictionary lookup per token
and a few comparisons. In Finglish posts, tokens and cues are compared after a Finglish spelling fold
(``khoon``/``khun``, ``dastgeer``/``dastgir``, ``qat``/``ghat``; see ``fold_finglish``).

Rules on top of the channel totals (they follow ``pipeline/data/DEVSET.md``):

* a rally whose place is abroad (a foreign city, an embassy, the diaspora) is ``solidarity``, not
  ``protest``; ``other`` only when nothing else fired;
* priority (TREC-IS): ``critical`` when someone needs care now (medical with an urgency cue) or lethal
  force is reported first-hand (shot, bleeding, trapped); ``high`` for safety warnings and steps (delete
  your photos, honeypot proxy, do not come), first-hand violence and arrests happening now; ``low`` for
  diaspora solidarity, opinion and chatter, pro-government comment and ``other``; ``medium`` otherwise
  (announcements, wire reports, counts, results, censorship reports, proxy sharing);
* stance: ``mousavi`` for the opposition's slogans, first-hand reports and calls, warnings to protesters
  and diaspora support; ``ahmadinejad`` for the government line (congratulations, "rioters", "the police
  showed restraint"); ``none`` for wire reports, relayed statements, technical help and chatter.

A learned model (:mod:`pipeline.classify.model`, trained on public human-labelled crisis posts; see
``pipeline/data/REALDATA.md``) then adjusts three categories for posts that are not Persian or Finglish
(:func:`combine`): it adds ``solidarity``, ``medical`` or ``violence`` when it is confident, it removes a
lexicon ``violence`` from a post it reads as sympathy (prayers and mourning for victims are ``solidarity``),
and it removes the lexicon's ``solidarity`` and ``medical`` from a post it reads as unrelated (its ``other``
head). It never removes the lexicon's ``violence`` that way: the public sets label relatedness to one
natural disaster, so a shooting reported during a flood is "not related" there and the head learned force
words as a sign of unrelatedness ("Gunman opens fire at airport terminal, TSA officer shot dead" scored
0.53 unrelated), while in our taxonomy a post that states force is ``violence`` whatever the event.
The lexicon stays in charge of Persian and Finglish and of every other category. ``Classifier(model=None)``
is the lexicon alone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache

from feed.taxonomy import CATEGORIES
from pipeline.classify.lexicon import LEXICON, SIGNALS
from pipeline.classify.model import MODEL_PATH, Model
from pipeline.classify.normalize import Analysis, Normalizer, detect_lang, fold_finglish, fold_text

PRIORITIES = ("critical", "high", "medium", "low")
STANCES = ("mousavi", "ahmadinejad", "none")
CHANNELS: tuple[str, ...] = (*CATEGORIES[:-1], *SIGNALS)
_THRESHOLD = 0.999
_GAP = 4  # "a ~ b": b within this many tokens after a
_CONTEXT_CAP = 0.25  # the most that cues lighter than 0.5 (times, places) add to a channel together
_MEMO_LIMIT = 200_000

_C = {name: index for index, name in enumerate(CHANNELS)}
_PROTEST, _VIOLENCE, _ARREST, _MEDICAL = _C["protest"], _C["violence"], _C["arrest"], _C["medical"]
_CIRCUMVENTION, _SOLIDARITY = _C["circumvention"], _C["solidarity"]
_URGENT, _LETHAL, _SAFETY, _NOW = _C["urgent"], _C["lethal"], _C["safety"], _C["now"]
_REPORT, _ABROAD, _OFFICIAL, _CHATTER = _C["report"], _C["abroad"], _C["official"], _C["chatter"]
_PRO_M, _PRO_A = _C["pro_mousavi"], _C["pro_ahmadinejad"]
_N_CATEGORIES = len(CATEGORIES) - 1
_EVENTS = frozenset({_PROTEST, _VIOLENCE, _ARREST})
_LOW_WITH_SOLIDARITY = frozenset({_PROTEST, _CIRCUMVENTION, _SOLIDARITY})
_LEXICON_ONLY_LANGS = frozenset({"fa", "fa-Latn"})  # the model never sees these scripts
_SHIPPED = object()  # Classifier(model=...) default: the shipped model with the shipped lexicon


@lru_cache(maxsize=1)
def shipped_model() -> Model:
    """The committed model artifact (``pipeline/data/model.json``), loaded once per process."""
    return Model.load(MODEL_PATH)


# The lexicon categories the other head can drop: not violence (see the module docstring).
_OVERRIDDEN = frozenset({"solidarity", "medical"})


def combine(
    lexical: set[str], p: tuple[float, float, float, float], t: Mapping[str, float]
) -> tuple[str, ...]:
    """The categories of a post from the lexicon's (``lexical``, without ``other``) and the model's
    probabilities ``p`` (violence, solidarity, medical, other) under thresholds ``t``:

    * when the model reads the post as unrelated (``p[3] >= t["other"]``), the lexicon's ``solidarity``
      and ``medical`` are dropped (its ``violence`` and its categories no public set labels, such as
      ``protest`` or ``censorship``, stay);
    * the model adds a category it is confident of (``t[category]``; ``t["solidarity_extra"]`` to add
      solidarity to a post the lexicon already labelled);
    * a lexicon ``violence`` is dropped when the model reads the post as sympathy (solidarity over its
      threshold) and gives violence less than ``t["veto"]``;
    * a post left with no category is ``solidarity`` rather than unrelated when the model finds sympathy
      at least ``t["solidarity_ratio"]`` times as likely as unrelatedness (the two labels such a post can
      have; in a language the model hardly knows both probabilities are low, and their ratio still tells)."""
    violence, solidarity, medical, other = p
    found = set(lexical)
    if other >= t["other"]:
        found -= _OVERRIDDEN
    sympathy = solidarity >= (t["solidarity_extra"] if found else t["solidarity"])
    if sympathy:
        found.add("solidarity")
    if medical >= t["medical"]:
        found.add("medical")
    if "violence" in found:
        if sympathy and violence < t["veto"]:
            found.discard("violence")
    elif violence >= t["violence"]:
        found.add("violence")
    if not found and solidarity >= t["solidarity_ratio"] * other:
        found.add("solidarity")
    return tuple(name for name in CATEGORIES if name in found) or ("other",)


@dataclass(frozen=True, slots=True)
class Classification:
    categories: tuple[str, ...]  # in taxonomy order; ('other',) when nothing applies
    priority: str  # critical | high | medium | low
    lang: str  # en | fa | fa-Latn | other ISO code | und
    stance: str  # mousavi | ahmadinejad | none
    terms: tuple[str, ...]  # the normalized terms the detectors count
    evasions: tuple[str, ...] = ()  # watchlist keys reached only through evasion spellings


class LexiconError(ValueError):
    """A malformed cue in the lexicon."""


def _split_cues(block: str) -> list[str]:
    cues = []
    for line in block.splitlines():
        line = line.strip()
        if not line or line.startswith("# "):
            continue
        cues.extend(cue.strip() for cue in line.split("|") if cue.strip())
    return cues


# A token's entry: (single-word cue ids, phrase element ids it satisfies, whether it may start a phrase)
_Info = tuple[tuple[int, ...], frozenset[int], bool]
_Rest = tuple[tuple[int, int], ...]  # a phrase's remaining (element id, gap) pairs


def _match(infos: list[_Info | None], position: int, rest: _Rest, count: int) -> tuple[int, ...] | None:
    """The positions of the elements of ``rest`` matched after ``position``, or None."""
    matched = []
    for needed, gap in rest:
        limit = position + 2 + gap
        if limit > count:
            limit = count
        position += 1
        while position < limit:
            other = infos[position]
            if other is not None and needed in other[1]:
                break
            position += 1
        else:
            return None
        matched.append(position)
    return tuple(matched)


class _Index:
    """Cue lookup tables for one spelling of the lexicon (as written, or Finglish-folded)."""

    def __init__(self, fold: Callable[[str], str] | None, rank: Callable[[int], tuple[float, bool]]) -> None:
        self.fold = fold
        self.rank = rank
        self.single_exact: dict[str, list[int]] = {}
        self.single_prefix: dict[str, list[int]] = {}
        self.max_stem = 0
        self.elem_exact: dict[str, int] = {}
        self.elem_prefix: dict[str, int] = {}
        self.max_elem_prefix = 0  # the longest prefix element: a huge token is not sliced all the way
        self.elements = 0
        # Phrases by their first two elements when adjacent, else by the first (a "~" follows it).
        self.pairs: dict[tuple[int, int], list[tuple[_Rest, int]]] = {}
        self.gapped: dict[int, list[tuple[_Rest, int]]] = {}
        self.starters: set[int] = set()
        self.memo: dict[str, _Info | None] = {}

    def _spell(self, word: str) -> str:
        if self.fold is None:
            return word
        if word.endswith("*"):
            return self.fold(word[:-1]) + "*"
        return self.fold(word)

    def _element(self, word: str) -> int:
        table = self.elem_prefix if word.endswith("*") else self.elem_exact
        word = word.rstrip("*")
        if table is self.elem_prefix:
            self.max_elem_prefix = max(self.max_elem_prefix, len(word))
        if word not in table:
            table[word] = self.elements
            self.elements += 1
        return table[word]

    def add(self, cue: int, words: list[str], channel_of: list[int]) -> None:
        words = [self._spell(word) if word != "~" else word for word in words]
        if len(words) == 1:
            word = words[0]
            if word.endswith("*"):
                stem = word[:-1]
                self.single_prefix.setdefault(stem, []).append(cue)
                self.max_stem = max(self.max_stem, len(stem))
            else:
                self.single_exact.setdefault(word, []).append(cue)
            return
        elements: list[tuple[int, int]] = []
        gap = 0
        for word in words:
            if word == "~":
                gap = _GAP
                continue
            elements.append((self._element(word), gap))
            gap = 0
        first, (second, second_gap) = elements[0][0], elements[1]
        if second_gap:
            self.gapped.setdefault(first, []).append((tuple(elements[1:]), cue))
        else:
            self.pairs.setdefault((first, second), []).append((tuple(elements[2:]), cue))
        self.starters.add(first)

    def info(self, token: str, channel_of: list[int]) -> _Info | None:
        """A token's cues (memoized): per channel one single-word cue, exact before the longest stem."""
        memo = self.memo
        found = memo.get(token, False)
        if found is not False:
            return found  # type: ignore[return-value]
        word = self.fold(token) if self.fold is not None and token.isascii() else token
        candidates = list(self.single_exact.get(word, ()))
        for cut in range(min(len(word), self.max_stem), 0, -1):
            cues = self.single_prefix.get(word[:cut])
            if cues:
                candidates.extend(cues)
                break
        best: dict[int, int] = {}
        for cue in candidates:  # exact cues come first and win ties
            channel = channel_of[cue]
            held = best.get(channel)
            if held is None or self.rank(cue) > self.rank(held):
                best[channel] = cue
        elements = set()
        exact = self.elem_exact.get(word)
        if exact is not None:
            elements.add(exact)
        for cut in range(1, min(len(word), self.max_elem_prefix) + 1):
            element = self.elem_prefix.get(word[:cut])
            if element is not None:
                elements.add(element)
        info: _Info | None = None
        if best or elements:
            info = (tuple(best.values()), frozenset(elements), any(e in self.starters for e in elements))
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[token] = info
        return info


class Classifier:
    def __init__(
        self,
        normalizer: Normalizer | None = None,
        lexicon: Mapping[str, Mapping[float, str]] | None = None,
        model: Model | object | None = _SHIPPED,
    ) -> None:
        """``model``: the learned model to combine with the lexicon; by default the shipped one when the
        lexicon is the shipped one (it was trained to complement it), and none with a custom lexicon.
        ``None``: the lexicon alone."""
        self.normalizer = normalizer if normalizer is not None else Normalizer()
        if model is _SHIPPED:
            model = shipped_model() if lexicon is None else None
        self.model: Model | None = model  # type: ignore[assignment]
        self._cue_channel: list[int] = []
        self._cue_weight: list[float] = []
        self._cue_only: list[int] = []  # 1: Finglish posts only, -1: not in Finglish posts, 0: any
        self._cue_text: list[str] = []
        self._seen: set[tuple[int, str, tuple[str, ...]]] = set()
        self._plain = _Index(None, self._rank)
        self._finglish = _Index(fold_finglish, self._rank)
        self._compile(LEXICON if lexicon is None else lexicon)

    # -- compiling --------------------------------------------------------------------------------
    def _compile(self, lexicon: Mapping[str, Mapping[float, str]]) -> None:
        for channel, by_weight in lexicon.items():
            if channel not in _C:
                raise LexiconError(f"unknown lexicon channel {channel!r}; known: {', '.join(CHANNELS)}")
            for weight, block in by_weight.items():
                for cue in _split_cues(block):
                    self._add_cue(_C[channel], float(weight), cue)

    def _add_cue(self, channel: int, weight: float, text: str) -> None:
        only = text[:3] if text[:3] in ("fl:", "en:") else ""
        words = fold_text(text[len(only) :]).replace("'", "").replace("’", "").split()
        if not words or words[0] == "~" or words[-1] == "~" or any(w.strip("*") == "" for w in words):
            raise LexiconError(f"malformed cue {text!r}")
        if any("*" in word[:-1] for word in words) or (
            len([w for w in words if w != "~"]) == 1 and "~" in words
        ):
            raise LexiconError(f"malformed cue {text!r}")
        identity = (channel, only, tuple(words))
        if identity in self._seen:  # listed twice (English and Finglish share words): counted once
            return
        self._seen.add(identity)
        cue = len(self._cue_channel)
        self._cue_channel.append(channel)
        self._cue_weight.append(weight)
        self._cue_only.append(1 if only == "fl:" else -1 if only == "en:" else 0)
        self._cue_text.append(text)
        self._plain.add(cue, words, self._cue_channel)
        if only != "en:":
            self._finglish.add(cue, words, self._cue_channel)

    def _rank(self, cue: int) -> tuple[float, bool]:
        return (self._cue_weight[cue], self._cue_only[cue] == 0)

    # -- inspection -------------------------------------------------------------------------------
    def scores(self, text: str, lang: str | None = None) -> dict[str, float]:
        """The channel totals for ``text`` (for inspection and tuning)."""
        _, _, channel_scores, _ = self._score(text, lang)
        return {name: channel_scores[index] for index, name in enumerate(CHANNELS) if channel_scores[index]}

    def cues(self, text: str, lang: str | None = None) -> list[tuple[str, str, float]]:
        """The cues that counted in ``text``: (channel, cue, weight)."""
        _, _, _, fired = self._score(text, lang)
        return [
            (CHANNELS[self._cue_channel[c]], self._cue_text[c], self._cue_weight[c]) for c in sorted(fired)
        ]

    # -- classifying ------------------------------------------------------------------------------
    def classify(self, text: str, lang: str | None = None) -> Classification:
        """Classify one post; ``lang`` from the feed wins when given, else it is detected."""
        analysis, lang, s, _ = self._score(text, lang)
        fired = {index for index in range(_N_CATEGORIES) if s[index] >= _THRESHOLD}
        if _PROTEST in fired and s[_ABROAD] >= _THRESHOLD:  # rallies abroad are solidarity, not protest
            fired.discard(_PROTEST)
            fired.add(_SOLIDARITY)
        model = self.model
        if model is not None and lang not in _LEXICON_ONLY_LANGS:
            lexical = {CATEGORIES[index] for index in fired}
            channels = [name for name, score in zip(CHANNELS, s, strict=True) if score >= _THRESHOLD]
            names = combine(lexical, model.probabilities(text, channels), model.thresholds)
            fired = {_C[name] for name in names if name != "other"}
        categories = tuple(CATEGORIES[index] for index in sorted(fired)) if fired else ("other",)
        stance = _stance(s, fired) if fired else "none"
        return Classification(
            categories=categories,
            priority=_priority(s, fired, stance),
            lang=lang,
            stance=stance,
            terms=analysis.terms,
            evasions=analysis.evasions,
        )

    def _score(self, text: str, lang: str | None) -> tuple[Analysis, str, list[float], set[int]]:
        analysis, canonical = self.normalizer.analyze_canonical(text)
        if not lang:
            lang = detect_lang(analysis.tokens, text)
        finglish = lang == "fa-Latn"
        index_ = self._finglish if finglish else self._plain
        channel_of = self._cue_channel
        memo, info_of = index_.memo, index_.info
        infos: list[_Info | None] = []
        for token in canonical:
            info = memo.get(token, False)
            infos.append(info_of(token, channel_of) if info is False else info)  # type: ignore[arg-type]
        singles_at: list[tuple[int, int]] = []  # (cue, position)
        phrase_hits: list[tuple[int, tuple[int, ...]]] = []  # (cue, positions of its words)
        pairs, gapped = index_.pairs, index_.gapped
        count = len(infos)
        for position, info in enumerate(infos):
            if info is None:
                continue
            singles, elements, starts = info
            for cue in singles:
                singles_at.append((cue, position))
            if not starts:
                continue
            following = infos[position + 1] if position + 1 < count else None
            if following is not None:
                for first in elements:
                    for second in following[1]:
                        for rest, cue in pairs.get((first, second), ()):
                            matched = _match(infos, position + 1, rest, count)
                            if matched is not None:
                                phrase_hits.append((cue, (position, position + 1, *matched)))
            if gapped:
                for first in elements:
                    for rest, cue in gapped.get(first, ()):
                        matched = _match(infos, position, rest, count)
                        if matched is not None:
                            phrase_hits.append((cue, (position, *matched)))
        fired = self._resolve(singles_at, phrase_hits) if phrase_hits else {cue for cue, _ in singles_at}

        channel_scores = [0.0] * len(CHANNELS)
        context = [0.0] * len(CHANNELS)
        if analysis.evasions:  # a filter-evading spelling is a (weak) circumvention cue
            channel_scores[_CIRCUMVENTION] += 0.5
        weights, only = self._cue_weight, self._cue_only
        for cue in fired:
            if only[cue] and (only[cue] == 1) != finglish:
                continue
            weight = weights[cue]
            if 0 < weight < 0.5:  # context cues (times, squares) can tip a category but not make it
                context[channel_of[cue]] += weight
            else:
                channel_scores[channel_of[cue]] += weight
        for channel, weight in enumerate(context):
            if weight:
                channel_scores[channel] += min(weight, _CONTEXT_CAP)
        return analysis, lang, channel_scores, fired

    def _resolve(
        self, singles_at: list[tuple[int, int]], phrase_hits: list[tuple[int, tuple[int, ...]]]
    ) -> set[int]:
        """The cues that count when phrases were found.

        A negative phrase ("violence must stop"; "riot police" for protest) cancels the positive cues of
        its channel on its words, and any phrase sharing a word with a cancelled one, instead of
        subtracting; it subtracts only when it cancelled nothing. Words count once per channel: a phrase or
        a single-word cue overlapping a phrase of its channel that weighs at least as much is dropped.
        """
        channel_of, weights = self._cue_channel, self._cue_weight
        dead: set[tuple[int, int]] = set()  # (channel, position) cancelled by a negative phrase
        negatives = []
        positives = []
        for cue, positions in phrase_hits:
            keys = [(channel_of[cue], position) for position in positions]
            if weights[cue] < 0:
                dead.update(keys)
                negatives.append((cue, keys))
            else:
                positives.append((cue, keys))
        changed = bool(dead)
        while changed:  # a phrase sharing a word with a cancelled span is cancelled, and so on
            changed = False
            for _cue, keys in positives:
                if any(key in dead for key in keys) and not all(key in dead for key in keys):
                    dead.update(keys)
                    changed = True
        fired: set[int] = set()
        hit: set[tuple[int, int]] = set()  # where something was cancelled
        covering: dict[tuple[int, int], float] = {}
        positives.sort(key=lambda item: -weights[item[0]])
        for cue, keys in positives:
            if dead and any(key in dead for key in keys):
                hit.update(keys)
                continue
            if covering and any(key in covering for key in keys):
                continue  # overlaps a phrase of its channel that weighs at least as much: counted once
            fired.add(cue)
            weight = weights[cue]
            for key in keys:
                if covering.get(key, -1.0) < weight:
                    covering[key] = weight
        for cue, position in singles_at:
            key = (channel_of[cue], position)
            if key in dead:
                if weights[cue] > 0:
                    hit.add(key)
                continue
            held = covering.get(key)
            if held is None or held < weights[cue]:
                fired.add(cue)
        for cue, keys in negatives:
            if not any(key in hit for key in keys):
                fired.add(cue)
        return fired


def _priority(s: list[float], fired: set[int], stance: str) -> str:
    if not fired:
        return "low"
    if (_MEDICAL in fired and s[_URGENT] >= _THRESHOLD) or (
        (_VIOLENCE in fired or _MEDICAL in fired) and s[_LETHAL] >= _THRESHOLD and s[_REPORT] < 0.5
    ):
        return "critical"
    if s[_SAFETY] >= _THRESHOLD:
        return "high"
    first_hand = s[_REPORT] < _THRESHOLD and stance != "ahmadinejad"
    if first_hand and (_VIOLENCE in fired or (_ARREST in fired and s[_NOW] >= _THRESHOLD)):
        return "high"
    if stance == "ahmadinejad" and _PROTEST not in fired:
        return "low"
    if _SOLIDARITY in fired and s[_OFFICIAL] < _THRESHOLD and fired <= _LOW_WITH_SOLIDARITY:
        return "low"  # diaspora rallies, vigils, messages of support, avatar and time-zone asks
    if s[_CHATTER] >= _THRESHOLD and not fired & _EVENTS:
        return "low"  # opinion and chatter about the events
    return "medium"


def _stance(s: list[float], fired: set[int]) -> str:
    pro_m, pro_a = s[_PRO_M], s[_PRO_A]
    if fired & _EVENTS:  # first-hand reports and calls come from the opposition's side
        pro_m += 1.0
    elif _MEDICAL in fired or s[_SAFETY] >= _THRESHOLD:
        pro_m += 0.5
    if _SOLIDARITY in fired and s[_OFFICIAL] < _THRESHOLD:
        pro_m += 1.0
    if s[_REPORT] >= _THRESHOLD or s[_OFFICIAL] >= _THRESHOLD:  # wire reports, relayed statements
        pro_m -= 1.5
    if pro_a >= _THRESHOLD and pro_a >= pro_m:
        return "ahmadinejad"
    if pro_m >= _THRESHOLD:
        return "mousavi"
    return "none"


__all__ = ["CATEGORIES", "CHANNELS", "PRIORITIES", "STANCES", "Classification", "Classifier", "LexiconError"]
