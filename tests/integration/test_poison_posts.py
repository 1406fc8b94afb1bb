"""Poison posts through a real worker on the real broker: every post is classified or dead-lettered,
none is lost, and the worker stays up and healthy (issue 16).

The engine is made to raise on a marker (``FAULT_ENGINE_ERROR``, pipeline/stream/faults.py) as a bug
would; the texts around it are the ones that broke normalization before (a lone ``_``) or are most likely
to (combining marks, bidi and zero-width marks, control characters, emoji runs, long texts)."""

from __future__ import annotations

import orjson
import pytest
from kafka import KafkaProducer

from pipeline.metrics import sample_total
from tests.integration.conftest import start_worker
from tests.integration.test_faults import Kafka, fresh_name, health, labelled
from tests.support import wait_until

pytestmark = pytest.mark.integration

MARKER = "POISON-7f3a"
TEXTS = [
    "people _ injured near the square",  # IndexError in normalize before issue 16
    "_",
    "d\u0332emocracy d\u0332emocracy in Tehran",
    "\u202eevil\u202c \u200f\u200e\u2066 Tehran \u2069 protest",
    "zero\u200bwidth\u200cjoin\u200d\ufeff",
    "control \x00\x07\x1b\x7f characters",
    "😔🇮🇷👍🏽👨‍👩‍👧" * 200,
    "آزادی " * 3000,
    "Basij shooting at Azadi square " * 600,
]


@pytest.fixture
def kafka(kafka_bootstrap):
    client = Kafka(kafka_bootstrap)
    yield client
    client.close()


def text_for(index: int) -> str:
    """Three of every sixty posts carry the marker the engine raises on."""
    return f"a post the engine raises on: {MARKER}" if index % 20 == 7 else TEXTS[index % len(TEXTS)]


@pytest.mark.timeout(180)
def test_poison_posts_are_dead_lettered_and_every_other_post_is_classified(
    kafka_bootstrap, kafka, tmp_path, monkeypatch
):
    monkeypatch.setenv("FAULT_ENGINE_ERROR", MARKER)
    worker = start_worker(kafka_bootstrap, fresh_name("poison"), tmp_path, partitions=2)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", max_request_size=1024 * 1024)
    try:
        sent: dict[str, tuple[int, int]] = {}
        expected_letters: dict[tuple[int, int], str] = {}
        for index in range(60):
            text = text_for(index)
            post = {"id": f"poison-{index}", "ts": 1245067200 + index, "text": text, "region": "IR"}
            meta = producer.send(worker.topic, orjson.dumps(post), partition=index % 2).get(timeout=30)
            sent[post["id"]] = (meta.partition, meta.offset)
            if MARKER in text:
                expected_letters[meta.partition, meta.offset] = "engine_error"
        junk = producer.send(worker.topic, b"\xff not utf-8", partition=1).get(timeout=30)
        expected_letters[junk.partition, junk.offset] = "invalid_json"
        producer.flush()

        def all_accounted() -> dict | None:
            samples = labelled(worker)
            done = sample_total(samples, "pipeline_posts_consumed_total") + sample_total(
                samples, "pipeline_posts_invalid_total"
            )
            return samples if done >= len(sent) + 1 else None

        samples = wait_until(all_accounted, timeout=90, what="every record classified or dead-lettered")
        letters = kafka.read_all(worker.dead_letter_topic)
        found = {}
        for letter in letters:
            headers = dict(letter.headers)
            place = int(headers["source.partition"]), int(headers["source.offset"])
            found[place] = headers["error.reason"].decode()
            if headers["error.reason"] == b"engine_error":
                assert headers["error.type"] == b"RuntimeError"
                assert MARKER.encode() in headers["error.message"]
                assert MARKER.encode() in letter.value  # the original bytes
        assert found == expected_letters
        classified = [orjson.loads(record.value)["id"] for record in kafka.read_all(worker.classified_topic)]
        poisoned = {post_id for post_id, place in sent.items() if place in expected_letters}
        assert sorted(classified) == sorted(set(sent) - poisoned)  # each other post once
        assert sample_total(samples, "pipeline_posts_invalid_total", reason="engine_error") == len(poisoned)
        assert worker.process.poll() is None
        # The next probe after the poison finds the worker healthy (the first may not have run yet).
        _, body = wait_until(
            lambda: (answer := health(worker))[0] == 200 and answer, timeout=60, what="/health 200"
        )
        assert body["status"] == "ok" and body["stalled"] == [], body
    finally:
        producer.close()
        assert worker.stop(timeout=30) == 0
