import math

import orjson
import pytest

from feed import FeedError, Post, format_ts, parse_ts, post_from_record

TEHRAN_AFTERNOON = 1244901909.0  # 2009-06-13T14:05:09Z


@pytest.mark.parametrize(
    "value",
    [
        "2009-06-13T14:05:09Z",
        "2009-06-13T14:05:09z",
        "2009-06-13T18:35:09+04:30",
        "2009-06-13T10:05:09-04:00",
        "2009-06-13 14:05:09+00:00",
        TEHRAN_AFTERNOON,
        int(TEHRAN_AFTERNOON),
        "1244901909",
    ],
)
def test_parse_ts_accepts_rfc3339_with_offset_and_epoch_seconds(value):
    assert parse_ts(value) == TEHRAN_AFTERNOON


def test_parse_ts_keeps_fractions():
    assert math.isclose(parse_ts("2009-06-13T14:05:09.250Z"), TEHRAN_AFTERNOON + 0.25)


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2009-06-13T14:05:09", "", "2009-13-01T00:00:00Z", True, None, [], 1244901909000],
)
def test_parse_ts_refuses_ambiguous_or_garbage(value):
    with pytest.raises(FeedError) as caught:
        parse_ts(value)
    assert caught.value.code == "bad_ts"


def test_format_ts_is_utc_with_z_and_round_trips():
    assert format_ts(TEHRAN_AFTERNOON) == "2009-06-13T14:05:09Z"
    assert format_ts(TEHRAN_AFTERNOON + 0.5) == "2009-06-13T14:05:09.500Z"
    assert parse_ts(format_ts(TEHRAN_AFTERNOON + 0.5)) == TEHRAN_AFTERNOON + 0.5


def test_record_round_trip_keeps_optional_and_extra_fields():
    record = {
        "id": "t1",
        "ts": "2009-06-13T14:05:09Z",
        "text": "tear gas in Azadi square",
        "author": "madtownbabe",
        "platform": "twitter",
        "lang": "en",
        "region": "IR",
        "retweets": 12,
        "place": {"city": "Tehran"},
    }
    post = post_from_record(record)
    assert post.extra == {"retweets": 12, "place": {"city": "Tehran"}}
    assert post.ts_ms == 1244901909000
    assert orjson.loads(post.to_json()) == record


def test_numeric_ids_become_strings_and_missing_optionals_are_omitted():
    post = post_from_record({"id": 42, "ts": 1244901909, "text": "x"})
    assert post == Post(id="42", ts=1244901909.0, text="x")
    assert post.to_record() == {"id": "42", "ts": "2009-06-13T14:05:09Z", "text": "x"}


@pytest.mark.parametrize(
    ("record", "code", "words"),
    [
        ([1, 2], "not_object", "JSON object"),
        ({"ts": 1, "text": "x"}, "missing_field", "id"),
        ({"id": "a", "text": "x"}, "missing_field", "ts"),
        ({"id": "a", "ts": 1, "text": ""}, "missing_field", "text"),
        ({"id": "a", "ts": "soon", "text": "x"}, "bad_ts", "soon"),
        ({"id": ["a"], "ts": 1, "text": "x"}, "bad_field", "id"),
        ({"id": "a", "ts": 1, "text": 5}, "bad_field", "text"),
        ({"id": "a", "ts": 1, "text": "x", "region": 98}, "bad_field", "region"),
    ],
)
def test_contract_violations_name_the_problem(record, code, words):
    with pytest.raises(FeedError) as caught:
        post_from_record(record)
    assert caught.value.code == code
    assert words in str(caught.value)
