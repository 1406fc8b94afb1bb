"""Detection in two stages, so that the per-post work scales out (issue 20). Pure.

:class:`ShardDetector` does everything a :class:`~pipeline.detect.detector.Detector` does per post, for
the source partitions one shard owns: it counts each post into its tumbling window, keeps the bottom-k
samples, the authors' home regions (relocations) and the post index (deletions). When its own watermark
passes a window it resolves the window's deletion notices against its post index and hands the window
on, whole, as a :class:`Part`, with its :class:`Progress` (where its sources stand).

:class:`MergeDetector` receives parts, never posts: it adds the parts of each window together
(:meth:`Window.merge`: sums, bottom-k unions) and closes it when the watermark over every shard's
sources passes, running the tests, the grouping, the learning and the dedupe of
:class:`~pipeline.detect.detector.Detector` unchanged. Its work per window grows with the distinct
keys of the window, not with its posts.

Why this is exact. Every per-post state is keyed by author, and a source partition holds all posts of
an author (the replayer keys posts by author), so each shard owns its authors whole: home regions,
relocations, signatures and the posts their deletions refer to. What a window holds is a sum or a
bottom-k sample, both independent of how its posts are split. The merge's watermark is the minimum over
the shards' live sources, or, once every source has ended, the largest event time of all minus the
lateness: the single detector's watermark over the same sources. So a sharded run raises the alerts of
one detector over the same posts (tested against it, ``tests/pipeline/detect/test_sharded.py``).

Where it can differ, and only there:

* a deletion notice that names no author, on another shard than its post, finds nothing there: it
  counts as a deletion of an unknown post (toward no term and no region);
* lateness is decided per window part: a shard's part that reaches the merge after the merge closed its
  window is late as a whole (counted in ``late_posts``), and a shard's own watermark, ahead of the
  global one, makes it call late a post that one detector would still have counted. Both need a source
  more than the allowed lateness behind the others, which the stack's alignment prevents;
* each shard's post index holds ``post_index_limit`` posts, so over all shards the limit is that many
  times larger.
"""

from __future__ import annotations

import math
import struct
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
import zstandard

from pipeline.detect.dedupe import DedupedDetector, DetectionCounts
from pipeline.detect.detector import Detector
from pipeline.detect.model import Alert, DetectorConfig
from pipeline.detect.window import Window, decode_sample, signed_from_columns, signed_to_columns

# Zstandard at its fastest level. Parts were zlib (level 1) before: on the stress feed's parts zstd
# compressed 4x faster (141 -> 37 ms for 10 MB), decompressed 3x faster and wrote a third less (3.24 ->
# 2.13 MB). A part is told by its first bytes, so parts written before are still read.
PART_COMPRESSION = 1
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# A part, decompressed: this tag, the JSON header's length, the header, then the chunks of the windows'
# samples (Part.to_bytes). A part without it is all JSON, as earlier versions wrote it, and is still read.
_FRAMED = b"IRP2"
_HEADER_SIZE = struct.Struct(">I")
CHUNK_POSTS = 512


@dataclass(frozen=True, slots=True)
class Progress:
    """Where a shard's sources stand: the watermark's inputs, not the watermark."""

    live_min: float | None  # the smallest "largest event time" over its live sources; None: waiting
    max_ts: float | None  # the largest event time of any of its sources (None: no post yet)
    ended: bool  # every source it owns has ended (it holds the watermark back no longer)

    def to_list(self) -> list[Any]:
        return [self.live_min, self.max_ts, self.ended]

    @classmethod
    def from_list(cls, row: list[Any]) -> Progress:
        return cls(row[0], row[1], bool(row[2]))


