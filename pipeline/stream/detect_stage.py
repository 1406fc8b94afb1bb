"""The detect stage: ``posts.detect`` → :class:`~pipeline.stream.detect_loop.DetectLoop` → ``alerts``.
Wiring only.

With ``DETECT_PARTITIONS`` above 1 it runs as two services of this class, one per :class:`DetectRole`:
the shards, one loop per partition of ``posts.detect`` this worker holds, each handing its finished
windows on to the parts topic; and the merge, one loop over the parts topic's one partition, raising
the alerts (:mod:`pipeline.detect.sharded`). Each loop keeps its own snapshot, in its own partition of
its role's snapshot topic, and restores on its own.

Why not a Faust agent (it was one until issue 14): the loop must decide where it reads from, and a
Faust agent is handed whatever its consumer fetched. After a kill -9 the worker taking the partition
over sometimes got the topic with a hole, which faust-streaming's own issues describe (#216 and #221:
records prefetched before a rebalance handed out after it; #606: offsets committed past a gap). So this
service reads its input with its own aiokafka consumer in the group ``<app id>-detect`` (the merge:
``<app id>-merge``), and positions it itself (``seek``) from the snapshot on every assignment; the
group's committed offset only reports progress. A snapshot lives in a compacted topic as chunks
(:mod:`pipeline.stream.snapshot_log`), so no record outgrows the broker's limit however much a backlog
holds. Alerts go out with the idempotent producer; the loop flushes them before each snapshot, and
suppresses on restore those a previous owner already published (by the position headers of the last
alert on the topic). A shard's parts need no such check: the merge drops the parts it has.

Not chosen: one Kafka transaction for alerts, snapshot and offset. It would also fence a zombie owner
(a worker whose session expired while it still runs), which the position check cannot. But alerts would
wait for the next commit, and every read of the snapshot or alerts would need ``read_committed``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import faust
import mode
import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import KafkaError

from pipeline.detect import Alert, DetectorConfig
from pipeline.detect.dedupe import DetectionCounts, SingleDetection
from pipeline.detect.sharded import MergeDetection, Part, ShardDetection
from pipeline.metrics import PipelineMetrics
from pipeline.records import AlertPosition
from pipeline.settings import Settings, snapshot_topics
from pipeline.stream.detect_loop import DetectCounts, DetectionStates, DetectLoop
from pipeline.stream.hand_over import patiently
from pipeline.stream.health import PartitionOffsets
from pipeline.stream.kafka_clients import client_options, producer_options
from pipeline.stream.snapshot_log import CHUNK_BYTES, plan_write, read_newest
from pipeline.stream.topics import PARTS_MAX_BYTES

log = logging.getLogger(__name__)

FETCH_TIMEOUT_MS = 200
FETCH_MAX_RECORDS = 500
READ_TIMEOUT_SECONDS = 60.0  # reading a snapshot or the last alert back
STOP_STEP_SECONDS = 15.0  # every step of a stop is bounded by this: a stop always ends
INPUT_HEADER = "detect.input"  # on an alert: the topic whose offsets its position counts


def snapshot_topic(settings: Settings) -> str:
    """The single detector's snapshot topic."""
    return snapshot_topics(settings)["single"]


class PartitionReader:
    """Reads a partition of a topic with a consumer of no group: its bounds, and spans of it."""

    def __init__(self, settings: Settings, topic: str, partition: int = 0) -> None:
        self.tp = TopicPartition(topic, partition)
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
                raise TimeoutError(f"could not read {tp.topic}[{tp.partition}] {begin}..{end - 1}")
            fetched = await self.consumer.getmany(tp, timeout_ms=1000)
            records += [r for r in fetched.get(tp, []) if r.offset < end]
            if await self.consumer.position(tp) >= end:
                break
        return records


