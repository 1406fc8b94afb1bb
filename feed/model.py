"""The feed's records and the rules that turn JSON into them: a :class:`Post`, or a :class:`Deletion`
(a deletion notice, ``{"kind": "delete", "id", "ts", "author"?}``)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

REQUIRED_FIELDS = ("id", "ts", "text")
OPTIONAL_FIELDS = ("author", "platform", "lang", "region")  # strings
# Optional facts about the author's account: when it was made (RFC 3339) and its followers (an integer).
AUTHOR_ACCOUNT_FIELDS = ("author_created", "author_followers")
KNOWN_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS + AUTHOR_ACCOUNT_FIELDS

# A record with "kind": "delete" is a deletion notice, not a post. Other kinds are a post's extra field
# (the seed feed's "kind": "paragraph"), and "end" is the end-of-feed marker (feed.end_of_feed).
DELETION_KIND = "delete"
DELETION_REQUIRED_FIELDS = ("id", "ts")
DELETION_KNOWN_FIELDS = ("kind", "id", "ts", "author")

# Epoch seconds outside this range are almost certainly milliseconds or garbage.
MIN_EPOCH = 0.0
MAX_EPOCH = 32503680000.0  # year 3000


class FeedError(ValueError):
    """A record that breaks the feed contract; ``str()`` names the place, e.g. ``feed.jsonl:12: ...``."""

    def __init__(self, reason: str, place: str | None = None, *, code: str = "invalid_record") -> None:
        self.reason = reason
        self.place = place
        self.code = code  # a bounded word for metrics and dead-letter headers, e.g. "bad_ts"
        super().__init__(f"{place}: {reason}" if place else reason)

    def at(self, place: str) -> FeedError:
        return FeedError(self.reason, place, code=self.code)


def parse_ts(value: Any, name: str = "ts", *, code: str = "bad_ts") -> float:
    """Event time as epoch seconds from RFC 3339 (offset or Z required) or epoch seconds.

    ``name`` and ``code`` say which field an error is about (``author_created``, ``bad_field``)."""
    if isinstance(value, bool):
        raise FeedError(f"unparseable {name} {value!r}: expected RFC 3339 or epoch seconds", code=code)
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_ts_string(value.strip(), name, code)
    else:
        raise FeedError(f"unparseable {name} {value!r}: expected RFC 3339 or epoch seconds", code=code)
    if not math.isfinite(seconds) or not MIN_EPOCH <= seconds <= MAX_EPOCH:
        raise FeedError(
            f"{name} {value!r} is out of range (epoch seconds expected, not milliseconds)", code=code
        )
    return seconds


def _parse_ts_string(text: str, name: str, code: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise FeedError(
            f"unparseable {name} {text!r}: expected RFC 3339 or epoch seconds", code=code
        ) from None
    if moment.tzinfo is None:
        # Naive times are ambiguous (Tehran is +04:30 in summer): refuse rather than guess.
        raise FeedError(f"{name} {text!r} has no UTC offset: RFC 3339 needs Z or +HH:MM", code=code)
    return moment.timestamp()


def parse_author_created(value: Any) -> float:
    """``author_created`` as epoch seconds (RFC 3339 or epoch seconds, as ``ts``); bad: ``bad_field``."""
    return parse_ts(value, "author_created", code="bad_field")


def parse_author_followers(value: Any) -> int:
    """``author_followers``: a JSON integer, zero or more (not a bool, a float or a string)."""
    if type(value) is not int or value < 0:
        raise FeedError(f"author_followers must be an integer of 0 or more, got {value!r}", code="bad_field")
    return value


def format_ts(seconds: float) -> str:
    """RFC 3339 in UTC with a Z; milliseconds only when the time has them."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Post:
    id: str
    ts: float  # event time, epoch seconds (UTC)
    text: str
    author: str | None = None
    platform: str | None = None
    lang: str | None = None
    region: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # After extra, so that positional construction (id, ts, text, ..., extra) keeps its meaning.
    author_created: float | None = None  # when the author's account was made, epoch seconds (UTC)
    author_followers: int | None = None

    @property
    def ts_ms(self) -> int:
        return round(self.ts * 1000)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id, "ts": format_ts(self.ts), "text": self.text}
        for name in OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        if self.author_created is not None:
            record["author_created"] = format_ts(self.author_created)
        if self.author_followers is not None:
            record["author_followers"] = self.author_followers
        record.update(self.extra)
        return record

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_record())


