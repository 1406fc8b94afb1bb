"""A stage that fails stops the whole worker, which exits non-zero within STOP_SECONDS, so that a
supervisor (docker-compose's ``restart: unless-stopped``) starts it again. It used to mark only the stage
as crashed: the worker stayed up, healthy-looking to nobody and reading nothing."""

from __future__ import annotations

import time

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic

from tests.integration.conftest import start_worker
from tests.integration.test_faults import fresh_name, log_tail
from tests.support import wait_until

pytestmark = pytest.mark.integration


@pytest.mark.timeout(180)
def test_a_delivery_the_broker_refuses_stops_the_worker_with_exit_code_1(
    kafka_bootstrap, tmp_path, monkeypatch
):
    name = fresh_name("refused")
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    try:
        # Smaller than any record batch: the broker refuses every classified post (MessageSizeTooLarge,
        # not retriable), as it would a topic an operator misconfigured.
        admin.create_topics(
            [NewTopic(f"{name}.classified", num_partitions=2, replication_factor=1,
                      topic_configs={"max.message.bytes": "64"})]
        )  # fmt: skip
    finally:
        admin.close()
    monkeypatch.setenv("STOP_SECONDS", "20")
    worker = start_worker(kafka_bootstrap, name, tmp_path, partitions=2)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    try:
        post = {"id": "refused-1", "ts": 1245067200, "text": "Basij on Azadi square", "region": "IR"}
        producer.send(worker.topic, orjson.dumps(post), partition=0).get(timeout=30)
        sent = time.monotonic()
        wait_until(
            lambda: worker.process.poll() is not None, timeout=120, what="the worker to exit", interval=0.5
        )
        exited_after = time.monotonic() - sent
        assert worker.process.returncode == 1, log_tail(worker)
        assert "classify: the stage failed: MessageSizeTooLargeError" in log_tail(worker, lines=400)
        print(f"worker exited {exited_after:.1f} s after the refused post")
    finally:
        producer.close()
        worker.stop(timeout=30)