@dataclass(frozen=True, slots=True)
class Part:
    """What a shard hands on at once: windows it will not add to (their notices resolved), then its
    progress. Parts of one shard must reach the merge in the order they were made."""

    shard: int
    windows: tuple[Window, ...]
    progress: Progress
    late_posts: int  # posts the shard found behind its own watermark since its last part
    late_deletions: int
    offset: int = -1  # the input record after which the shard made it: parts are told apart by it

    def to_bytes(self) -> bytes:
        """The part, compressed (zstd, fast level: a window's text samples shrink several times): a JSON
        header, then each window's two samples in chunks of their rows by hash (see :func:`_chunks`)."""
        windows, body = [], bytearray()
        for window in self.windows:
            dumped = window.dump(samples=False)
            dumped["sample_chunks"] = _chunks(window.sample, body, list)
            dumped["signed_chunks"] = _chunks(window.signed, body, signed_to_columns)
            windows.append(dumped)
        header = orjson.dumps(
            {
                "shard": self.shard,
                "offset": self.offset,
                "windows": windows,
                "progress": self.progress.to_list(),
                "late_posts": self.late_posts,
                "late_deletions": self.late_deletions,
            }
        )
        return zstandard.compress(
            b"".join((_FRAMED, _HEADER_SIZE.pack(len(header)), header, body)), PART_COMPRESSION
        )

    @classmethod
    def from_bytes(
        cls,
        data: bytes,
        signed_cuts: Mapping[float, int] | None = None,
        sample_cuts: Mapping[float, int] | None = None,
    ) -> Part:
        """ValueError when ``data`` is not a part. ``signed_cuts``, ``sample_cuts``: by window start, the
        cut of the coordination sample and of the sample the window will join
        (:meth:`MergeDetector.signed_cuts`, :meth:`MergeDetector.sample_cuts`); the rows above them are
        left out, not parsed (with many shards, most of what each hands on)."""
        cuts, sample_cuts = signed_cuts or {}, sample_cuts or {}
        try:
            raw = zstandard.decompress(data) if data[:4] == _ZSTD_MAGIC else zlib.decompress(data)
            if raw[: len(_FRAMED)] == _FRAMED:
                start = len(_FRAMED) + _HEADER_SIZE.size
                (size,) = _HEADER_SIZE.unpack_from(raw, len(_FRAMED))
                row, body = orjson.loads(raw[start : start + size]), memoryview(raw)[start + size :]
            else:  # an earlier version's part: all JSON, the coordination samples inside
                row, body = orjson.loads(raw), memoryview(b"")
            words = row.get("vocabulary")  # parts of an earlier version: samples held term indices
            windows = []
            for dumped in row["windows"]:
                start = dumped["start"]
                window = Window.load(dumped, words, cuts.get(start))
                if "signed_chunks" in dumped:
                    window.sample = _from_chunks(
                        dumped["sample_chunks"], body, sample_cuts.get(start), _sample_from_json
                    )
                    window.signed = _from_chunks(
                        dumped["signed_chunks"], body, cuts.get(start), signed_from_columns
                    )
                windows.append(window)
            return cls(
                int(row["shard"]),
                tuple(windows),
                Progress.from_list(row["progress"]),
                int(row["late_posts"]),
                int(row["late_deletions"]),
                int(row["offset"]),
            )
        except (
            zlib.error,
            zstandard.ZstdError,
            orjson.JSONDecodeError,
            struct.error,
            KeyError,
            TypeError,
            IndexError,
            AttributeError,
        ) as exc:
            raise ValueError(f"not a detection part ({exc!r})") from None


def _chunks(rows: list[Any], body: bytearray, encode: Callable[[list[Any]], Any]) -> list[list[int]]:
    """Writes ``rows``, a bottom-k sample (tuples led by their hash), into ``body`` as JSON chunks of
    ``CHUNK_POSTS`` rows in order of hash; returns each chunk's [smallest hash, offset in body, bytes].

    The merge keeps each sample's bottom-k over every shard, so of each shard's rows it needs only those
    under the cut the window's sample already has (:meth:`MergeDetector.signed_cuts`, ``sample_cuts``).
    Written inside the part's JSON, the coordination samples were 91% of a part's bytes and 93% of the
    merge's parsing (stress feed, 4 shards); in chunks, the merge parses only those that start under
    the cut."""
    rows = sorted(rows)  # a shard sorts its samples as it hands its windows on: one pass
    chunks = []
    for first in range(0, len(rows), CHUNK_POSTS):
        chunk = rows[first : first + CHUNK_POSTS]
        encoded = orjson.dumps(encode(chunk))
        chunks.append([chunk[0][0], len(body), len(encoded)])
        body += encoded
    return chunks


def _from_chunks(
    chunks: list[list[int]],
    body: memoryview,
    at_most: int | None,
    decode: Callable[[Any, int | None], list[Any]],
) -> list[Any]:
    """The rows written by :func:`_chunks`, those whose hash is above ``at_most`` left out: the chunks
    that start above it are not parsed."""
    rows: list[Any] = []
    for smallest, offset, size in chunks:
        if at_most is not None and smallest > at_most:
            break  # the chunks are in order of hash: none after this one has a row under the cut
        if offset < 0 or offset + size > len(body):
            raise ValueError(f"a sample's chunk at {offset}+{size} is outside the part")
        rows += decode(orjson.loads(body[offset : offset + size]), at_most)
    return rows