@dataclass(frozen=True, slots=True)
class Deletion:
    """A deletion notice: the post ``id`` was deleted at ``ts``, by ``author`` when known.

    JSON: ``{"kind": "delete", "id", "ts", "author"?, ...extra fields kept}``. ``id`` and ``author`` are
    written as the deleted post's ``id`` and ``author`` are (and pseudonymized alike), so a notice finds
    its post; a notice whose post was never seen is still a valid notice."""

    id: str  # the deleted post's id
    ts: float  # when it was deleted, epoch seconds (UTC)
    author: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    kind = DELETION_KIND  # not a field: every Deletion is one

    @property
    def ts_ms(self) -> int:
        return round(self.ts * 1000)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"kind": DELETION_KIND, "id": self.id, "ts": format_ts(self.ts)}
        if self.author is not None:
            record["author"] = self.author
        record.update(self.extra)
        return record

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_record())


FeedItem = Post | Deletion  # what one record of a feed (or of the posts topic) is


def is_deletion_record(record: Any) -> bool:
    """True when a decoded JSON value claims to be a deletion notice (``"kind": "delete"``)."""
    return type(record) is dict and record.get("kind") == DELETION_KIND


def post_from_record(record: Any) -> Post:
    """Validate one decoded JSON value against the contract of a post.

    A deletion notice is refused with code ``deletion``: read it with :func:`item_from_record`."""
    if not isinstance(record, dict):
        raise FeedError(f"expected a JSON object, got {type(record).__name__}", code="not_object")
    if record.get("kind") == DELETION_KIND:
        raise FeedError('a deletion notice ("kind": "delete"), not a post', code="deletion")
    missing = [name for name in REQUIRED_FIELDS if record.get(name) in (None, "")]
    if missing:
        raise FeedError(f"missing required field(s): {', '.join(missing)}", code="missing_field")
    post_id = _id(record["id"])
    text = record["text"]
    if not isinstance(text, str):
        raise FeedError(f"text must be a string, got {type(text).__name__}", code="bad_field")
    optional = {}
    for name in OPTIONAL_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise FeedError(f"{name} must be a string, got {type(value).__name__}", code="bad_field")
        optional[name] = value or None
    created = record.get("author_created")
    followers = record.get("author_followers")
    extra = {key: value for key, value in record.items() if key not in KNOWN_FIELDS}
    return Post(
        id=post_id,
        ts=parse_ts(record["ts"]),
        text=text,
        extra=extra,
        author_created=None if created in (None, "") else parse_author_created(created),
        author_followers=None if followers is None else parse_author_followers(followers),
        **optional,
    )


def deletion_from_record(record: Any) -> Deletion:
    """Validate one decoded JSON value against the contract of a deletion notice."""
    if not isinstance(record, dict):
        raise FeedError(f"expected a JSON object, got {type(record).__name__}", code="not_object")
    if record.get("kind") != DELETION_KIND:
        raise FeedError(
            f'a deletion notice needs "kind": "delete", got {record.get("kind")!r}', code="bad_field"
        )
    missing = [name for name in DELETION_REQUIRED_FIELDS if record.get(name) in (None, "")]
    if missing:
        raise FeedError(
            f"deletion notice: missing required field(s): {', '.join(missing)}", code="missing_field"
        )
    post_id = _id(record["id"])
    author = record.get("author")
    if author is not None and not isinstance(author, str):
        raise FeedError(f"author must be a string, got {type(author).__name__}", code="bad_field")
    try:
        ts = parse_ts(record["ts"])
    except FeedError as exc:
        raise FeedError(f"deletion notice: {exc.reason}", code=exc.code) from None
    extra = {key: value for key, value in record.items() if key not in DELETION_KNOWN_FIELDS}
    return Deletion(id=post_id, ts=ts, author=author or None, extra=extra)


def item_from_record(record: Any) -> FeedItem:
    """A post, or a deletion notice when the record says ``"kind": "delete"``; raises FeedError."""
    if type(record) is dict and record.get("kind") == DELETION_KIND:
        return deletion_from_record(record)
    return post_from_record(record)


def _id(post_id: Any) -> str:
    if isinstance(post_id, int) and not isinstance(post_id, bool):
        post_id = str(post_id)  # numeric ids are common in exports; the contract wants strings
    if not isinstance(post_id, str):
        raise FeedError(f"id must be a string, got {type(post_id).__name__}", code="bad_field")
    return post_id
