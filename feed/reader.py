"""Reading and writing JSON Lines feeds, with errors that name file:line."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import orjson

from feed.model import DELETION_KIND, FeedError, FeedItem, Post, item_from_record, post_from_record

MAX_REMEMBERED_ERRORS = 20

T = TypeVar("T")


def _post(record: Any, _line: bytes) -> Post:
    return post_from_record(record)


def feed_item(record: Any, _line: bytes) -> FeedItem:
    """A ``build`` for :func:`parse_lines` and :func:`read_feed` that takes deletion notices too."""
    return item_from_record(record)


@dataclass
class FeedStats:
    """What a read saw: records yielded (``posts``, deletion notices included, and ``deletions`` of them
    alone), bad lines skipped (with the first few reasons), and notices left out for want of a time."""

    posts: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)
    deletions: int = 0
    undated_deletions: int = 0  # Twitter v1 stream notices before 2013 carry no time: not usable, not bad

    def record_bad(self, error: FeedError) -> None:
        self.skipped += 1
        if len(self.errors) < MAX_REMEMBERED_ERRORS:
            self.errors.append(str(error))


def parse_lines(
    lines: Iterable[bytes],
    source: str,
    *,
    skip_bad: bool = False,
    stats: FeedStats | None = None,
    build: Callable[[Any, bytes], T] = _post,  # type: ignore[assignment]
) -> Iterator[T]:
    """Posts from JSON Lines; blank lines are ignored, bad ones raise (or are counted with skip_bad).

    ``build(record, line)`` turns each decoded line into what is yielded (a :class:`Post` by default)
    and raises :class:`FeedError` for a record that breaks the contract.
    """
    stats = stats if stats is not None else FeedStats()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            try:
                record = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise FeedError(f"not valid JSON ({exc})", code="invalid_json") from None
            post = build(record, line)
        except FeedError as exc:
            located = exc.at(f"{source}:{number}")
            if not skip_bad:
                raise located from None
            stats.record_bad(located)
            continue
        stats.posts += 1
        if type(record) is dict and record.get("kind") == DELETION_KIND:  # whatever build made of it
            stats.deletions += 1
        yield post


def read_feed(
    path: str | os.PathLike[str],
    *,
    skip_bad: bool = False,
    stats: FeedStats | None = None,
    build: Callable[[Any, bytes], T] = _post,  # type: ignore[assignment]
) -> Iterator[T]:
    """Stream posts from a JSON Lines file without loading it whole (``build``: see parse_lines).

    Only posts by default: a deletion notice is a bad record (code ``deletion``); :func:`read_items`
    reads both."""
    path = Path(path)
    with path.open("rb") as handle:
        yield from parse_lines(handle, str(path), skip_bad=skip_bad, stats=stats, build=build)


def read_items(
    path: str | os.PathLike[str], *, skip_bad: bool = False, stats: FeedStats | None = None
) -> Iterator[FeedItem]:
    """Stream posts and deletion notices from a JSON Lines file, in file order."""
    return read_feed(path, skip_bad=skip_bad, stats=stats, build=feed_item)


def write_feed(posts: Iterable[FeedItem], path: str | os.PathLike[str]) -> int:
    """Write posts (and deletion notices) as JSON Lines; returns how many were written."""
    count = 0
    with Path(path).open("wb") as handle:
        for post in posts:
            handle.write(post.to_json())
            handle.write(b"\n")
            count += 1
    return count
