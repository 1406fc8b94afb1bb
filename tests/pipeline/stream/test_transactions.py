"""PartitionTransactions with in-memory fakes of aiokafka's transactional producer and consumer: the
order of fence and read on a take-over, what each commit carries, and a fenced-out partition."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import ProducerFenced

from pipeline.stream.transactions import PartitionTransactions, transactional_id

TOPIC = "posts"
GROUP = "app-classify"


class Journal:
    """Everything the fakes were asked, in order, as (who, what, detail)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def of(self, what: str) -> list[tuple[str, object]]:
        return [(who, detail) for who, name, detail in self.calls if name == what]


class FakeProducer:
    def __init__(self, txn_id: str, journal: Journal, broker: FakeBroker) -> None:
        self.txn_id, self.journal, self.broker = txn_id, journal, broker
        self.in_transaction = False
        self.offsets: dict[TopicPartition, int] = {}
        self.stopped = False

    async def start(self) -> None:
        self.journal.calls.append((self.txn_id, "start", None))

    async def stop(self) -> None:
        self.stopped = True
        self.journal.calls.append((self.txn_id, "stop", None))

    async def begin_transaction(self) -> None:
        # InitProducerId happens here (aiokafka waits for the producer id): the previous owner's
        # transaction completes, and its offsets reach the group, before this returns.
        assert not self.in_transaction, "a transaction begun twice"
        self.broker.fence(self.txn_id)
        self.in_transaction = True
        self.journal.calls.append((self.txn_id, "begin", None))

    async def send_offsets_to_transaction(self, offsets, group_id) -> None:
        assert self.in_transaction, "offsets outside a transaction"
        assert group_id == GROUP
        self.broker.check(self)
        self.offsets.update(offsets)
        self.journal.calls.append((self.txn_id, "send_offsets", dict(offsets)))

    async def commit_transaction(self) -> None:
        assert self.in_transaction
        self.broker.check(self)
        self.broker.committed.update(self.offsets)
        self.offsets = {}
        self.in_transaction = False
        self.journal.calls.append((self.txn_id, "commit", None))

    async def abort_transaction(self) -> None:
        self.offsets = {}
        self.in_transaction = False
        self.journal.calls.append((self.txn_id, "abort", None))


class FakeBroker:
    """Transactional ids and their current owner (the producer that began last), and the group's
    committed offsets."""

    def __init__(self) -> None:
        self.owner: dict[str, FakeProducer] = {}
        self.committed: dict[TopicPartition, int] = {}
        self.pending: dict[str, dict[TopicPartition, int]] = {}  # offsets the fence will apply

    def fence(self, txn_id: str) -> None:
        self.committed.update(self.pending.pop(txn_id, {}))
        self.owner[txn_id] = self._current

    def check(self, producer: FakeProducer) -> None:
        if self.owner.get(producer.txn_id) is not producer:
            raise ProducerFenced()

    _current: FakeProducer


class FakeConsumer:
    def __init__(self, broker: FakeBroker, journal: Journal) -> None:
        self.broker, self.journal = broker, journal
        self.positions: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()

    def pause(self, *tps: TopicPartition) -> None:
        self.paused.update(tps)
        self.journal.calls.extend(("consumer", "pause", tp.partition) for tp in tps)

    def resume(self, *tps: TopicPartition) -> None:
        self.paused.difference_update(tps)
        self.journal.calls.extend(("consumer", "resume", tp.partition) for tp in tps)

    async def committed(self, tp: TopicPartition) -> int | None:
        self.journal.calls.append(("consumer", "committed", tp.partition))
        return self.broker.committed.get(tp)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset
        self.journal.calls.append(("consumer", "seek", (tp.partition, offset)))

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        for tp in tps:
            self.seek(tp, 0)


