"""A record is handed to the producer however long the broker is away, once, and in order."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiokafka.errors import KafkaConnectionError, KafkaTimeoutError

from pipeline.stream.hand_over import patiently


class AwayBroker:
    """A producer's ``send`` that times out ``refusals`` times (the broker away), then enqueues."""

    def __init__(self, refusals: int) -> None:
        self.refusals = refusals
        self.calls = 0
        self.enqueued: list[bytes] = []

    async def send(self, value: bytes) -> str:
        self.calls += 1
        if self.calls <= self.refusals:
            raise KafkaTimeoutError()
        self.enqueued.append(value)
        return f"future of {value!r}"


def test_a_send_that_times_out_is_tried_again_until_the_broker_takes_it(caplog):
    broker = AwayBroker(refusals=3)
    ticks = iter([100.0, 140.0, 160.0])  # called, first timed out, taken
    with caplog.at_level(logging.WARNING, logger="pipeline.stream.hand_over"):
        handed = asyncio.run(
            patiently(lambda: broker.send(b"post 1"), "classify", clock=lambda: next(ticks), backoff=0)
        )
    assert handed == "future of b'post 1'"
    assert broker.calls == 4 and broker.enqueued == [b"post 1"]
    assert [r.getMessage() for r in caplog.records] == [
        "classify: the broker has taken no records for 40 s (KafkaTimeoutError); waiting for it",
        "classify: the broker takes records again after 60 s",
    ]


def test_a_send_the_broker_takes_at_once_is_called_once_and_logs_nothing(caplog):
    broker = AwayBroker(refusals=0)
    with caplog.at_level(logging.WARNING, logger="pipeline.stream.hand_over"):
        asyncio.run(patiently(lambda: broker.send(b"post 1"), "classify"))
    assert broker.calls == 1 and not caplog.records


def test_records_handed_over_one_after_another_keep_their_order_across_an_outage():
    broker = AwayBroker(refusals=2)

    async def send_all() -> None:
        for value in (b"a", b"b", b"c"):
            await patiently(lambda value=value: broker.send(value), "detect")

    asyncio.run(send_all())
    assert broker.enqueued == [b"a", b"b", b"c"]


def test_other_errors_are_not_waited_out():
    async def refused() -> None:
        raise KafkaConnectionError("refused")

    with pytest.raises(KafkaConnectionError):
        asyncio.run(patiently(refused, "classify"))


def test_a_stop_cancels_the_wait():
    async def scenario() -> bool:
        started = asyncio.Event()

        async def away() -> None:
            started.set()
            await asyncio.sleep(0)
            raise KafkaTimeoutError()

        task = asyncio.create_task(patiently(away, "classify"))
        await started.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return True
        return False

    assert asyncio.run(scenario())
