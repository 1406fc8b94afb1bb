"""Normalization and the watchlist (pipeline/classify/normalize.py): one test per folding rule.
Pure, no Kafka."""

from __future__ import annotations

import json

import pytest

from pipeline.classify.normalize import (
    DEFAULT_WATCHLIST_PATH,
    MAX_TERMS,
    Analysis,
    Normalizer,
    Watchlist,
    WatchlistError,
    detect_lang,
    fold_finglish,
    fold_text,
)

ZWNJ = "\u200c"


@pytest.fixture(scope="module")
def norm() -> Normalizer:
    return Normalizer()


# -- character folding ------------------------------------------------------------------------------


def test_nfkc_folds_full_width_letters_and_arabic_presentation_forms(norm):
    assert fold_text("ＭＯＵＳＡＶＩ ２００９") == "mousavi 2009"
    assert fold_text("ﻣﻮﺳﻮﻱ") == "موسوی"  # presentation forms, with an Arabic final yeh
    assert norm.analyze("ＭＯＵＳＡＶＩ").watch == ("mousavi",)


@pytest.mark.parametrize(
    ("arabic", "persian"),
    [
        ("\u064a", "\u06cc"),  # ي -> ی
        ("\u0649", "\u06cc"),  # ى -> ی
        ("\u0643", "\u06a9"),  # ك -> ک
        ("\u0629", "\u0647"),  # ة -> ه
        ("\u06c0", "\u0647"),  # ۀ -> ه
        ("\u0623", "\u0627"),  # أ -> ا
        ("\u0625", "\u0627"),  # إ -> ا
        ("\u0671", "\u0627"),  # ٱ -> ا
    ],
)
def test_arabic_letters_become_persian(arabic, persian):
    assert fold_text(f"ب{arabic}ب") == f"ب{persian}ب"


def test_alef_madda_is_kept():
    assert fold_text("آزادی") == "آزادی"


def test_an_arabic_keyboard_spelling_finds_the_same_concepts(norm):
    assert norm.analyze("موسوي و احمدي نژاد").watch == ("mousavi", "ahmadinejad")
    assert norm.normalize("كشته شدند") == norm.normalize("کشته شدند")


def test_arabic_diacritics_are_dropped():
    assert fold_text("مُوسَوِی") == "موسوی"  # damma, fatha, kasra
    assert fold_text("شدّه") == "شده"  # shadda
    assert fold_text("حتماً") == "حتما"  # tanwin


def test_tatweel_is_dropped(norm):
    assert fold_text("مـوسـوی") == "موسوی"
    assert norm.analyze("مــــوســوی").watch == ("mousavi",)


def test_zwnj_is_removed_consistently(norm):
    assert fold_text(f"می{ZWNJ}خواهیم") == "میخواهیم"
    joined = norm.analyze(f"احمدی{ZWNJ}نژاد")
    assert joined.tokens == norm.analyze("احمدینژاد").tokens == ("احمدینژاد",)
    assert joined.watch == ("ahmadinejad",) and joined.evasions == ()


def test_the_ezafe_after_heh_folds_like_heh_with_yeh(norm):
    assert norm.normalize(f"زنجیره{ZWNJ}ی انسانی") == norm.normalize("زنجیرۀ انسانی") == "زنجیره انسانی"


def test_other_invisible_characters_are_removed():
    assert fold_text("demo\u200bcracy\u200d\ufeff\u00ad") == "democracy"


def test_persian_and_arabic_digits_become_ascii():
    assert fold_text("۱۲۳ ٤٥٦ ۶۲٫۶٪") == "123 456 62.6%"


def test_case_folding(norm):
    assert fold_text("MOUSAVI Straße") == "mousavi strasse"
    assert norm.analyze("MoUsAvI").watch == ("mousavi",)


# -- tokens ------------------------------------------------------------------------------------------


def test_hashtags_are_kept_as_hashtags(norm):
    analysis = norm.analyze("Tehran tonight #IranElection #GR88 #رای_من_کجاست")
    assert analysis.tokens == ("tehran", "tonight", "#iranelection", "#gr88", "#رای_من_کجاست")
    assert analysis.terms == ("tehran", "tonight", "#iranelection", "#gr88", "#رای_من_کجاست")


