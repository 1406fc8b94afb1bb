"""A post (or a deletion notice) as the replayer sends it: key, value and event time, encoded once. Pure.

Every post is read, checked against the feed contract and encoded before anything is sent, and at
max speed that work costs as much as the Kafka client itself. Most feed lines already are the post's
JSON (written by ``replay generate`` or ``replay convert``): for those the line itself is the value,
so the post is decoded once and never rebuilt or encoded again (:func:`wire_post_from_line`). Any
other line takes the general path through :class:`feed.Post`, with the same result.

A deletion notice (``{"kind": "delete", "id", "ts", "author"?}``) is sent like a post: on the same
topic, in event-time order with the posts, keyed by its author; its ``id`` is the deleted post's id.
Notices always take the general path (through :class:`feed.Deletion`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import orjson

from feed import FeedItem, item_from_record
from feed.model import DELETION_KIND, MAX_EPOCH, MIN_EPOCH, OPTIONAL_FIELDS
from replay.schedule import loop_post

_SHORT_TS = len("2009-06-13T00:00:00Z")
_LONG_TS = len("2009-06-13T00:00:00.000Z")


class WirePost(NamedTuple):
    """What one Kafka record of ``posts`` carries (a tuple: millions are built per replay). For a
    deletion notice: the deleted post's id, the time of the deletion, the author and the notice's JSON."""

    id: str
    ts: float  # event time, epoch seconds
    key: bytes | None  # the author, so one author's posts stay in order on one partition
    value: bytes  # the post as JSON: the fields of Post.to_record() (or Deletion.to_record())

    @property
    def ts_ms(self) -> int:
        return round(self.ts * 1000)

    @classmethod
    def from_post(cls, post: FeedItem) -> WirePost:
        """From a :class:`feed.Post` or a :class:`feed.Deletion`."""
        return cls(post.id, post.ts, post.author.encode() if post.author else None, post.to_json())

    def to_post(self) -> FeedItem:
        """The post (or the deletion notice) this record carries."""
        return item_from_record(orjson.loads(self.value))


def wire_post_from_record(record: Any, line: bytes) -> WirePost:
    """One decoded JSON line as sent, a post or a deletion notice; raises :class:`feed.FeedError` as
    ``item_from_record`` does."""
    fast = _canonical(record, line)
    if fast is not None:
        return fast
    return WirePost.from_post(item_from_record(record))


def _canonical(record: Any, line: bytes) -> WirePost | None:
    """The line as the value, when it decodes to exactly ``Post.to_record()`` of its post; else None.

    That holds when ``id`` and ``text`` are non-empty strings, every optional field present is a
    non-empty string, ``ts`` (and ``author_created`` when present) is already in ``format_ts``'s form
    (UTC, Z, milliseconds only when not zero), ``author_followers`` when present is an integer of 0 or
    more, and the record is not a deletion notice. Extra fields pass through ``to_record`` unchanged
    either way.
    """
    if type(record) is not dict:
        return None
    post_id, text, ts = record.get("id"), record.get("text"), record.get("ts")
    if type(post_id) is not str or type(text) is not str or type(ts) is not str or not post_id or not text:
        return None
    seconds = _canonical_seconds(ts)
    if seconds is None:
        return None
    for name in OPTIONAL_FIELDS:
        if name in record:
            value = record[name]
            if type(value) is not str or not value:
                return None
    if "kind" in record and record["kind"] == DELETION_KIND:
        return None
    if "author_created" in record:
        created = record["author_created"]
        if type(created) is not str or _canonical_seconds(created) is None:
            return None
    if "author_followers" in record:
        followers = record["author_followers"]
        if type(followers) is not int or followers < 0:
            return None
    author = record.get("author")
    return WirePost(post_id, seconds, author.encode() if author else None, line.strip())


def _canonical_seconds(ts: str) -> float | None:
    """Epoch seconds of a time written exactly as ``format_ts`` writes it, else None."""
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
    return seconds


def relabel(post: WirePost, loop_pass: int, shift: float) -> WirePost:
    """The post as sent on a later loop pass: its time moved by ``loop_pass * shift``, its id suffixed
    (a deletion notice's id alike, so it still names its post's copy of that pass)."""
    if loop_pass == 0:
        return post
    return WirePost.from_post(loop_post(post.to_post(), loop_pass, shift))
