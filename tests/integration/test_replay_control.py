"""Steering a running ``replay send`` over its metrics port (``python -m replay ctl`` and the Python
client), on the real broker: the pacing error at start, after a pause and resume, and after a speed
change; a seek skips what it passes over.

How lateness is measured. Each post's arrival is the record's **LogAppendTime**: the topic is created
with ``message.timestamp.type=LogAppendTime``, so the broker stamps every record with its own clock when
it appends it (milliseconds, truncated). That is when the post reached the broker, which is what the
replay promises and what consumers see. Not CreateTime: the replayer sets each record's CreateTime to
the post's *event* time (the feed contract), so it says nothing about when it was sent; and not a
consumer's receive time, which adds the consumer's own fetch and poll delays to the replayer's. The
broker runs on this machine, so its clock is the one the replay's Unix times are read from.

What it is measured against: the schedule, as the replay anchors it. ``status`` (and every command's
answer) gives the anchor: the post of event time ``t`` is due at ``wall_time_s + (t - event_time_s) /
speed``. A post belongs to the latest anchor at or before its event time. The error of a post is its
arrival minus that due time: it includes everything between the decision to send and the append (the
producer's linger, the request, the broker), and the first post's connection and metadata set-up if the
replay anchored before doing that. Separately, each re-anchoring is checked to continue the replay clock
where it was (no jump of event time), and the pause to hold everything back. The anchors are the
replay's own, but what is compared with them is the broker's clock, so a replay that anchored early,
sent late or in a burst shows as error; a constant offset would too (there is no fitting).
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import time
import uuid
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

from feed import Post, end_of_feed_ts, parse_ts, write_feed
from replay.ctl import ReplayClient
from tests.support import python_module, scrape, wait_until

pytestmark = pytest.mark.integration

T0 = 1244851200.0  # 2009-06-13T00:00:00Z
BAR_SECONDS = 0.005  # p95 pacing error
ATTEMPTS = 5  # runs, when one misses the bar (see the test)
NOISE_SECONDS = 0.05  # no run may be worse than this, however busy the machine
POLL = 0.05  # status polls: often enough to act within a few posts, seldom enough not to load the replay


def new_topic(bootstrap: str, partitions: int = 2) -> str:
    name = f"ctl-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics(
        [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=1,
                topic_configs={"message.timestamp.type": "LogAppendTime"},
            )
        ]
    )
    admin.close()
    return name


def evenly_spaced_feed(path: Path, count: int, gap: float) -> None:
    write_feed(
        [Post(id=f"p{n:04d}", ts=T0 + n * gap, text=f"post {n}", author=f"a{n % 5}") for n in range(count)],
        path,
    )


class RunningReplay:
    """A real ``python -m replay send --metrics-port 0``: it picks a free port and says which."""

    def __init__(self, bootstrap: str, feed: Path, topic: str, work: Path, *args: str) -> None:
        self.log_path = work / f"replay-{uuid.uuid4().hex[:8]}.log"
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                python_module(
                    "replay", "send", str(feed), "--bootstrap", bootstrap, "--topic", topic,
                    "--metrics-port", "0", "--quiet", "--state", str(work), *args,
                ),
                stdout=subprocess.DEVNULL,
                stderr=log,
                text=True,
            )  # fmt: skip
        try:
            self.url = wait_until(self._announced_url, timeout=60, what="the replay to announce its port")
        except AssertionError:
            self.process.kill()
            self.process.wait()
            raise
        self.client = ReplayClient(self.url)

    def _announced_url(self) -> str | None:
        if self.process.poll() is not None:
            raise AssertionError(f"replay exited with {self.process.returncode}: {self.log}")
        for word in self.log.split():
            if word.startswith("http://127.0.0.1:"):
                return word
        return None

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_sent(self, count: int) -> dict:
        return wait_until(
            lambda: (status := self.client.status())["sent"] >= count and status,
            timeout=60,
            interval=POLL,
            what=f"{count} posts sent",
        )

    def ctl(self, *args: str) -> dict:
        """``python -m replay ctl`` against the running replay; its JSON answer (the status after it)."""
        done = subprocess.run(
            python_module("replay", "ctl", "--url", self.url, "--json", *args),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    def finish(self) -> str:
        try:
            self.process.wait(timeout=120)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        assert self.process.returncode == 0, self.log
        return self.log


def arrivals(bootstrap: str, topic: str, expected: int) -> list[tuple[float, float]]:
    """(event time, LogAppendTime in seconds) of each post on ``topic``, markers left out."""
    consumer = KafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=10_000
    )
    found: list[tuple[float, float]] = []
    try:
        for record in consumer:
            value = orjson.loads(record.value)
            if end_of_feed_ts(value) is not None:
                continue
            assert record.timestamp_type == 1, "LogAppendTime"
            found.append((parse_ts(value["ts"]), record.timestamp / 1000))
            if len(found) == expected:
                break
    finally:
        consumer.close()
    return sorted(found)


class Anchor:
    def __init__(self, status: dict) -> None:
        assert status["anchor"] is not None, status
        self.wall = status["anchor"]["wall_time_s"]
        self.event = status["anchor"]["event_time_s"]
        self.speed = status["speed"]

    def due(self, ts: float) -> float:
        return self.wall + (ts - self.event) / self.speed


def errors_by_anchor(posts: list[tuple[float, float]], anchors: list[Anchor]) -> list[list[float]]:
    """Per anchor, arrival minus due time of the posts it scheduled (event time at or after its own)."""
    segments: list[list[float]] = [[] for _ in anchors]
    for ts, arrived in posts:
        n = max(i for i, anchor in enumerate(anchors) if anchor.event <= ts + 1e-9)
        segments[n].append(arrived - anchors[n].due(ts))
    return segments


def p95(values: list[float]) -> float:
    ordered = sorted(abs(v) for v in values)
    return ordered[math.ceil(0.95 * len(ordered)) - 1]


SEGMENTS = ("at start", "after pause", "after speed change")


def warm_broker(bootstrap: str, requests: int = 500) -> None:
    """A broker that has just started appends its first produce requests slowly (its JVM compiles the
    code as it goes: 15-40 ms late here), whoever sends them. This test measures the replayer, not that:
    first ``requests`` produce requests of one record each, one at a time, through another topic."""
    topic = new_topic(bootstrap)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    try:
        for n in range(requests):
            producer.send(topic, value=b"warm-up %d" % n).get(timeout=30)
    finally:
        producer.close()


def steered_replay(bootstrap: str, work: Path) -> list[list[float]]:
    """120 posts 0.5 s of event time apart at 20x (one every 25 ms); paused after ~30 posts for 0.5 s,
    resumed; 40x after ~70 by ``python -m replay ctl`` against the running replay. Checks what the
    commands did on the way; returns the pacing errors of the posts of each of :data:`SEGMENTS`."""
    work.mkdir()
    topic = new_topic(bootstrap)
    feed = work / "feed.jsonl"
    evenly_spaced_feed(feed, 120, 0.5)
    replay = RunningReplay(bootstrap, feed, topic, work, "--speed", "20")
    metrics_url = f"{replay.url}/metrics"
    started = wait_until(
        lambda: (status := replay.client.status())["anchor"] and status, timeout=60, interval=POLL,
        what="the schedule to be anchored",
    )  # fmt: skip
    assert started["anchor"]["event_time_s"] == T0 and started["speed"] == 20

    replay.wait_sent(30)
    # Pause and resume through the Python API (what the demo's live view uses), the speed change through
    # `python -m replay ctl`: each ctl run is a Python start-up, CPU the replay shares on a small machine.
    paused = replay.client.pause()
    paused_at = time.time()
    assert paused["paused"] and paused["state"] == "paused" and paused["anchor"] is None
    assert scrape(metrics_url)["replay_paused"] == 1
    # The pause holds: nothing is sent for as long as it lasts (0.5 s, watched, not slept through).
    held_until = time.monotonic() + 0.5
    while time.monotonic() < held_until:
        assert replay.client.status()["sent"] == paused["sent"]
        time.sleep(POLL)
    resuming_at = time.time()
    resumed = replay.client.resume()
    assert not resumed["paused"] and scrape(metrics_url)["replay_paused"] == 0
    # It goes on where it paused: the event time the clock showed then.
    assert resumed["anchor"]["event_time_s"] == pytest.approx(paused["event_time_s"], abs=1e-6)

    replay.wait_sent(paused["sent"] + 40)
    before = replay.client.status()
    changed = replay.ctl("speed", "40")
    assert changed["speed"] == 40 and scrape(metrics_url)["replay_speed_factor"] == 40
    # Re-anchored where the replay clock was: no jump of event time at the change.
    old, new = Anchor(resumed), Anchor(changed)
    assert new.event == pytest.approx(old.event + (new.wall - old.wall) * old.speed, abs=0.002 * old.speed)
    assert before["event_time_s"] <= new.event
    log = replay.finish()
    assert "sent 120/120 posts" in log and "120 acknowledged" in log

    posts = arrivals(bootstrap, topic, 120)
    assert len(posts) == 120
    # Nothing reached the broker while paused (a post sent just before the pause may land 10 ms after).
    assert not [arrived for _, arrived in posts if paused_at + 0.01 < arrived < resuming_at]
    segments = errors_by_anchor(posts, [Anchor(started), Anchor(resumed), Anchor(changed)])
    for name, errors in zip(SEGMENTS, segments, strict=True):
        assert len(errors) >= 15, (name, len(errors))
    return segments


def describe(segments: list[list[float]]) -> str:
    return "; ".join(
        f"{name}: {len(errors)} posts, p95 {p95(errors) * 1000:.1f} ms, max "
        f"{max(map(abs, errors)) * 1000:.1f} ms, first {errors[0] * 1000:+.1f} ms"
        for name, errors in zip(SEGMENTS, segments, strict=True)
    )


def on_schedule(segments: list[list[float]]) -> bool:
    """p95 under the bar in every segment, and the replay's first post on time (it was 65-140 ms late
    when the producer connected after the schedule was anchored)."""
    return all(p95(errors) < BAR_SECONDS for errors in segments) and segments[0][0] < BAR_SECONDS


def test_pacing_stays_on_schedule_at_start_after_a_pause_and_after_a_speed_change(kafka_bootstrap, tmp_path):
    """The pacing error, measured at the broker, stays under 5 ms (p95) at start, after a pause and
    after a speed change.

    This machine may be shared: a burst of someone else's CPU load during the 4 s of a run delays the
    replay's, the producer's and the broker's threads alike, and shows up as lateness no replayer can
    prevent. So a run that misses the bar is repeated, up to :data:`ATTEMPTS` runs in all; one must meet
    it, every run's figures are printed, and none may be off by more than :data:`NOISE_SECONDS` (the
    fault this guards against made the first posts 65-140 ms late and then burst: p95 118 ms). The
    broker is warmed up first (:func:`warm_broker`)."""
    warm_broker(kafka_bootstrap)
    runs = []
    for attempt in range(ATTEMPTS):
        segments = steered_replay(kafka_bootstrap, tmp_path / f"run{attempt}")
        runs.append(segments)
        print(f"\npacing error at the broker (LogAppendTime - due), run {attempt + 1}: {describe(segments)}")
        assert all(p95(errors) < NOISE_SECONDS for errors in segments), describe(segments)
        if on_schedule(segments):
            return
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    pytest.fail(
        f"p95 pacing error over {BAR_SECONDS * 1000:g} ms in {ATTEMPTS} runs (load average {load} on "
        f"{os.cpu_count()} CPUs): " + " | ".join(map(describe, runs))
    )


def test_seek_skips_to_an_event_time_and_counts_what_it_passed_over(kafka_bootstrap, tmp_path):
    """200 posts 1 s apart at 20x; after 20, ``ctl seek`` to 150 s: the posts in between are skipped
    (counted, not sent), and the replay goes on from 150 s at once, on its schedule."""
    topic = new_topic(kafka_bootstrap, partitions=1)
    feed = tmp_path / "feed.jsonl"
    evenly_spaced_feed(feed, 200, 1.0)
    replay = RunningReplay(kafka_bootstrap, feed, topic, tmp_path, "--speed", "20")
    replay.wait_sent(20)
    sought = replay.ctl("seek", "2009-06-13T00:02:30Z")
    assert sought["seeking_to"] == "2009-06-13T00:02:30Z" and sought["event_time_s"] == T0 + 150
    landed = wait_until(
        lambda: (status := replay.client.status())["seeking_to"] is None and status, timeout=30,
        interval=POLL, what="the seek to land",
    )  # fmt: skip
    assert scrape(f"{replay.url}/metrics")["replay_posts_skipped_total"] == landed["skipped"]
    log = replay.finish()

    posts = arrivals(kafka_bootstrap, topic, 200 - landed["skipped"])
    times = [ts - T0 for ts, _ in posts]
    before = [t for t in times if t < 150]
    assert times == before + list(range(150, 200)), "the posts in between were not sent"
    assert landed["skipped"] == 150 - len(before) > 100
    assert f"sent {len(posts)}/200 posts" in log and f"{landed['skipped']} posts skipped by seek" in log
    # From the seek on, the posts keep to the schedule it anchored: 150 s due at once, then every 50 ms.
    after = errors_by_anchor([p for p in posts if p[0] >= T0 + 150], [Anchor(sought)])[0]
    assert len(after) == 50 and p95(after) < NOISE_SECONDS, describe([after, after, after])
