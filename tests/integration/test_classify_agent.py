"""The classify agent on the real broker: posts in, classified posts out, equal to the offline engine."""

from __future__ import annotations

import subprocess

import orjson
import pytest
from kafka import KafkaConsumer

from feed import read_feed
from pipeline.engine import Engine
from replay.seed import SEED_FEED_PATH
from tests.support import as_sent, python_module, wait_until

pytestmark = pytest.mark.integration


def test_seed_posts_come_out_classified_exactly_as_analyze_says(kafka_bootstrap, worker, tmp_path):
    sent = subprocess.run(
        python_module("replay", "send", "--bootstrap", kafka_bootstrap, "--topic", worker.topic,
                      "--speed", "max", "--quiet", "--state", str(tmp_path)),
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    posts = [as_sent(post) for post in read_feed(SEED_FEED_PATH)]  # pseudonymous, as the replayer sends

    consumer = KafkaConsumer(
        worker.classified_topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=30_000,
    )
    streamed = {}
    for record in consumer:
        value = orjson.loads(record.value)
        streamed[value["id"]] = (value, record.timestamp)
        if len(streamed) == len(posts):
            break
    consumer.close()
    assert len(streamed) == len(posts)

    engine = Engine()
    for post in posts:
        value, timestamp = streamed[post.id]
        assert value == engine.classify(post).to_record(), post.id
        assert timestamp == post.ts_ms

    expected_categories = sum(len(engine.classify(p).classification.categories) for p in posts)

    def counted() -> dict[str, float] | None:
        metrics = worker.metrics()
        return metrics if metrics.get("pipeline_posts_classified_total", 0) >= expected_categories else None

    metrics = wait_until(counted, timeout=30, what="category counts in the metrics")
    assert metrics["pipeline_posts_classified_total"] == expected_categories
    assert metrics["pipeline_posts_priority_total"] == len(posts)
    assert metrics["pipeline_posts_lang_total"] == len(posts)
    assert metrics["pipeline_processing_latency_seconds_count"] == len(posts)
    assert worker.stop(timeout=30) == 0, "a worker that has processed posts stops cleanly on Ctrl-C"
