"""Property-based tests: normalize, classify, the engine and a classify batch return on any text, never
raise. Arbitrary Unicode, and the pieces that broke things before or are most likely to: lone
punctuation, combining marks, right-to-left and zero-width marks, control characters, emoji runs, Persian
with and without ZWNJ, and texts of 100k characters. Pure, no Kafka."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feed import Post
from feed.taxonomy import CATEGORIES
from pipeline.classify import PRIORITIES, STANCES, Classifier
from pipeline.classify.normalize import Normalizer
from pipeline.engine import Engine
from pipeline.stream.batch import Record, classify_batch

PIECES = [
    "_",
    "*",
    "-",
    "#",
    "@",
    "#_",
    "__",
    "'",
    "’",
    ".",
    "..",
    "|",
    "·",
    "$",
    "@@",
    "#@",
    "http://",
    "www.",
    "\u0332",
    "\u0301",
    "\u0308",
    "d\u0332emocracy",
    "démocracy",
    "mousaví",
    "dem\u0585cracy",
    "d\u0435mocracy",
    "\u200c",
    "\u200b",
    "\u200d",
    "\u200e",
    "\u200f",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\u00ad",
    "\u0640",
    "\x00",
    "\x07",
    "\x1b",
    "\r",
    "\t",
    "\n",
    "\x7f",
    "\u2028",
    "😔",
    "🇮🇷",
    "👍🏽",
    "👨‍👩‍👧",
    "💚" * 40,
    "آزادی",
    "موسوی",
    "احمدی‌نژاد",
    "ه‌ی",
    "۲۵",
    "ي",
    "ك",
    "ة",
    "İ",
    "ß",
    "ﬁ",
    "Ａ",
    "𝐝𝐞𝐦𝐨𝐜𝐫𝐚𝐜𝐲",
    "de mocracy",
    "d e m o c r a c y",
    "pr0xy",
    "1",
    "4",
    "88",
    "Basij",
    "shooting",
    "injured",
    "Tehran",
    "#iranelection",
    "RT",
    "@user",
]


def repeated(pair: tuple[str, int]) -> str:
    """A piece repeated up to 100k characters (a runaway regex or memo shows here)."""
    piece, times = pair
    return (piece * times)[:100_000]


TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=300),
    st.lists(st.sampled_from(PIECES), max_size=40).map(" ".join),
    st.lists(st.sampled_from(PIECES), max_size=40).map("".join),
    st.tuples(st.sampled_from(PIECES), st.integers(1, 100_000)).map(
        lambda pair: (pair[0] * pair[1])[:100_000]
    ),
)
LANG = st.one_of(st.none(), st.sampled_from(["en", "fa", "fa-Latn", "ar", "und", "", "x" * 50]))
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

normalizer = Normalizer()
classifier = Classifier()


@FUZZ
@given(TEXT)
def test_normalize_returns_on_any_text(text):
    analysis = normalizer.analyze(text)
    assert all(isinstance(token, str) and token for token in analysis.tokens)
    assert set(analysis.evasions) <= set(analysis.watch)


@FUZZ
@given(TEXT, LANG)
def test_classify_returns_a_valid_label_on_any_text(text, lang):
    label = classifier.classify(text, lang)
    assert label.categories and set(label.categories) <= set(CATEGORIES)
    assert label.priority in PRIORITIES and label.stance in STANCES
    assert classifier.classify(text, lang) == label  # deterministic


@FUZZ
@given(st.lists(st.tuples(TEXT, st.one_of(st.none(), st.sampled_from(["IR", "US", "ir", "??"]))), max_size=8))
def test_the_engine_classifies_and_detects_any_text(items):
    engine = Engine()
    for index, (text, region) in enumerate(items):
        result, _ = engine.process(Post(id=f"p{index}", ts=1245000000.0 + index, text=text, region=region))
        assert orjson.loads(result.to_json())["id"] == f"p{index}"


@FUZZ
@given(
    st.lists(
        st.one_of(
            TEXT.map(lambda text: orjson.dumps({"id": "x", "ts": 1245000000, "text": text})),
            st.binary(max_size=200),
        ),
        max_size=10,
    )
)
def test_a_classify_batch_accounts_for_every_record(values):
    records = [Record("posts", 0, offset, None, value) for offset, value in enumerate(values)]
    batch = classify_batch(records, Engine(), max_bytes=1_000_000)
    published = len(batch.classified.get(0, []))
    assert published + len(batch.invalid) + batch.end_markers == len(values)  # nothing lost silently
    if values:
        assert batch.next_offsets == {0: len(values)}
