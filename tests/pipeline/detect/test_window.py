"""A window's dump and load (pipeline/detect/window.py), which carry windows in parts and snapshots: the
coordination sample as columns, and the rows of an earlier version still read. Pure, no Kafka."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.detect.coordination import Signed
from pipeline.detect.window import Window, signed_from_columns, signed_to_columns

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
        sig=st.lists(st.integers(0, 2**40), max_size=8).map(tuple),
        text=st.text(max_size=40),
    ),
    max_size=30,
)


def round_trip(window: Window) -> Window:
    """Through JSON, as a part or a snapshot carries it."""
    vocabulary: dict[str, int] = {}
    data = orjson.loads(orjson.dumps(window.dump(vocabulary)))
    return Window.load(data, sorted(vocabulary, key=vocabulary.__getitem__))


@settings(max_examples=200, deadline=None)
@given(signed_posts)
def test_the_coordination_sample_comes_back_as_it_went(posts):
    window = Window(1245000000.0)
    window.signed = list(posts)
    assert round_trip(window).signed == posts
    assert all(isinstance(post, Signed) for post in round_trip(window).signed)


def test_a_sample_in_rows_from_an_earlier_version_is_read():
    post = Signed(7, "p1", "a1", True, "IR", 1245000000.5, ("mousavi",), (1, 2**33), "text")
    rows = [list(post)]  # what Window.dump wrote before the columns
    assert signed_from_columns(rows, []) == [post]


def test_the_terms_share_the_parts_vocabulary():
    posts = [
        Signed(1, "p1", "a1", True, "IR", 1.0, ("tehran", "basij"), (5,), "x"),
        Signed(2, "p2", "a2", False, "", 2.0, ("tehran",), (), "y"),
    ]
    vocabulary = {"tehran": 0}
    columns = signed_to_columns(posts, vocabulary)
    assert vocabulary == {"tehran": 0, "basij": 1}
    assert columns["terms"] == [[2, 1], [0, 1, 0]]
    assert columns["sig"] == [[1, 0], [5]]
    assert signed_from_columns(orjson.loads(orjson.dumps(columns)), ["tehran", "basij"]) == posts


@pytest.mark.parametrize(
    "damage",
    [
        lambda c: c["id"].pop(),  # a column shorter than the others
        lambda c: c["sig"][1].append(9),  # lengths that do not add up
        lambda c: c["terms"][0].__setitem__(0, 3),
    ],
)
def test_columns_that_do_not_fit_are_refused(damage):
    posts = [Signed(1, "p1", "a1", True, "IR", 1.0, ("t",), (5,), "x")] * 2
    columns = orjson.loads(orjson.dumps(signed_to_columns(posts, {})))
    damage(columns)
    with pytest.raises(ValueError):
        signed_from_columns(columns, ["t"])
