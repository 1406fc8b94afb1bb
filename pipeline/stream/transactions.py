"""Exactly once on ``posts.classified`` and ``posts.dead-letter`` (``EXACTLY_ONCE``, on by default).

What a source partition of ``posts`` produces and the offset after it are committed together, in one
transaction, so a ``read_committed`` reader sees each post once, whatever is killed when.

**One transactional producer per source partition** (Kafka Streams' EOS "alpha"), not one per worker
(EOS v2): aiokafka sends ``TxnOffsetCommit`` v0, with the group id but without the group generation and
member of KIP-447 (aiokafka issue #844), so the broker cannot tell a zombie's offsets from the owner's.
With a transactional id per partition, ``<app id>-classify-<topic>-<partition>``, whoever takes a partition
over fences the previous owner: InitProducerId bumps the epoch, aborts the previous owner's open
transaction, or waits until its committed one is complete.

**Fence, then read the committed offset.** The consumer fetches a new partition's committed offset on its
own as soon as it is assigned; read before the fence, that offset can be older than what the previous
owner's last transaction committed (its offsets are applied to the group when the transaction's markers
are written), and the posts in between would be published twice. So a newly assigned partition is
paused, its producer fenced, and only then is its committed offset read and the position set
(:meth:`PartitionTransactions.claim`, called by the classify stage's rebalance listener).

``posts.detect`` stays outside the transactions, written at least once by the stage's idempotent producer
and acknowledged before the offsets are committed: the detect stage drops a repeat by its source offset,
and commit markers would punch a hole into the offsets that its no-hole check must see contiguous.

A transaction is open per partition from its first output until the stage commits (every second, at a
rebalance and at a stop); the output stays invisible to ``read_committed`` readers until then.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, Protocol

from aiokafka import TopicPartition
from aiokafka.errors import ProducerFenced

log = logging.getLogger(__name__)


class TransactionalProducer(Protocol):
    """What is used of aiokafka's AIOKafkaProducer with a ``transactional_id``."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def begin_transaction(self) -> None: ...
    async def commit_transaction(self) -> None: ...
    async def abort_transaction(self) -> None: ...
    async def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group_id: str
    ) -> None: ...


class PositionedConsumer(Protocol):
    """What is used of aiokafka's AIOKafkaConsumer to position a claimed partition."""

    def pause(self, *partitions: TopicPartition) -> None: ...
    def resume(self, *partitions: TopicPartition) -> None: ...
    async def committed(self, partition: TopicPartition) -> int | None: ...
    def seek(self, partition: TopicPartition, offset: int) -> None: ...
    async def seek_to_beginning(self, *partitions: TopicPartition) -> None: ...


# The broker refuses a producer whose transactions may stay open longer than its
# transaction.max.timeout.ms (15 minutes by default).
BROKER_MAX_TRANSACTION_SECONDS = 900.0
# Beyond the producers' wait for the broker: the broker aborts a transaction open that long, and a
# transaction open while the broker was away must outlive the wait (aiokafka's default of 60 s fenced
# every partition after a broker restart of a minute or more).
TRANSACTION_MARGIN_SECONDS = 60.0


def transaction_timeout_ms(broker_wait_seconds: float) -> int:
    """How long a transaction may stay open: the producers' wait for the broker and a minute, within the
    broker's maximum."""
    seconds = min(broker_wait_seconds + TRANSACTION_MARGIN_SECONDS, BROKER_MAX_TRANSACTION_SECONDS)
    return round(seconds * 1000)


def transactional_id(app_id: str, topic: str, partition: int) -> str:
    return f"{app_id}-classify-{topic}-{partition}"


