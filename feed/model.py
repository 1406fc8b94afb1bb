"""The post model and the rules that turn a JSON record into one."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

REQUIRED_FIELDS = ("id", "ts", "text")
OPTIONAL_FIELDS = ("author", "platform", "lang", "region")
KNOWN_FIELDS = REQUIRED_FIELDS + OPTIONAL_FIELDS

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


def parse_ts(value: Any) -> float:
    """Event time as epoch seconds from RFC 3339 (offset or Z required) or epoch seconds."""
    if isinstance(value, bool):
        raise FeedError(f"unparseable ts {value!r}: expected RFC 3339 or epoch seconds", code="bad_ts")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_ts_string(value.strip())
    else:
        raise FeedError(f"unparseable ts {value!r}: expected RFC 3339 or epoch seconds", code="bad_ts")
    if not math.isfinite(seconds) or not MIN_EPOCH <= seconds <= MAX_EPOCH:
        raise FeedError(
            f"ts {value!r} is out of range (epoch seconds expected, not milliseconds)", code="bad_ts"
        )
    return seconds


def _parse_ts_string(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise FeedError(
            f"unparseable ts {text!r}: expected RFC 3339 or epoch seconds", code="bad_ts"
        ) from None
    if moment.tzinfo is None:
        # Naive times are ambiguous (Tehran is +04:30 in summer): refuse rather than guess.
        raise FeedError(f"ts {text!r} has no UTC offset: RFC 3339 needs Z or +HH:MM", code="bad_ts")
    return moment.timestamp()


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

    @property
    def ts_ms(self) -> int:
        return round(self.ts * 1000)

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {"id": self.id, "ts": format_ts(self.ts), "text": self.text}
        for name in OPTIONAL_FIELDS:
            value = getattr(self, name)
            if value is not None:
                record[name] = value
        record.update(self.extra)
        return record

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_record())


def post_from_record(record: Any) -> Post:
    """Validate one decoded JSON value against the contract."""
    if not isinstance(record, dict):
        raise FeedError(f"expected a JSON object, got {type(record).__name__}", code="not_object")
    missing = [name for name in REQUIRED_FIELDS if record.get(name) in (None, "")]
    if missing:
        raise FeedError(f"missing required field(s): {', '.join(missing)}", code="missing_field")
    post_id = record["id"]
    if isinstance(post_id, int) and not isinstance(post_id, bool):
        post_id = str(post_id)  # numeric ids are common in exports; the contract wants strings
    if not isinstance(post_id, str):
        raise FeedError(f"id must be a string, got {type(post_id).__name__}", code="bad_field")
    text = record["text"]
    if not isinstance(text, str):
        raise FeedError(f"text must be a string, got {type(text).__name__}", code="bad_field")
    optional = {}
    for name in OPTIONAL_FIELDS:
        value = record.get(name)
        if value is not None and not isinstance(value, str):
            raise FeedError(f"{name} must be a string, got {type(value).__name__}", code="bad_field")
        optional[name] = value or None
    extra = {key: value for key, value in record.items() if key not in KNOWN_FIELDS}
    return Post(id=post_id, ts=parse_ts(record["ts"]), text=text, extra=extra, **optional)
