"""Detection's input model (pipeline/detect/model.py): band keys as one string. Pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipeline.detect.model import BAND_KEY_LIMIT, band_keys, signature_from_json, signature_from_keys

keys = st.lists(st.integers(0, BAND_KEY_LIMIT - 1), max_size=16)


@given(keys)
def test_band_keys_come_back_in_order_and_sort_and_compare_as_the_ints_did(ints):
    strings = band_keys(signature_from_keys(ints))
    assert [int(key, 16) for key in strings] == ints
    assert sorted(range(len(ints)), key=strings.__getitem__) == sorted(range(len(ints)), key=ints.__getitem__)
    assert len(set(strings)) == len(set(ints))


@pytest.mark.parametrize("key", [-1, BAND_KEY_LIMIT])
def test_a_key_that_does_not_fit_is_refused(key):
    with pytest.raises(ValueError, match="does not fit"):
        signature_from_keys([key])


@pytest.mark.parametrize("value", [None, 5, [1.5], ["000000001"], [True], {"a": 1}])
def test_what_is_not_a_signature_is_refused(value):
    with pytest.raises(ValueError, match="not a signature"):
        signature_from_json(value)


def test_ints_of_an_earlier_version_and_the_string_give_the_same_signature():
    assert (
        signature_from_json([1, 2**33]) == signature_from_json("000000001200000000") == "000000001200000000"
    )
    assert signature_from_json([]) == signature_from_json("") == ""
