"""The classify stage: ``posts`` → ``posts.classified`` + ``posts.detect``, in batches. Wiring only.

Faust hands an agent one event at a time, and its per-event machinery (a task per event, sensors,
acks) costs more than classifying the post. So this stage, a service the Faust worker starts and
stops with the app, fetches records with aiokafka's ``getmany`` in the consumer group
``<app id>-classify``, gives each batch to the pure :func:`pipeline.stream.batch.classify_batch` and sends the
results as whole producer batches. Offsets are committed only once the broker has acknowledged
everything produced from them. By default (``EXACTLY_ONCE=1``) the classified posts, the dead letters
and the input offsets of each source partition are committed in one Kafka transaction
(:mod:`pipeline.stream.transactions`); with ``EXACTLY_ONCE=0`` at least once, offsets committed through
the consumer (the detect agent drops the repeats either way).

The stage also aligns its partitions in event time (:mod:`pipeline.stream.alignment`, ``ALIGN_SECONDS``): a
partition that ran far ahead of the slowest one with records waiting is held back until that one
catches up, so the detector does not hold windows open far ahead of its watermark when a worker starts
on a backlog. The record timestamp of ``posts`` is the post's event time (the replayer sets it), so
nothing is decoded for it. Only this worker's own partitions are aligned: it does not see the others'.

A held partition is left out of ``getmany`` rather than paused with ``consumer.pause``: aiokafka drops
a paused partition's prefetched records and fetches them again after the resume, and each dropped
fetch (up to ``max_partition_fetch_bytes``) stays in memory until a full garbage collection, since its
record iterator is a generator in a reference cycle. On the iran2009 week in 16 partitions the worker's
RSS rose to 1.6 GB that way. Left out of ``getmany``, a partition keeps at most one prefetched fetch,
which aiokafka does not fetch again until it is read, in order, once the partition is let through.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import signal
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import faust
import mode
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError

from feed.pseudonyms import Pseudonymizer
from pipeline.detect.sharded import shard_of
from pipeline.engine import Engine
from pipeline.metrics import PipelineMetrics, observe_many
from pipeline.records import dead_letter_headers
from pipeline.settings import Settings
from pipeline.stream.alignment import Alignment
from pipeline.stream.batch import (
    ClassifiedBatch,
    Outgoing,
    Record,
    classify_batch,
    classify_in_process,
    prepare_process_engine,
)
from pipeline.stream.hand_over import patiently
from pipeline.stream.health import PartitionOffsets
from pipeline.stream.in_order import InOrder
from pipeline.stream.kafka_clients import client_options, producer_options
from pipeline.stream.transactions import PartitionTransactions, transaction_timeout_ms

log = logging.getLogger(__name__)

COMMIT_INTERVAL_SECONDS = 1.0
MAX_BATCHES_IN_FLIGHT = 8
MAX_REQUEST_BYTES = 32 * 1024 * 1024  # the broker allows 32 MiB (deploy/kafka)
PARENT_CHECK_SECONDS = 1.0  # how often a classifier process checks that its worker is alive


@dataclass
class _InFlight:
    delivered: asyncio.Future
    next_offsets: dict[TopicPartition, int]


class ClassifyService(mode.Service):
    def __init__(
        self,
        topics: dict[str, faust.TopicT],
        settings: Settings,
        metrics: PipelineMetrics,
        engine: Engine,
        pseudonymizer: Pseudonymizer | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.topics = topics
        self.settings = settings
        self.metrics = metrics
        self.engine = engine
        self.pseudonymizer = pseudonymizer  # None: KEEP_AUTHORS
        self.consumer: AIOKafkaConsumer | None = None
        self.producer: AIOKafkaProducer | None = None
        self._in_flight: deque[_InFlight] = deque()
        self._delivered: dict[TopicPartition, int] = {}  # acknowledged by the broker, not yet committed
        self._committed: dict[TopicPartition, int] = {}
        self._read: dict[TopicPartition, int] = {}
        self._last_commit = 0.0
        self._classified_partitions = 0
        self._latest_event_time = 0.0
        self._loop_task: asyncio.Future | None = None
        self._crashing: asyncio.Future | None = None  # the worker's crash, once the loop failed
        self._stopping = False
        self._classifying: InOrder[ClassifiedBatch] = InOrder()
        self._pool: ProcessPoolExecutor | None = None
        self._classifiers = max(1, settings.classify_processes)  # batches being classified at once
        self._alignment: Alignment[TopicPartition] | None = (
            Alignment(settings.align_seconds) if settings.align_seconds > 0 else None
        )
        self._transactions: PartitionTransactions | None = None  # EXACTLY_ONCE
        # Sending and committing never interleave: a rebalance's commit runs beside the fetch loop, and a
        # transaction must not be committed while a batch is half sent into it.
        self._output_lock = asyncio.Lock()

    @property
    def group_id(self) -> str:
        return f"{self.settings.app_id}-classify"

    async def on_start(self) -> None:
        settings = self.settings
        for topic in self.topics.values():
            await topic.maybe_declare()  # before anything is produced: no broker auto-creation
        if settings.classify_processes > 0:
            # spawn, not fork: this process already runs threads (aiokafka, the metrics server).
            self._pool = ProcessPoolExecutor(
                settings.classify_processes,
                mp_context=get_context("spawn"),
                initializer=_start_classifier,
                initargs=(os.getpid(), settings.fault_engine_error, settings.keep_authors),
            )
            # One call per process, all at once: the pool starts as many processes, and each builds its
            # engine as it starts (_start_classifier), not on its first real batch.
            loop = asyncio.get_running_loop()
            await asyncio.gather(
                *(
                    loop.run_in_executor(self._pool, classify_in_process, [], 0)
                    for _ in range(self._classifiers)
                )
            )
        self.producer = AIOKafkaProducer(
            **producer_options(settings),
            client_id=f"{settings.app_id}-classify",
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=1024 * 1024,
            max_request_size=MAX_REQUEST_BYTES,
        )
        await self.producer.start()
        self._classified_partitions = len(await self.producer.partitions_for(settings.classified_topic))
        if settings.exactly_once:
            self._transactions = PartitionTransactions(
                self._transactional_producer,
                app_id=settings.app_id,
                topic=settings.posts_topic,
                group_id=self.group_id,
            )
        self.consumer = AIOKafkaConsumer(
            **client_options(settings),
            client_id=f"{settings.app_id}-classify",
            group_id=self.group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            fetch_max_bytes=MAX_REQUEST_BYTES,
        )
        self.consumer.subscribe([settings.posts_topic], listener=_Rebalance(self))
        await self.consumer.start()

        self._loop_task = asyncio.ensure_future(self._run())
        self._loop_task.add_done_callback(self._on_loop_end)

    def _on_loop_end(self, task: asyncio.Future) -> None:
        if not task.cancelled() and task.exception() is not None:
            # A failed delivery or a broken consumer: crash the worker rather than run on half-working.
            log.error("classify: the stage failed: %r", task.exception())
            self._crashing = asyncio.ensure_future(self.crash(task.exception()))  # the worker stops: exit 1

    async def on_stop(self) -> None:
        self._stopping = True
        if self._loop_task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._loop_task), timeout=10)
            except TimeoutError:
                self._loop_task.cancel()
            except Exception as exc:
                log.error("classify: the stage failed: %r", exc)
        if self.consumer is not None:
            try:
                await asyncio.wait_for(self._drain(), timeout=30)
            except Exception as exc:  # what was not committed is read again after a restart
                log.warning("classify: stopping without committing everything: %r", exc)
            await self.consumer.stop()
        if self._transactions is not None:
            await self._transactions.release(self._transactions.partitions)
        if self.producer is not None:
            await self.producer.stop()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def _run(self) -> None:
        assert self.consumer is not None
        timeout_ms = int(self.settings.batch_seconds * 1000)
        stall_after = self.settings.fault_stall_after
        fetched_records = 0
        while not self._stopping:
            if stall_after and fetched_records >= stall_after:
                log.error("classify: FAULT_STALL_AFTER=%d reached: no longer fetching", stall_after)
                while not self._stopping:
                    await asyncio.sleep(self.settings.batch_seconds)
                break
            fetched = await self.consumer.getmany(
                *self._let_through(), timeout_ms=timeout_ms, max_records=self.settings.batch_size
            )
            arrival = time.monotonic()
            records = [record for tp_records in fetched.values() for record in tp_records]
            fetched_records += len(records)
            if records:
                for tp, tp_records in fetched.items():
                    self._read[tp] = tp_records[-1].offset
                self._classifying.add(self._classify(records), arrival)
            if self._alignment is not None:
                await self._align(fetched)
            # Batches are published in order, as soon as they are classified; the loop waits for one
            # only when as many are ahead as there are classifier processes, which meanwhile work on
            # the next batches while the loop sends and runs the detect agent.
            await self._classifying.release(self._publish, keep=self._classifiers if records else None)
            if len(self._in_flight) > MAX_BATCHES_IN_FLIGHT:
                # Backpressure: while the broker is slow (or restarting) stop fetching, so memory stays
                # bounded by this many batches instead of growing with the backlog.
                await asyncio.wait([self._in_flight[0].delivered])
            await self._commit_delivered(force=False)
            if self._transactions is not None:
                await self._claim_fenced_again()

    async def _claim_fenced_again(self) -> None:
        """Claims again the partitions fenced while this worker still holds them: the broker timed their
        transactions out (a take-over revokes them at the next rebalance instead). What was read of them
        since is dropped (they have no producer), the rest published and committed first; then each is
        read again from its committed offset."""
        assert self._transactions is not None and self.consumer is not None
        fenced = self._transactions.take_fenced()
        if not fenced:
            return
        await self._drain()
        topic = self.settings.posts_topic
        held = sorted(fenced & {tp.partition for tp in self.consumer.assignment() if tp.topic == topic})
        if held:
            log.warning("classify: %s%s fenced while still held here: claiming them again", topic, held)
            await self._transactions.claim(self.consumer, held)

    def _let_through(self) -> list[TopicPartition]:
        """The partitions ``getmany`` may return records of: those alignment does not hold back. Empty
        means all: nothing held (alignment never holds every partition with records waiting)."""
        assert self.consumer is not None
        held = self._alignment.paused if self._alignment is not None else ()
        if not held:
            return []
        return [tp for tp in self.consumer.assignment() if tp not in held]

    async def _align(self, fetched: dict[TopicPartition, list]) -> None:
        """Holds back the partitions that ran too far ahead in event time, lets through those the others
        caught up with (see the module doc)."""
        assert self.consumer is not None and self._alignment is not None
        consumer, alignment = self.consumer, self._alignment
        for tp, tp_records in fetched.items():
            if tp_records and tp_records[-1].timestamp >= 0:  # -1: a record without a timestamp
                alignment.read(tp, tp_records[-1].timestamp / 1000)
        assignment = consumer.assignment()
        waiting: dict[TopicPartition, bool] = {}
        try:
            for tp in assignment:
                highwater = consumer.highwater(tp)
                # Not fetched yet: whether records wait is not known, so it counts as waiting.
                waiting[tp] = highwater is None or await consumer.position(tp) < highwater
        except IllegalStateError:
            return  # a rebalance meanwhile: decide on the new assignment next time
        if consumer.assignment() != assignment:
            return
        if alignment.decide(waiting):
            self._export_paused()

    def _export_paused(self) -> None:
        paused = len(self._alignment.paused) if self._alignment is not None else 0
        self.metrics.partitions_paused.labels(self.settings.posts_topic).set(paused)

    def _classify(self, records: list) -> asyncio.Future:
        max_bytes = self.settings.max_post_bytes
        if self._pool is None:
            done = asyncio.get_running_loop().create_future()
            done.set_result(
                classify_batch(records, self.engine, max_bytes=max_bytes, pseudonymizer=self.pseudonymizer)
            )
            return done
        plain = [Record(r.topic, r.partition, r.offset, r.key, r.value) for r in records]
        return asyncio.get_running_loop().run_in_executor(self._pool, classify_in_process, plain, max_bytes)

    def _transactional_producer(self, transactional_id: str) -> AIOKafkaProducer:
        return AIOKafkaProducer(
            **producer_options(self.settings),
            client_id=f"{self.settings.app_id}-classify",
            transactional_id=transactional_id,
            transaction_timeout_ms=transaction_timeout_ms(self.settings.broker_wait_seconds),
            acks="all",
            enable_idempotence=True,
            linger_ms=5,
            max_batch_size=1024 * 1024,
            max_request_size=MAX_REQUEST_BYTES,
        )

    async def _publish(self, batch: ClassifiedBatch, arrival: float) -> None:
        async with self._output_lock:
            await self._publish_locked(batch, arrival)

    async def _output_producer(self, partition: int) -> AIOKafkaProducer | None:
        """Where the output of source ``partition`` goes: its transaction (EXACTLY_ONCE), else the
        stage's producer. None: the partition was given up meanwhile (its output is another's now)."""
        if self._transactions is None:
            return self.producer
        if not self._transactions.holds(partition):
            return None
        return await self._transactions.producer(partition)  # type: ignore[return-value]

    async def _publish_locked(self, batch: ClassifiedBatch, arrival: float) -> None:
        assert self.producer is not None
        settings = self.settings
        deliveries = []
        for record, error in batch.invalid:
            if (producer := await self._output_producer(record.partition)) is not None:
                deliveries.append(await self._dead_letter(producer, record, error))
        for partition, outgoing in batch.classified.items():
            if (producer := await self._output_producer(partition)) is not None:
                target = partition % self._classified_partitions
                deliveries += await self._send_batch(producer, settings.classified_topic, target, outgoing)
        shards = settings.detect_partitions
        for source, record in batch.detect.items():
            # Each posts partition's records to the one shard that owns it, in order.
            shard = shard_of(source, shards)
            send = functools.partial(self.producer.send, settings.detect_topic, record, partition=shard)
            deliveries.append(await patiently(send, "classify"))
        topic = settings.posts_topic
        next_offsets = {TopicPartition(topic, p): offset for p, offset in batch.next_offsets.items()}
        delivered = asyncio.gather(*deliveries)
        processed = batch.records - batch.end_markers - batch.deletions  # posts and dead letters only
        delivered.add_done_callback(lambda _: self._observe_latency(arrival, processed))
        self._in_flight.append(_InFlight(delivered, next_offsets))
        self._count(batch)

    @staticmethod
    async def _send_batch(
        producer: AIOKafkaProducer, topic: str, partition: int, outgoing: list[Outgoing]
    ) -> list[asyncio.Future]:
        sent = []
        builder = producer.create_batch()
        for item in outgoing:
            if builder.append(key=item.key, value=item.value, timestamp=item.timestamp_ms) is None:
                send = functools.partial(producer.send_batch, builder, topic, partition=partition)
                sent.append(await patiently(send, "classify"))
                builder = producer.create_batch()
                builder.append(key=item.key, value=item.value, timestamp=item.timestamp_ms)
        if builder.record_count():
            send = functools.partial(producer.send_batch, builder, topic, partition=partition)
            sent.append(await patiently(send, "classify"))
        return sent

    async def _dead_letter(self, producer: AIOKafkaProducer, record, error) -> asyncio.Future:
        place = f"{record.topic}[{record.partition}]@{record.offset}"
        log.warning("dead-lettering %s: %s", place, error)
        self.metrics.posts_invalid.labels(error.code).inc()
        send = functools.partial(
            producer.send,
            self.settings.dead_letter_topic,
            record.value,
            key=record.key,
            headers=dead_letter_headers(record, error),
        )
        return await patiently(send, "classify")

    def _count(self, batch: ClassifiedBatch) -> None:
        metrics = self.metrics
        for labels, count in batch.consumed.items():
            metrics.posts_consumed.labels(*labels).inc(count)
        for labels, count in batch.published.items():
            metrics.posts_published.labels(*labels).inc(count)
        for name, count in batch.categories.items():
            metrics.posts_by_category.labels(name).inc(count)
        for name, count in batch.priorities.items():
            metrics.posts_by_priority.labels(name).inc(count)
        for name, count in batch.langs.items():
            metrics.posts_by_lang.labels(name).inc(count)
        if batch.end_markers:
            metrics.end_markers.inc(batch.end_markers)
        if batch.deletions:
            metrics.deletion_notices.inc(batch.deletions)
        if batch.latest_event_time > self._latest_event_time:
            self._latest_event_time = batch.latest_event_time
            metrics.event_time.set(batch.latest_event_time)

    def _observe_latency(self, arrival: float, records: int) -> None:
        observe_many(self.metrics.processing_latency, time.monotonic() - arrival, records)

    async def _commit_delivered(self, *, force: bool) -> None:
        async with self._output_lock:
            if self._transactions is None:
                await self._commit_acknowledged(force=force)
            else:
                await self._commit_transactions(force=force)

    async def _commit_transactions(self, *, force: bool) -> None:
        """EXACTLY_ONCE: commits each partition's transaction with its offsets, once ``posts.detect`` has
        acknowledged the detect records of those offsets (they are outside the transactions)."""
        assert self._transactions is not None
        now = time.monotonic()
        if not force and now - self._last_commit < COMMIT_INTERVAL_SECONDS:
            return
        self._last_commit = now
        in_flight, self._in_flight = list(self._in_flight), deque()
        offsets: dict[int, int] = {}
        for item in in_flight:
            offsets.update({tp.partition: offset for tp, offset in item.next_offsets.items()})
        self._transactions.consumed(offsets)

        async def detect_acknowledged() -> None:
            for item in in_flight:
                await item.delivered  # a failed delivery stops the stage: nothing is committed past it

        committed = await self._transactions.commit(before=detect_acknowledged)
        topic = self.settings.posts_topic
        self._committed.update({TopicPartition(topic, p): offset for p, offset in committed.items()})

    async def _commit_acknowledged(self, *, force: bool) -> None:
        """Commits the offsets whose output the broker has acknowledged (in order of fetching)."""
        while self._in_flight and self._in_flight[0].delivered.done():
            done = self._in_flight.popleft()
            done.delivered.result()  # a failed delivery stops the stage: nothing is committed past it
            self._delivered.update(done.next_offsets)
        now = time.monotonic()
        if not self._delivered or (not force and now - self._last_commit < COMMIT_INTERVAL_SECONDS):
            return
        assert self.consumer is not None
        assigned = self.consumer.assignment()
        offsets = {tp: offset for tp, offset in self._delivered.items() if tp in assigned}
        self._delivered.clear()
        self._last_commit = now
        if offsets:
            await self.consumer.commit(offsets)
            self._committed.update(offsets)

    async def _drain(self) -> None:
        """Publishes the batches being classified, waits for everything in flight, then commits it."""
        await self._classifying.release(self._publish, keep=None)
        if self._in_flight and self._transactions is None:
            await asyncio.gather(*(item.delivered for item in self._in_flight), return_exceptions=True)
        await self._commit_delivered(force=True)

    async def offsets(self) -> dict[tuple[str, int], PartitionOffsets]:
        """End, committed and read offsets of the partitions this stage holds (asks the broker)."""
        if self.consumer is None:
            return {}
        assignment = sorted(self.consumer.assignment())
        ends = await self.consumer.end_offsets(assignment) if assignment else {}
        held = self._alignment.paused if self._alignment is not None else ()
        return {
            (tp.topic, tp.partition): PartitionOffsets(
                ends.get(tp), self._committed.get(tp), self._read.get(tp), aligned_back=tp in held
            )
            for tp in assignment
        }


def _start_classifier(parent_pid: int, fault_engine_error: str, keep_authors: bool) -> None:
    prepare_process_engine(fault_engine_error, keep_authors=keep_authors)
    # Ctrl-C reaches the whole process group; the worker stops its classifier itself, after the last
    # batches are published and committed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A worker killed with -9 cannot stop it, and no EOF tells it either (the pool's queues hand both
    # ends of their pipes to the child): leave once the parent is gone.
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), name="parent-watch", daemon=True).start()


def _exit_with_parent(parent_pid: int) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


class _Rebalance(ConsumerRebalanceListener):
    def __init__(self, service: ClassifyService) -> None:
        self.service = service

    async def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        # Commit what is delivered while the partitions are still ours; the rest is read again elsewhere.
        try:
            await self.service._drain()
        except Exception as exc:
            log.warning("classify: could not commit before a rebalance: %r", exc)
        for tp in revoked:
            self.service._read.pop(tp, None)
            self.service._committed.pop(tp, None)
        if self.service._alignment is not None:
            # A revoked partition's prefetched records are dropped too: if it comes back, it starts unknown.
            self.service._alignment.forget(revoked)
            self.service._export_paused()
        if self.service._transactions is not None:
            await self.service._transactions.release(tp.partition for tp in revoked)

    async def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        transactions = self.service._transactions
        if transactions is not None:  # fence the previous owners before reading where they stopped
            await transactions.claim(self.service.consumer, (tp.partition for tp in assigned))
        for tp in assigned:
            committed = await self.service.consumer.committed(tp)
            if committed is not None:
                self.service._committed[tp] = committed
