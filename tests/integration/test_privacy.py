"""The people in the feed, on the real broker (issue 17): after a replay of a feed with handles,
@mentions, post ids and free-text locations through a real worker, none of them is in any byte of any of
the stack's topics, in the worker's or the replayer's output, in /metrics, in the replay checkpoint or in
the worker's state directory. Pseudonyms are stable under one key and differ under another."""

from __future__ import annotations

import os
import subprocess
import urllib.request
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient

from feed import write_feed
from feed.model import Post
from feed.pseudonyms import Pseudonymizer, load_key
from tests.integration.conftest import start_worker
from tests.integration.test_faults import Kafka, fresh_name
from tests.support import python_module, wait_until

pytestmark = pytest.mark.integration

T0 = 1245067200.0  # 2009-06-15T12:00:00Z
POSTS = 120


def secret_feed(path: Path) -> list[bytes]:
    """A feed whose every identifying value is a string that appears nowhere else; returns them."""
    posts = [
        Post(
            id=f"98765432100{n:03d}",
            ts=T0 + n * 5.0,
            text=f"RT @mentioned_{n:03d}x: rally at Azadi square, basij near by #iranelection",
            author=f"handle_{n % 17:03d}x",
            region="IR",
            extra={"location": f"Pasdaran alley {n % 7}, Tehran", "reply_to": f"55511100{n:03d}"},
        )
        for n in range(POSTS)
    ]
    write_feed(posts, path)
    secrets = set()
    for post in posts:
        secrets |= {post.id, post.author, f"mentioned_{post.id[-3:]}x", post.extra["location"]}
        secrets.add(post.extra["reply_to"])
    return sorted(secret.encode() for secret in secrets)


def replay(bootstrap: str, feed: Path, topic: str, state: Path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        python_module("replay", "send", str(feed), "--bootstrap", bootstrap, "--topic", topic,
                      "--speed", "max", "--state", str(state), "--quiet"),
        capture_output=True, env={**os.environ, **env}, timeout=120,
    )  # fmt: skip


def everything_in(kafka: Kafka, topics: list[str]) -> list[bytes]:
    found = []
    for topic in topics:
        for record in kafka.read_all(topic):
            found += [record.value or b"", record.key or b""]
            found += [name.encode() + b"=" + (value or b"") for name, value in record.headers or []]
    return found


@pytest.mark.timeout(240)
def test_no_handle_mention_id_or_location_leaves_the_replayer(kafka_bootstrap, tmp_path):
    feed = tmp_path / "feed.jsonl"
    secrets = secret_feed(feed)
    name = fresh_name("privacy")
    worker = start_worker(kafka_bootstrap, name, tmp_path / "worker", partitions=2)
    kafka = Kafka(kafka_bootstrap)
    try:
        state = tmp_path / "replay-state"
        sent = replay(kafka_bootstrap, feed, worker.topic, state)
        assert sent.returncode == 0, sent.stderr

        def classified_all() -> bool:
            return (worker.metrics() or {}).get("pipeline_posts_published_total", 0) >= POSTS

        wait_until(classified_all, timeout=120, what="every post classified")
        with urllib.request.urlopen(worker.metrics_url, timeout=5) as response:
            metrics_page = response.read()
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        topics = sorted(topic for topic in admin.list_topics() if topic.startswith(name))
        admin.close()
        assert len(topics) >= 5, topics  # posts, classified, detect, alerts, dead letters, state
        assert worker.stop(timeout=30) == 0
        places: dict[str, bytes] = {
            "topics": b"\n".join(everything_in(kafka, topics)),
            "replayer output": sent.stdout + sent.stderr,
            "/metrics": metrics_page,
        }
        for folder in (state, tmp_path / "worker"):  # the checkpoint; the worker's log and state
            for path in folder.rglob("*"):
                if path.is_file():
                    places[str(path)] = path.read_bytes()
        assert any(path.endswith(".replay-checkpoint.json") for path in places), places.keys()
        leaks = {where: [s for s in secrets if s in data] for where, data in places.items()}
        assert {where: found for where, found in leaks.items() if found} == {}
        # ... and the pseudonyms are there instead: one per author, keyed by it.
        pseudonymizer = Pseudonymizer(load_key())
        assert pseudonymizer.author("handle_003x").encode() in places["topics"]

        # An operator who must destroy the data: purge lists, then with --yes deletes, this stack only.
        env = {
            **os.environ,
            "POSTS_TOPIC": worker.topic,
            "CLASSIFIED_TOPIC": worker.classified_topic,
            "DETECT_TOPIC": f"{name}.detect",
            "ALERTS_TOPIC": worker.alerts_topic,
            "DEAD_LETTER_TOPIC": worker.dead_letter_topic,
        }
        (data_dir,) = (tmp_path / "worker").glob("faust-*")
        command = python_module("pipeline", "purge", "--bootstrap", kafka_bootstrap, "--app-id",
                                f"{name}-app", "--data-dir", str(data_dir))  # fmt: skip
        listed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert "nothing deleted" in listed.stderr and f"would delete topic {worker.topic}" in listed.stdout
        assert f"would delete consumer group {name}-app-classify" in listed.stdout
        assert data_dir.exists()
        done = subprocess.run([*command, "--yes"], capture_output=True, text=True, env=env, timeout=60)
        assert done.returncode == 0, done.stderr
        admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        try:
            gone = wait_until(
                lambda: not any(t.startswith(name) for t in admin.list_topics()) or None,
                timeout=30,
                what="the stack's topics to be deleted",
            )
            assert gone and not [g for g in admin.list_groups() if g["group_id"].startswith(name)]
        finally:
            admin.close()
        assert not data_dir.exists()
    finally:
        kafka.close()
        worker.stop(timeout=30)


def test_pseudonyms_are_stable_under_one_key_and_differ_under_another(kafka_bootstrap, tmp_path):
    feed = tmp_path / "feed.jsonl"
    secret_feed(feed)
    kafka = Kafka(kafka_bootstrap)
    try:
        runs = {}
        for label, key in (("first", "key-A"), ("again", "key-A"), ("other", "key-B")):
            topic = fresh_name(f"pseudonyms-{label}")
            done = replay(kafka_bootstrap, feed, topic, tmp_path / label, AUTHOR_KEY=key)
            assert done.returncode == 0, done.stderr
            values = [orjson.loads(r.value) for r in kafka.read_all(topic)]
            runs[label] = sorted((v["id"], v["author"]) for v in values if "id" in v)
        assert len(runs["first"]) == POSTS
        assert runs["first"] == runs["again"]
        assert not {post_id for post_id, _ in runs["first"]} & {post_id for post_id, _ in runs["other"]}
        assert len({author for _, author in runs["first"]}) == 17  # one pseudonym per author
    finally:
        kafka.close()
