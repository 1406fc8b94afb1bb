"""A failed metadata refresh waits retry_backoff_ms before its waiters hear of it; a good one does not."""

from __future__ import annotations

import asyncio

from aiokafka.client import AIOKafkaClient
from aiokafka.cluster import ClusterMetadata

from pipeline.stream import metadata_backoff


def client_class(results: list[bool]) -> type:
    """A client class whose refreshes answer from ``results`` in turn."""

    class Client:
        _retry_backoff = 0.25

        async def _metadata_update(self, cluster_metadata, topics) -> bool:
            return results.pop(0)

    return Client


def test_a_failed_refresh_sleeps_the_backoff_and_a_good_one_does_not(monkeypatch):
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    monkeypatch.setattr(metadata_backoff.asyncio, "sleep", sleep)
    refreshing = client_class([False, True, False])
    metadata_backoff.install(refreshing)
    client = refreshing()

    async def three() -> list[bool]:
        return [await client._metadata_update(None, None) for _ in range(3)]

    assert asyncio.run(three()) == [False, True, False]
    assert slept == [0.25, 0.25]


def test_installed_twice_it_wraps_once():
    cls = client_class([])
    metadata_backoff.install(cls)
    wrapped = cls._metadata_update
    metadata_backoff.install(cls)
    assert cls._metadata_update is wrapped


def test_the_installed_aiokafka_client_backs_off_after_a_refresh_with_no_broker(monkeypatch):
    """Against aiokafka's own (private) method: a client that knows no broker fails its refresh."""
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    original = AIOKafkaClient._metadata_update
    try:
        metadata_backoff.install()
        monkeypatch.setattr(metadata_backoff.asyncio, "sleep", sleep)

        async def refresh() -> bool:
            client = AIOKafkaClient(bootstrap_servers="127.0.0.1:9", retry_backoff_ms=300)
            try:
                return await client._metadata_update(ClusterMetadata(), None)
            finally:
                await client.close()

        assert asyncio.run(refresh()) is False
        assert slept == [0.3]
    finally:
        AIOKafkaClient._metadata_update = original
