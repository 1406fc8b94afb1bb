"""One batch of raw ``posts`` records in, everything the classify stage must publish and count out. Pure.

The Kafka wiring (:mod:`pipeline.stream.classify_stage`) only fetches records, hands them here and sends
what comes back; the tests drive this module without a broker.

A record the engine raises on (a bug, or text nothing here foresaw) is dead-lettered with the reason
``engine_error`` and the exception's type; the rest of the batch goes on.

An end-of-feed marker (:mod:`feed.end_of_feed`) is not a post: it is neither published nor
dead-lettered, but goes into its partition's detect record (as an end, at its offset), which is written
for that partition even when the batch has no post from it. Its offset is committed like any other.
A deletion notice (``"kind": "delete"``) goes the same way: into its partition's detect record, at its
offset, after its author is pseudonymized like a post's.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from feed import FeedError
from feed.model import Deletion
from feed.pseudonyms import Pseudonymizer, load_key
from pipeline.engine import Engine, EngineError
from pipeline.labels import lang_label, platform_label, region_label
from pipeline.records import decode_end_of_feed, decode_post, observations_to_json, removal


class RawRecord(Protocol):
    """What a Kafka record has (aiokafka's ConsumerRecord has these and more)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Record(NamedTuple):
    """A plain record: what crosses to a classifier process (a tuple pickles fastest)."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


class Outgoing(NamedTuple):
    key: bytes | None
    value: bytes
    timestamp_ms: int


@dataclass
class ClassifiedBatch:
    # Per source partition, in offset order: the classified posts and one detect-topic record.
    classified: dict[int, list[Outgoing]] = field(default_factory=dict)
    detect: dict[int, bytes] = field(default_factory=dict)
    invalid: list[tuple[RawRecord, FeedError]] = field(default_factory=list)
    # Next offset to commit per partition once everything above is delivered.
    next_offsets: dict[int, int] = field(default_factory=dict)
    consumed: Counter[tuple[str, str]] = field(default_factory=Counter)  # platform, region
    published: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # platform, region, lang
    categories: Counter[str] = field(default_factory=Counter)
    priorities: Counter[str] = field(default_factory=Counter)
    langs: Counter[str] = field(default_factory=Counter)
    latest_event_time: float = 0.0
    records: int = 0
    end_markers: int = 0  # end-of-feed markers read (in the detect records, not published)
    deletions: int = 0  # deletion notices read (in the detect records, not published)


def classify_batch(
    records: Iterable[RawRecord],
    engine: Engine,
    *,
    max_bytes: int,
    pseudonymizer: Pseudonymizer | None = None,
) -> ClassifiedBatch:
    """``pseudonymizer``: authors and @mentions still raw (a producer other than the replayer) are
    pseudonymized before anything is published, and the record key becomes the author's pseudonym."""
    batch = ClassifiedBatch()
    rows: dict[int, list] = {}
    ends: dict[int, list[tuple[int, float]]] = {}
    deletes: dict[int, list] = {}
    for record in records:
        batch.records += 1
        partition = record.partition
        batch.next_offsets[partition] = record.offset + 1
        try:
            post = decode_post(record.value, max_bytes=max_bytes)
        except FeedError as error:
            # Only a record that is not a post can be a marker: posts pay nothing for the check.
            last_ts = decode_end_of_feed(record.value)
            if last_ts is None:
                batch.invalid.append((record, error))
            else:
                ends.setdefault(partition, []).append((record.offset, last_ts))
                batch.end_markers += 1
            continue
        key = record.key
        if pseudonymizer is not None:
            private = pseudonymizer.authors(post)
            if private is not post:
                post = private
                key = post.author.encode() if post.author else None
        if type(post) is Deletion:
            deletes.setdefault(partition, []).append((record.offset, removal(post, partition)))
            batch.deletions += 1
            continue
        try:
            result = engine.classify(post)
            value = result.to_json()
            observation = result.observation(partition)
        except Exception as exc:  # one post the engine cannot take is dead-lettered, not the batch lost
            batch.invalid.append((record, EngineError(exc)))
            continue
        label = result.classification
        batch.classified.setdefault(partition, []).append(Outgoing(key, value, post.ts_ms))
        rows.setdefault(partition, []).append((record.offset, post.id, observation))
        platform, region, lang = (
            platform_label(post.platform),
            region_label(post.region),
            lang_label(label.lang),
        )
        batch.consumed[platform, region] += 1
        batch.published[platform, region, lang] += 1
        batch.categories.update(label.categories)
        batch.priorities[label.priority] += 1
        batch.langs[lang] += 1
        if post.ts > batch.latest_event_time:
            batch.latest_event_time = post.ts
    # A partition with only markers or notices in this batch still gets its record.
    batch.detect = {
        partition: observations_to_json(
            partition, rows.get(partition, []), ends.get(partition), deletes.get(partition)
        )
        for partition in sorted(rows.keys() | ends.keys() | deletes.keys())
    }
    return batch


_process_engine: Engine | None = None
_process_pseudonymizer: Pseudonymizer | None = None


def prepare_process_engine(fault_engine_error: str = "", *, keep_authors: bool = True) -> Engine:
    """This process's own engine (for a classifier process) and pseudonymizer (unless it keeps authors;
    the key is read as the worker reads it), built on the first call."""
    global _process_engine, _process_pseudonymizer
    if _process_engine is None:
        from pipeline.stream.faults import make_engine

        _process_engine = make_engine(fault_engine_error)
        _process_pseudonymizer = None if keep_authors else Pseudonymizer(load_key())
    return _process_engine


def classify_in_process(records: list[Record], max_bytes: int) -> ClassifiedBatch:
    """:func:`classify_batch` with this process's own engine."""
    engine = prepare_process_engine()
    return classify_batch(records, engine, max_bytes=max_bytes, pseudonymizer=_process_pseudonymizer)