class KafkaSnapshotStore:
    """A detection state's snapshot as chunks in a partition of a compacted snapshot topic."""

    def __init__(
        self,
        settings: Settings,
        producer: AIOKafkaProducer,
        metrics: PipelineMetrics,
        topic: str,
        partition: int = 0,
    ) -> None:
        self.settings = settings
        self.topic = topic
        self.partition = partition
        self.producer = producer
        self.metrics = metrics
        self._generation = -1
        self._chunks_by_slot: dict[int, int] = {}

    async def load(self) -> bytes | None:
        async with PartitionReader(self.settings, self.topic, self.partition) as reader:

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
        topic, partition = self.topic, self.partition
        send = functools.partial(self.producer.send, topic, partition=partition)
        sent = [
            await patiently(functools.partial(send, value, key=key), "detect snapshot")
            for key, value in write.chunks
        ]
        await asyncio.gather(*sent)  # every chunk acknowledged before the manifest names them
        key, value = write.manifest
        await (await patiently(functools.partial(send, value, key=key), "detect snapshot"))
        self._generation = generation
        self._chunks_by_slot[generation % 2] = sum(1 for _, chunk in write.chunks if chunk is not None)
        self.metrics.detect_snapshot_bytes.set(len(snapshot))
        self.metrics.detect_snapshot_seconds.observe(time.perf_counter() - started)


class _KafkaSink:
    """Sends in order; ``flush`` waits until the broker has acknowledged everything sent."""

    def __init__(self, settings: Settings, producer: AIOKafkaProducer, metrics: PipelineMetrics) -> None:
        self.settings = settings
        self.producer = producer
        self.metrics = metrics
        self._pending: list[asyncio.Future] = []

    async def _send(self, topic: str, value: bytes, key: bytes, headers: list[tuple[str, bytes]]) -> None:
        send = functools.partial(self.producer.send, topic, value, key=key, headers=headers, partition=0)
        self._pending.append(await patiently(send, "detect"))

    async def flush(self) -> None:
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)  # a failed delivery raises: no snapshot is saved past it


class KafkaAlertSink(_KafkaSink):
    """Alerts to the alerts topic, each with its position in the input (``input_topic``) as headers."""

    def __init__(
        self, settings: Settings, producer: AIOKafkaProducer, metrics: PipelineMetrics, input_topic: str
    ) -> None:
        super().__init__(settings, producer, metrics)
        self.input_topic = input_topic

    async def send(self, alert: Alert, position: AlertPosition) -> None:
        record = alert.to_record()
        log.warning("alert %s", record)
        self.metrics.alerts.labels(alert.type).inc()
        headers = [*position.headers(), (INPUT_HEADER, self.input_topic.encode())]
        await self._send(self.settings.alerts_topic, orjson.dumps(record), alert.key.encode(), headers)

    async def last_position(self) -> AlertPosition | None:
        async with PartitionReader(self.settings, self.settings.alerts_topic) as reader:
            start, end = await reader.bounds()
            records = await reader.read(max(start, end - 1), end)
        if not records:
            return None
        # Alerts written before the header existed came from the one detector, reading posts.detect.
        source = dict(records[-1].headers).get(INPUT_HEADER, self.settings.detect_topic.encode())
        if source != self.input_topic.encode():
            return None  # raised from another input (DETECT_PARTITIONS changed): its offsets are not ours
        return AlertPosition.from_headers(records[-1].headers)


class KafkaPartSink(_KafkaSink):
    """A shard's parts to the parts topic. No position check on restore: the merge drops the parts it
    has (:class:`pipeline.detect.sharded.MergeState`)."""

    async def send(self, part: Part, position: AlertPosition) -> None:
        value = part.to_bytes()
        self.metrics.detect_part_bytes.observe(len(value))
        await self._send(self.settings.parts_topic, value, str(part.shard).encode(), [])

    async def last_position(self) -> AlertPosition | None:
        return None


