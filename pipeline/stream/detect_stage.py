"""The detect stage: ``posts.detect`` → :class:`~pipeline.stream.detect_loop.DetectLoop` → ``alerts``.
Wiring only.

Why not a Faust agent (it was one until issue 14): the loop must decide where it reads from, and a
Faust agent is handed whatever its consumer fetched. After a kill -9 the worker taking the partition
over sometimes got the topic with a hole, which faust-streaming's own issues describe (#216 and #221:
records prefetched before a rebalance handed out after it; #606: offsets committed past a gap). So this
service reads ``posts.detect`` with its own aiokafka consumer in the group ``<app id>-detect``, and
positions it itself (``seek``) from the snapshot on every assignment; the group's committed offset only
reports progress. The snapshot lives in a compacted topic as chunks (:mod:`pipeline.stream.snapshot_log`),
so no record outgrows the broker's limit however much a backlog holds. Alerts go out with the idempotent
producer; the loop flushes them before each snapshot, and suppresses on restore those a previous owner
already published (by the position headers of the last alert on the topic).

Not chosen: one Kafka transaction for alerts, snapshot and offset. It would also fence a zombie owner
(a worker whose session expired while it still runs), which the position check cannot. But alerts would
wait for the next commit, and every read of the snapshot or alerts would need ``read_committed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any, NamedTuple

import faust
import mode
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from pipeline.detect import Alert
from pipeline.detect.dedupe import DedupedDetector
from pipeline.engine import Engine
from pipeline.metrics import PipelineMetrics
from pipeline.records import AlertPosition
from pipeline.settings import Settings
from pipeline.stream.detect_loop import DetectLoop
from pipeline.stream.health import PartitionOffsets
from pipeline.stream.kafka_clients import client_options
from pipeline.stream.snapshot_log import CHUNK_BYTES, plan_write, read_newest

log = logging.getLogger(__name__)

FETCH_TIMEOUT_MS = 200
FETCH_MAX_RECORDS = 500
READ_TIMEOUT_SECONDS = 60.0  # reading a snapshot or the last alert back
STOP_STEP_SECONDS = 15.0  # every step of a stop is bounded by this: a stop always ends


def snapshot_topic(settings: Settings) -> str:
    # The name Faust gave the table's changelog, so a snapshot saved before issue 14 is found.
    return f"{settings.app_id}-detector-state-changelog"


class ExportedCounts(NamedTuple):
    """The detection counts exported as counters (the metrics take their increments)."""

    late_posts: int
    redelivered: int
    repeated_ids: int
    late_deletions: int
    unknown_deletions: int


def _counts_of(state: DedupedDetector) -> ExportedCounts:
    detector = state.detector
    return ExportedCounts(
        detector.late_posts,
        state.redelivered,
        state.repeated_ids,
        detector.late_deletions,
        detector.unknown_deletions,
    )


class PartitionReader:
    """Reads partition 0 of a topic with a consumer of no group: its bounds, and spans of it."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.tp = TopicPartition(topic, 0)
        self.consumer = AIOKafkaConsumer(
            **client_options(settings),
            enable_auto_commit=False,
            max_partition_fetch_bytes=4 * CHUNK_BYTES,
        )

    async def __aenter__(self) -> PartitionReader:
        await self.consumer.start()
        self.consumer.assign([self.tp])
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.consumer.stop()

    async def bounds(self) -> tuple[int, int]:
        """The first and the next offset."""
        tp = self.tp
        return (await self.consumer.beginning_offsets([tp]))[tp], (await self.consumer.end_offsets([tp]))[tp]

    async def read(self, begin: int, end: int) -> list[Any]:
        """The records ``[begin, end)``."""
        tp, records = self.tp, []
        if begin >= end:
            return records
        self.consumer.seek(tp, begin)
        deadline = time.monotonic() + READ_TIMEOUT_SECONDS
        while not records or records[-1].offset < end - 1:
            if time.monotonic() > deadline:
                raise TimeoutError(f"could not read {tp.topic}[0] {begin}..{end - 1}")
            fetched = await self.consumer.getmany(tp, timeout_ms=1000)
            records += [r for r in fetched.get(tp, []) if r.offset < end]
            if await self.consumer.position(tp) >= end:
                break
        return records


