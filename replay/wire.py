"""A post as the replayer sends it: key, value and event time, encoded once. Pure.

Every post is read, checked against the feed contract and encoded before anything is sent, and at
max speed that work costs as much as the Kafka client itself. Most feed lines already are the post's
JSON (written by ``replay generate`` or ``replay convert``): for those the line itself is the value,
so the post is decoded once and never rebuilt or encoded again (:func:`wire_post_from_line`). Any
other line takes the general path through :class:`feed.Post`, with the same result.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import orjson

from feed import Post, post_from_record
from feed.model import MAX_EPOCH, MIN_EPOCH, OPTIONAL_FIELDS
from replay.schedule import loop_post

_SHORT_TS = len("2009-06-13T00:00:00Z")
_LONG_TS = len("2009-06-13T00:00:00.000Z")


class WirePost(NamedTuple):
    """What one Kafka record of ``posts`` carries (a tuple: millions are built per replay)."""

    id: str
    ts: float  # event time, epoch seconds
    key: bytes | None  # the author, so one author's posts stay in order on one partition
    value: bytes  # the post as JSON: the fields of Post.to_record()

    @property
    def ts_ms(self) -> int:
        return round(self.ts * 1000)

    @classmethod
    def from_post(cls, post: Post) -> WirePost:
        return cls(post.id, post.ts, post.author.encode() if post.author else None, post.to_json())

    def to_post(self) -> Post:
        return post_from_record(orjson.loads(self.value))


def wire_post_from_record(record: Any, line: bytes) -> WirePost:
    """One decoded JSON line as sent; raises :class:`feed.FeedError` as ``post_from_record`` does."""
    fast = _canonical(record, line)
    if fast is not None:
        return fast
    return WirePost.from_post(post_from_record(record))


def _canonical(record: Any, line: bytes) -> WirePost | None:
    """The line as the value, when it decodes to exactly ``Post.to_record()`` of its post; else None.

    That holds when ``id`` and ``text`` are non-empty strings, every optional field present is a
    non-empty string, and ``ts`` is already in ``format_ts``'s form (UTC, Z, milliseconds only when
    not zero). Extra fields pass through ``to_record`` unchanged either way.
    """
    if type(record) is not dict:
        return None
    post_id, text, ts = record.get("id"), record.get("text"), record.get("ts")
    if type(post_id) is not str or type(text) is not str or type(ts) is not str or not post_id or not text:
        return None
    size = len(ts)
    if not (size == _SHORT_TS or (size == _LONG_TS and ts[19] == "." and ts[20:23] != "000")):
        return None
    if ts[-1] != "Z" or ts[10] != "T" or ts[4] != "-" or ts[7] != "-" or ts[13] != ":" or ts[16] != ":":
        return None  # fromisoformat takes more forms (week dates, a space for T) than format_ts writes
    try:
        seconds = datetime.fromisoformat(ts).timestamp()
    except ValueError:
        return None  # the general path names the error
    if not MIN_EPOCH <= seconds <= MAX_EPOCH:
        return None
    for name in OPTIONAL_FIELDS:
        if name in record:
            value = record[name]
            if type(value) is not str or not value:
                return None
    author = record.get("author")
    return WirePost(post_id, seconds, author.encode() if author else None, line.strip())


def relabel(post: WirePost, loop_pass: int, shift: float) -> WirePost:
    """The post as sent on a later loop pass: its time moved by ``loop_pass * shift``, its id suffixed."""
    if loop_pass == 0:
        return post
    return WirePost.from_post(loop_post(post.to_post(), loop_pass, shift))