def test_a_hashtag_naming_a_watchlist_concept_counts_it_too(norm):
    analysis = norm.analyze("#Mousavi1388 #دموکراسی")
    assert analysis.watch == ("mousavi", "democracy")
    assert analysis.terms == ("mousavi", "#mousavi1388", "democracy", "#دموکراسی")


def test_urls_are_dropped(norm):
    text = "proxy list http://bit.ly/AbC1 www.example.com/x tinyurl.com/p3x8kq https://twitter.com/a?b=c done"
    assert norm.analyze(text).tokens == ("proxy", "list", "done")


def test_mentions_and_email_addresses_are_dropped(norm):
    analysis = norm.analyze("RT @persiankiwi: rally at Azadi, mail me at someone@example.com")
    assert "persiankiwi" not in " ".join(analysis.tokens)
    assert analysis.tokens == ("rt", "rally", "at", "azadi", "mail", "me", "at")
    assert analysis.terms == ("rally", "azadi", "mail")


def test_apostrophes_and_possessives(norm):
    assert norm.analyze("Moosavi's supporters can't").tokens == ("moosavi", "supporters", "cant")
    assert norm.analyze("ta'id nashode").tokens == ("taid", "nashode")


# -- evasion folding ---------------------------------------------------------------------------------


def test_leet_digits_inside_a_word_fold(norm):
    analysis = norm.analyze("we want d3mocracy, not m0usav1 vs 4hmadinejad, use a pr0xy")
    assert analysis.watch == ("democracy", "mousavi", "ahmadinejad")
    assert analysis.evasions == ("democracy", "mousavi", "ahmadinejad")
    assert "proxy" in analysis.tokens  # digits inside a word fold even without a watchlist match


@pytest.mark.parametrize("word", ["100", "2009", "10pm", "4iran", "gr88", "iran88", "24khordad", "mp3", "b4"])
def test_numbers_and_edge_digits_are_not_leet(norm, word):
    assert norm.analyze(word).tokens == (word,)


def test_homoglyphs_fold_only_in_mixed_script_words(norm):
    # Cyrillic е and і. Cyrillic д is not one: the Unicode confusables data does not list it as a d.
    analysis = norm.analyze("d\u0435mocracy and v\u0456olence")
    assert analysis.tokens == ("democracy", "and", "violence")
    assert analysis.evasions == ("democracy", "violence")
    assert norm.analyze("Москва сегодня").tokens == ("москва", "сегодня")  # pure Cyrillic stays
    assert norm.analyze("kафе").tokens == ("kафе",)  # ф has no Latin look-alike: left alone


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("de.mocracy", "democracy"),
        ("demo-cracy", "democracy"),
        ("b*a*s*i*j", "basij"),
        ("موس.وی", "mousavi"),
        ("خامن.ه‌ای", "khamenei"),
        ("de mocracy", "democracy"),
        ("موس وی", "mousavi"),
        ("d e m o c r a c y", "democracy"),
    ],
)
def test_inserted_separators_are_joined_as_evasions(norm, text, key):
    analysis = norm.analyze(text)
    assert analysis.watch == (key,)
    assert analysis.evasions == (key,)


def test_listed_spellings_with_separators_are_not_evasions(norm):
    for text in ("Ahmadi-Nejad", "ahmadi nejad", "احمدی نژاد", "na-arami", "نا آرامی"):
        analysis = norm.analyze(text)
        assert analysis.watch and analysis.evasions == (), text


def test_an_evasion_is_not_listed_when_the_plain_spelling_is_there_too(norm):
    analysis = norm.analyze("democracy now, d3mocracy now")
    assert analysis.watch == ("democracy",)
    assert analysis.evasions == ()


def test_ordinary_punctuated_words_split(norm):
    assert norm.analyze("hand-held 62.6 U.S.").tokens == ("hand", "held", "62", "6", "u", "s")