class Worker:
    def __init__(self, broker: FakeBroker, journal: Journal, app_id: str = "app") -> None:
        self.broker, self.journal = broker, journal
        self.consumer = FakeConsumer(broker, journal)
        self.made: list[FakeProducer] = []
        self.transactions = PartitionTransactions(self.make, app_id=app_id, topic=TOPIC, group_id=GROUP)

    def make(self, txn_id: str) -> FakeProducer:
        producer = FakeProducer(txn_id, self.journal, self.broker)
        self.broker._current = producer
        self.made.append(producer)
        return producer


def run(coroutine):
    return asyncio.run(coroutine)


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def journal() -> Journal:
    return Journal()


def test_a_claimed_partition_is_read_from_the_offset_committed_after_the_fence(broker, journal):
    tp = TopicPartition(TOPIC, 1)
    broker.committed[tp] = 100
    # The killed owner's last transaction committed offset 130; the group applies it once that
    # transaction is complete, which the next owner's fence waits for.
    broker.pending[transactional_id("app", TOPIC, 1)] = {tp: 130}
    worker = Worker(broker, journal)
    run(worker.transactions.claim(worker.consumer, [1]))

    assert worker.consumer.positions[tp] == 130
    order = [name for who, name, _ in journal.calls]
    assert order.index("pause") < order.index("begin") < order.index("committed") < order.index("seek")
    assert order.index("seek") < order.index("resume")
    assert not worker.consumer.paused


def test_a_partition_nobody_committed_starts_at_the_beginning(broker, journal):
    worker = Worker(broker, journal)
    run(worker.transactions.claim(worker.consumer, [0, 2]))
    assert worker.consumer.positions == {TopicPartition(TOPIC, 0): 0, TopicPartition(TOPIC, 2): 0}
    assert {producer.txn_id for producer in worker.made} == {"app-classify-posts-0", "app-classify-posts-2"}


def test_each_commit_carries_the_offsets_of_its_own_partition_only(broker, journal):
    worker = Worker(broker, journal)
    transactions = worker.transactions

    async def scenario() -> dict[int, int]:
        await transactions.claim(worker.consumer, [0, 1])
        await transactions.producer(0)  # output sent in partition 0's transaction
        transactions.consumed({0: 10, 1: 7, 5: 99})  # 5 is not held: ignored
        return await transactions.commit()

    assert run(scenario()) == {0: 10, 1: 7}
    sent = dict(journal.of("send_offsets"))
    assert sent == {
        "app-classify-posts-0": {TopicPartition(TOPIC, 0): 10},
        "app-classify-posts-1": {TopicPartition(TOPIC, 1): 7},
    }
    assert broker.committed == {TopicPartition(TOPIC, 0): 10, TopicPartition(TOPIC, 1): 7}
    assert transactions.committed == {0: 10, 1: 7}


def test_nothing_is_committed_before_what_it_waits_for(broker, journal):
    worker = Worker(broker, journal)
    acknowledged = []

    async def detect_acknowledged() -> None:
        assert not journal.of("commit"), "committed before posts.detect acknowledged"
        acknowledged.append(True)

    async def scenario() -> None:
        await worker.transactions.claim(worker.consumer, [3])
        worker.transactions.consumed({3: 4})
        await worker.transactions.commit(before=detect_acknowledged)

    run(scenario())
    assert acknowledged == [True]
    assert broker.committed == {TopicPartition(TOPIC, 3): 4}


def test_a_commit_with_no_new_offsets_commits_nothing(broker, journal):
    worker = Worker(broker, journal)

    async def scenario() -> dict[int, int]:
        await worker.transactions.claim(worker.consumer, [0])
        worker.transactions.consumed({0: 5})
        await worker.transactions.commit()
        return await worker.transactions.commit()

    assert run(scenario()) == {}
    assert len(journal.of("commit")) == 1


def test_a_new_transaction_begins_after_a_commit(broker, journal):
    worker = Worker(broker, journal)

    async def scenario() -> None:
        await worker.transactions.claim(worker.consumer, [0])
        worker.transactions.consumed({0: 5})
        await worker.transactions.commit()
        producer = await worker.transactions.producer(0)
        assert producer.in_transaction
        worker.transactions.consumed({0: 9})
        await worker.transactions.commit()

    run(scenario())
    assert [name for _, name, _ in journal.calls if name in ("begin", "commit")] == [
        "begin",
        "commit",
        "begin",
        "commit",
    ]
    assert broker.committed == {TopicPartition(TOPIC, 0): 9}


