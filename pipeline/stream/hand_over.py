"""Handing records to an aiokafka producer while the broker is away, for as long as it is away.

aiokafka's idempotent producers retry a batch until the broker acknowledges it, but handing a record
over (``send``, ``send_batch``) gives up after ``request_timeout_ms`` when the partition's queue stays
full or its metadata cannot be fetched, with ``KafkaTimeoutError``. It raises before anything is
enqueued, so trying the same call again neither loses, repeats nor reorders a record. The worker used
to let that error stop its stages: with aiokafka's default of 40 s, a broker restart that took longer
(an upgrade, a slow log recovery) crashed every worker. The producers now wait ``BROKER_WAIT_SECONDS``
(pipeline/stream/kafka_clients.py), and :func:`patiently` waits out a hand-over that still gives up;
/health says ``broker_unreachable`` meanwhile, and a stop cancels the wait.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiokafka.errors import KafkaTimeoutError

log = logging.getLogger(__name__)

T = TypeVar("T")

# Between two tries: aiokafka waits request_timeout_ms before it gives up, but a call that gave up at
# once must not spin the event loop.
RETRY_BACKOFF_SECONDS = 0.1


async def patiently(
    hand_over: Callable[[], Awaitable[T]],
    what: str,
    *,
    clock: Callable[[], float] = time.monotonic,
    backoff: float = RETRY_BACKOFF_SECONDS,
) -> T:
    """``await hand_over()``, called again for as long as it raises ``KafkaTimeoutError``. ``what`` names
    the output in the log lines (one when the wait begins, one when it ends)."""
    began, waiting = clock(), False
    while True:
        try:
            handed = await hand_over()
        except KafkaTimeoutError:
            if not waiting:
                waiting = True
                log.warning(
                    "%s: the broker has taken no records for %.0f s (KafkaTimeoutError); waiting for it",
                    what,
                    clock() - began,
                )
            await asyncio.sleep(backoff)
            continue
        if waiting:
            log.warning("%s: the broker takes records again after %.0f s", what, clock() - began)
        return handed