# -- the watchlist -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("Mousavi", "mousavi"),
        ("Moussavi", "mousavi"),
        ("Mossavi", "mousavi"),
        ("Moosavi", "mousavi"),
        ("Musavi", "mousavi"),
        ("میرحسین موسوی", "mousavi"),
        ("Ahmadinejad", "ahmadinejad"),
        ("Ahmedinejad", "ahmadinejad"),
        ("ahmadinezhad", "ahmadinejad"),
        (f"احمدی{ZWNJ}نژاد", "ahmadinejad"),
        ("احمدی نژاد", "ahmadinejad"),
        ("democracy", "democracy"),
        ("democratic", "democracy"),
        ("demokrasi", "democracy"),
        ("دموکراسی", "democracy"),
        ("violence", "violence"),
        ("violent", "violence"),
        ("khoshoonat", "violence"),
        ("خشونت", "violence"),
        ("unrest", "unrest"),
        ("naarami", "unrest"),
        ("ناآرامی", "unrest"),
        (f"ناآرامی{ZWNJ}ها", "unrest"),
        ("Khamenei", "khamenei"),
        ("khameneyi", "khamenei"),
        (f"خامنه{ZWNJ}ای", "khamenei"),
        ("Basij", "basij"),
        ("basijis", "basij"),
        ("basiji ha", "basij"),
        ("بسیج", "basij"),
        (f"بسیجی{ZWNJ}ها", "basij"),
    ],
)
def test_every_concept_in_every_script_has_its_canonical_key(norm, text, key):
    analysis = norm.analyze(text)
    assert analysis.watch == (key,)
    assert key in analysis.terms


def test_the_default_watchlist_has_the_contract_keys():
    watchlist = Watchlist.load()
    keys = {"mousavi", "ahmadinejad", "democracy", "violence", "unrest", "khamenei", "basij"}
    assert keys <= set(watchlist.keys)
    assert Watchlist.load(DEFAULT_WATCHLIST_PATH) == watchlist


def test_a_watchlist_from_a_custom_file(tmp_path):
    path = tmp_path / "watch.json"
    path.write_text(json.dumps({"concepts": {"neda": ["Neda", "ندا"], "evin": ["Evin*", "اوین"]}}), "utf-8")
    norm = Normalizer(Watchlist.load(path))
    analysis = norm.analyze("Neda ندا Evin prison, Mousavi")
    assert analysis.watch == ("neda", "evin")
    assert analysis.terms == ("neda", "evin", "prison", "mousavi")  # mousavi: an ordinary word here


def test_a_flat_mapping_is_accepted_too(tmp_path):
    path = tmp_path / "flat.json"
    path.write_text(json.dumps({"tor": ["tor", "تور"]}), "utf-8")
    assert Watchlist.load(path).concepts == {"tor": ("tor", "تور")}


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not valid UTF-8 JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"concepts": {"mousavi": "Mousavi"}}', "must be a list"),
        ('{"concepts": {"mousavi": []}}', "has no spellings"),
        ('{"concepts": {"Mousavi!": ["x1"]}}', "lower-case ASCII"),
        ('{"concepts": {"mousavi": [3]}}', "is not a string"),
        ('{"concepts": {"mousavi": ["m"]}}', "too short"),
        ('{"concepts": {"mousavi": ["mo*usavi"]}}', "'*' only at the end"),
        ('{"concepts": {}}', "at least one concept"),
    ],
)
def test_a_bad_watchlist_file_is_refused_naming_the_file(tmp_path, content, reason):
    path = tmp_path / "bad.json"
    path.write_text(content, "utf-8")
    with pytest.raises(WatchlistError) as caught:
        Watchlist.load(path)
    assert str(path) in str(caught.value)
    assert reason in str(caught.value)


def test_a_missing_watchlist_file_is_refused_naming_it(tmp_path):
    path = tmp_path / "missing.json"
    with pytest.raises(WatchlistError, match=r"missing\.json"):
        Watchlist.load(path)


# -- terms ---------------------------------------------------------------------------------------------


def test_terms_are_unique_in_first_seen_order_without_stopwords(norm):
    analysis = norm.analyze("The basij attacked the students, the students ran. #Tehran #tehran و در تهران")
    assert analysis.terms == ("basij", "attacked", "students", "ran", "#tehran", "تهران")


def test_short_words_and_numbers_are_not_terms_but_short_persian_words_are(norm):
    assert norm.analyze("we go to 2009 ok").terms == ()
    assert norm.analyze("گل").terms == ("گل",)


def test_terms_are_bounded_and_keep_watchlist_keys_and_hashtags(norm):
    words = " ".join(f"word{chr(97 + i // 26)}{chr(97 + i % 26)}" for i in range(60))
    analysis = norm.analyze(f"{words} Mousavi #iranelection")
    assert len(analysis.terms) == MAX_TERMS
    assert analysis.terms[-2:] == ("mousavi", "#iranelection")


