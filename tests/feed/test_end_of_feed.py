"""The end-of-feed marker: its record, and that nothing else is taken for it."""

import orjson
import pytest

from feed import (
    END_OF_FEED_HEADER,
    FeedError,
    Post,
    end_of_feed_record,
    end_of_feed_ts,
    end_of_feed_value,
    format_ts,
    post_from_record,
)

LAST = 1245456000.0  # 2009-06-20T00:00:00Z


def test_the_marker_is_the_kind_and_the_feeds_last_event_time():
    assert orjson.loads(end_of_feed_value(LAST)) == {"kind": "end", "ts": "2009-06-20T00:00:00Z"}
    assert end_of_feed_record(LAST + 0.25)["ts"] == format_ts(LAST + 0.25)
    assert END_OF_FEED_HEADER == "iran2009.end"


def test_a_marker_is_recognized_with_its_time():
    assert end_of_feed_ts(orjson.loads(end_of_feed_value(LAST))) == LAST
    assert end_of_feed_ts({"kind": "end", "ts": LAST}) == LAST  # epoch seconds, as for posts
    assert end_of_feed_ts({"kind": "end", "ts": "2009-06-20T04:30:00+04:30", "feed": "x"}) == LAST


def test_a_worker_that_does_not_know_the_marker_refuses_it_as_a_post():
    with pytest.raises(FeedError) as refused:
        post_from_record(orjson.loads(end_of_feed_value(LAST)))
    assert refused.value.code == "missing_field"


@pytest.mark.parametrize(
    "record",
    [
        Post(id="p1", ts=LAST, text="rally", extra={"kind": "end"}).to_record(),  # a post, whatever its kind
        {"kind": "end", "ts": "2009-06-20T00:00:00Z", "id": "p1"},
        {"kind": "end", "ts": "2009-06-20T00:00:00Z", "text": "bye"},
        {"kind": "end"},
        {"kind": "end", "ts": "2009-06-20T00:00:00"},  # no offset: refused, as for posts
        {"kind": "tweet", "ts": "2009-06-20T00:00:00Z"},
        ["kind", "end"],
        "end",
        None,
    ],
)
def test_nothing_else_is_taken_for_a_marker(record):
    assert end_of_feed_ts(record) is None
