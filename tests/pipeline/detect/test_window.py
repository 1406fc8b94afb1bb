"""A window's dump and load (pipeline/detect/window.py), which carry windows in parts and snapshots: the
samples as their tuples, the coordination sample as columns, and what an earlier version wrote (rows,
terms as indices into a vocabulary) still read. Pure, no Kafka."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.detect.coordination import Signed
from pipeline.detect.model import band_keys, signature_from_keys
from pipeline.detect.window import Window, decode_sample, signed_from_columns, signed_to_columns

signed_posts = st.lists(
    st.builds(
        Signed,
        hash=st.integers(0, 2**32 - 1),
        post_id=st.text(min_size=1, max_size=12),
        author=st.text(min_size=1, max_size=12),
        new=st.booleans(),
        region=st.sampled_from(["", "IR", "US"]),
        ts=st.floats(1.2e9, 1.3e9, allow_nan=False),
        terms=st.lists(st.text(max_size=8), max_size=4).map(tuple),
        sig=st.lists(st.integers(0, 2**36 - 1), max_size=8).map(signature_from_keys),
        text=st.text(max_size=40),
    ),
    max_size=30,
)

sampled_posts = st.lists(
    st.tuples(
        st.integers(0, 2**32 - 1),
        st.floats(1.2e9, 1.3e9, allow_nan=False),
        st.sampled_from(["", "IR", "US"]),
        st.lists(st.text(max_size=8), max_size=4).map(tuple),
        st.lists(st.sampled_from(["protest", "violence", "censorship"]), max_size=2).map(tuple),
    ),
    max_size=30,
)


def round_trip(window: Window) -> Window:
    """Through JSON, as a part or a snapshot carries it."""
    return Window.load(orjson.loads(orjson.dumps(window.dump())))


@settings(max_examples=200, deadline=None)
@given(signed_posts, sampled_posts)
def test_the_samples_come_back_as_they_went(signed, sampled):
    window = Window(1245000000.0)
    window.signed = list(signed)
    window.sample = list(sampled)
    back = round_trip(window)
    assert back.signed == signed
    # Plain tuples, in Signed's order: the garbage collector stops tracking them (see Signed).
    assert all(type(post) is tuple for post in back.signed)
    assert [Signed._make(post) for post in back.signed] == signed
    assert back.sample == sampled


def test_a_coordination_sample_in_rows_from_an_earlier_version_is_read():
    post = Signed(7, "p1", "a1", True, "IR", 1245000000.5, ("mousavi",), "000000001200000000", "text")
    rows = [[7, "p1", "a1", True, "IR", 1245000000.5, ["mousavi"], [1, 2**33], "text"]]
    assert signed_from_columns(rows) == [post]  # what Window.dump wrote before the columns


def test_a_sample_with_term_indices_from_an_earlier_version_is_read():
    rows = [[5, 1.0, "IR", [1, 0], [2]]]  # terms and categories as indices into the vocabulary
    assert decode_sample(rows, ["tehran", "basij", "protest"]) == [
        (5, 1.0, "IR", ("basij", "tehran"), ("protest",))
    ]


def test_the_coordination_sample_is_a_column_per_field_and_its_terms_are_written_once():
    posts = [
        Signed(1, "p1", "a1", True, "IR", 1.0, ("tehran", "basij"), "000000005", "x"),
        Signed(2, "p2", "a2", False, "", 2.0, ("tehran",), "", "y"),
        Signed(3, "p3", "a3", True, "IR", 3.0, ("tehran", "basij"), "000000006", "z"),
    ]
    columns = orjson.loads(orjson.dumps(signed_to_columns(posts)))
    assert columns["terms"] == [0, 1, 0] and columns["term_sets"] == [["tehran", "basij"], ["tehran"]]
    assert columns["sig"] == ["000000005", "", "000000006"]
    assert columns["id"] == ["p1", "p2", "p3"]
    assert signed_from_columns(columns) == posts


def test_band_keys_an_earlier_version_wrote_as_ints_are_read_as_the_string():
    posts = [
        Signed(1, "p1", "a1", True, "IR", 1.0, ("tehran",), signature_from_keys([5, (7 << 32) | 9]), "x"),
        Signed(2, "p2", "a2", False, "", 2.0, ("tehran",), "", "y"),
    ]
    columns = orjson.loads(orjson.dumps(signed_to_columns(posts)))
    columns["sig"] = [[5, (7 << 32) | 9], []]  # as the columns held them before
    assert signed_from_columns(columns) == posts
    rows = [list(post) for post in posts]
    rows[0][7], rows[1][7] = [5, (7 << 32) | 9], []
    assert signed_from_columns(rows) == posts  # one row per post, older still
    assert band_keys(posts[0].sig) == ["000000005", "700000009"]


@settings(max_examples=200, deadline=None)
@given(signed_posts, st.integers(0, 2**32 - 1), st.booleans())
def test_a_cut_leaves_out_exactly_the_posts_above_it(posts, at_most, in_order):
    posts = sorted(posts) if in_order else posts  # a shard hands its sample on sorted; anything else too
    expected = [post for post in posts if post.hash <= at_most]
    columns = orjson.loads(orjson.dumps(signed_to_columns(posts)))
    assert signed_from_columns(columns, at_most) == expected
    assert signed_from_columns([list(post) for post in posts], at_most) == expected  # rows, as before


def test_a_merged_sample_over_its_size_is_cut_as_one_sample_would_be():
    size = 5
    posts = [Signed(h, f"p{h}", "a", True, "IR", 1.0, (), "", "") for h in (9, 3, 7, 1, 8, 2, 6, 4)]
    merged = Window(0.0)
    for part in (posts[:4], posts[4:]):
        window = Window(0.0)
        window.signed = sorted(part)
        merged.merge(window, sample_size=10, signed_size=size)
    assert merged.signed == sorted(posts)[:size]
    assert merged.signed_cut == 6  # the largest hash kept: a later part skips what is above it


@pytest.mark.parametrize(
    "damage",
    [
        lambda c: c["id"].pop(),  # a column shorter than the others
        lambda c: c["sig"].append("000000009"),
        lambda c: c["sig"].__setitem__(0, ["not a key"]),
        lambda c: c["text"].pop(0),
        lambda c: c["terms"].__setitem__(0, 7),  # a tuple of terms that is not there
    ],
)
def test_columns_that_do_not_fit_are_refused(damage):
    posts = [Signed(1, "p1", "a1", True, "IR", 1.0, ("t",), "000000005", "x")] * 2
    columns = orjson.loads(orjson.dumps(signed_to_columns(posts)))
    damage(columns)
    with pytest.raises(ValueError):
        signed_from_columns(columns)
