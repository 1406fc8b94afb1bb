"""The replayer against a real broker: pacing, window/loop/rate, pause and resume, checkpoints, restarts."""

from __future__ import annotations

import itertools
import signal
import subprocess
import time
import uuid
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from feed import Post, end_of_feed_ts, post_from_record, read_feed, write_feed
from replay.producer import PostProducer
from replay.runner import Replay
from replay.schedule import ReplayOptions, plan
from replay.seed import SEED_FEED_PATH
from replay.wire import WirePost
from tests.support import as_sent, free_port, kafka_env, kafka_sh, python_module, scrape, wait_until

pytestmark = pytest.mark.integration

T0 = 1244851200.0  # 2009-06-13T00:00:00Z


def new_topic(bootstrap: str, *, log_append_time: bool = False) -> str:
    name = f"replay-{uuid.uuid4().hex[:8]}"
    config = {"message.timestamp.type": "LogAppendTime"} if log_append_time else {}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name, num_partitions=1, replication_factor=1, topic_configs=config)])
    admin.close()
    return name


def read_records(bootstrap: str, topic: str, *, idle_ms: int = 5_000) -> list:
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=idle_ms
    )
    try:
        return list(consumer)
    finally:
        consumer.close()


def is_end_marker(record) -> bool:
    return end_of_feed_ts(orjson.loads(record.value)) is not None


def read_all(bootstrap: str, topic: str, *, idle_ms: int = 5_000) -> list:
    """The posts on ``topic``: the end-of-feed marker a finished replay writes after them left out."""
    return [r for r in read_records(bootstrap, topic, idle_ms=idle_ms) if not is_end_marker(r)]


def evenly_spaced_feed(path: Path, count: int, gap: float) -> list[Post]:
    posts = [
        Post(id=f"p{n:04d}", ts=T0 + n * gap, text=f"post {n}", author=f"a{n % 5}") for n in range(count)
    ]
    write_feed(posts, path)
    return posts