def test_a_worker_fenced_out_drops_the_partition_and_commits_nothing_for_it(broker, journal):
    zombie = Worker(broker, journal, app_id="app")
    owner = Worker(broker, journal, app_id="app")

    async def scenario() -> dict[int, int]:
        await zombie.transactions.claim(zombie.consumer, [0, 1])
        await owner.transactions.claim(owner.consumer, [1])  # took partition 1 over: fences the zombie
        zombie.transactions.consumed({0: 20, 1: 30})
        return await zombie.transactions.commit()

    assert run(scenario()) == {0: 20}
    assert broker.committed == {TopicPartition(TOPIC, 0): 20}
    assert zombie.transactions.partitions == {0}
    assert zombie.transactions.fenced_out == 1
    assert zombie.made[1].stopped


def test_a_partition_whose_transaction_timed_out_is_handed_out_once_to_be_claimed_again(broker, journal):
    worker = Worker(broker, journal)

    async def scenario() -> tuple[dict[int, int], set[int], set[int], dict[int, int]]:
        await worker.transactions.claim(worker.consumer, [0, 1])
        worker.transactions.consumed({0: 20, 1: 30})
        first = await worker.transactions.commit()
        worker.transactions.consumed({0: 25, 1: 35})
        broker.owner["app-classify-posts-0"] = None  # the broker was away: it timed the transaction out
        second = await worker.transactions.commit()
        fenced, none_left = worker.transactions.take_fenced(), worker.transactions.take_fenced()
        await worker.transactions.claim(worker.consumer, fenced)  # still held: claimed again
        worker.transactions.consumed({0: 27})
        return second, fenced, none_left, {**first, **await worker.transactions.commit()}

    second, fenced, none_left, last = run(scenario())
    assert second == {1: 35} and fenced == {0} and none_left == set()
    # Claimed again from the offset its last committed transaction left, 20, not the aborted 25.
    assert worker.consumer.positions[TopicPartition(TOPIC, 0)] == 20
    assert last == {0: 27, 1: 30}
    assert broker.committed == {TopicPartition(TOPIC, 0): 27, TopicPartition(TOPIC, 1): 35}
    assert worker.transactions.partitions == {0, 1} and len(worker.made) == 3


def test_a_fenced_partition_released_at_the_rebalance_is_not_claimed_again(broker, journal):
    zombie = Worker(broker, journal)
    owner = Worker(broker, journal)

    async def scenario() -> set[int]:
        await zombie.transactions.claim(zombie.consumer, [0])
        await owner.transactions.claim(owner.consumer, [0])
        zombie.transactions.consumed({0: 5})
        await zombie.transactions.commit()  # fenced: dropped
        await zombie.transactions.release([0])  # the rebalance that took it away reached the zombie
        return zombie.transactions.take_fenced()

    assert run(scenario()) == set()


def test_released_partitions_abort_what_is_open_and_stop_their_producers(broker, journal):
    worker = Worker(broker, journal)

    async def scenario() -> None:
        await worker.transactions.claim(worker.consumer, [0, 1])
        worker.transactions.consumed({0: 3})
        await worker.transactions.release([0])

    run(scenario())
    assert worker.transactions.partitions == {1}
    assert journal.of("abort") == [("app-classify-posts-0", None)]
    assert worker.made[0].stopped and not worker.made[1].stopped
    assert broker.committed == {}  # released without a commit: the next owner reads it again


def test_claiming_a_held_partition_again_does_not_fence_itself(broker, journal):
    worker = Worker(broker, journal)

    async def scenario() -> None:
        await worker.transactions.claim(worker.consumer, [0])
        await worker.transactions.claim(worker.consumer, [0])

    run(scenario())
    assert len(worker.made) == 1
    assert len(journal.of("begin")) == 1
