"""Builds the Faust App from the settings. Wiring only: agents live in pipeline.agents."""

from __future__ import annotations

import faust

from pipeline.settings import Settings


def create_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=settings.broker_url,
        store="memory://",
        datadir=str(settings.data_dir),
        # prometheus-client serves the metrics; Faust's own web server stays off.
        web_enabled=False,
        topic_partitions=settings.posts_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # A worker killed with -9 hands its partitions (the detect partition among them) over after
        # this long instead of Faust's 60 s default; the consumer thread heartbeats every 3 s.
        broker_session_timeout=10.0,
        # The detect agent holds acks until its state is saved; shutdown must not wait for them
        # (what was not acked is read again, and skipped up to the saved snapshot, on restart).
        stream_wait_empty=False,
        # The detector's snapshot is one table record; the broker allows 32 MiB (deploy/kafka).
        producer_max_request_size=32 * 1024 * 1024,
        consumer_max_fetch_size=32 * 1024 * 1024,
    )
