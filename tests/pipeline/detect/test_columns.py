"""Tuples of terms written once and referred to by index (pipeline/detect/columns.py). Pure."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.detect.columns import from_term_sets, index_term_sets

terms = st.lists(st.sampled_from(["#iranelection", "tehran", "basij", "mousavi", "proxy"]), max_size=3).map(
    tuple
)


@given(st.lists(terms, max_size=50))
def test_each_tuple_comes_back_and_each_distinct_one_is_written_once(column):
    index, sets = index_term_sets(column)
    assert len(sets) == len(set(column))
    assert from_term_sets(*orjson.loads(orjson.dumps([index, sets]))) == column


def test_the_posts_of_a_tuple_share_it_after_a_restore():
    back = from_term_sets([0, 1, 0], [["tehran"], []])
    assert back == [("tehran",), (), ("tehran",)] and back[0] is back[2]


@pytest.mark.parametrize("index", [[2], [-1], ["0"]])
def test_an_index_that_names_no_tuple_is_refused(index):
    with pytest.raises(ValueError):
        from_term_sets(index, [["tehran"], []])