class PartitionFetcher:
    """One consumer's fetches handed out per partition: each loop reads its own partition's records,
    and one fetch serves every partition the consumer holds (no loop waits out another's empty fetch)."""

    def __init__(self, consumer: AIOKafkaConsumer) -> None:
        self.consumer = consumer
        self._buffered: dict[TopicPartition, list[Any]] = {}

    async def fetch(self, tp: TopicPartition) -> list[Any]:
        waiting = self._buffered.pop(tp, None)
        if waiting:
            return waiting
        fetched = await self.consumer.getmany(timeout_ms=FETCH_TIMEOUT_MS, max_records=FETCH_MAX_RECORDS)
        for other, records in fetched.items():
            if other != tp:
                self._buffered.setdefault(other, []).extend(records)
        return fetched.get(tp, [])

    def forget(self, tp: TopicPartition) -> None:
        """``tp`` was moved (seek) or given up: what was fetched of it is not read."""
        self._buffered.pop(tp, None)


class ConsumerSource:
    """One partition of the service's consumer, as a loop's record source."""

    def __init__(self, consumer: AIOKafkaConsumer, fetcher: PartitionFetcher, tp: TopicPartition) -> None:
        self.consumer = consumer
        self.fetcher = fetcher
        self.tp = tp
        self.committed: int | None = None  # the group's, for the lag and health report

    async def seek(self, offset: int) -> None:
        self.fetcher.forget(self.tp)
        self.consumer.seek(self.tp, offset)

    async def fetch(self) -> list[tuple[int, bytes]]:
        return [(record.offset, record.value) for record in await self.fetcher.fetch(self.tp)]

    async def earliest(self) -> int:
        return (await self.consumer.beginning_offsets([self.tp]))[self.tp]

    async def commit(self, next_offset: int) -> None:
        await self.consumer.commit({self.tp: next_offset})
        self.committed = next_offset


@dataclass(frozen=True)
class DetectRole:
    """What one detect service does: which topic it reads in which group, what each partition's loop
    folds into, where it keeps its snapshots and where its outputs go."""

    name: str  # "detect" (the single detector), "shards" or "merge"; the logs say it
    input_topic: str
    group_suffix: str
    snapshot_topic: str
    states: Callable[[int], DetectionStates]  # input partition -> what its loop folds into
    raises_alerts: bool  # False: a shard's parts go to the parts topic

    @property
    def is_shards(self) -> bool:
        return not self.raises_alerts


def detect_roles(settings: Settings, config: DetectorConfig) -> list[DetectRole]:
    """The detect services a worker runs: the one detector, or the shards and the merge (those of them
    that ``DETECT_ROLES`` names).

    ``config``: detection's, its ``min_sources`` the posts partitions."""
    topics = snapshot_topics(settings)
    shards = settings.detect_partitions
    if shards == 1:
        single = SingleDetection(config)
        return [
            DetectRole("detect", settings.detect_topic, "detect", topics["single"], lambda _: single, True)
        ]
    sources = settings.posts_partitions
    merge = MergeDetection(config, shards)
    roles = [
        DetectRole(
            "shards",
            settings.detect_topic,
            "detect",
            topics["shards"],
            lambda shard: ShardDetection(config, shard, shards, sources),
            False,
        ),
        DetectRole("merge", settings.parts_topic, "merge", topics["merge"], lambda _: merge, True),
    ]
    return [role for role in roles if role.name in settings.joins]


@dataclass
class _Held:
    """A partition this worker holds, its loop, and what the metrics took of the loop's counts."""

    loop: DetectLoop
    source: ConsumerSource
    counted: DetectCounts
    exported: DetectionCounts
    watermark: float | None = None