def replay_cli(*args: str, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen(
        python_module("replay", "send", *args), stderr=subprocess.PIPE, text=True, **kwargs
    )


@pytest.mark.parametrize(("speed", "gap"), [(1.0, 0.05), (20.0, 1.0), (600.0, 30.0)])
def test_pacing_error_is_small_at_every_speed(kafka_bootstrap, speed, gap):
    """60 posts due every 50 ms of wall time; the lateness of each send against its schedule."""
    posts = [WirePost.from_post(Post(id=f"p{n}", ts=T0 + n * gap, text="x")) for n in range(60)]
    producer = PostProducer(kafka_bootstrap, new_topic(kafka_bootstrap))
    replay = Replay(
        plan(lambda: posts, ReplayOptions(speed=speed), shift=gap * 60),
        producer,
        planned=len(posts),
        paced=True,
        record_lateness=True,
    )
    report = replay.run()
    producer.close()
    assert report.ok and report.acknowledged == len(posts)
    expected = (len(posts) - 1) * gap / speed
    assert expected <= report.elapsed < expected + 1.0
    lateness = sorted(report.behind)
    p95, worst = lateness[int(0.95 * (len(lateness) - 1))], lateness[-1]
    print(f"\npacing at {speed:g}x: p95 {p95 * 1000:.2f} ms, max {worst * 1000:.2f} ms")
    assert p95 < 0.05
    assert worst < 0.5
    assert report.stalls == 0


def test_window_loop_and_rate_on_the_broker(kafka_bootstrap, tmp_path):
    topic = new_topic(kafka_bootstrap)
    seed = list(read_feed(SEED_FEED_PATH))
    start, end = "2009-06-14T00:00:00Z", "2009-06-19T00:00:00Z"
    window = [p for p in seed if T0 + 86400 <= p.ts < T0 + 6 * 86400]
    started = time.monotonic()
    process = replay_cli(
        "--bootstrap", kafka_bootstrap, "--topic", topic, "--speed", "max", "--rate", "100",
        "--from", start, "--until", end, "--loop", "2", "--quiet", "--state", str(tmp_path),
    )  # fmt: skip
    _, stderr = process.communicate(timeout=120)
    elapsed = time.monotonic() - started
    assert process.returncode == 0, stderr
    span = window[-1].ts - window[0].ts
    everything = read_records(kafka_bootstrap, topic)
    # One end-of-feed marker (one partition) after both passes, stamped with the last pass's last post.
    assert is_end_marker(everything[-1]) and not any(is_end_marker(r) for r in everything[:-1])
    assert everything[-1].timestamp == round((window[-1].ts + span) * 1000)
    records = everything[:-1]
    assert len(records) == 2 * len(window)
    ids = [orjson.loads(r.value)["id"] for r in records]
    sent_ids = [as_sent(p).id for p in window]  # pseudonymous by default
    assert ids == sent_ids + [f"{post_id}#2" for post_id in sent_ids]
    stamps = [r.timestamp for r in records]
    assert stamps[: len(window)] == [p.ts_ms for p in window]
    assert stamps[len(window) :] == [round((p.ts + span) * 1000) for p in window]
    # The rate cap is a lower bound on the duration: 2×window posts at 100/s.
    assert elapsed >= (2 * len(window) - 1) / 100


def test_records_match_a_plain_kafka_python_send_whether_the_feed_is_kept_or_read_twice(
    kafka_bootstrap, tmp_path
):
    """Same partition (murmur2 of the author), timestamp and post as kafka-python's own send would give."""
    feed = tmp_path / "feed.jsonl"
    lines = []
    for n in range(3000):
        ts = (
            f'"2009-06-13T04:{n // 60 % 60:02d}:{n % 60:02d}+04:30"' if n % 7 == 0 else str(T0 + n * 0.5)
        )  # offsets and epoch seconds take the general path, the rest is written canonical below
        author = f',"author":"user{n % 499}"' if n % 11 else ""
        lines.append(f'{{"id":"p{n}","ts":{ts},"text":"post {n}"{author},"region":"IR"}}'.encode())
    raw = [post_from_record(orjson.loads(line)) for line in lines]
    write_feed(raw[: len(raw) // 2], feed)  # canonical lines ...
    posts = [as_sent(post) for post in raw]  # what the replayer sends by default: pseudonymous
    with feed.open("ab") as handle:  # ... then lines that are not
        handle.write(b"\n".join(lines[len(lines) // 2 :]) + b"\n")

    def replayed(*extra: str) -> dict[str, tuple[int, int, dict]]:
        topic = f"replay-{uuid.uuid4().hex[:8]}"
        process = replay_cli(
            str(feed), "--bootstrap", kafka_bootstrap, "--topic", topic, "--partitions", "4",
            "--speed", "max", "--quiet", "--state", str(tmp_path), *extra,
        )  # fmt: skip
        _, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, stderr
        return by_id(read_all(kafka_bootstrap, topic))

    def by_id(records) -> dict[str, tuple[int, int, dict]]:
        return {(v := orjson.loads(r.value))["id"]: (r.partition, r.timestamp, v) for r in records}

    plain_topic = f"replay-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(plain_topic, num_partitions=4, replication_factor=1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for post in posts:
        key = post.author.encode() if post.author else None
        producer.send(plain_topic, value=post.to_json(), key=key, timestamp_ms=post.ts_ms)
    producer.flush()
    producer.close()
    plain = by_id(read_all(kafka_bootstrap, plain_topic))

    for sent in (replayed(), replayed("--memory-mb", "0")):
        assert sent.keys() == plain.keys() and len(sent) == len(posts)
        for post in posts:
            partition, timestamp, value = sent[post.id]
            assert (timestamp, value) == plain[post.id][1:] == (post.ts_ms, post.to_record())
            if post.author:  # without a key kafka-python picks any partition
                assert partition == plain[post.id][0], post.id


def _stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("T")


@pytest.mark.parametrize("how", ["SIGUSR1", "Ctrl-Z"])
def test_pause_and_resume_continue_without_a_burst(kafka_bootstrap, tmp_path, how):
    topic = new_topic(kafka_bootstrap, log_append_time=True)
    feed = tmp_path / "feed.jsonl"
    evenly_spaced_feed(feed, 60, 1.0)  # at 10x: one post every 100 ms
    port = free_port()
    process = replay_cli(
        str(feed), "--bootstrap", kafka_bootstrap, "--topic", topic, "--speed", "10",
        "--metrics-port", str(port), "--quiet",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    wait_until(lambda: scrape(url)["replay_posts_sent_total"] >= 15, timeout=60, what="15 posts sent")
    if how == "SIGUSR1":
        process.send_signal(signal.SIGUSR1)
        wait_until(lambda: scrape(url)["replay_paused"] == 1, timeout=10, what="the pause")
        sent_at_pause = scrape(url)["replay_posts_sent_total"]
        time.sleep(1.5)  # the pause being tested, not a wait for a condition
        assert scrape(url)["replay_posts_sent_total"] == sent_at_pause
        process.send_signal(signal.SIGUSR1)
    else:
        process.send_signal(signal.SIGTSTP)
        # It flushes what it sent before it stops: give a loaded broker time for that.
        wait_until(lambda: _stopped(process.pid), timeout=30, what="the process to stop")
        time.sleep(1.5)  # the pause being tested
        process.send_signal(signal.SIGCONT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
    assert "resumed" in stderr

    arrivals = [r.timestamp / 1000 for r in read_all(kafka_bootstrap, topic)]
    assert len(arrivals) == 60
    gaps = [b - a for a, b in itertools.pairwise(arrivals)]
    pause_at = max(range(len(gaps)), key=gaps.__getitem__)
    assert gaps[pause_at] >= 1.4
    # After the pause the next ten posts keep their 100 ms spacing: no catch-up burst.
    after = arrivals[pause_at + 1 : pause_at + 11]
    assert after[-1] - after[0] >= 0.7


def test_resume_after_kill_sends_the_rest(kafka_bootstrap, tmp_path):
    topic = new_topic(kafka_bootstrap)
    feed = tmp_path / "feed.jsonl"
    posts = evenly_spaced_feed(feed, 200, 1.0)
    state = tmp_path / "state"
    port = free_port()
    first = replay_cli(
        str(feed), "--bootstrap", kafka_bootstrap, "--topic", topic, "--speed", "20", "--state", str(state),
        "--metrics-port", str(port), "--quiet",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    wait_until(lambda: scrape(url)["replay_posts_acknowledged_total"] >= 40, timeout=60, what="40 acks")
    first.kill()
    first.wait()
    [checkpoint] = list(state.iterdir())
    position = orjson.loads(checkpoint.read_bytes())["position"]
    assert 30 <= position < 200

    second = replay_cli(
        str(feed), "--bootstrap", kafka_bootstrap, "--topic", topic, "--speed", "max", "--state", str(state),
        "--resume", "--quiet",
    )  # fmt: skip
    _, stderr = second.communicate(timeout=120)
    assert second.returncode == 0, stderr
    assert f"({position} already sent)" in stderr
    assert f"sent {200 - position}/{200 - position} posts" in stderr

    ids = [orjson.loads(r.value)["id"] for r in read_all(kafka_bootstrap, topic)]
    assert set(ids) == {as_sent(p).id for p in posts}, "no post is lost"
    duplicates = len(ids) - len(set(ids))
    print(f"\nresume after kill -9: checkpoint at {position}, {duplicates} posts sent twice")
    assert duplicates <= 10  # only what was acknowledged after the last checkpoint write (≤ 0.2 s)


def test_broker_restart_is_retried_not_fatal(tmp_path):
    port = free_port()
    env = kafka_env(tmp_path / "kafka", port, free_port())
    assert kafka_sh("start", env).returncode == 0
    bootstrap = f"127.0.0.1:{port}"
    try:
        topic = new_topic(bootstrap)
        feed = tmp_path / "feed.jsonl"
        posts = evenly_spaced_feed(feed, 150, 1.0)
        metrics_port = free_port()
        process = replay_cli(
            str(feed), "--bootstrap", bootstrap, "--topic", topic, "--speed", "max", "--rate", "15",
            "--metrics-port", str(metrics_port), "--quiet",
        )  # fmt: skip
        url = f"http://127.0.0.1:{metrics_port}/metrics"
        wait_until(lambda: scrape(url)["replay_posts_acknowledged_total"] >= 20, timeout=60, what="20 acks")
        stopped = kafka_sh("stop", env)
        assert stopped.returncode == 0, stopped.stderr
        restarted = kafka_sh("start", env)
        assert restarted.returncode == 0, restarted.stderr
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
        assert "150 acknowledged, 0 failed" in stderr
        ids = [orjson.loads(r.value)["id"] for r in read_all(bootstrap, topic)]
        assert sorted(ids) == sorted(as_sent(p).id for p in posts), "each post exactly once"
    finally:
        kafka_sh("stop", env)


def test_replay_metrics_show_progress(kafka_bootstrap, tmp_path):
    topic = new_topic(kafka_bootstrap)
    feed = tmp_path / "feed.jsonl"
    posts = evenly_spaced_feed(feed, 30, 60.0)
    port = free_port()
    process = replay_cli(
        str(feed), "--bootstrap", kafka_bootstrap, "--topic", topic, "--speed", "600",
        "--metrics-port", str(port), "--quiet",
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/metrics"
    metrics = wait_until(lambda: (m := scrape(url))["replay_posts_sent_total"] >= 10 and m, timeout=60,
                         what="10 posts sent")  # fmt: skip
    assert metrics["replay_speed_factor"] == 600
    assert metrics["replay_posts_planned"] == 30
    assert posts[9].ts <= metrics["replay_event_time_seconds"] <= posts[-1].ts
    assert 0 <= metrics["replay_behind_schedule_seconds"] < 0.5
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 0, stderr
