"""Turning raw Kafka record values into posts, and posts into bounded metric labels. Pure."""

from __future__ import annotations

import orjson

from feed import FeedError, Post, end_of_feed_ts, post_from_record

KNOWN_PLATFORMS = frozenset({"twitter", "facebook", "blog", "chat", "news", "sms", "youtube", "flickr"})
UNKNOWN = "unknown"
# A marker is about 40 bytes: anything much larger is not one, and is not decoded a second time.
MAX_END_OF_FEED_BYTES = 1024


def decode_post(raw: bytes | None, *, max_bytes: int) -> Post:
    """Decode and validate one record value; raises FeedError with a ``code`` for the metric label."""
    if raw is None:
        raise FeedError("record has no value", code="empty")
    if len(raw) > max_bytes:
        raise FeedError(f"record is {len(raw)} bytes, over the {max_bytes}-byte limit", code="oversized")
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson refuses invalid UTF-8 as well as bad JSON.
        raise FeedError(f"not valid UTF-8 JSON ({exc})", code="invalid_json") from None
    return post_from_record(record)


def decode_end_of_feed(raw: bytes | None) -> float | None:
    """The feed's last event time when ``raw`` is an end-of-feed marker (:mod:`feed.end_of_feed`), else
    None. Asked only of records that are not posts, so the posts' path pays nothing for it."""
    if not raw or len(raw) > MAX_END_OF_FEED_BYTES:
        return None
    try:
        return end_of_feed_ts(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return None


def platform_label(platform: str | None) -> str:
    """Known platforms as themselves, anything else as 'other': label values stay bounded."""
    if not platform:
        return UNKNOWN
    platform = platform.lower()
    return platform if platform in KNOWN_PLATFORMS else "other"


def region_label(region: str | None) -> str:
    """ISO 3166 alpha-2 codes as upper case, anything else as 'invalid' (at most 26² + 2 values)."""
    if not region:
        return UNKNOWN
    if len(region) == 2 and region.isascii() and region.isalpha():
        return region.upper()
    return "invalid"


MAIN_LANGS = frozenset({"en", "fa", "fa-Latn"})


def lang_label(lang: str) -> str:
    """The three languages of the feeds as themselves, anything else as 'other'."""
    return lang if lang in MAIN_LANGS else "other"
