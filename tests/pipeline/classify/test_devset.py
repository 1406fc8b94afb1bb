"""The hand-labelled development set (pipeline/data/devset.jsonl) keeps its shape and its balance.

Pure and fast: reads one file, no Kafka, no Faust. See pipeline/data/DEVSET.md for the labelling conventions.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from pathlib import Path

DEVSET = Path(__file__).resolve().parents[3] / "pipeline" / "data" / "devset.jsonl"

CATEGORIES = (
    "protest",
    "violence",
    "arrest",
    "medical",
    "censorship",
    "circumvention",
    "disinformation",
    "election",
    "solidarity",
    "other",
)
PRIORITIES = ("critical", "high", "medium", "low")
STANCES = ("mousavi", "ahmadinejad", "none")
SPLITS = ("dev", "test")
LANGS = ("en", "fa", "fa-Latn")
KEYS = {"id", "text", "lang", "categories", "priority", "stance", "split"}

# Share of the whole set each script must have (inclusive bounds).
SCRIPT_SHARES = {"en": (0.40, 0.50), "fa": (0.25, 0.35), "fa-Latn": (0.20, 0.30)}
MIN_LINES = 330
MIN_PER_CATEGORY = 25
MIN_PER_CATEGORY_AND_SCRIPT = 6

ARABIC_LETTER = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
LATIN_LETTER = re.compile(r"[A-Za-z\u00C0-\u024F]")
CYRILLIC_LETTER = re.compile(r"[\u0400-\u04FF]")
# URLs, @handles and Latin hashtags are Latin in every script; they are not evidence of the post's script.
NOT_PROSE = re.compile(r"(?:https?://\S+|\b[\w.-]+\.(?:ly|com|org|net)/\S*|@\w+|#[A-Za-z0-9_]+)")


def _load() -> tuple[list[dict], list[str]]:
    """Every line that parses to a JSON object, and a message for every line that does not."""
    rows, problems = [], []
    with DEVSET.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if not line.endswith("\n"):
                problems.append(f"line {number}: no trailing newline")
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"line {number}: invalid JSON: {exc}")
                continue
            if isinstance(row, dict):
                rows.append(row)
            else:
                problems.append(f"line {number}: not a JSON object")
    return rows, problems


ROWS, PROBLEMS = _load()


def _letters(text: str) -> tuple[int, int, int]:
    prose = NOT_PROSE.sub(" ", text)
    return (
        len(ARABIC_LETTER.findall(prose)),
        len(LATIN_LETTER.findall(prose)),
        len(CYRILLIC_LETTER.findall(prose)),
    )


def test_every_line_is_one_json_object():
    assert PROBLEMS == []


def test_enough_lines():
    assert len(ROWS) >= MIN_LINES


def test_every_line_has_exactly_the_required_keys_with_allowed_values():
    for row in ROWS:
        where = row.get("id", row)
        assert set(row) == KEYS, f"{where}: keys {sorted(row)}"
        assert re.fullmatch(r"dev-\d{4}", row["id"]), where
        assert isinstance(row["text"], str), where
        assert row["text"] == row["text"].strip() and row["text"], where
        assert len(row["text"]) <= 140, f"{where}: longer than a 2009 tweet"
        assert row["lang"] in LANGS, where
        assert row["priority"] in PRIORITIES, where
        assert row["stance"] in STANCES, where
        assert row["split"] in SPLITS, where
        cats = row["categories"]
        assert isinstance(cats, list) and cats, f"{where}: no categories"
        assert all(c in CATEGORIES for c in cats), f"{where}: {cats}"
        assert len(set(cats)) == len(cats), f"{where}: repeated category"
        assert cats == sorted(cats, key=CATEGORIES.index), f"{where}: categories not in canonical order"


def test_ids_and_texts_are_unique():
    ids = Counter(row["id"] for row in ROWS)
    assert [i for i, n in ids.items() if n > 1] == []
    texts = Counter(unicodedata.normalize("NFC", row["text"]).casefold() for row in ROWS)
    assert [t for t, n in texts.items() if n > 1] == []


def test_other_stands_alone_and_is_low_priority_chatter():
    others = [row for row in ROWS if "other" in row["categories"]]
    assert others
    for row in others:
        assert row["categories"] == ["other"], row["id"]
        assert row["priority"] == "low", row["id"]
        assert row["stance"] == "none", row["id"]
    assert 0.07 <= len(others) / len(ROWS) <= 0.15


def test_every_category_has_enough_examples_overall_and_in_every_script():
    overall = Counter(c for row in ROWS for c in row["categories"])
    per_script = Counter((row["lang"], c) for row in ROWS for c in row["categories"])
    for category in CATEGORIES:
        assert overall[category] >= MIN_PER_CATEGORY, (category, overall[category])
        for lang in LANGS:
            count = per_script[(lang, category)]
            assert count >= MIN_PER_CATEGORY_AND_SCRIPT, (lang, category, count)


def test_script_shares():
    counts = Counter(row["lang"] for row in ROWS)
    for lang, (low, high) in SCRIPT_SHARES.items():
        share = counts[lang] / len(ROWS)
        assert low <= share <= high, (lang, round(share, 3))


def test_persian_posts_are_written_in_arabic_script():
    for row in ROWS:
        if row["lang"] != "fa":
            continue
        arabic, latin, cyrillic = _letters(row["text"])
        assert arabic > 0 and arabic >= 4 * latin, row["id"]
        assert cyrillic == 0, row["id"]


def test_english_and_finglish_posts_are_written_in_latin_script():
    for row in ROWS:
        if row["lang"] == "fa":
            continue
        arabic, latin, cyrillic = _letters(row["text"])
        assert arabic == 0, row["id"]
        # A Cyrillic look-alike letter is allowed as an evasion spelling, never more than a couple.
        assert latin > 0 and cyrillic <= 2, row["id"]


def test_persian_posts_show_the_real_variety_of_persian_typing():
    texts = [row["text"] for row in ROWS if row["lang"] == "fa"]

    def count(pattern: str) -> int:
        return sum(bool(re.search(pattern, text)) for text in texts)

    assert count("\u200c") >= 20, "ZWNJ as in می‌گویند"
    assert count("[\u064a\u0643]") >= 5, "Arabic-keyboard ي / ك"
    assert count("[\u06cc\u06a9]") >= 50, "Persian ی / ک"
    assert count("[\u06f0-\u06f9]") >= 10, "Persian digits"
    assert count(r"#[\u0600-\u06FF]") >= 5, "Arabic-script hashtags"


def test_style_variety_of_2009_posts():
    texts = [row["text"] for row in ROWS]
    joined = "\n".join(texts)
    assert sum(bool(re.search(r"(?:^|\s)RT @\w+:", t)) for t in texts) >= 2
    assert sum("bit.ly/" in t for t in texts) >= 5
    for tag in ("#iranelection", "#gr88", "#tehran", "#neda", "#iran"):
        assert tag in joined, tag
    for spelling in (
        "Mousavi",
        "Moussavi",
        "Mossavi",
        "Moosavi",
        "Musavi",
        "موسوی",
        "احمدی\u200cنژاد",
        "خامنه",
    ):
        assert spelling in joined, spelling
    for evasion in ("d3mocracy", "v1olence", "de.mocracy"):
        assert evasion.casefold() in joined.casefold(), evasion
    assert any(_letters(row["text"])[2] for row in ROWS if row["lang"] == "en"), "a Cyrillic look-alike"
    assert any(re.search(r"\b[A-Z]{2,}(?: [A-Z!]{2,}){3,}", t) for t in texts), "an ALL CAPS post"


def test_every_priority_and_stance_is_represented():
    assert set(Counter(row["priority"] for row in ROWS)) == set(PRIORITIES)
    for lang in LANGS:
        stances = Counter(row["stance"] for row in ROWS if row["lang"] == lang)
        assert set(stances) == set(STANCES), lang
        assert stances["ahmadinejad"] >= 3, (lang, "a few pro-government posts in every script")


def test_both_splits_hold_every_category_in_every_script():
    seen = {(row["split"], row["lang"], c) for row in ROWS for c in row["categories"]}
    missing = [
        (split, lang, c)
        for split in SPLITS
        for lang in LANGS
        for c in CATEGORIES
        if (split, lang, c) not in seen
    ]
    assert missing == []
    test_share = sum(row["split"] == "test" for row in ROWS) / len(ROWS)
    assert 0.35 <= test_share <= 0.45, round(test_share, 3)