class PartitionTransactions:
    """The transactional producers of the source partitions this worker holds, and their open
    transactions: which partitions have one and the offset each will commit."""

    def __init__(
        self,
        make_producer: Callable[[str], TransactionalProducer],
        *,
        app_id: str,
        topic: str,
        group_id: str,
    ) -> None:
        self._make_producer = make_producer
        self.app_id = app_id
        self.topic = topic
        self.group_id = group_id
        self._producers: dict[int, TransactionalProducer] = {}
        self._open: set[int] = set()  # partitions with a transaction begun and not yet ended
        self._next_offsets: dict[int, int] = {}  # per open transaction: the offset it commits
        self.committed: dict[int, int] = {}  # the last offset each partition committed (for health)
        self.fenced_out = 0  # partitions dropped because another owner fenced this worker
        # Dropped by a fence and not yet looked at again: a take-over moves them away at the next
        # rebalance, but a transaction the broker timed out (it was away longer than the transaction
        # timeout) fences its own producer too, and then nobody else will claim the partition.
        self._fenced: set[int] = set()
        # Claims and releases one at a time: the rebalance listener and the stage's loop both call them.
        self._claiming = asyncio.Lock()

    @property
    def partitions(self) -> set[int]:
        return set(self._producers)

    async def claim(self, consumer: PositionedConsumer, partitions: Iterable[int]) -> None:
        """Takes ``partitions`` over: pauses them, fences their previous owners (a producer started and a
        transaction begun under each one's transactional id), then sets each position from the committed
        offset read after the fence, and lets them be read."""
        async with self._claiming:
            await self._claim(consumer, partitions)

    async def _claim(self, consumer: PositionedConsumer, partitions: Iterable[int]) -> None:
        claimed = [p for p in sorted(set(partitions)) if p not in self._producers]
        if not claimed:
            return
        self._fenced.difference_update(claimed)
        tps = [TopicPartition(self.topic, p) for p in claimed]
        consumer.pause(*tps)
        await asyncio.gather(*(self._fence(p) for p in claimed))
        for tp in tps:
            committed = await consumer.committed(tp)
            if committed is None:
                await consumer.seek_to_beginning(tp)  # the group's auto_offset_reset is earliest
            else:
                consumer.seek(tp, committed)
                self.committed[tp.partition] = committed
        consumer.resume(*tps)

    async def _fence(self, partition: int) -> None:
        producer = self._make_producer(transactional_id(self.app_id, self.topic, partition))
        await producer.start()
        self._producers[partition] = producer
        await self._begin(partition)  # waits for the producer id: the previous owner is fenced by then

    async def _begin(self, partition: int) -> None:
        if partition not in self._open:
            await self._producers[partition].begin_transaction()
            self._open.add(partition)

    async def producer(self, partition: int) -> TransactionalProducer:
        """The producer of ``partition``, inside an open transaction."""
        await self._begin(partition)
        return self._producers[partition]

    def holds(self, partition: int) -> bool:
        return partition in self._producers

    def consumed(self, next_offsets: Mapping[int, int]) -> None:
        """The offsets after what was read from each partition: committed with the next transaction."""
        for partition, offset in next_offsets.items():
            if partition in self._producers:
                self._next_offsets[partition] = offset

    async def commit(self, before: Callable[[], Awaitable[Any]] | None = None) -> dict[int, int]:
        """Commits every open transaction that has offsets to commit, with its offsets; returns them.

        ``before`` is awaited first (the stage waits there for ``posts.detect``'s acknowledgements: the
        detect records of these offsets must be on the broker before the offsets are committed)."""
        due = dict(self._next_offsets)
        if not due:
            return {}
        if before is not None:
            await before()
        results = await asyncio.gather(
            *(self._commit_one(partition, offset) for partition, offset in due.items())
        )
        outcomes = zip(due.items(), results, strict=True)
        return {partition: offset for (partition, offset), done in outcomes if done}

    async def _commit_one(self, partition: int, offset: int) -> bool:
        producer = self._producers[partition]
        try:
            await self._begin(partition)
            await producer.send_offsets_to_transaction(
                {TopicPartition(self.topic, partition): offset}, self.group_id
            )
            await producer.commit_transaction()
        except ProducerFenced:
            # Another worker took the partition over and fenced this one, or the broker timed the
            # transaction out: its output is aborted, and the partition is read again from the offset
            # committed before, by the other worker, or by this one (take_fenced).
            log.warning(
                "classify: %s[%d] was fenced (taken over, or its transaction timed out): dropping it",
                self.topic,
                partition,
            )
            self.fenced_out += 1
            await self._drop(partition)
            self._fenced.add(partition)
            return False
        self._open.discard(partition)
        if self._next_offsets.get(partition) == offset:
            del self._next_offsets[partition]
        self.committed[partition] = offset
        return True

    def take_fenced(self) -> set[int]:
        """The partitions dropped by a fence since the last call. Those the consumer still holds once the
        stage has published and committed what it had read were not taken over: claim them again."""
        fenced, self._fenced = self._fenced, set()
        return fenced

    async def release(self, partitions: Iterable[int]) -> None:
        """Gives ``partitions`` up (commit them first): aborts what is still open, stops their producers."""
        async with self._claiming:
            await self._release(partitions)

    async def _release(self, partitions: Iterable[int]) -> None:
        released = set(partitions)
        self._fenced.difference_update(released)
        for partition in sorted(released):
            if partition in self._producers:
                producer = self._producers[partition]
                if partition in self._open:
                    try:
                        await producer.abort_transaction()
                    except Exception as exc:  # fenced or gone: the broker aborts it in any case
                        log.debug("classify: aborting %s[%d]: %r", self.topic, partition, exc)
                await self._drop(partition)

    async def _drop(self, partition: int) -> None:
        producer = self._producers.pop(partition, None)
        self._open.discard(partition)
        self._next_offsets.pop(partition, None)
        self.committed.pop(partition, None)
        if producer is not None:
            try:
                await producer.stop()
            except Exception as exc:
                log.debug("classify: stopping the producer of %s[%d]: %r", self.topic, partition, exc)