class DetectService(mode.Service):
    def __init__(
        self,
        topics: dict[str, faust.TopicT],
        settings: Settings,
        metrics: PipelineMetrics,
        role: DetectRole,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.topics = topics
        self.settings = settings
        self.metrics = metrics
        self.role = role
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self.fetcher: PartitionFetcher | None = None
        self.held: dict[TopicPartition, _Held] = {}
        self._lock = asyncio.Lock()  # one of: a step, a take-over, a hand-over
        self._holding = asyncio.Event()  # set while this worker holds a partition
        self._stopping = False
        self._task: asyncio.Future | None = None
        self._crashing: asyncio.Future | None = None  # the worker's crash, once the loop failed

    @property
    def group_id(self) -> str:
        return f"{self.settings.app_id}-{self.role.group_suffix}"

    async def on_start(self) -> None:
        settings = self.settings
        for topic in self.topics.values():
            await topic.maybe_declare()  # created when missing, before the consumer subscribes
        client_id = f"{settings.app_id}-{self.role.group_suffix}"
        self.producer = AIOKafkaProducer(
            **producer_options(settings),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_request_size=max(2 * CHUNK_BYTES, PARTS_MAX_BYTES),
        )
        await self.producer.start()
        self.consumer = AIOKafkaConsumer(
            **client_options(settings),
            client_id=client_id,
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 * 1024 * 1024,
            # A killed owner's partitions move after this long (aiokafka's default is 10 s too).
            session_timeout_ms=10_000,
        )
        self.fetcher = PartitionFetcher(self.consumer)
        self.consumer.subscribe([self.role.input_topic], listener=_Rebalance(self))
        await self.consumer.start()
        self._task = asyncio.ensure_future(self._run())
        self._task.add_done_callback(self._on_task_end)

    def _on_task_end(self, task: asyncio.Future) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("%s: the stage failed: %r", self.role.name, task.exception())
            self._crashing = asyncio.ensure_future(self.crash(task.exception()))  # the worker stops: exit 1

    async def _run(self) -> None:
        while not self._stopping:
            if not self.held:
                # Holding nothing. Never fetch here: records fetched now would be thrown away (the
                # group's heartbeats and rebalances run in aiokafka's own tasks).
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._holding.wait(), FETCH_TIMEOUT_MS / 1000)
                continue
            for tp in list(self.held):
                held = self.held.get(tp)
                if held is None:
                    continue
                loop = held.loop
                # The fetch is outside the lock: during a rebalance aiokafka's getmany waits until the
                # new assignment is done, which waits for the revoke callback, which needs the lock.
                try:
                    records = await held.source.fetch()
                except KafkaError as exc:  # e.g. the broker restarting: read from where the loop stands
                    log.warning("%s: %r; reading %s from %d again", self.role.name, exc, tp, loop.next_offset)
                    await held.source.seek(loop.next_offset)
                    continue
                async with self._lock:
                    if self.held.get(tp) is not held or self._stopping:
                        continue  # handed over meanwhile: what was fetched is the next owner's to read
                    try:
                        await loop.step(records)
                    except KafkaError as exc:  # e.g. the broker restarting: the loop resumes at next_offset
                        log.warning(
                            "%s: %r; reading %s from %d again", self.role.name, exc, tp, loop.next_offset
                        )
                        await loop.source.seek(loop.next_offset)
                    self._export(held)

    async def take_over(self, tp: TopicPartition) -> None:
        """This worker got ``tp``: restore its state and seek (under the lock)."""
        assert self.consumer is not None and self.producer is not None and self.fetcher is not None
        role, settings = self.role, self.settings
        async with self._lock:
            source = ConsumerSource(self.consumer, self.fetcher, tp)
            if role.raises_alerts:
                sink: Any = KafkaAlertSink(settings, self.producer, self.metrics, role.input_topic)
            else:
                sink = KafkaPartSink(settings, self.producer, self.metrics)
            loop = DetectLoop(
                role.states(tp.partition),
                store=KafkaSnapshotStore(
                    settings, self.producer, self.metrics, role.snapshot_topic, tp.partition
                ),
                sink=sink,
                source=source,
                snapshot_seconds=settings.snapshot_seconds,
                topic=f"{tp.topic}[{tp.partition}]",
            )
            started = time.perf_counter()
            offset = await loop.start()
            source.committed = await self.consumer.committed(tp)
            assert loop.state is not None
            # Counts restored with the snapshot are in some earlier owner's metrics already.
            self.held[tp] = _Held(loop, source, DetectCounts(), loop.state.counts())
            self.metrics.detect_restore_seconds.set(time.perf_counter() - started)
            self.metrics.detect_restores.inc(loop.counts.restores)
            self._export_holding()
            self._holding.set()
            log.warning(
                "%s: took %s[%d] over, reading from %d (group committed %s)",
                role.name,
                tp.topic,
                tp.partition,
                offset,
                source.committed,
            )

    async def hand_over(self, tp: TopicPartition) -> None:
        """``tp`` leaves this worker: save where it stands, so the next owner starts there."""
        async with self._lock:
            held = self.held.pop(tp, None)
            if self.fetcher is not None:
                self.fetcher.forget(tp)
            if not self.held:
                self._holding.clear()
            if held is None:
                return
            self._export_holding()
            if self.role.is_shards:
                self.metrics.export_shard(tp.partition, None)
            try:
                await asyncio.wait_for(held.loop.checkpoint(), STOP_STEP_SECONDS)
            except Exception as exc:  # the next owner restores the previous snapshot and reads on from it
                log.warning("%s: handing %s over without a final snapshot: %r", self.role.name, tp, exc)
            self._export(held)

    def _export_holding(self) -> None:
        if self.role.is_shards:
            self.metrics.detect_shards.set(len(self.held))
        else:
            self.metrics.detect_owner.set(1 if self.held else 0)

    def _export(self, held: _Held) -> None:
        loop, metrics = held.loop, self.metrics
        state = loop.state
        assert state is not None
        now = state.counts()
        if now != held.exported:
            before = held.exported
            metrics.late_posts.inc(now.late_posts - before.late_posts)
            metrics.duplicates.labels("redelivered").inc(now.redelivered - before.redelivered)
            metrics.duplicates.labels("repeated_id").inc(now.repeated_ids - before.repeated_ids)
            metrics.late_deletions.inc(now.late_deletions - before.late_deletions)
            metrics.unknown_deletions.inc(now.unknown_deletions - before.unknown_deletions)
            held.exported = now
        metrics.export_detect_counts(loop.counts, held.counted, self.role.name)
        held.counted = dataclasses.replace(loop.counts)
        detector = state.detector
        if detector.watermark is not None and detector.watermark != held.watermark:
            held.watermark = detector.watermark
            if self.role.raises_alerts:
                metrics.export_detector(detector)
            else:
                metrics.export_shard(held.source.tp.partition, detector)

    async def on_stop(self) -> None:
        self._stopping = True
        if self._task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._task), STOP_STEP_SECONDS)
            except (TimeoutError, Exception) as exc:
                log.warning("%s: the loop did not end cleanly: %r", self.role.name, exc)
                self._task.cancel()
        for tp in list(self.held):
            await self.hand_over(tp)
        for name, closing in (("consumer", self.consumer), ("producer", self.producer)):
            if closing is None:
                continue
            try:
                await asyncio.wait_for(closing.stop(), STOP_STEP_SECONDS)
            except Exception as exc:
                log.warning("%s: the %s did not stop cleanly: %r", self.role.name, name, exc)

    async def offsets(self) -> dict[tuple[str, int], PartitionOffsets]:
        """End, committed and read offsets of the partitions this worker holds."""
        if self.consumer is None or not self.held:
            return {}
        held = dict(self.held)
        ends = await self.consumer.end_offsets(list(held))
        return {
            (tp.topic, tp.partition): PartitionOffsets(
                ends.get(tp), h.source.committed, h.loop.next_offset - 1
            )
            for tp, h in held.items()
        }


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, service: DetectService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        for tp in revoked:
            if tp in self.service.held:
                await self.service.hand_over(tp)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        service = self.service
        for tp in sorted(assigned):
            if tp.topic != service.role.input_topic or tp in service.held or service._stopping:
                continue
            try:
                await service.take_over(tp)
            except Exception as exc:
                # aiokafka logs a listener's exception and goes on, which would leave the partition
                # held and read by nobody: crash the worker instead, so the group gives it to another.
                log.error("%s: could not take %s over: %r", service.role.name, tp, exc)
                await service.crash(exc)
                return
