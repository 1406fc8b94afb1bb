"""Classified batches leave in fetch order, whichever finishes first and whoever publishes them."""

from __future__ import annotations

import asyncio

from pipeline.stream.in_order import InOrder


async def settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def queued(count: int) -> tuple[list[asyncio.Future[int]], InOrder[int]]:
    """``count`` batches being classified (call inside the event loop); batch n's result will be n."""
    loop = asyncio.get_running_loop()
    results = [loop.create_future() for _ in range(count)]
    batches: InOrder[int] = InOrder()
    for number, result in enumerate(results):
        batches.add(result, float(number))
    return results, batches


def test_the_loop_and_a_drain_publish_in_fetch_order_when_a_later_batch_is_done_first():
    async def scenario() -> list[int]:
        results, batches = queued(4)
        published: list[int] = []

        async def publish(batch: int, _arrival: float) -> None:
            await asyncio.sleep(0)  # sending yields to the event loop
            published.append(batch)

        classify_loop = asyncio.create_task(batches.release(publish, keep=3))  # waits for batch 0
        await settle()
        drain = asyncio.create_task(batches.release(publish, keep=None))  # a rebalance meanwhile
        for number in (3, 1, 2):  # the other classifier process finishes the later batches first
            results[number].set_result(number)
            await settle()
        assert published == []
        results[0].set_result(0)
        await asyncio.gather(classify_loop, drain)
        return published

    assert asyncio.run(scenario()) == [0, 1, 2, 3]


def test_done_batches_leave_at_once_and_the_rest_wait_until_only_keep_are_left():
    async def scenario() -> tuple[list[int], int]:
        results, batches = queued(4)
        results[0].set_result(0)
        results[1].set_result(1)
        published: list[int] = []

        async def publish(batch: int, _arrival: float) -> None:
            published.append(batch)

        await batches.release(publish, keep=3)  # 0 and 1 are done: both go, 2 and 3 stay
        return published, len(batches)

    assert asyncio.run(scenario()) == ([0, 1], 2)


def test_waiting_stops_once_no_more_than_keep_are_left():
    async def scenario() -> list[int]:
        results, batches = queued(3)
        published: list[int] = []

        async def publish(batch: int, _arrival: float) -> None:
            published.append(batch)

        release = asyncio.create_task(batches.release(publish, keep=2))
        await settle()
        results[0].set_result(0)
        await release
        return published

    assert asyncio.run(scenario()) == [0]