def _sample_from_json(encoded: list[Any], at_most: int | None) -> list[Any]:
    sample = decode_sample(encoded)
    return sample if at_most is None else [row for row in sample if row[0] <= at_most]


class ShardDetector(Detector):
    """The per-post half of detection for the sources of one shard (see the module doc).

    ``config.min_sources`` is the number of source partitions this shard owns (0: none; it is ended
    from the start). ``push``, ``delete`` and ``end_source`` return no alerts; :meth:`take` returns the
    :class:`Part` to hand on (or None when there is nothing new)."""

    def __init__(
        self, config: DetectorConfig | None = None, shard: int = 0, owns_sources: bool = True
    ) -> None:
        super().__init__(config)
        self.shard = shard
        self._owns_sources = owns_sources
        self._outbox: list[Window] = []
        self._reported: tuple[Progress, int, int] | None = None  # the last part's progress and late counts
        self._told: Progress | None = None  # the progress the merge last heard of (a part or take_idle)

    def _close(self, index: int) -> list[Alert]:
        window = self._windows.pop(index)
        self._hand_on(window)
        return []

    def _hand_on(self, window: Window) -> None:
        window.resolved = self._resolve(window.deleted)
        window.deleted = []
        # Only each sample's bottom-k can be in the merged window's bottom-k: the rest would only make
        # the part bigger (posts of new accounts carry their text and signature).
        if len(window.sample) > self._sample_size:
            window.trim(self._sample_size)
        window.signed.sort()
        del window.signed[self.config.coordination_sample :]
        self._book.expire(window.start)
        self._post_index.expire(window.start)
        self._outbox.append(window)

    def end_source(self, source: int, last_ts: float) -> list[Alert]:
        super().end_source(source, last_ts)
        if self.progress().ended:
            # Nothing more will come (unless a source re-opens): every window goes on now, as the merge's
            # watermark may pass windows beyond this shard's own (the largest event time of all sources).
            for index in sorted(self._windows):
                self._hand_on(self._windows.pop(index))
            self._next = None
            self._close_at = math.inf
        return []

    def progress(self) -> Progress:
        max_ts = max(self._sources.values()) if self._sources else None
        if not self._owns_sources:
            return Progress(None, max_ts, True)
        known = self._known_sources >= self.config.min_sources
        if known and len(self._ended_sources) >= self._known_sources:  # every source it knows has ended
            return Progress(None, max_ts, True)
        return Progress(self._source_min if known else None, max_ts, False)

    def take(self) -> Part | None:
        """The windows closed (or flushed) since the last part, with the progress now; None if there are
        none and the progress has not moved in a way that matters to the merge (:meth:`_progress_step`).
        Late counts go with the next part."""
        progress = self.progress()
        now = (progress, self.late_posts, self.late_deletions)
        if not self._outbox and (
            self._reported is not None
            and self._progress_step(progress) == self._progress_step(self._reported[0])
        ):
            return None
        before = self._reported or (progress, 0, 0)
        windows, self._outbox = tuple(self._outbox), []
        self._reported = now
        self._told = progress
        return Part(
            self.shard, windows, progress, self.late_posts - before[1], self.late_deletions - before[2]
        )

    def take_idle(self) -> Part | None:
        """The progress alone, when it moved since the merge last heard of it (within the step that
        :meth:`take` waits for): for when the input is idle, so that the merge's watermark is then exactly
        the one detector's. It carries no windows and no late counts and changes nothing :meth:`take`
        decides, so the parts stay a function of the records."""
        if self._outbox or self._reported is None:
            return None  # take() first
        progress = self.progress()
        if progress == (self._told or self._reported[0]):
            return None
        self._told = progress
        return Part(self.shard, (), progress, 0, 0)

    def _progress_step(self, progress: Progress) -> tuple[Any, ...]:
        """What of the progress the merge must hear of: whether the shard ended, whether it knows its
        sources, and the whole second and the window its watermark is in. Reporting every move made a
        part of nearly every record (each post moves the latest event time: 46,622 parts for 47,560
        records of one stress shard), each encoded, sent, read and absorbed; the merge's watermark
        closes a window only when every shard's crosses its end, which is a change of window here, and
        moves in whole seconds for the metrics. A function of the records alone, so a restored shard
        makes the same parts again."""
        live_min = progress.live_min
        if progress.ended or live_min is None:
            return (progress.ended, None)
        width, lateness = self.config.window_seconds, self.config.lateness_seconds
        return (False, math.floor(live_min), math.floor((live_min - lateness) / width))

    def snapshot(self) -> dict[str, Any]:
        if self._outbox:
            raise RuntimeError("take() the shard's part before its snapshot: it would be lost")
        state = super().snapshot()
        state["shard"] = {
            "shard": self.shard,
            "owns_sources": self._owns_sources,
            "reported": None
            if self._reported is None
            else [self._reported[0].to_list(), self._reported[1], self._reported[2]],
        }
        return state

    @classmethod
    def restore(cls, state: dict[str, Any], config: DetectorConfig | None = None) -> ShardDetector:
        detector = super().restore(state, config)
        assert isinstance(detector, ShardDetector)
        saved = state["shard"]
        detector.shard = saved["shard"]
        detector._owns_sources = saved["owns_sources"]
        reported = saved["reported"]
        if reported is not None:
            detector._reported = (Progress.from_list(reported[0]), reported[1], reported[2])
        return detector


