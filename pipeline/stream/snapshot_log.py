"""The detector's snapshot as small records of a compacted log, so no record outgrows a broker's limit. Pure.

A week of backlog made the snapshot 34-46 MB, over the broker's 32 MiB request limit, and it crashed
the worker when it was one record. A snapshot is now cut into chunks of at most ``CHUNK_BYTES``
(under the 1 MiB default of ``max.message.bytes``, so any broker takes them) and written as:

- ``chunk/<slot>/<index>``: 8 bytes of generation (big-endian), then the chunk's bytes;
- ``manifest/<slot>``: JSON ``{"generation", "chunks", "bytes", "sha256", "input_offset"}``, written
  only once every chunk of its generation is acknowledged.

Generation ``g`` goes to slot ``g % 2``, so writing a snapshot never overwrites the chunks of the one
before it: a writer killed half-way leaves the previous generation whole in the other slot, and the
reader picks the newest generation whose chunks are all there and match its checksum. Compaction keeps
the last record per key, so the log holds at most two snapshots once cleaned. A snapshot saved by the
earlier Faust table (key ``detector``, the whole JSON in one record) is still read.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

import orjson

CHUNK_BYTES = 512 * 1024
SLOTS = 2
LEGACY_KEY = b"detector"
_GENERATION = struct.Struct(">Q")


@dataclass(frozen=True, slots=True)
class Manifest:
    generation: int
    chunks: int
    size: int
    sha256: str
    input_offset: int

    @property
    def slot(self) -> int:
        return self.generation % SLOTS

    def to_json(self) -> bytes:
        return orjson.dumps(
            {
                "generation": self.generation,
                "chunks": self.chunks,
                "bytes": self.size,
                "sha256": self.sha256,
                "input_offset": self.input_offset,
            }
        )

    @classmethod
    def from_json(cls, raw: bytes) -> Manifest:
        data = orjson.loads(raw)
        return cls(data["generation"], data["chunks"], data["bytes"], data["sha256"], data["input_offset"])


def chunk_key(slot: int, index: int) -> bytes:
    return f"chunk/{slot}/{index}".encode()


def manifest_key(slot: int) -> bytes:
    return f"manifest/{slot}".encode()


@dataclass(frozen=True, slots=True)
class SnapshotWrite:
    """What to write for one snapshot: the chunks (then tombstones for the slot's leftover chunks of a
    bigger snapshot), acknowledged before the manifest is written."""

    chunks: list[tuple[bytes, bytes | None]]
    manifest: tuple[bytes, bytes]


def plan_write(
    snapshot: bytes,
    generation: int,
    input_offset: int,
    *,
    previous_chunks: int = 0,
    chunk_bytes: int = CHUNK_BYTES,
) -> SnapshotWrite:
    """The records of ``snapshot`` as generation ``generation``; ``previous_chunks`` is how many chunks
    the slot held before (the extra ones are deleted, so compaction can drop them)."""
    slot = generation % SLOTS
    prefix = _GENERATION.pack(generation)
    # Views, so each chunk's bytes are copied once, into its record (slicing bytes copied them twice:
    # a shard's 25 MB took 24 ms, not 3).
    view = memoryview(snapshot)
    pieces = [view[start : start + chunk_bytes] for start in range(0, len(snapshot), chunk_bytes)] or [b""]
    records: list[tuple[bytes, bytes | None]] = [
        (chunk_key(slot, index), prefix + piece) for index, piece in enumerate(pieces)
    ]
    records += [(chunk_key(slot, index), None) for index in range(len(pieces), previous_chunks)]
    manifest = Manifest(
        generation, len(pieces), len(snapshot), hashlib.sha256(snapshot).hexdigest(), input_offset
    )
    return SnapshotWrite(records, (manifest_key(slot), manifest.to_json()))


@dataclass(frozen=True, slots=True)
class Restored:
    snapshot: bytes | None  # None: nothing saved yet
    generation: int  # of the snapshot found (-1: none, or the legacy record)
    chunks_by_slot: dict[int, int]  # chunks each slot holds now, for the next write's tombstones


class SnapshotReader:
    """Takes the records of a span of the log in offset order; ``result`` is the newest whole snapshot."""

    def __init__(self) -> None:
        self._latest: dict[bytes, bytes] = {}

    def add(self, key: bytes | None, value: bytes | None) -> None:
        if key is None:
            return
        if value is None:
            self._latest.pop(key, None)  # a tombstone
        else:
            self._latest[key] = value

    def add_all(self, records: Iterable[tuple[bytes | None, bytes | None]]) -> None:
        for key, value in records:
            self.add(key, value)

    def result(self) -> Restored | None:
        """The newest generation whose chunks are all present and match; the legacy record when no
        manifest is found; None when this span holds a manifest but not its chunks (read more)."""
        manifests = []
        for slot in range(SLOTS):
            raw = self._latest.get(manifest_key(slot))
            if raw is not None:
                manifests.append(Manifest.from_json(raw))
        counts = self._chunk_counts()
        for manifest in sorted(manifests, key=lambda m: m.generation, reverse=True):
            snapshot = self._assemble(manifest)
            if snapshot is not None:
                return Restored(snapshot, manifest.generation, counts)
        if manifests:
            return None
        legacy = self._latest.get(LEGACY_KEY)
        return Restored(legacy, -1, counts)

    def _assemble(self, manifest: Manifest) -> bytes | None:
        prefix = _GENERATION.pack(manifest.generation)
        pieces = []
        for index in range(manifest.chunks):
            raw = self._latest.get(chunk_key(manifest.slot, index))
            if raw is None or not raw.startswith(prefix):
                return None
            pieces.append(raw[len(prefix) :])
        snapshot = b"".join(pieces)
        if len(snapshot) != manifest.size or hashlib.sha256(snapshot).hexdigest() != manifest.sha256:
            return None
        return snapshot

    def _chunk_counts(self) -> dict[int, int]:
        counts: dict[int, int] = {}
        for key in self._latest:
            if key.startswith(b"chunk/"):
                _, slot, index = key.split(b"/")
                counts[int(slot)] = max(counts.get(int(slot), 0), int(index) + 1)
        return counts


Records = list[tuple[bytes | None, bytes | None]]


async def read_newest(
    read_span: Callable[[int, int], Awaitable[Records]], start: int, end: int, *, first_span: int = 256
) -> Restored:
    """The newest whole snapshot in the log ``[start, end)``, reading back from the end in doubling
    spans: a save writes its chunks and then its manifest, so the newest snapshot lies near the end and
    the log need not be read from the beginning (compaction may lag far behind)."""
    span = first_span
    while True:
        begin = max(start, end - span)
        reader = SnapshotReader()
        reader.add_all(await read_span(begin, end))
        found = reader.result()
        if begin == start:
            if found is None:
                # Manifests without their chunks over the whole log: the chunks were lost.
                raise SnapshotLost("a snapshot manifest is on the log but no generation is whole")
            return found
        if found is not None and found.snapshot is not None and found.generation >= 0:
            return found
        span *= 4


class SnapshotLost(RuntimeError):
    pass
