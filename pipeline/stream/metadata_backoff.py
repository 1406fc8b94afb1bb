"""A failed metadata refresh of aiokafka's clients is tried again after ``retry_backoff_ms``, not at once.

While the broker is away, an aiokafka producer whose partitions have no known leader asks for a metadata
refresh, waits for it to fail, and asks again at once (its sender loop has no backoff there, nor has the
client's refresh task). In a 12-second broker restart in the middle of a replay, a worker made 14,634
failed refreshes and 15,333 connection attempts; with this, 563 and 1,178. The Java client waits
``retry.backoff.ms`` between failed refreshes; this
does the same for every aiokafka client of the process (the stages' and Faust's), by waiting after a
failed refresh before the clients waiting for it are told. Installed by the worker (the composition
root); a successful refresh is not delayed.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.client import AIOKafkaClient

_MARK = "_pipeline_backs_off"


def install(client_class: type = AIOKafkaClient) -> None:
    """Wraps ``client_class._metadata_update`` (once, however often it is called)."""
    refresh: Callable[..., Awaitable[bool]] = client_class._metadata_update
    if getattr(refresh, _MARK, False):
        return

    @functools.wraps(refresh)
    async def refresh_with_backoff(self: Any, cluster_metadata: Any, topics: Any) -> bool:
        updated = await refresh(self, cluster_metadata, topics)
        if not updated:
            await asyncio.sleep(self._retry_backoff)
        return updated

    setattr(refresh_with_backoff, _MARK, True)
    client_class._metadata_update = refresh_with_backoff
