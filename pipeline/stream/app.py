"""Builds the Faust App from the settings. Wiring only: the stages are services (pipeline.stream.worker)."""

from __future__ import annotations

import faust

from pipeline.settings import Settings
from pipeline.stream.kafka_clients import security


def create_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=settings.broker_url,
        broker_credentials=security().faust_credentials(),  # None: PLAINTEXT
        store="memory://",
        datadir=str(settings.data_dir),
        # prometheus-client serves the metrics; Faust's own web server stays off.
        web_enabled=False,
        topic_partitions=settings.posts_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        # A worker killed with -9 leaves Faust's group after this long instead of Faust's 60 s default.
        broker_session_timeout=10.0,
    )
