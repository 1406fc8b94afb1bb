"""Batches classified concurrently, published in the order they were fetched. Asyncio only, no Kafka.

With more than one classifier process a later batch can be classified before an earlier one, and two
tasks publish: the classify loop, and a rebalance or a stop draining what is left. If both took batches
from the queue, a later batch of a partition could reach ``posts.detect`` before an earlier one, whose
posts the detector would then drop as redelivered. So one lock covers taking a batch and publishing it.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class InOrder(Generic[T]):
    def __init__(self) -> None:
        self._waiting: deque[tuple[asyncio.Future[T], float]] = deque()
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        return len(self._waiting)

    def add(self, result: asyncio.Future[T], arrival: float) -> None:
        """A batch being classified, fetched at ``arrival`` (monotonic seconds)."""
        self._waiting.append((result, arrival))

    async def release(self, publish: Callable[[T, float], Awaitable[None]], *, keep: int | None) -> None:
        """Publishes, in fetch order, the batches already classified, then waits for more while over
        ``keep`` are waiting (None: until none is)."""
        async with self._lock:
            waiting = self._waiting
            while waiting and (keep is None or len(waiting) > keep or waiting[0][0].done()):
                result, arrival = waiting[0]
                batch = await result
                waiting.popleft()
                await publish(batch, arrival)
