"""The end-of-feed marker: a record of the posts topic that is neither a post nor a deletion notice. Pure.

Once a replay has sent its whole feed and the broker has acknowledged every post, the replayer writes
one marker to every partition of the topic. The stack then knows that the partition has nothing more
to come, so it stops holding the event-time watermark back and the feed's last windows close, as they
do at the end of a file in ``python -m pipeline analyze``.

The record: value ``{"kind": "end", "ts": "<RFC 3339 of the feed's last event time>"}``, key None,
record timestamp = that time, header ``iran2009.end: 1``, one per partition (explicit partition).
It has no ``id`` and no ``text``, so a worker that does not know it dead-letters it as a bad post
(``missing_field``) rather than counting it; and no post can be taken for it, since every post has both.
Nor can a deletion notice (``"kind": "delete"``): every notice has an ``id``.
"""

from __future__ import annotations

from typing import Any

import orjson

from feed.model import FeedError, format_ts, parse_ts

END_OF_FEED_KIND = "end"
END_OF_FEED_HEADER = "iran2009.end"
END_OF_FEED_HEADER_VALUE = b"1"


def end_of_feed_record(last_ts: float) -> dict[str, Any]:
    """The marker's JSON for a feed whose last event time is ``last_ts`` (epoch seconds)."""
    return {"kind": END_OF_FEED_KIND, "ts": format_ts(last_ts)}


def end_of_feed_value(last_ts: float) -> bytes:
    return orjson.dumps(end_of_feed_record(last_ts))


def end_of_feed_ts(record: Any) -> float | None:
    """The feed's last event time when ``record`` (a decoded JSON value) is an end-of-feed marker;
    None for anything else. A record with an ``id`` or a ``text`` is never a marker: posts have both."""
    if type(record) is not dict or record.get("kind") != END_OF_FEED_KIND:
        return None
    if "id" in record or "text" in record:
        return None
    try:
        return parse_ts(record.get("ts"))
    except FeedError:
        return None  # a marker without a valid time is junk, and is dead-lettered as such