def test_normalize_returns_the_folded_tokens(norm):
    assert norm.normalize("RT @x: D3MOCRACY now!! http://t.co/x") == "rt democracy now"


def test_analysis_is_frozen(norm):
    analysis = norm.analyze("Mousavi")
    assert isinstance(analysis, Analysis)
    with pytest.raises(AttributeError):
        analysis.terms = ()  # type: ignore[misc]


# -- languages ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Huge crowd on Vali Asr right now, everyone in green", "en"),
        ("Rally at Azadi Square 5pm. Spread the word", "en"),
        ("امشب دوباره صدای الله اکبر از پشت بام‌ها", "fa"),
        ("RT @x: موسوی #iranelection http://bit.ly/x", "fa"),
        ("marg bar dictator", "fa-Latn"),
        ("emshab saat 10 allah akbar", "fa-Latn"),
        ("basiji ha daran mizanan", "fa-Latn"),
        ("MESHKI BEPOOSHID PANJSHANBE. hame ja. sokoot.", "fa-Latn"),
        ("هذا هو الخبر في المدينة التي نعيش فيها", "ar"),
        ("Протесты в Тегеране продолжаются", "ru"),
        ("德黑兰的抗议活动仍在继续", "zh"),
        ("2009 !!! 100", "und"),
    ],
)
def test_language_detection(norm, text, lang):
    assert detect_lang(norm.analyze(text).tokens, text) == lang
    assert norm.lang(text) == lang


def test_finglish_spelling_fold():
    assert fold_finglish("khoon") == fold_finglish("khun") == "khun"
    assert fold_finglish("dastgeer") == fold_finglish("dastgir")
    assert fold_finglish("qat") == "ghat"
    assert fold_finglish("tajammo") == "tajamo"
    assert fold_finglish("موسوی") == "موسوی"


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        ("démocracy mousaví", ("democracy", "mousavi")),  # accents
        ("DÉMOCRACY", ("democracy",)),
        ("d\u0332emocracy", ("democracy",)),  # a combining underline no longer splits the word
        ("İran", ("iran",)),  # casefold's own combining dot is dropped too
        ("cafe\u0301 naïve", ("cafe", "naive")),
    ],
)
def test_combining_marks_on_latin_letters_are_dropped(norm, text, tokens):
    assert norm.analyze(text).tokens == tokens


def test_persian_letters_keep_their_marks_and_meaning(norm):
    # آ (alef with madda) decomposes to ا + a mark under NFD: the mark is not on a Latin letter, so it stays.
    assert norm.analyze("آزادی").tokens == ("آزادی",)
    assert norm.analyze("آزادی").tokens != norm.analyze("ازادی").tokens
    # ه is confusable with o in the Unicode data, but the Arabic script is never mapped.
    assert norm.analyze("دموکراسی ه").tokens == ("دموکراسی", "ه")
    assert norm.analyze("hه").tokens == ("hه",)


def test_an_armenian_look_alike_is_a_homoglyph_evasion(norm):
    analysis = norm.analyze("dem\u0585cracy")  # Armenian small letter oh
    assert analysis.watch == ("democracy",) and analysis.evasions == ("democracy",)


def test_the_homoglyph_table_comes_from_the_confusables_data_with_latin_targets_only():
    from pipeline.classify.homoglyphs import homoglyph_table

    table = homoglyph_table()
    assert (
        table["\u0435"] == "e" and table["\u0585"] == "o" and table["\u03bf"] == "o"
    )  # Cyrillic, Armenian, Greek
    assert all(len(target) == 1 and "a" <= target <= "z" for target in table.values())
    assert not any(char.isascii() or "\u0600" <= char <= "\u06ff" for char in table)
    assert "\u0434" not in table  # Cyrillic д is not listed as confusable with d


@pytest.mark.parametrize("text", ["_", "people _ injured near the square", "*-*", "#_", "__init__", "_ _ _"])
def test_punctuation_only_tokens_are_no_words(norm, text):
    analysis = norm.analyze(text)  # a lone underscore raised IndexError before
    assert all(token.strip("_*-#") for token in analysis.tokens)
