"""A replay's last windows close: the end-of-feed markers on a real broker, 16 partitions, one worker.

The watermark is the minimum over the partitions of their latest event time (minus the lateness), so
without markers it stops where the partition whose last post came earliest stands, short of where
`python -m pipeline analyze` ends on the same feed. With the replayer's marker on every partition the
worker's watermark gets exactly there, and the alerts topic holds exactly analyze's alerts.
"""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from feed import END_OF_FEED_HEADER, end_of_feed_ts, parse_ts
from pipeline.analyze import analyze
from pipeline.detect import DetectorConfig
from pipeline.engine import Engine
from tests.integration.conftest import Scenario, build_scenario, start_worker
from tests.support import python_module, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(480)]

HOURS = 3  # about 18,000 posts: warm-up, filtering and surges, streamed in seconds
PARTITIONS = 16


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("end-of-feed"), HOURS)


@pytest.fixture(scope="module")
def final_watermark(scenario) -> float:
    """Where analyze's watermark ends over the feed: its latest event time minus the lateness."""
    engine = Engine()
    analyze(scenario.feed, engine=engine)
    assert engine.detector.watermark == scenario.last_ts - DetectorConfig().lateness_seconds
    return engine.detector.watermark


def read_topic(bootstrap: str, topic: str) -> list:
    """Every record of ``topic`` up to its end offsets now."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = wait_until(
            lambda: consumer.topics() and consumer.partitions_for_topic(topic), timeout=60, what=topic
        )
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        consumer.seek_to_beginning(*tps)
        ends = consumer.end_offsets(tps)
        records: list = []
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            for batch in consumer.poll(timeout_ms=500, max_records=20_000).values():
                records.extend(r for r in batch if r.offset < ends[TopicPartition(r.topic, r.partition)])
        return records
    finally:
        consumer.close()


def replay(bootstrap: str, topic: str, feed: Path, state: Path) -> str:
    sent = subprocess.run(
        python_module(
            "replay", "send", str(feed), "--bootstrap", bootstrap, "--topic", topic,
            "--partitions", str(PARTITIONS), "--speed", "max", "--quiet", "--state", str(state),
        ),
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    return sent.stderr


def test_the_markers_close_the_last_windows_as_analyze_does(
    kafka_bootstrap, scenario, final_watermark, tmp_path
):
    name = f"eof-{uuid.uuid4().hex[:6]}"
    worker = start_worker(kafka_bootstrap, name, tmp_path, partitions=PARTITIONS)
    try:
        stderr = replay(kafka_bootstrap, worker.topic, scenario.feed, tmp_path / "replay")
        assert f"marked on {PARTITIONS} partitions of {worker.topic}" in stderr

        # On every partition the marker is the last record, after all of the partition's posts.
        last_post: dict[int, float] = {}
        last_record: dict[int, Any] = {}
        for record in sorted(
            read_topic(kafka_bootstrap, worker.topic), key=lambda r: (r.partition, r.offset)
        ):
            last_record[record.partition] = record
            value = orjson.loads(record.value)
            if end_of_feed_ts(value) is None:
                last_post[record.partition] = max(last_post.get(record.partition, 0.0), parse_ts(value["ts"]))
        assert sorted(last_record) == list(range(PARTITIONS))
        for record in last_record.values():
            assert end_of_feed_ts(orjson.loads(record.value)) == scenario.last_ts
            assert record.key is None and record.timestamp == round(scenario.last_ts * 1000)
            assert (END_OF_FEED_HEADER, b"1") in record.headers
        slowest = min(last_post.values())
        # What makes the markers needed: without them the watermark would stop at the slowest partition.
        assert slowest < scenario.last_ts

        def caught_up() -> dict | None:
            metrics = worker.metrics()
            done = (
                metrics.get("pipeline_posts_consumed_total", 0) >= scenario.posts
                and metrics.get("pipeline_watermark_seconds", 0) >= final_watermark
            )
            return metrics if done else None

        metrics = wait_until(caught_up, timeout=240, interval=0.5, what="the watermark to reach analyze's")
        assert metrics["pipeline_watermark_seconds"] == final_watermark
        assert metrics["pipeline_posts_consumed_total"] == scenario.posts
        assert metrics.get("pipeline_posts_invalid_total", 0) == 0  # the markers were not dead-lettered

        wait_until(
            lambda: len(read_topic(kafka_bootstrap, worker.alerts_topic)) >= len(scenario.alerts),
            timeout=60,
            what="the alerts to land",
        )
        streamed = [orjson.loads(record.value) for record in read_topic(kafka_bootstrap, worker.alerts_topic)]
        print(
            f"\n[end_of_feed] posts {scenario.posts}, alerts {len(streamed)}, slowest partition's last post "
            f"{scenario.last_ts - slowest:.1f} s before the feed's end, watermark {final_watermark}"
        )
        assert streamed == scenario.alerts
        late_alerts = [a for a in scenario.alerts if parse_ts(a["detected_at"]) > slowest - 120.0]
        print(f"[end_of_feed] alerts raised only thanks to the markers: {len(late_alerts)}")
    finally:
        worker.stop(timeout=30)
