"""Where the posts (and deletion notices) of a send or a conversion come from: the feed to read (a file,
or the built-in seed feed), a reader for its format (the feed contract in JSON Lines, Twitter exports,
CSV; see :mod:`replay.formats`), and the survey, the validating pass that sizes the feed before anything
is sent.

Errors in what was asked for (a missing feed, ``--map`` outside CSV, a bad ``--map``) are ``ValueError``
with a one-line message; the command line reports them. Bad records are :class:`~feed.FeedError`,
raised (or counted) when the reader is called.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from feed import FeedItem, FeedStats, read_feed, read_items
from feed.pseudonyms import Pseudonymizer
from replay.wire import WirePost, wire_post_from_record

FORMAT_CHOICES = ("jsonl", "twitter-v1", "twitter-v2", "twitter-archive", "csv")
# What a kept post costs besides its value: the tuple, its id, time and key, the list's slot.
KEPT_POST_OVERHEAD_BYTES = 260


def feed_or_seed(path: Path | None) -> Path:
    """The feed to send: ``path``, or the built-in seed feed when none is given."""
    from replay.seed import SEED_FEED_PATH

    feed = path or SEED_FEED_PATH
    if not feed.is_file():
        raise ValueError(f"feed not found: {feed}")
    return feed


@dataclass
class FeedSurvey:
    """What one validating pass over the feed found: sizes, event-time span, bad records."""

    posts: int
    first_ts: float | None
    last_ts: float | None
    stats: FeedStats
    kept: list[WirePost] | None = None  # the posts themselves, when they fitted the memory budget

    @property
    def span_seconds(self) -> float:
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return max(0.0, self.last_ts - self.first_ts)


def survey_posts(
    posts: Iterable[FeedItem | WirePost],
    stats: FeedStats,
    keep: Callable[[float], bool],
    *,
    memory_bytes: int = 0,
) -> FeedSurvey:
    """Counts the posts (deletion notices included) ``keep`` accepts and their span; keeps them while
    they fit ``memory_bytes``."""
    first = last = None
    count = 0
    kept: list | None = [] if memory_bytes > 0 else None
    used = 0
    for post in posts:
        ts = post.ts
        if not keep(ts):
            continue
        count += 1
        if first is None:
            first = last = ts
        elif ts < first:
            first = ts
        elif ts > last:  # type: ignore[operator]
            last = ts
        if kept is not None:
            used += len(post.value) + KEPT_POST_OVERHEAD_BYTES  # type: ignore[union-attr]
            if used <= memory_bytes:
                kept.append(post)
            else:
                kept = None  # too big: the sending pass reads the feed again
    return FeedSurvey(posts=count, first_ts=first, last_ts=last, stats=stats, kept=kept)


def survey_feed(path: Path, *, skip_bad: bool) -> FeedSurvey:
    stats = FeedStats()
    return survey_posts(read_items(path, skip_bad=skip_bad, stats=stats), stats, lambda _ts: True)


def open_wire_source(
    args: argparse.Namespace, path: Path, pseudonymizer: Pseudonymizer | None = None
) -> Callable[[FeedStats | None], Iterable[WirePost]]:
    """A reader of the feed as it is sent; JSON Lines feeds are streamed, and their lines that already
    are the post's JSON are sent as they are (replay.wire). With a pseudonymizer, each post's authors,
    mentions, ids and identifying fields are replaced before it is encoded (feed.pseudonyms). Deletion
    notices are read, pseudonymized and sent the same way as posts."""
    if args.format == "jsonl":
        if args.field_map:
            raise ValueError("--map applies to --format csv only")
        build = wire_post_from_record if pseudonymizer is None else _pseudonymized(pseudonymizer)
        return lambda stats: read_feed(path, skip_bad=args.skip_bad, stats=stats, build=build)
    read = open_source(args, path)
    if pseudonymizer is None:
        return lambda stats: map(WirePost.from_post, read(stats))
    build = _pseudonymized(pseudonymizer)
    return lambda stats: (build(post.to_record(), b"") for post in read(stats))


def _pseudonymized(pseudonymizer: Pseudonymizer) -> Callable[[Any, bytes], WirePost]:
    def build(record: Any, _line: bytes) -> WirePost:
        if isinstance(record, dict):
            pseudonymizer.record(record)
        return wire_post_from_record(record, orjson.dumps(record))

    return build


def open_source(args: argparse.Namespace, path: Path) -> Callable[[FeedStats | None], Iterable[FeedItem]]:
    """A reader for the feed in its format (posts and deletion notices); called once per pass so JSON
    Lines feeds are streamed."""
    if args.format == "jsonl":
        if args.field_map:
            raise ValueError("--map applies to --format csv only")
        return lambda stats: read_items(path, skip_bad=args.skip_bad, stats=stats)
    from replay.formats import parse_field_map, read_posts

    try:
        field_map = parse_field_map(args.field_map) if args.field_map else None
    except ValueError as exc:
        raise ValueError(f"--map: {exc}") from None
    cached: list[FeedItem] = []

    def read(stats: FeedStats | None) -> Iterable[FeedItem]:
        # Non-native formats are parsed (and sorted) once and kept for later passes.
        if not cached:
            cached.extend(
                read_posts(path, args.format, field_map=field_map, skip_bad=args.skip_bad, stats=stats)
            )
        return cached

    return read