class MergeDetector(Detector):
    """The per-window half of detection over the parts of ``shards`` shards (see the module doc)."""

    def __init__(self, config: DetectorConfig | None = None, shards: int = 1) -> None:
        super().__init__(config)
        if shards < 1:
            raise ValueError(f"shards must be at least 1, not {shards!r}")
        self.shards = shards
        self._progress: dict[int, Progress] = {}

    def absorb(self, part: Part) -> list[Alert]:
        """Adds a shard's part; returns the alerts of the windows the watermark then closes."""
        cfg = self.config
        width = self._width
        self.late_posts += part.late_posts
        self.late_deletions += part.late_deletions
        for window in part.windows:
            index = int(window.start // width)
            posts = sum(window.vol.values())
            if self.watermark is not None and (index + 1) * width <= self.watermark:
                self.late_posts += posts  # its window has closed here already
                self.late_deletions += len(window.resolved or ())
                continue
            self.posts += posts
            mine = self._windows.get(index)
            if mine is None:
                mine = self._open(index)
            mine.merge(window, self._sample_size, cfg.coordination_sample)
        self._progress[part.shard] = part.progress
        candidate = self._global_watermark()
        return [] if candidate is None else self._move_watermark(candidate)

    def signed_cuts(self) -> dict[float, int]:
        """By window start, the cut of each open window's coordination sample, where it has one: a
        part's posts above it cannot join the sample (:meth:`Part.from_bytes`)."""
        return {w.start: w.signed_cut for w in self._windows.values() if w.signed_cut is not None}

    def sample_cuts(self) -> dict[float, int]:
        """By window start, the cut of each open window's sample, where it has one: a part's rows above
        it cannot join the sample (:meth:`Part.from_bytes`)."""
        return {w.start: w.cut for w in self._windows.values() if w.cut is not None}

    def _global_watermark(self) -> float | None:
        if len(self._progress) < self.shards:
            return None
        live = []
        for progress in self._progress.values():
            if progress.ended:
                continue
            if progress.live_min is None:
                return None  # a shard still waits for its sources
            live.append(progress.live_min)
        if live:
            return min(live) - self._lateness
        latest = [progress.max_ts for progress in self._progress.values() if progress.max_ts is not None]
        return max(latest) - self._lateness if latest else None

    def snapshot(self) -> dict[str, Any]:
        state = super().snapshot()
        state["merge"] = {
            "shards": self.shards,
            "progress": [[shard, progress.to_list()] for shard, progress in sorted(self._progress.items())],
        }
        return state

    @classmethod
    def restore(cls, state: dict[str, Any], config: DetectorConfig | None = None) -> MergeDetector:
        detector = super().restore(state, config)
        assert isinstance(detector, MergeDetector)
        saved = state["merge"]
        detector.shards = saved["shards"]
        detector._progress = {int(shard): Progress.from_list(row) for shard, row in saved["progress"]}
        return detector


def shard_of(source: int, shards: int) -> int:
    """The shard (detect partition) that owns a source (posts partition)."""
    return source % shards


def sources_owned(sources: int, shards: int) -> list[int]:
    """How many of ``sources`` posts partitions each of ``shards`` shards owns."""
    return [
        sum(1 for source in range(sources) if shard_of(source, shards) == shard) for shard in range(shards)
    ]


class ShardState:
    """A shard fed from its detect partition: repeats dropped (:class:`DedupedDetector`), and after each
    record the part to hand on, stamped with that record's offset.

    Parts are made after every record, so they depend on the records alone, not on how they were
    fetched: a shard restored from its snapshot makes again exactly the parts it made after it, with the
    same offsets, and the merge drops those it has (:class:`MergeState`)."""

    def __init__(self, deduped: DedupedDetector) -> None:
        self.deduped = deduped

    @property
    def detector(self) -> ShardDetector:
        detector = self.deduped.detector
        assert isinstance(detector, ShardDetector)
        return detector

    @property
    def input_offset(self) -> int:
        return self.deduped.input_offset

    @input_offset.setter
    def input_offset(self, offset: int) -> None:
        self.deduped.input_offset = offset

    def fold(self, record: bytes, input_offset: int) -> list[Part]:
        self.deduped.fold(record, input_offset)  # a shard raises no alerts itself
        part = self.detector.take()
        return [] if part is None else [replace(part, offset=input_offset)]

    def idle(self) -> list[Part]:
        """With nothing more to read: the shard's progress since its last part, if it moved (made after
        the last record folded; the merge keeps the latest progress of each shard, so hearing it again
        changes nothing)."""
        part = self.detector.take_idle()
        return [] if part is None else [replace(part, offset=self.input_offset)]

    def counts(self) -> DetectionCounts:
        # Late posts and deletions travel on in the parts and are counted by the merge.
        deduped = self.deduped
        return DetectionCounts(
            0, deduped.redelivered, deduped.repeated_ids, 0, self.detector.unknown_deletions
        )

    def snapshot(self) -> dict[str, Any]:
        return self.deduped.snapshot()


class MergeState:
    """The merge fed from the parts topic: each shard's parts absorbed once, in the order it made them.

    A part is known by its shard and the input offset it was made after, which grow with each shard's
    parts: one at or below the last absorbed from its shard was made again by a shard restored from
    an older snapshot (or sent twice), and is dropped."""

    def __init__(
        self, detector: MergeDetector, absorbed: dict[int, int] | None = None, input_offset: int = -1
    ) -> None:
        self.detector = detector
        self.absorbed = absorbed or {}  # shard -> offset of its last part absorbed
        self.input_offset = input_offset
        self.repeated_parts = 0

    def fold(self, record: bytes, input_offset: int) -> list[Alert]:
        part = Part.from_bytes(record, self.detector.signed_cuts(), self.detector.sample_cuts())
        if not 0 <= part.shard < self.detector.shards:
            raise ValueError(f"a part of shard {part.shard}, but there are {self.detector.shards} shards")
        self.input_offset = input_offset
        if part.offset <= self.absorbed.get(part.shard, -1):
            self.repeated_parts += 1
            return []
        self.absorbed[part.shard] = part.offset
        return self.detector.absorb(part)

    def idle(self) -> list[Alert]:
        return []

    def counts(self) -> DetectionCounts:
        detector = self.detector
        return DetectionCounts(detector.late_posts, 0, 0, detector.late_deletions, 0)

    def snapshot(self) -> dict[str, Any]:
        return {
            "detector": self.detector.snapshot(),
            "absorbed": [[shard, offset] for shard, offset in sorted(self.absorbed.items())],
            "input_offset": self.input_offset,
        }


@dataclass(frozen=True)
class ShardDetection:
    """Makes shard ``shard`` of ``shards`` over ``sources`` posts partitions, fresh or from its snapshot."""

    config: DetectorConfig
    shard: int
    shards: int
    sources: int

    def _config(self) -> DetectorConfig:
        owned = sources_owned(self.sources, self.shards)[self.shard]
        return replace(self.config, min_sources=max(owned, 1))

    def fresh(self) -> ShardState:
        owned = sources_owned(self.sources, self.shards)[self.shard]
        return ShardState(DedupedDetector(ShardDetector(self._config(), self.shard, owns_sources=owned > 0)))

    def restore(self, snapshot: dict[str, Any]) -> ShardState:
        deduped = DedupedDetector.restore(snapshot, self._config(), kind=ShardDetector)
        shard = deduped.detector
        assert isinstance(shard, ShardDetector)
        if shard.shard != self.shard:
            raise ValueError(f"the snapshot of shard {self.shard} holds shard {shard.shard}")
        return ShardState(deduped)


@dataclass(frozen=True)
class MergeDetection:
    """Makes the merge of ``shards`` shards, fresh or from its snapshot."""

    config: DetectorConfig
    shards: int

    def fresh(self) -> MergeState:
        return MergeState(MergeDetector(self.config, self.shards))

    def restore(self, snapshot: dict[str, Any]) -> MergeState:
        detector = MergeDetector.restore(snapshot["detector"], self.config)
        if detector.shards != self.shards:
            raise ValueError(
                f"the merge's snapshot is of {detector.shards} shards, not DETECT_PARTITIONS={self.shards}"
            )
        absorbed = {int(shard): int(offset) for shard, offset in snapshot["absorbed"]}
        return MergeState(detector, absorbed, int(snapshot["input_offset"]))