class KafkaSnapshotStore:
    """The detector's snapshot as chunks in the compacted snapshot topic."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer, metrics: PipelineMetrics) -> None:
        self.settings = settings
        self.topic = snapshot_topic(settings)
        self.producer = producer
        self.metrics = metrics
        self._generation = -1
        self._chunks_by_slot: dict[int, int] = {}

    async def load(self) -> bytes | None:
        async with PartitionReader(self.settings, self.topic) as reader:

            async def read_span(begin: int, stop: int) -> list[tuple[bytes | None, bytes | None]]:
                return [(r.key, r.value) for r in await reader.read(begin, stop)]

            restored = await read_newest(read_span, *await reader.bounds())
        self._generation = restored.generation
        self._chunks_by_slot = dict(restored.chunks_by_slot)
        return restored.snapshot

    async def save(self, snapshot: bytes, input_offset: int) -> None:
        started = time.perf_counter()
        generation = self._generation + 1
        slot_chunks = self._chunks_by_slot.get(generation % 2, 0)
        write = plan_write(snapshot, generation, input_offset, previous_chunks=slot_chunks)
        sent = [
            await self.producer.send(self.topic, value, key=key, partition=0) for key, value in write.chunks
        ]
        await asyncio.gather(*sent)  # every chunk acknowledged before the manifest names them
        key, value = write.manifest
        await (await self.producer.send(self.topic, value, key=key, partition=0))
        self._generation = generation
        self._chunks_by_slot[generation % 2] = sum(1 for _, chunk in write.chunks if chunk is not None)
        self.metrics.detect_snapshot_bytes.set(len(snapshot))
        self.metrics.detect_snapshot_seconds.observe(time.perf_counter() - started)


class KafkaAlertSink:
    def __init__(self, settings: Settings, producer: AIOKafkaProducer, metrics: PipelineMetrics) -> None:
        self.settings = settings
        self.producer = producer
        self.metrics = metrics
        self._pending: list[asyncio.Future] = []

    async def send(self, alert: Alert, position: AlertPosition) -> None:
        self.metrics.alerts.labels(alert.type).inc()
        self._pending.append(
            await self.producer.send(
                self.settings.alerts_topic,
                orjson.dumps(alert.to_record()),
                key=alert.key.encode(),
                headers=position.headers(),
                partition=0,
            )
        )

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)  # a failed delivery raises: no snapshot is saved past it

    async def last_position(self) -> AlertPosition | None:
        async with PartitionReader(self.settings, self.settings.alerts_topic) as reader:
            start, end = await reader.bounds()
            records = await reader.read(max(start, end - 1), end)
        return AlertPosition.from_headers(records[-1].headers) if records else None


class ConsumerSource:
    """The detect partition of the service's consumer, as the loop's record source."""

    def __init__(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> None:
        self.consumer = consumer
        self.tp = tp
        self.committed: int | None = None  # the group's, for the lag and health report

    async def seek(self, offset: int) -> None:
        self.consumer.seek(self.tp, offset)

    async def fetch(self) -> list[tuple[int, bytes]]:
        fetched = await self.consumer.getmany(
            self.tp, timeout_ms=FETCH_TIMEOUT_MS, max_records=FETCH_MAX_RECORDS
        )
        return [(record.offset, record.value) for record in fetched.get(self.tp, [])]

    async def earliest(self) -> int:
        return (await self.consumer.beginning_offsets([self.tp]))[self.tp]

    async def commit(self, next_offset: int) -> None:
        await self.consumer.commit({self.tp: next_offset})
        self.committed = next_offset


class DetectService(mode.Service):
    def __init__(
        self,
        topics: dict[str, faust.TopicT],
        settings: Settings,
        metrics: PipelineMetrics,
        engine: Engine,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.topics = topics
        self.settings = settings
        self.metrics = metrics
        self.engine = engine
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.detect_loop: DetectLoop | None = None
        self._source: ConsumerSource | None = None
        self._lock = asyncio.Lock()  # one of: a step, a take-over, a hand-over
        self._owner = asyncio.Event()  # set while this worker holds the detect partition
        self._stopping = False
        self._task: asyncio.Future | None = None
        self._exported = ExportedCounts(0, 0, 0, 0, 0)  # what the metrics hold already
        self._watermark_exported: float | None = None

    @property
    def group_id(self) -> str:
        return f"{self.settings.app_id}-detect"

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.settings.detect_topic, 0)

    async def on_start(self) -> None:
        settings = self.settings
        for topic in self.topics.values():
            await topic.maybe_declare()
        self.producer = AIOKafkaProducer(
            **client_options(settings),
            client_id=f"{settings.app_id}-detect",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_request_size=2 * CHUNK_BYTES,
        )
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            **client_options(settings),
            client_id=f"{settings.app_id}-detect",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            # A killed owner's partition moves after this long (aiokafka's default is 10 s too).
            session_timeout_ms=10_000,
        )
        self.consumer.subscribe([settings.detect_topic], listener=_Rebalance(self))
        await self.consumer.start()
        self._task = asyncio.ensure_future(self._run())
        self._task.add_done_callback(self._on_task_end)

    def _on_task_end(self, task: asyncio.Future) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("detect: the stage failed: %r", task.exception())
            self._crash(task.exception())

    async def _run(self) -> None:
        while not self._stopping:
            if self.detect_loop is None:
                # Not the owner of the detect partition. Never fetch here: records fetched now would be
                # thrown away (the group's heartbeats and rebalances run in aiokafka's own tasks).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._owner.wait(), FETCH_TIMEOUT_MS / 1000)
                continue
            async with self._lock:
                loop = self.detect_loop
                if loop is None or self._stopping:
                    continue
                try:
                    await loop.step()
                except KafkaError as exc:  # e.g. the broker restarting: the loop resumes at next_offset
                    log.warning("detect: %r; reading %s from %d again", exc, self.tp, loop.next_offset)
                    await loop.source.seek(loop.next_offset)
                self._export(loop)

    async def take_over(self) -> None:
        """This worker got the detect partition: restore and seek (under the lock)."""
        async with self._lock:
            source = ConsumerSource(self.consumer, self.tp)
            loop = DetectLoop(
                self.engine,
                store=KafkaSnapshotStore(self.settings, self.producer, self.metrics),
                sink=KafkaAlertSink(self.settings, self.producer, self.metrics),
                source=source,
                snapshot_seconds=self.settings.snapshot_seconds,
                topic=self.settings.detect_topic,
            )
            started = time.perf_counter()
            offset = await loop.start()
            source.committed = await self.consumer.committed(self.tp)
            state = loop.state
            # Counts restored with the snapshot are in some earlier owner's metrics already.
            self._exported = _counts_of(state)
            self._watermark_exported = None
            self.metrics.reset_detect_counts()
            self.metrics.detect_restore_seconds.set(time.perf_counter() - started)
            self.metrics.detect_restores.inc(loop.counts.restores)
            self.metrics.detect_owner.set(1)
            self.detect_loop, self._source = loop, source
            self._owner.set()
            log.warning(
                "detect: took %s over, reading from %d (group committed %s)",
                self.tp,
                offset,
                source.committed,
            )

    async def hand_over(self) -> None:
        """The detect partition leaves this worker: save where it stands, so the next owner starts there."""
        async with self._lock:
            loop, self.detect_loop = self.detect_loop, None
            self._owner.clear()
            if loop is None:
                return
            self.metrics.detect_owner.set(0)
            try:
                await asyncio.wait_for(loop.checkpoint(), STOP_STEP_SECONDS)
            except Exception as exc:  # the next owner restores the previous snapshot and reads on from it
                log.warning("detect: handing over without a final snapshot: %r", exc)
            self._export(loop)

    def _export(self, loop: DetectLoop) -> None:
        state = loop.state
        metrics = self.metrics
        detector = state.detector
        now = _counts_of(state)
        if now != self._exported:
            before = self._exported
            metrics.late_posts.inc(now.late_posts - before.late_posts)
            metrics.duplicates.labels("redelivered").inc(now.redelivered - before.redelivered)
            metrics.duplicates.labels("repeated_id").inc(now.repeated_ids - before.repeated_ids)
            metrics.late_deletions.inc(now.late_deletions - before.late_deletions)
            metrics.unknown_deletions.inc(now.unknown_deletions - before.unknown_deletions)
            self._exported = now
        metrics.export_detect_counts(loop.counts)
        if detector.watermark is not None and detector.watermark != self._watermark_exported:
            self._watermark_exported = detector.watermark
            metrics.export_detector(detector)

    async def on_stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_STEP_SECONDS)
            except (TimeoutError, Exception) as exc:
                log.warning("detect: the loop did not end cleanly: %r", exc)
                self._task.cancel()
        await self.hand_over()
        for name, closing in (("consumer", self.consumer), ("producer", self.producer)):
            if closing is None:
                continue
            try:
                await asyncio.wait_for(closing.stop(), STOP_STEP_SECONDS)
            except Exception as exc:
                log.warning("detect: the %s did not stop cleanly: %r", name, exc)

    async def offsets(self) -> dict[tuple[str, int], PartitionOffsets]:
        """End, committed and read offsets of the detect partition, when this worker holds it."""
        loop, source = self.detect_loop, self._source
        if self.consumer is None or loop is None or source is None:
            return {}
        tp = self.tp
        ends = await self.consumer.end_offsets([tp])
        return {
            (tp.topic, tp.partition): PartitionOffsets(ends.get(tp), source.committed, loop.next_offset - 1)
        }


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, service: DetectService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        if self.service.tp in revoked:
            await self.service.hand_over()

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        if self.service.tp in assigned and not self.service._stopping:
            try:
                await self.service.take_over()
            except Exception as exc:
                # aiokafka logs a listener's exception and goes on, which would leave the detect partition
                # held and read by nobody: crash the worker instead, so the group gives it to another.
                log.error("detect: could not take %s over: %r", self.service.tp, exc)
                self.service._crash(exc)
