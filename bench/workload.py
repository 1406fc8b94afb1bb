"""The bench's feed: the generated ``stress`` scenario cut to exactly N posts, and its pre-encoded records."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from feed import Post, read_feed
from replay.generate import SCENARIOS, write_scenario

SCENARIO = "stress"  # 200 posts/s of event time, many authors and terms, nine episodes
SEED = 1
# The backlog case: the iran2009 week (923,416 posts at about 1.5 posts/s) into 16 partitions, sparse
# enough that one fetched batch of a partition spans hours of event time.
BACKLOG_SCENARIO = "iran2009"
BACKLOG_PARTITIONS = 16


def make_feed(path: Path, posts: int) -> int:
    """Writes the first ``posts`` posts of the scenario to ``path`` (JSON Lines); returns how many."""
    hours = posts / SCENARIOS[SCENARIO].rate / 3600 * 1.15  # episodes (an outage) thin the volume a bit
    raw = path.with_suffix(".full.jsonl")
    write_scenario(SCENARIO, seed=SEED, hours=hours, feed_path=raw)
    count = 0
    with raw.open("rb") as source, path.open("wb") as target:
        for line in itertools.islice(source, posts):
            target.write(line)
            count += 1
    raw.unlink()
    return count


def make_backlog_feed(path: Path, posts: int) -> int:
    """Writes the first ``posts`` posts of the iran2009 week (seed 1) to ``path``; returns how many (at
    most the week's)."""
    raw = path.with_suffix(".full.jsonl")
    write_scenario(BACKLOG_SCENARIO, seed=SEED, feed_path=raw)  # its own length: the week
    with raw.open("rb") as source, path.open("wb") as target:
        count = 0
        for line in itertools.islice(source, posts):
            target.write(line)
            count += 1
    raw.unlink()
    return count


@dataclass(frozen=True, slots=True)
class Message:
    """One posts record as replay sends it: value = the post's JSON, key = author, timestamp = event time."""

    id: str
    value: bytes
    key: bytes | None
    timestamp_ms: int


def load(path: Path) -> tuple[list[Post], list[Message]]:
    """The feed's posts and their records. The generator writes ``Post.to_json`` byte for byte, so the
    file's lines are the values replay would send."""
    posts = list(read_feed(path, skip_bad=False))
    with path.open("rb") as handle:
        lines = [line.rstrip(b"\n") for line in handle if line.strip()]
    if len(lines) != len(posts):
        raise ValueError(f"{path}: {len(lines)} lines but {len(posts)} posts")
    messages = [
        Message(post.id, line, post.author.encode() if post.author else None, post.ts_ms)
        for post, line in zip(posts, lines, strict=True)
    ]
    return posts, messages


def _partitions(messages: list[Message], partitions: int) -> list[int] | None:
    """The partition kafka-python's default partitioner gives each message (murmur2 of the key, as
    replay's producer does); None when a message has no key."""
    from kafka.partitioner.default import murmur2

    chosen: list[int] = []
    memo: dict[bytes, int] = {}
    for message in messages:
        key = message.key
        if key is None:
            return None
        partition = memo.get(key)
        if partition is None:
            partition = memo[key] = (murmur2(key) & 0x7FFFFFFF) % partitions
        chosen.append(partition)
    return chosen


def partition_counts(messages: list[Message], partitions: int) -> list[int] | None:
    """How many of ``messages`` kafka-python's default partitioner puts in each partition (murmur2 of the
    key, as replay's producer does), so a run can be timed over a prefix of a pre-filled topic: the first
    N messages are the first ``counts[p]`` offsets of each partition. None when a message has no key."""
    chosen = _partitions(messages, partitions)
    if chosen is None:
        return None
    counts = [0] * partitions
    for partition in chosen:
        counts[partition] += 1
    return counts


def partition_last_timestamps(messages: list[Message], partitions: int) -> list[int] | None:
    """The last record timestamp (ms) of each partition once ``messages`` were sent with keys as in
    :func:`partition_counts` (None when a message has no key). Detection's watermark ends at the earliest
    of them minus the lateness: in a sparse feed over 16 partitions, minutes before the feed's end."""
    chosen = _partitions(messages, partitions)
    if chosen is None:
        return None
    last = [0] * partitions
    for partition, message in zip(chosen, messages, strict=True):
        last[partition] = max(last[partition], message.timestamp_ms)
    return last


def write_prefix(source: Path, target: Path, posts: int) -> None:
    """The first ``posts`` lines of ``source``."""
    with source.open("rb") as lines, target.open("wb") as out:
        out.writelines(itertools.islice(lines, posts))
