"""The thin path: the seed feed replayed into a real broker and counted by a real Faust worker."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from feed import end_of_feed_ts, read_feed
from replay.seed import SEED_FEED_PATH
from tests.support import as_sent, python_module, wait_until

pytestmark = pytest.mark.integration

SEED_POSTS = list(read_feed(SEED_FEED_PATH))


def replay(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(python_module("replay", "send", *args), capture_output=True, text=True, timeout=300)


def read_topic(bootstrap: str, topic: str, expected: int) -> list:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=10_000
    )
    try:
        records = []
        for record in consumer:
            records.append(record)
            if len(records) == expected:
                break
        return records
    finally:
        consumer.close()


def test_seed_feed_at_max_speed_is_counted_exactly_once(kafka_bootstrap, worker):
    result = replay("--bootstrap", kafka_bootstrap, "--topic", worker.topic, "--speed", "max")
    assert result.returncode == 0, result.stderr
    total = len(SEED_POSTS)
    assert f"sent {total}/{total} posts" in result.stderr
    assert f"{total} acknowledged, 0 failed, 0 bad records skipped" in result.stderr

    wait_until(lambda: worker.consumed() >= total, timeout=60, what=f"the worker to count {total} posts")
    metrics = worker.metrics()
    assert metrics["pipeline_posts_consumed_total"] == total
    assert metrics.get("pipeline_posts_invalid_total", 0) == 0
    assert metrics["pipeline_event_time_seconds"] == max(post.ts for post in SEED_POSTS)


def test_records_carry_event_time_author_key_and_the_post(kafka_bootstrap, worker):
    result = replay("--bootstrap", kafka_bootstrap, "--topic", worker.topic, "--speed", "max", "--quiet")
    assert result.returncode == 0, result.stderr
    # The posts, then one end-of-feed marker per partition (a worker's topic has two).
    everything = read_topic(kafka_bootstrap, worker.topic, len(SEED_POSTS) + 2)
    markers = [r for r in everything if end_of_feed_ts(orjson.loads(r.value)) is not None]
    assert sorted(r.partition for r in markers) == [0, 1]
    assert {r.timestamp for r in markers} == {max(post.ts_ms for post in SEED_POSTS)}
    records = [r for r in everything if r not in markers]
    by_id = {sent.id: sent for sent in map(as_sent, SEED_POSTS)}  # pseudonymous by default
    assert len(records) == len(SEED_POSTS)
    for record in records:
        post = by_id.pop(orjson.loads(record.value)["id"])
        assert record.timestamp == post.ts_ms
        assert record.key == (post.author.encode() if post.author else None)
        assert orjson.loads(record.value) == post.to_record()
    assert by_id == {}, "every seed post appears once"


def test_bad_records_on_the_topic_are_dead_lettered_and_counted(kafka_bootstrap, worker):
    junk = [b"not json", b"\xff\xfe\xfd", b'{"id": "x", "text": "no time"}', b'["an", "array"]']
    good = orjson.dumps({"id": "ok-1", "ts": "2009-06-15T12:00:00Z", "text": "rally at Azadi"})
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for value in [*junk, good]:
        producer.send(worker.topic, value=value, partition=0)
    producer.flush()
    producer.close()

    wait_until(
        lambda: (
            worker.metrics().get("pipeline_posts_invalid_total", 0) >= len(junk) and worker.consumed() >= 1
        ),
        timeout=60,
        what="the worker to process the junk",
    )
    assert worker.metrics()["pipeline_posts_invalid_total"] == len(junk)
    assert worker.consumed() == 1

    letters = read_topic(kafka_bootstrap, worker.dead_letter_topic, len(junk))
    assert [letter.value for letter in letters] == junk
    headers = [dict(letter.headers) for letter in letters]
    assert [h["error.reason"] for h in headers] == [
        b"invalid_json",
        b"invalid_json",
        b"missing_field",
        b"not_object",
    ]
    assert [h["source.offset"] for h in headers] == [b"0", b"1", b"2", b"3"]
    assert {h["source.topic"] for h in headers} == {worker.topic.encode()}


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_flushes_and_reports_what_was_sent(kafka_bootstrap, worker):
    # Paced so that the replay is still running when it is interrupted.
    process = subprocess.Popen(
        python_module(
            "replay", "send", "--bootstrap", kafka_bootstrap, "--topic", worker.topic, "--duration", "120"
        ),
        stderr=subprocess.PIPE,
        text=True,
        # A shell runs a background job (`make test &`, nohup) with SIGINT ignored, and Python keeps an
        # inherited ignore instead of raising KeyboardInterrupt: give the replay Ctrl-C as a terminal would.
        preexec_fn=_default_sigint,
    )
    wait_until(lambda: worker.consumed() >= 3, timeout=60, what="the first posts to arrive")
    process.send_signal(signal.SIGINT)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # say where it hangs
        stacks = subprocess.run(
            [str(Path(sys.executable).with_name("py-spy")), "dump", "--pid", str(process.pid)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        process.kill()
        _, stderr = process.communicate(timeout=30)
        pytest.fail(f"the replay did not stop within 60 s of Ctrl-C; its threads:\n{stacks.stdout}\n{stderr}")
    assert process.returncode == 130, stderr
    summary = [line for line in stderr.splitlines() if "interrupted after sending" in line]
    assert summary, stderr
    sent = int(summary[0].split("interrupted after sending ")[1].split("/")[0])
    assert 3 <= sent < len(SEED_POSTS)
    assert f"{sent} acknowledged, 0 failed" in summary[0]
    wait_until(lambda: worker.consumed() >= sent, timeout=60, what=f"the worker to count {sent} posts")
    assert worker.consumed() == sent


def test_worker_stops_cleanly_on_ctrl_c(worker):
    worker.process.send_signal(signal.SIGINT)
    assert worker.process.wait(timeout=60) == 0
