"""The detect stage's correctness in one object: where to read from, what to fold, when to save, which
alerts to send. Asyncio only: no Kafka, no Faust (the wiring is :mod:`pipeline.stream.detect_stage`).

A loop reads one partition, owned by one worker of its group at a time, and folds it into one
detection state: the single detector (``posts.detect`` with one partition → alerts), or with
``DETECT_PARTITIONS`` above 1 a shard (a partition of ``posts.detect`` → its parts) or the merge (the
parts → alerts; :mod:`pipeline.detect.sharded`). :class:`DetectLoop` owns the rules that make the alerts
equal ``python -m pipeline analyze``'s, each alert once:

- **It decides where to read from**: its snapshot's input offset + 1, by an explicit seek on every
  start (assignment, restart). The consumer group's committed offset only reports progress; it never
  positions the reader. (The Faust agent that did this before trusted the stream to resume where the
  snapshot stood, and after a kill -9 it sometimes did not: faust-streaming #216 and #221, prefetched
  records handed out across a rebalance; #606, offsets committed past a gap.)
- **It checks every offset**: a record below the next expected offset is one it folded already
  (skipped); one above it is a hole, read again by seeking back; offsets that stay missing because the
  broker no longer has them (retention) are counted as lost and logged, never passed over silently.
- **Alerts reach the topic before the snapshot that contains them is saved**, and the snapshot before
  the consumer offset is committed: a crash at any point re-raises, from the snapshot, only alerts whose
  positions (detect offset, index) are compared with the last one on the alerts topic and not sent twice.
- **It saves a snapshot** always on a stop or a revoke, so the next owner starts where it stopped,
  and otherwise as a window closes or a fetch comes back empty, at most every ``snapshot_seconds``,
  once folding has cost ``FOLDING_PER_SAVE`` times the CPU of the last save or ``LONGEST_BETWEEN_SAVES``
  times ``snapshot_seconds`` have passed (:class:`SaveSchedule`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson

from pipeline.detect import Detector
from pipeline.detect.dedupe import DetectionCounts
from pipeline.records import AlertPosition

log = logging.getLogger(__name__)

# A hole read again this often and still there is not a hole the broker can fill (see _on_gap).
MAX_GAP_REREADS = 3

# A state is saved again once folding records has cost this many times the CPU that encoding its last
# snapshot did: saves then cost about a tenth of detection at most, however big the state (a shard's is
# 25 MB at its bounds, 0.4 s to encode) and however many loops share the worker's thread, and a restart
# folds again about that much CPU of records at most.
FOLDING_PER_SAVE = 10.0
# ... or once this many times ``snapshot_seconds`` have passed (60 s by default), so the committed
# offsets, and what a restart reads again, stay bounded in time too, and an input gone quiet is saved.
LONGEST_BETWEEN_SAVES = 12


class DetectionState(Protocol):
    """What the loop folds records into: the one detector, a shard or the merge (``pipeline.detect``)."""

    input_offset: int  # the last input offset folded

    @property
    def detector(self) -> Detector: ...

    def fold(self, record: bytes, input_offset: int) -> list[Any]:
        """The outputs (alerts, or a shard's parts) of one record; ValueError: not a record, nothing
        changed."""

    def idle(self) -> list[Any]:
        """The outputs to send when there is nothing more to read (a shard's progress, so that the merge's
        watermark is exact while the input is idle); they change nothing that is saved."""

    def counts(self) -> DetectionCounts: ...

    def snapshot(self) -> dict[str, Any]: ...


class DetectionStates(Protocol):
    def fresh(self) -> DetectionState: ...

    def restore(self, snapshot: dict[str, Any]) -> DetectionState:
        """ValueError: a snapshot of another layout."""


class SnapshotStore(Protocol):
    async def load(self) -> bytes | None:
        """The last snapshot saved (None: none yet)."""

    async def save(self, snapshot: bytes, input_offset: int) -> None:
        """Durably saved when this returns."""


class AlertSink(Protocol):
    """Where the outputs go: alerts to the alerts topic, a shard's parts to the parts topic."""

    async def send(self, alert: Any, position: AlertPosition) -> None:
        """Queue an output (in order); ``flush`` waits for it."""

    async def flush(self) -> None:
        """Everything sent so far is acknowledged by the broker."""

    async def last_position(self) -> AlertPosition | None:
        """The position of the last alert on the topic (None: empty, or written by an older version; always
        None where repeats are dropped downstream, as the merge drops a shard's parts)."""


class RecordSource(Protocol):
    async def seek(self, offset: int) -> None:
        """The next fetch starts at ``offset``."""

    async def fetch(self) -> list[tuple[int, bytes]]:
        """The next records (offset, value) in offset order; empty when none came in a short wait."""

    async def earliest(self) -> int:
        """The first offset the broker still holds."""

    async def commit(self, next_offset: int) -> None:
        """Report progress: everything before ``next_offset`` is in a saved snapshot."""


@dataclass
class DetectCounts:
    records: int = 0  # detect records folded
    bad_records: int = 0  # not detect records: skipped, counted
    reread: int = 0  # records below the next offset (already in the state): skipped
    gaps: int = 0  # holes seen in the offsets, read again
    lost: int = 0  # offsets the broker no longer had when a hole was read again
    skipped: int = 0  # offsets never handed out even when read again: no records (control records)
    alerts_sent: int = 0
    alerts_suppressed: int = 0  # raised again after a restore, already on the alerts topic
    snapshots: int = 0
    restores: int = 0  # starts from a saved snapshot (not fresh)
    # CPU seconds of the loop's thread in detection proper: folding records (decoding them, detecting,
    # making the parts or alerts) and encoding snapshots. Not Kafka I/O, not encoding the parts for the
    # topic (the sink), so the figure is detection's own, whatever else shares the event loop.
    cpu_seconds: float = 0.0


@dataclass
class SaveSchedule:
    """When the next snapshot is due. Wall-clock time only spaces saves out and bounds the time between
    them; CPU decides how much work a loop does between two saves. Neither changes what is detected.

    An empty fetch says little: a loop that keeps up with a live stream empties its partition between
    the stream's batches, and a shard's input pauses while event-time alignment holds its source
    partition back. Saving at each empty fetch, or after each pause of a few seconds, made saves a
    third of the shards' folding with four shards in a worker (a tenth of a core on 2 cores)."""

    snapshot_seconds: float
    last_save: float = -float("inf")  # clock time of the last save (or of the start)
    folded_cpu: float = 0.0  # CPU seconds spent folding since the last save
    save_cpu: float = 0.0  # CPU seconds the last save took to encode

    def saved(self, now: float, save_cpu: float) -> None:
        self.last_save, self.save_cpu, self.folded_cpu = now, save_cpu, 0.0

    def restart(self, now: float) -> None:
        """Nothing is unsaved as of ``now`` (a start from the snapshot, a checkpoint with nothing new);
        the last save's cost still stands for the next."""
        self.saved(now, self.save_cpu)

    def due(self, now: float, *, idle: bool, window_closed: bool) -> bool:
        """``idle``: this fetch came back empty; ``window_closed``: one of its records closed a window."""
        since_save = now - self.last_save
        if since_save < self.snapshot_seconds or not (idle or window_closed):
            return False
        return (
            self.folded_cpu >= FOLDING_PER_SAVE * self.save_cpu
            or since_save >= LONGEST_BETWEEN_SAVES * self.snapshot_seconds
        )


class DetectLoop:
    def __init__(
        self,
        states: DetectionStates,
        *,
        store: SnapshotStore,
        sink: AlertSink,
        source: RecordSource,
        snapshot_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        cpu_clock: Callable[[], float] = time.thread_time,
        topic: str = "posts.detect",
    ) -> None:
        self.states = states
        self.store = store
        self.sink = sink
        self.source = source
        self.schedule = SaveSchedule(snapshot_seconds)
        self.clock = clock
        self.cpu_clock = cpu_clock
        self.topic = topic  # for messages only
        self.state: DetectionState | None = None
        self.next_offset = 0
        self.counts = DetectCounts()
        self.unsaved = 0  # records folded since the last snapshot
        self._published: AlertPosition | None = None
        self._gap_rereads: dict[int, int] = {}

    @property
    def held(self) -> int:
        """Records folded but not yet in a saved snapshot (a restart reads them again)."""
        return self.unsaved

    async def start(self) -> int:
        """Restores the saved state (or starts fresh) and positions the source after it; returns the
        offset read next."""
        saved = await self.store.load()
        if saved is None:
            self.state = self.states.fresh()  # never reuse a detector that saw records
        else:
            snapshot = orjson.loads(saved)
            if isinstance(snapshot, str):  # saved by an earlier version: a JSON string holding the JSON
                snapshot = orjson.loads(snapshot)
            self.state = self.states.restore(snapshot)
            self.counts.restores += 1
            log.warning(
                "detector restored from its snapshot at %s offset %d", self.topic, self.state.input_offset
            )
        await self.sink.flush()  # this worker's own alerts in flight are on the topic too
        self._published = await self.sink.last_position()
        if self._published is not None:
            log.warning("alerts up to %s are on the alerts topic already", self._published)
        self.next_offset = self.state.input_offset + 1
        self.unsaved = 0
        self._gap_rereads.clear()
        self.schedule.restart(self.clock())  # the state as restored is saved
        await self.source.seek(self.next_offset)
        return self.next_offset

    async def step(self, records: list[tuple[int, bytes]] | None = None) -> int:
        """One fetch folded (``records``: fetched already by the caller, else fetched here); returns how
        many records were folded. Saves a snapshot when one is due."""
        assert self.state is not None, "start() first"
        if records is None:
            records = await self.source.fetch()
        folded = 0
        window_closed = False
        for offset, value in records:
            if offset < self.next_offset:
                self.counts.reread += 1
                continue
            if offset > self.next_offset and not await self._on_gap(offset):
                break  # the rest of this fetch is read again after the seek
            detector = self.state.detector
            watermark_before = detector.watermark
            await self._fold(offset, value)
            folded += 1
            window_closed = window_closed or _window_closed(detector, watermark_before)
        idle = not records
        if idle:
            for index, output in enumerate(self.state.idle()):
                await self.sink.send(output, AlertPosition(self.state.input_offset, index))
        if self.unsaved and self.schedule.due(self.clock(), idle=idle, window_closed=window_closed):
            await self.checkpoint()
        return folded

    async def checkpoint(self) -> None:
        """Alerts flushed, then the snapshot saved, then the offset committed: in that order, so a crash
        between any two loses nothing and repeats only what the restore re-raises and suppresses."""
        assert self.state is not None
        if not self.unsaved:
            self.schedule.restart(self.clock())
            return
        await self.sink.flush()
        cpu_started = self.cpu_clock()
        snapshot = orjson.dumps(self.state.snapshot())
        save_cpu = self.cpu_clock() - cpu_started
        self.counts.cpu_seconds += save_cpu
        await self.store.save(snapshot, self.state.input_offset)
        self.schedule.saved(self.clock(), save_cpu)
        self.counts.snapshots += 1
        self.unsaved = 0
        await self.source.commit(self.state.input_offset + 1)

    async def _fold(self, offset: int, value: bytes) -> None:
        assert self.state is not None
        cpu_started = self.cpu_clock()
        try:
            alerts = self.state.fold(value, offset)
        except ValueError as exc:
            # Not written by this version's classify stage (an older format, or junk): counted and
            # skipped, never a crash of the one loop that holds the detector.
            log.error("skipping %s[0]@%d: %s", self.topic, offset, exc)
            self.counts.bad_records += 1
            self.state.input_offset = offset
            alerts = []
        fold_cpu = self.cpu_clock() - cpu_started
        self.counts.cpu_seconds += fold_cpu
        self.schedule.folded_cpu += fold_cpu
        for index, alert in enumerate(alerts):
            position = AlertPosition(offset, index)
            if self._published is not None and position <= self._published:
                self.counts.alerts_suppressed += 1
                continue
            await self.sink.send(alert, position)
            self.counts.alerts_sent += 1
        self.counts.records += 1
        self.next_offset = offset + 1
        self.unsaved += 1

    async def _on_gap(self, offset: int) -> bool:
        """A record past the next expected offset. True: go on folding from ``offset``; False: the
        source was moved back to read the offsets in between again."""
        expected = self.next_offset
        earliest = await self.source.earliest()
        if earliest > expected:
            # Removed by retention: the snapshot is older than the detect topic keeps its records.
            self.counts.lost += min(offset, earliest) - expected
            log.error(
                "detect records %d..%d are gone from %s (log starts at %d); "
                "the detector goes on without them",
                expected,
                min(offset, earliest) - 1,
                self.topic,
                earliest,
            )
            self.next_offset = offset
            return True
        self.counts.gaps += 1
        rereads = self._gap_rereads.get(expected, 0)
        if rereads < MAX_GAP_REREADS:
            self._gap_rereads[expected] = rereads + 1
            log.warning(
                "%s: offset %d came after %d; reading %d.. again", self.topic, offset, expected - 1, expected
            )
            await self.source.seek(expected)
            return False
        # Still not handed out after reading them again, though the broker holds them: these offsets
        # are no records (the control records of transactions, which nothing here writes).
        log.warning("%s: offsets %d..%d are not records; skipped", self.topic, expected, offset - 1)
        self.counts.skipped += offset - expected
        self.next_offset = offset
        return True


def _window_closed(detector: Detector, watermark_before: float | None) -> bool:
    if detector.watermark is None or detector.watermark == watermark_before:
        return False
    if watermark_before is None:
        return True
    window = detector.config.window_seconds
    return detector.watermark // window != watermark_before // window
