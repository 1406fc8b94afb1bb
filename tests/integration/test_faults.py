"""Faults on the real broker: whatever happens to the stack, its alerts equal the offline oracle's.

`python -m pipeline analyze` (pipeline.analyze.analyze) over the same feed is the oracle. Each test breaks
something — a worker killed with SIGKILL, the broker restarted under a replay, one of several workers
killed, a worker that stops fetching, the feed replayed twice, junk records — and checks that nothing is
lost, that nothing is counted twice, and that the alerts on the alerts topic are analyze's. The figures
(posts lost, duplicates on the output, recovery times, ...) are printed (`pytest -s`) and written as JSON
under each test's tmp_path.
"""

from __future__ import annotations

import json
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from feed import parse_ts, read_feed
from feed.model import DELETION_KIND, Deletion
from feed.pseudonyms import Pseudonymizer, load_key
from feed.reader import feed_item
from pipeline.analyze import analyze
from pipeline.engine import Engine
from pipeline.metrics import Samples, read_samples, sample_total
from pipeline.stream.snapshot_log import Manifest
from tests.integration.conftest import RunningWorker, Scenario, build_scenario, start_worker
from tests.support import free_port, kafka_env, kafka_sh, python_module, wait_until

pytestmark = pytest.mark.integration

# Five event hours (about 31,000 posts) still hold outages, filtering and surges, and stream in seconds.
HOURS = 5
PARTITIONS = 4
# A stop must end well within the worker's own deadline (STOP_SECONDS, 60 s by default).
STOP_BOUND_SECONDS = 45


# --------------------------------------------------------------------------------------------------
# The scenario and its oracle, shared by the module.


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    # With the account tactics (deletion notices, a campaign, relocations): their state is restored too.
    return build_scenario(tmp_path_factory.mktemp("fault-scenario"), HOURS, accounts=True)


def test_the_oracle_raises_every_kind_of_alert_and_no_record_twice(scenario):
    assert {alert["type"] for alert in scenario.alerts} == {
        "outage",
        "filtering",
        "surge",
        "deletion",
        "coordination",
        "relocation",
    }
    assert len(canonical(scenario.alerts)) == len(set(canonical(scenario.alerts)))
    assert len(scenario.ids) == scenario.posts, "the generated ids are unique"


# --------------------------------------------------------------------------------------------------
# Helpers: replays, topics, groups, labelled metrics, /health, figures.


def canonical(alerts: list[dict]) -> list[bytes]:
    return sorted(orjson.dumps(alert, option=orjson.OPT_SORT_KEYS) for alert in alerts)


def send_command(bootstrap: str, topic: str, feed: Path, state: Path, *options: str) -> list[str]:
    state.mkdir(parents=True, exist_ok=True)
    return python_module(
        "replay", "send", str(feed), "--bootstrap", bootstrap, "--topic", topic,
        "--partitions", str(PARTITIONS), "--quiet", "--state", str(state), *options,
    )  # fmt: skip


def replay(bootstrap: str, topic: str, feed: Path, state: Path, *options: str) -> None:
    sent = subprocess.run(
        send_command(bootstrap, topic, feed, state, *options), capture_output=True, text=True, timeout=300
    )
    assert sent.returncode == 0, sent.stderr


def start_replay(bootstrap: str, topic: str, feed: Path, state: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        send_command(bootstrap, topic, feed, state, *options),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    """Waits for a replay; asserts exit 0; returns its stderr."""
    try:
        _, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        _, stderr = process.communicate()
        raise AssertionError(f"the replay did not finish in {timeout}s:\n{stderr}") from None
    assert process.returncode == 0, stderr
    return stderr


class Kafka:
    """One kafka-python consumer (no group) and admin client for end offsets, group offsets and reads."""

    def __init__(self, bootstrap: str) -> None:
        self.bootstrap = bootstrap
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()

    def partitions(self, topic: str) -> list[TopicPartition]:
        def known() -> set[int] | None:
            self.consumer.topics()  # refreshes the metadata
            return self.consumer.partitions_for_topic(topic)

        found = wait_until(known, timeout=60, what=f"topic {topic}")
        return [TopicPartition(topic, p) for p in sorted(found)]

    def end_offsets(self, topic: str) -> dict[int, int]:
        ends = self.consumer.end_offsets(self.partitions(topic))
        return {tp.partition: offset for tp, offset in ends.items()}

    def committed(self, group: str, topic: str) -> dict[int, int]:
        offsets = self.admin.list_group_offsets({group: None}).get(group, {})
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}

    def group_lag(self, group: str, topic: str) -> int:
        """End offsets minus the group's committed offsets over the topic (not committed = 0)."""
        ends, committed = self.end_offsets(topic), self.committed(group, topic)
        return sum(end - max(committed.get(p, 0), 0) for p, end in ends.items())

    def read_all(self, topic: str, timeout: float = 120, *, committed_only: bool = False) -> list:
        """Every record of ``topic`` up to its end offsets at the time of the call (``committed_only``:
        as a ``read_committed`` reader sees them: aborted transactions left out)."""
        consumer = KafkaConsumer(
            bootstrap_servers=self.bootstrap,
            isolation_level="read_committed" if committed_only else "read_uncommitted",
            enable_auto_commit=False,
            max_partition_fetch_bytes=8 * 1024 * 1024,
            fetch_max_bytes=32 * 1024 * 1024,
        )
        try:
            tps = self.partitions(topic)
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            ends = consumer.end_offsets(tps)
            records: list = []
            deadline = time.monotonic() + timeout
            while any(consumer.position(tp) < ends[tp] for tp in tps):
                assert time.monotonic() < deadline, f"could not read {topic} to its end in {timeout}s"
                for batch in consumer.poll(timeout_ms=500, max_records=20_000).values():
                    records.extend(r for r in batch if r.offset < ends[TopicPartition(r.topic, r.partition)])
            return records
        finally:
            consumer.close()


@pytest.fixture
def kafka(kafka_bootstrap) -> Iterator[Kafka]:
    client = Kafka(kafka_bootstrap)
    yield client
    client.close()


def labelled(worker: RunningWorker) -> Samples:
    """Every sample of the worker's /metrics, keyed by (name, labels)."""
    return read_samples(worker.metrics_url)


def health(worker: RunningWorker) -> tuple[int, dict[str, Any]]:
    url = worker.metrics_url.replace("/metrics", "/health")
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            status, body = response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        status, body = error.code, json.loads(error.read())
    assert body["pid"] == worker.process.pid, f"another process answered on {url}: {body}"
    return status, body


def assigned(worker: RunningWorker, topic: str) -> int:
    return int(sample_total(labelled(worker), "pipeline_assigned_partitions", topic=topic))


def watermark(worker: RunningWorker) -> float:
    try:
        return worker.metrics().get("pipeline_watermark_seconds", 0.0)
    except OSError:
        return 0.0


def wait_caught_up(
    kafka: Kafka, workers: list[RunningWorker], scenario: Scenario, *, timeout: float = 240
) -> float:
    """Until the classify group has committed the whole posts topic and detection's watermark has
    reached the feed's end on one of ``workers``; returns when (monotonic)."""
    name = workers[0].topic.removesuffix(".posts")
    seen: dict[str, Any] = {}

    def caught_up_or_exited() -> bool:
        if any(w.process.poll() is not None for w in workers):
            return True
        seen["classify lag"] = kafka.group_lag(f"{name}-app-classify", workers[0].topic)
        seen["watermark"] = max(watermark(w) for w in workers)
        return seen["classify lag"] == 0 and seen["watermark"] >= scenario.final_watermark

    try:
        wait_until(
            caught_up_or_exited, timeout=timeout, what="the workers to catch up with the feed", interval=0.5
        )
    except AssertionError as timed_out:
        # Which of the two stalled, and what the workers said last, so that a failure in CI can be read.
        seen["final watermark"] = scenario.final_watermark
        tails = "\n".join(f"--- {w.log_path}:\n{log_tail(w)}" for w in workers if w.log_path)
        raise AssertionError(f"{timed_out}; last seen {seen}\n{tails}") from None
    for w in workers:
        assert w.process.poll() is None, f"a worker exited ({w.process.returncode}):\n{log_tail(w)}"
    return time.monotonic()


def log_tail(worker: RunningWorker, lines: int = 40) -> str:
    """The worker's last log lines, less aiokafka's repeated reconnection errors."""
    assert worker.log_path is not None
    noise = ("Unable connect to node", "Unable to update metadata", "Failed fetch messages")
    text = worker.log_path.read_text(errors="replace")
    kept = [line for line in text.splitlines() if not any(n in line for n in noise)]
    return "\n".join(line[:300] for line in kept[-lines:])


def classified_figures(
    kafka: Kafka, worker: RunningWorker, scenario: Scenario, *, committed_only: bool = False
) -> dict[str, int]:
    records = kafka.read_all(worker.classified_topic, committed_only=committed_only)
    ids = Counter(orjson.loads(record.value)["id"] for record in records)
    # Posts on the input topic twice (the replayer's idempotent producer should prevent it; after a
    # broker restart under load Kafka 4.1.1 was seen to accept a retried batch again, same producer id
    # and sequence). Detection must count each once all the same.
    sent = Counter(post_id for record in kafka.read_all(worker.topic) if (post_id := _post_id(record.value)))
    return {
        "duplicated_on_input": sum(sent.values()) - len(sent),
        "classified_records": len(records),
        "posts_lost": len(scenario.ids - ids.keys()),
        "duplicated_on_output": len(records) - len(ids),
        "posts_repeated_on_output": sum(1 for n in ids.values() if n > 1),
        "unknown_ids_on_output": len(ids.keys() - scenario.ids),
    }


def _post_id(value: bytes | None) -> str | None:
    """The id of a post record; None for the junk some tests put on the input topic, and for a deletion
    notice (it carries the id of the post it deletes: counted, it looked like that post sent twice)."""
    try:
        record = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict) or record.get("kind") == DELETION_KIND:
        return None
    post_id = record.get("id")
    return post_id if isinstance(post_id, str) else None


def streamed_alerts(kafka: Kafka, worker: RunningWorker, scenario: Scenario) -> list:
    """The alert records, once at least as many as analyze raised have landed."""
    topic = worker.alerts_topic
    wait_until(
        lambda: sum(kafka.end_offsets(topic).values()) >= len(scenario.alerts),
        timeout=60,
        what="the alerts to land on the alerts topic",
    )
    return kafka.read_all(topic)


def compare_alerts(records: list, scenario: Scenario, cut: int | None = None) -> dict[str, Any]:
    """Streamed alerts against analyze's. Exact repeats of a record are dropped only when every repeat
    is a re-emission after the fault: its first copy lies before offset ``cut`` of the alerts topic
    (emitted before the kill) and the others at or after it (emitted again by the restored detector,
    whose snapshot predates the alert). The detector is deterministic and analyze's records are all
    distinct, so two identical records are one alert delivered twice (at least once), never two alerts."""
    by_record: dict[bytes, list[int]] = {}
    for record in records:
        key = orjson.dumps(orjson.loads(record.value), option=orjson.OPT_SORT_KEYS)
        by_record.setdefault(key, []).append(record.offset)
    repeated = {key: offsets for key, offsets in by_record.items() if len(offsets) > 1}
    expected = canonical(scenario.alerts)
    raw = sorted(key for key, offsets in by_record.items() for _ in offsets)
    figures: dict[str, Any] = {
        "alerts_expected": len(expected),
        "alert_records": len(records),
        "alert_records_repeated": sum(len(offsets) - 1 for offsets in repeated.values()),
        "alerts_equal_raw": raw == expected,
    }
    # Every repeat is a re-emission after the fault (vacuously true when nothing is repeated).
    figures["repeats_are_re_emissions_after_the_fault"] = all(
        cut is not None and min(offsets) < cut <= sorted(offsets)[1] for offsets in repeated.values()
    )
    figures["alerts_equal_deduped"] = (
        figures["repeats_are_re_emissions_after_the_fault"] and sorted(by_record) == expected
    )
    figures["alerts_missing"] = [k.decode() for k in sorted(set(expected) - by_record.keys())]
    figures["alerts_unexpected"] = [k.decode() for k in sorted(by_record.keys() - set(expected))]
    return figures


def detector_checkpoint(kafka: Kafka, name: str) -> dict[str, Any]:
    """Where detection stands on the broker: the detect-topic offset the detect group committed, and
    the input offset of every snapshot manifest in the snapshot topic (the last one wins)."""
    topic = f"{name}-app-detector-state-changelog"
    kafka.consumer.topics()  # refreshes the metadata
    records = kafka.read_all(topic) if kafka.consumer.partitions_for_topic(topic) else []
    snapshots = [
        Manifest.from_json(record.value).input_offset
        for record in records
        if record.key and record.key.startswith(b"manifest/") and record.value is not None
    ]
    committed = kafka.committed(f"{name}-app-detect", f"{name}.detect").get(0)
    return {"detect_committed": committed, "snapshot_offsets": snapshots}


# The detect stage logs these when the offsets it reads are not contiguous (pipeline/stream/detect_loop.py):
# a hole it reads again, and records gone from the broker that it had to go on without.
GAP_REREAD = "came after"
RECORDS_LOST = "are gone from"


def worker_log_lines(tmp_path: Path, *needles: str) -> list[str]:
    """The lines of the workers' logs (they are in tmp_path) that contain one of ``needles``."""
    return [
        line.split("] ", 3)[-1].strip()
        for log in sorted(tmp_path.glob("worker-*.log"))
        for line in log.read_text(errors="replace").splitlines()
        if any(needle in line for needle in needles)
    ]


def detect_gaps(tmp_path: Path) -> list[str]:
    return worker_log_lines(tmp_path, GAP_REREAD, RECORDS_LOST)


def assert_alerts_equal(figures: dict[str, Any]) -> None:
    """The alerts topic holds exactly the oracle's alerts, each once: a restored detector raises again
    the alerts after its snapshot, and the detect stage does not send those already on the topic."""
    assert figures["alerts_equal_raw"], figures
    assert figures["alert_records_repeated"] == 0, figures
    assert not [line for line in figures["detect_gaps_logged"] if RECORDS_LOST in line], figures


def report(tmp_path: Path, name: str, figures: dict[str, Any]) -> None:
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2, sort_keys=True))
    print(f"\n[{name}] {json.dumps(figures, sort_keys=True)}\n[{name}] figures written to {path}")


def fresh_name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def stop_all(workers: list[RunningWorker]) -> None:
    for worker in workers:
        worker.stop(timeout=30)


def sigkill(kafka: Kafka, victim: RunningWorker) -> tuple[float, int]:
    """Kills ``victim`` with SIGKILL (no flush, no commit, no leaving the group) and waits for it; returns
    when it was killed (monotonic) and the end offset of the alerts topic then."""
    victim.process.kill()
    killed_at = time.monotonic()
    victim.process.wait(timeout=30)
    return killed_at, sum(kafka.end_offsets(victim.alerts_topic).values())


# --------------------------------------------------------------------------------------------------
# 1. kill -9 mid-stream, then a new worker in the same group.


@pytest.mark.timeout(420)
@pytest.mark.parametrize("exactly_once", [False, True], ids=["at-least-once", "exactly-once"])
def test_a_worker_killed_mid_stream_and_restarted_loses_nothing(
    kafka_bootstrap, kafka, scenario, tmp_path, monkeypatch, exactly_once
):
    # EXACTLY_ONCE=1: posts.classified, read as read_committed, holds each post once after the kill too.
    monkeypatch.setenv("EXACTLY_ONCE", "1" if exactly_once else "0")
    name = fresh_name("kill")
    first = start_worker(kafka_bootstrap, name, tmp_path, partitions=PARTITIONS)
    started: list[RunningWorker] = [first]
    try:
        sender = start_replay(
            kafka_bootstrap, first.topic, scenario.feed, tmp_path / "replay", "--speed", "max"
        )
        threshold = int(scenario.posts * 0.4)
        consumed_before_kill = wait_until(
            lambda: (consumed := first.consumed()) >= threshold and consumed,
            timeout=180,
            interval=0.05,
            what="the worker to consume 40% of the feed",
        )
        killed_at, alerts_cut = sigkill(kafka, first)
        checkpoint = detector_checkpoint(kafka, name)
        group = f"{name}-app-classify"
        committed_at_kill = sum(kafka.committed(group, first.topic).values())

        second = start_worker(kafka_bootstrap, name, tmp_path, partitions=PARTITIONS)
        started.append(second)
        metrics_up = time.monotonic()
        wait_until(
            lambda: second.consumed() > 0, timeout=180, interval=0.1, what="the new worker's first post"
        )
        first_post = time.monotonic()
        finish(sender)
        caught_up = wait_caught_up(kafka, [second], scenario)

        figures: dict[str, Any] = {
            "posts": scenario.posts,
            "consumed_at_kill_threshold": threshold,
            "consumed_before_kill": consumed_before_kill,
            "committed_offsets_at_kill": committed_at_kill,
            "alerts_on_topic_at_kill": alerts_cut,
            "detector_at_kill": checkpoint,
            "restarted_worker_consumed": second.consumed(),
            "kill_to_new_worker_metrics_s": round(metrics_up - killed_at, 2),
            "kill_to_first_consumed_post_s": round(first_post - killed_at, 2),
            "kill_to_caught_up_s": round(caught_up - killed_at, 2),
        }
        samples = labelled(second)
        figures["duplicates_redelivered"] = sample_total(
            samples, "pipeline_duplicates_total", kind="redelivered"
        )
        figures["duplicates_repeated_id"] = sample_total(
            samples, "pipeline_duplicates_total", kind="repeated_id"
        )
        figures.update(classified_figures(kafka, second, scenario, committed_only=exactly_once))
        figures.update(compare_alerts(streamed_alerts(kafka, second, scenario), scenario, cut=alerts_cut))
        figures["detect_gaps_logged"] = detect_gaps(tmp_path)
        figures["detect_restores_logged"] = worker_log_lines(tmp_path, "detector restored", "read again")
        report(tmp_path, "kill_and_restart" + ("_exactly_once" if exactly_once else ""), figures)

        assert figures["posts_lost"] == 0
        assert figures["unknown_ids_on_output"] == 0
        if exactly_once:
            assert figures["duplicated_on_output"] == 0, figures
        assert_alerts_equal(figures)
    finally:
        stop_all(started)


# --------------------------------------------------------------------------------------------------
# 2. The broker restarted while a replay runs (its own broker: the session's is shared).


@pytest.fixture
def own_broker(tmp_path) -> Iterator[tuple[str, dict[str, str]]]:
    env = kafka_env(tmp_path / "kafka", free_port(), free_port())
    started = kafka_sh("start", env)
    assert started.returncode == 0, f"kafka.sh start failed:\n{started.stderr}"
    try:
        yield started.stdout.strip().splitlines()[-1].split("=", 1)[1], env
    finally:
        stopped = kafka_sh("stop", env)
        assert stopped.returncode == 0, stopped.stderr


class HealthWatch:
    """Polls a worker's /health from a thread and keeps each status seen, with when it was first seen."""

    def __init__(self, worker: RunningWorker) -> None:
        self.worker = worker
        self.seen: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.25):
            try:
                code, body = health(self.worker)
            except OSError:
                continue
            self.seen.setdefault(f"{code} {body.get('status')}", time.monotonic())

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


@pytest.mark.timeout(420)
@pytest.mark.parametrize("away_seconds", [0, 70], ids=["brief", "longer-than-the-producers-wait"])
def test_a_broker_restart_during_a_replay_loses_nothing_and_counts_nothing_twice(
    own_broker, scenario, tmp_path, monkeypatch, away_seconds
):
    bootstrap, env = own_broker
    kafka = Kafka(bootstrap)
    name = fresh_name("restart")
    monkeypatch.setenv("HEALTH_INTERVAL", "1")  # so that /health sees the outage within a second or two
    worker = start_worker(bootstrap, name, tmp_path, partitions=PARTITIONS)
    watch = None
    try:
        launched = time.monotonic()
        wait_until(lambda: health(worker)[0] == 200, timeout=120, what="the worker to be healthy")
        healthy_after_start = time.monotonic() - launched
        # Paced (about 13 s at 2,500 posts/s) so that the restart lands mid-replay.
        sender = start_replay(
            bootstrap, worker.topic, scenario.feed, tmp_path / "replay", "--speed", "max", "--rate", "2500"
        )
        wait_until(
            lambda: sum(kafka.end_offsets(worker.topic).values()) >= scenario.posts * 0.3,
            timeout=120,
            what="30% of the feed on the posts topic",
        )
        watch = HealthWatch(worker)
        kafka.close()
        stop_began = time.monotonic()
        stopped = kafka_sh("stop", env)
        assert stopped.returncode == 0, stopped.stderr
        broker_stopped = time.monotonic()
        assert sender.poll() is None, "the replay finished before the broker went away: pace it slower"
        # Away for longer than aiokafka's producers wait to hand a record over (40 s; it used to stop the
        # worker) and than the replayer's last flush used to wait (60 s), and past the groups' session
        # timeout: an outage an operator's broker upgrade or a slow log recovery may cause.
        time.sleep(away_seconds)
        restarted = kafka_sh("start", env)
        assert restarted.returncode == 0, restarted.stderr
        broker_back = time.monotonic()
        kafka = Kafka(bootstrap)

        replay_stderr = finish(sender, timeout=300)
        replay_done = time.monotonic()
        records = len(scenario.feed.read_bytes().splitlines())  # posts and deletion notices
        assert f"sent {records}/{records}" in replay_stderr, replay_stderr
        assert f"{records} acknowledged, 0 failed" in replay_stderr, replay_stderr
        caught_up = wait_caught_up(kafka, [worker], scenario)
        wait_until(lambda: health(worker)[0] == 200, timeout=60, what="/health to answer 200 again")
        healthy_again = time.monotonic()
        watch.stop()
        assert worker.process.poll() is None, "the worker survived the broker restart"

        samples = labelled(worker)
        figures: dict[str, Any] = {
            "posts": scenario.posts,
            "pipeline_posts_consumed_total": sample_total(samples, "pipeline_posts_consumed_total"),
            "duplicates_redelivered": sample_total(samples, "pipeline_duplicates_total", kind="redelivered"),
            "duplicates_repeated_id": sample_total(samples, "pipeline_duplicates_total", kind="repeated_id"),
            "worker_launch_to_health_200_s": round(healthy_after_start, 2),
            "broker_stop_s": round(broker_stopped - stop_began, 2),
            "broker_downtime_s": round(broker_back - stop_began, 2),
            "broker_back_to_replay_done_s": round(replay_done - broker_back, 2),
            "broker_back_to_caught_up_s": round(caught_up - broker_back, 2),
            "broker_back_to_health_200_s": round(healthy_again - broker_back, 2),
            "health_seen": {
                status: round(at - stop_began, 2)
                for status, at in sorted(watch.seen.items(), key=lambda i: i[1])
            },
        }
        figures.update(classified_figures(kafka, worker, scenario))
        figures.update(compare_alerts(streamed_alerts(kafka, worker, scenario), scenario, cut=None))
        report(tmp_path, "broker_away" if away_seconds else "broker_restart", figures)

        assert figures["posts_lost"] == 0
        assert figures["unknown_ids_on_output"] == 0
        assert figures["alerts_equal_raw"], figures
        assert any(status.startswith("503 broker_unreachable") for status in watch.seen), watch.seen
    finally:
        if watch is not None:
            watch.stop()
        worker.stop(timeout=30)
        kafka.close()


# --------------------------------------------------------------------------------------------------
# 3. Three workers, one killed: the others take its partitions.


@pytest.mark.timeout(420)
@pytest.mark.parametrize("exactly_once", [False, True], ids=["at-least-once", "exactly-once"])
def test_when_one_of_three_workers_is_killed_the_others_take_over(
    kafka_bootstrap, kafka, scenario, tmp_path, monkeypatch, exactly_once
):
    name = fresh_name("trio")
    with monkeypatch.context() as env:
        # Two rebalances (the kill, and the three joining before it) with take-overs between live workers.
        env.setenv("EXACTLY_ONCE", "1" if exactly_once else "0")
        env.setenv("HEALTH_INTERVAL", "1")  # pipeline_assigned_partitions follows the assignment within 1 s
        running = [start_worker(kafka_bootstrap, name, tmp_path, partitions=PARTITIONS) for _ in range(3)]
    posts_topic, detect_topic = running[0].topic, f"{name}.detect"
    try:
        # Let the groups settle first: every worker holds posts partitions, one holds detection.
        wait_until(
            lambda: (
                sorted(assigned(w, posts_topic) for w in running) == [1, 1, 2]
                and sum(assigned(w, detect_topic) for w in running) == 1
            ),
            timeout=120,
            interval=0.5,
            what="4 posts partitions over 3 workers and the detect partition on one",
        )
        # The victim is the one running detection: both the classify and the detect hand-over happen.
        victim = next(w for w in running if assigned(w, detect_topic) == 1)
        survivors = [w for w in running if w is not victim]
        victim_partitions = assigned(victim, posts_topic)

        sender = start_replay(
            kafka_bootstrap, posts_topic, scenario.feed, tmp_path / "replay", "--speed", "max"
        )
        wait_until(
            lambda: sum(w.consumed() for w in running) >= scenario.posts / 3,
            timeout=180,
            interval=0.05,
            what="the workers to consume a third of the feed",
        )
        killed_at, alerts_cut = sigkill(kafka, victim)
        checkpoint = detector_checkpoint(kafka, name)

        wait_until(
            lambda: sum(assigned(w, posts_topic) for w in survivors) == PARTITIONS,
            timeout=180,
            interval=0.5,
            what="the survivors to hold all 4 posts partitions",
        )
        posts_taken_over = time.monotonic()
        wait_until(
            lambda: sum(assigned(w, detect_topic) for w in survivors) == 1,
            timeout=180,
            interval=0.5,
            what="a survivor to take the detect partition",
        )
        detect_taken_over = time.monotonic()
        finish(sender)
        caught_up = wait_caught_up(kafka, survivors, scenario)

        readings = [labelled(w) for w in survivors]
        figures: dict[str, Any] = {
            "posts": scenario.posts,
            "victim_posts_partitions": victim_partitions,
            "alerts_on_topic_at_kill": alerts_cut,
            "detector_at_kill": checkpoint,
            "survivor_posts_partitions": [
                sample_total(r, "pipeline_assigned_partitions", topic=posts_topic) for r in readings
            ],
            "survivors_consumed": [sample_total(r, "pipeline_posts_consumed_total") for r in readings],
            "kill_to_posts_partitions_reassigned_s": round(posts_taken_over - killed_at, 2),
            "kill_to_detect_partition_reassigned_s": round(detect_taken_over - killed_at, 2),
            "kill_to_caught_up_s": round(caught_up - killed_at, 2),
            "duplicates_redelivered": sum(
                sample_total(r, "pipeline_duplicates_total", kind="redelivered") for r in readings
            ),
        }
        figures.update(classified_figures(kafka, survivors[0], scenario, committed_only=exactly_once))
        figures.update(
            compare_alerts(streamed_alerts(kafka, survivors[0], scenario), scenario, cut=alerts_cut)
        )
        figures["detect_gaps_logged"] = detect_gaps(tmp_path)
        figures["detect_restores_logged"] = worker_log_lines(tmp_path, "detector restored", "read again")
        report(tmp_path, "one_of_three_killed" + ("_exactly_once" if exactly_once else ""), figures)

        assert sum(figures["survivor_posts_partitions"]) == PARTITIONS
        assert figures["posts_lost"] == 0
        assert figures["unknown_ids_on_output"] == 0
        if exactly_once:
            assert figures["duplicated_on_output"] == 0, figures
        assert_alerts_equal(figures)
    finally:
        stop_all(running)


# --------------------------------------------------------------------------------------------------
# 3a. Sharded detection (DETECT_PARTITIONS=4): the worker holding the merge and some shards is killed.


@pytest.mark.timeout(420)
def test_sharded_detection_loses_nothing_when_the_merge_holder_is_killed(
    kafka_bootstrap, kafka, scenario, tmp_path
):
    name = fresh_name("shards")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HEALTH_INTERVAL", "1")
        env.setenv("SNAPSHOT_SECONDS", "1")  # snapshots before the kill: the take-overs restore them
        running = [
            start_worker(kafka_bootstrap, name, tmp_path, partitions=PARTITIONS, detect_partitions=PARTITIONS)
            for _ in range(3)
        ]
    detect_topic, parts_topic = f"{name}.detect", f"{name}.parts"
    try:
        wait_until(
            lambda: (
                sorted(assigned(w, detect_topic) for w in running) == [1, 1, 2]
                and sum(assigned(w, parts_topic) for w in running) == 1
            ),
            timeout=120,
            interval=0.5,
            what="the 4 shards over the 3 workers and the merge on one",
        )
        # The victim holds the merge (and shards): the merge and shards are taken over from snapshots.
        victim = next(w for w in running if assigned(w, parts_topic) == 1)
        survivors = [w for w in running if w is not victim]
        victim_shards = assigned(victim, detect_topic)
        sender = start_replay(
            kafka_bootstrap, running[0].topic, scenario.feed, tmp_path / "replay", "--speed", "max"
        )
        wait_until(
            lambda: sum(w.consumed() for w in running) >= scenario.posts / 2,
            timeout=180,
            interval=0.05,
            what="the workers to consume half of the feed",
        )
        killed_at, alerts_cut = sigkill(kafka, victim)
        wait_until(
            lambda: (
                sum(assigned(w, detect_topic) for w in survivors) == PARTITIONS
                and sum(assigned(w, parts_topic) for w in survivors) == 1
            ),
            timeout=180,
            interval=0.5,
            what="the survivors to hold every shard and the merge",
        )
        taken_over = time.monotonic()
        finish(sender)
        caught_up = wait_caught_up(kafka, survivors, scenario)

        readings = [labelled(w) for w in survivors]
        figures: dict[str, Any] = {
            "posts": scenario.posts,
            "victim_shards": victim_shards,
            "alerts_on_topic_at_kill": alerts_cut,
            "survivor_shards": [
                sample_total(r, "pipeline_assigned_partitions", topic=detect_topic) for r in readings
            ],
            "kill_to_shards_and_merge_reassigned_s": round(taken_over - killed_at, 2),
            "kill_to_caught_up_s": round(caught_up - killed_at, 2),
        }
        figures.update(classified_figures(kafka, survivors[0], scenario))
        figures.update(
            compare_alerts(streamed_alerts(kafka, survivors[0], scenario), scenario, cut=alerts_cut)
        )
        figures["detect_gaps_logged"] = detect_gaps(tmp_path)
        figures["detect_restores_logged"] = worker_log_lines(tmp_path, "detector restored", "read again")
        report(tmp_path, "sharded_merge_holder_killed", figures)

        assert victim_shards >= 1
        # The merge and the victim's shards were taken over from their snapshots, not started afresh.
        assert len(figures["detect_restores_logged"]) >= 1 + victim_shards, figures["detect_restores_logged"]
        assert figures["posts_lost"] == 0
        assert figures["unknown_ids_on_output"] == 0
        assert_alerts_equal(figures)
    finally:
        stop_all(running)


# --------------------------------------------------------------------------------------------------
# 3a'. Detection in workers of its own (CLASSIFY=0 beside DETECT=0): the detecting worker holding the
# merge is killed, the other takes over, and a new one joins while the replay goes on.


@pytest.mark.timeout(420)
def test_a_detecting_only_worker_killed_mid_stream_is_taken_over_and_loses_nothing(
    kafka_bootstrap, kafka, scenario, tmp_path
):
    name = fresh_name("apart")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HEALTH_INTERVAL", "1")
        env.setenv("SNAPSHOT_SECONDS", "1")  # snapshots before the kill: the take-overs restore them

        def detecting() -> RunningWorker:
            return start_worker(
                kafka_bootstrap, name, tmp_path, partitions=PARTITIONS, detect_partitions=PARTITIONS,
                environment={"CLASSIFY": "0"},
            )  # fmt: skip

        classifying = start_worker(
            kafka_bootstrap, name, tmp_path, partitions=PARTITIONS, detect_partitions=PARTITIONS,
            environment={"DETECT": "0"},
        )  # fmt: skip
        detectors = [detecting(), detecting()]
    running = [classifying, *detectors]
    detect_topic, parts_topic = f"{name}.detect", f"{name}.parts"
    try:
        wait_until(
            lambda: (
                assigned(classifying, name + ".posts") == PARTITIONS
                and sorted(assigned(w, detect_topic) for w in detectors) == [2, 2]
                and sum(assigned(w, parts_topic) for w in detectors) == 1
            ),
            timeout=120,
            interval=0.5,
            what="the posts on the classifying worker, the shards and the merge on the detecting ones",
        )
        victim = next(w for w in detectors if assigned(w, parts_topic) == 1)
        survivor = next(w for w in detectors if w is not victim)
        sender = start_replay(
            kafka_bootstrap, classifying.topic, scenario.feed, tmp_path / "replay", "--speed", "max"
        )
        wait_until(
            lambda: classifying.consumed() >= scenario.posts / 2,
            timeout=180,
            interval=0.05,
            what="the classifying worker to consume half of the feed",
        )
        killed_at, alerts_cut = sigkill(kafka, victim)
        wait_until(
            lambda: assigned(survivor, detect_topic) == PARTITIONS and assigned(survivor, parts_topic) == 1,
            timeout=180,
            interval=0.5,
            what="the surviving detecting worker to hold every shard and the merge",
        )
        taken_over = time.monotonic()
        with pytest.MonkeyPatch.context() as env:
            env.setenv("HEALTH_INTERVAL", "1")
            env.setenv("SNAPSHOT_SECONDS", "1")
            running.append(detecting())  # a rebalance of the shards while the replay may still run
        finish(sender)
        caught_up = wait_caught_up(kafka, [classifying, survivor, running[-1]], scenario)

        readings = [labelled(w) for w in (classifying, survivor, running[-1])]
        figures: dict[str, Any] = {
            "posts": scenario.posts,
            "alerts_on_topic_at_kill": alerts_cut,
            "posts_consumed_by_the_detecting_workers": [
                sample_total(r, "pipeline_posts_consumed_total") for r in readings[1:]
            ],
            "detect_records_of_the_classifying_worker": sample_total(
                readings[0], "pipeline_detect_records_total"
            ),
            "kill_to_shards_and_merge_reassigned_s": round(taken_over - killed_at, 2),
            "kill_to_caught_up_s": round(caught_up - killed_at, 2),
        }
        figures.update(classified_figures(kafka, classifying, scenario))
        figures.update(
            compare_alerts(streamed_alerts(kafka, classifying, scenario), scenario, cut=alerts_cut)
        )
        figures["detect_gaps_logged"] = detect_gaps(tmp_path)
        figures["detect_restores_logged"] = worker_log_lines(tmp_path, "detector restored", "read again")
        report(tmp_path, "detecting_only_worker_killed", figures)

        # The merge and the victim's two shards were taken over from their snapshots, not started afresh.
        assert len(figures["detect_restores_logged"]) >= 3, figures["detect_restores_logged"]
        assert figures["posts_consumed_by_the_detecting_workers"] == [0, 0]
        assert figures["detect_records_of_the_classifying_worker"] == 0
        assert figures["posts_lost"] == 0
        assert figures["unknown_ids_on_output"] == 0
        assert_alerts_equal(figures)
    finally:
        stop_all(running)


# --------------------------------------------------------------------------------------------------
# 3b. Workers stopped while their groups rebalance stop in bounded time and commit what they did.


@pytest.mark.timeout(420)
def test_workers_stopped_in_the_middle_of_a_rebalance_stop_in_time_and_lose_nothing(
    kafka_bootstrap, kafka, scenario, tmp_path
):
    name = fresh_name("rebalance")
    running = [start_worker(kafka_bootstrap, name, tmp_path, partitions=PARTITIONS) for _ in range(2)]
    try:
        sender = start_replay(
            kafka_bootstrap, running[0].topic, scenario.feed, tmp_path / "replay", "--speed", "max"
        )
        wait_until(
            lambda: sum(w.consumed() for w in running) >= scenario.posts / 3,
            timeout=180,
            interval=0.05,
            what="the workers to consume a third of the feed",
        )
        # A third worker joins: every group rebalances. The first two are stopped at once, while the
        # third is still joining, so their stops and their groups' rebalances overlap.
        joining = start_worker(kafka_bootstrap, name, tmp_path, partitions=PARTITIONS)
        running.append(joining)
        joining_had_partitions = assigned(joining, running[0].topic)
        stopping = running[:2]
        started = time.monotonic()
        for worker in stopping:
            worker.process.send_signal(signal.SIGINT)
        exits, stop_seconds = [], []
        for worker in stopping:
            try:
                exits.append(worker.process.wait(timeout=STOP_BOUND_SECONDS))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                exits.append(None)
            stop_seconds.append(round(time.monotonic() - started, 2))
        alerts_cut = sum(kafka.end_offsets(joining.alerts_topic).values())
        finish(sender)
        caught_up = wait_caught_up(kafka, [joining], scenario)

        figures: dict[str, Any] = {
            "posts": scenario.posts,
            "joining_worker_posts_partitions_at_stop": joining_had_partitions,
            "stop_exit_codes": exits,
            "stop_seconds": stop_seconds,
            "stop_to_caught_up_s": round(caught_up - started, 2),
            "detector": detector_checkpoint(kafka, name),
        }
        figures.update(classified_figures(kafka, joining, scenario))
        figures.update(compare_alerts(streamed_alerts(kafka, joining, scenario), scenario, cut=alerts_cut))
        figures["detect_gaps_logged"] = detect_gaps(tmp_path)
        report(tmp_path, "stopped_mid_rebalance", figures)

        assert exits == [0, 0], figures
        assert figures["posts_lost"] == 0
        assert figures["unknown_ids_on_output"] == 0
        assert_alerts_equal(figures)
    finally:
        stop_all(running)


# --------------------------------------------------------------------------------------------------
# 4. A worker that stops fetching while it stays in its group is reported as stalled.


@pytest.mark.timeout(180)
def test_a_stalled_worker_is_reported_by_health_and_metrics(
    kafka_bootstrap, kafka, scenario, tmp_path, monkeypatch
):
    stall_after = 3000
    with monkeypatch.context() as env:  # start_worker hands the worker a copy of os.environ
        env.setenv("FAULT_STALL_AFTER", str(stall_after))
        env.setenv("STALL_SECONDS", "5")
        env.setenv("HEALTH_INTERVAL", "1")
        worker = start_worker(kafka_bootstrap, fresh_name("stall"), tmp_path, partitions=PARTITIONS)
    # Paced, so that the end offsets keep growing while the worker stands still; stopped at the end.
    sender = start_replay(
        kafka_bootstrap, worker.topic, scenario.feed, tmp_path / "replay", "--speed", "max", "--rate", "500"
    )
    posts_partitions = {f"{worker.topic}[{p}]" for p in range(PARTITIONS)}
    try:
        started = time.monotonic()

        # The replay writes to every partition, so every posts partition stalls.
        def stalled() -> tuple[int, dict] | None:
            code, body = health(worker)
            return (code, body) if posts_partitions <= set(body["stalled"]) else None

        code, body = wait_until(
            stalled, timeout=90, interval=0.5, what="/health to name the stalled partitions"
        )
        detected = time.monotonic()
        assert code == 503
        assert body["status"] == "stalled"
        assert body["healthy"] is False
        assert body["broker_connected"] is True
        # Only they: the table's changelog partition used to be named too (see the next test).
        assert set(body["stalled"]) == posts_partitions, body
        stalled_names = posts_partitions

        def gauges(samples: dict) -> dict[str, tuple[float, float, float, float]]:
            return {
                f"{worker.topic}[{p}]": tuple(
                    sample_total(samples, metric, topic=worker.topic, partition=str(p))
                    for metric in (
                        "pipeline_consumer_stalled",
                        "pipeline_consumer_lag_records",
                        "pipeline_consumer_committed_offset",
                        "pipeline_consumer_end_offset",
                    )
                )
                for p in range(PARTITIONS)
            }

        before = gauges(labelled(worker))
        for partition in stalled_names:
            stalled_gauge, lag, _, _ = before[partition]
            assert stalled_gauge == 1, (partition, before)
            assert lag > 0, (partition, before)

        # The committed offsets stand still while the end offsets grow.
        def grown() -> dict | None:
            now = gauges(labelled(worker))
            ends_grew = all(now[p][3] > before[p][3] for p in stalled_names)
            return now if ends_grew else None

        after = wait_until(grown, timeout=60, interval=0.5, what="the end offsets to grow")
        for partition in stalled_names:
            assert after[partition][2] == before[partition][2], (partition, before, after)
            assert after[partition][1] > before[partition][1], (partition, before, after)
            assert after[partition][0] == 1
        assert sender.poll() is None, "the replay is still sending"
        samples = labelled(worker)
        report(
            tmp_path,
            "stalled_worker",
            {
                "fault_stall_after": stall_after,
                "consumed": sample_total(samples, "pipeline_posts_consumed_total"),
                "stalled": body["stalled"],
                "replay_start_to_stall_reported_s": round(detected - started, 2),
                "before": before,
                "after": after,
                "health": body,
            },
        )
    finally:
        sender.terminate()
        sender.wait(timeout=60)
        worker.stop(timeout=30)


# Before 0d27af8 this failed every time: _probe (then pipeline/agents.py) checked the whole Faust
# assignment, including the detector-state changelog partition, whose committed and read offsets are never
# tracked, so HealthMonitor.observe saw records waiting and a position that never moved: 503 "stalled"
# STALL_SECONDS after the first snapshot, on a worker with nothing to do. Later it failed once in a CI run
# under heavy load with a "starting" answer (never probed) from a worker that had long been running: that
# answer can only come from another process, which had the port the test picked with free_port() and handed
# to the worker. Workers now take a free port themselves and print it, and every answer must carry their
# pid.
@pytest.mark.timeout(180)
def test_a_caught_up_worker_stays_healthy(kafka_bootstrap, kafka, scenario, tmp_path, monkeypatch):
    with monkeypatch.context() as env:
        env.setenv("STALL_SECONDS", "5")
        env.setenv("HEALTH_INTERVAL", "1")
        worker = start_worker(kafka_bootstrap, fresh_name("idle"), tmp_path, partitions=PARTITIONS)
    try:
        launched = time.monotonic()
        wait_until(lambda: health(worker)[0] == 200, timeout=120, what="the worker to be healthy")
        print(f"\n[caught_up_health] healthy {time.monotonic() - launched:.1f}s after launch")
        # The first hour of the feed: windows close, so the detector's snapshot is saved.
        until = "2009-06-12T01:00:00Z"
        posts = sum(
            1
            for item in read_feed(scenario.feed, build=feed_item)
            if not isinstance(item, Deletion) and item.ts < parse_ts(until)
        )
        replay(
            kafka_bootstrap,
            worker.topic,
            scenario.feed,
            tmp_path / "replay",
            "--speed",
            "max",
            "--until",
            until,
        )
        group = worker.topic.removesuffix(".posts") + "-app-classify"
        wait_until(
            lambda: worker.consumed() == posts and kafka.group_lag(group, worker.topic) == 0,
            timeout=120,
            what="the worker to catch up",
        )
        # Nothing waits anywhere: for three times STALL_SECONDS every answer must be 200.
        watch_until = time.monotonic() + 15
        answers = Counter()
        while time.monotonic() < watch_until:
            code, body = health(worker)
            answers[code] += 1
            assert code == 200, body
            time.sleep(0.25)
        print(f"\n[caught_up_health] {dict(answers)}")
    finally:
        worker.stop(timeout=30)


# --------------------------------------------------------------------------------------------------
# 5. The same feed replayed twice.


@pytest.mark.timeout(300)
def test_a_feed_replayed_twice_raises_the_alerts_of_one_pass(kafka_bootstrap, kafka, scenario, tmp_path):
    # The oracle agrees with itself: analyze over the feed twice raises the alerts of the feed once.
    twice = tmp_path / "twice.jsonl"
    twice.write_bytes(scenario.feed.read_bytes() * 2)
    engine = Engine()
    with (tmp_path / "twice.alerts.jsonl").open("wb") as out:
        # As the stack sees the feed (pseudonymized), like the scenario's own oracle.
        offline = analyze(twice, engine=engine, alerts_out=out, pseudonymizer=Pseudonymizer(load_key()))
    offline_alerts = [
        orjson.loads(line) for line in (tmp_path / "twice.alerts.jsonl").read_bytes().splitlines()
    ]
    assert canonical(offline_alerts) == canonical(scenario.alerts)

    worker = start_worker(kafka_bootstrap, fresh_name("twice"), tmp_path, partitions=PARTITIONS)
    try:
        replay(kafka_bootstrap, worker.topic, scenario.feed, tmp_path / "first", "--speed", "max")
        replay(kafka_bootstrap, worker.topic, scenario.feed, tmp_path / "second", "--speed", "max")
        wait_until(
            lambda: worker.consumed() >= 2 * scenario.posts,
            timeout=240,
            interval=0.5,
            what="the worker to consume both passes",
        )

        def duplicates() -> dict | None:
            samples = labelled(worker)
            repeated = sample_total(samples, "pipeline_duplicates_total", kind="repeated_id")
            late = sample_total(samples, "pipeline_late_posts_total")
            return samples if repeated + late >= scenario.posts else None

        samples = wait_until(duplicates, timeout=120, interval=0.5, what="detection to see the second pass")
        figures: dict[str, Any] = {
            "posts": scenario.posts,
            "posts_in_last_hour": scenario.last_hour_posts,
            "consumed": sample_total(samples, "pipeline_posts_consumed_total"),
            "duplicates_repeated_id": sample_total(samples, "pipeline_duplicates_total", kind="repeated_id"),
            "duplicates_redelivered": sample_total(samples, "pipeline_duplicates_total", kind="redelivered"),
            "late_posts": sample_total(samples, "pipeline_late_posts_total"),
            "analyze_twice_repeated_ids": engine.deduped.repeated_ids,
            "analyze_twice_late_posts": offline.late_posts,
        }
        figures.update(compare_alerts(streamed_alerts(kafka, worker, scenario), scenario, cut=None))
        report(tmp_path, "replayed_twice", figures)

        assert figures["alerts_equal_raw"], figures
        # Ids are remembered for one hour of event time (RecentIds): the second pass's posts of the feed's
        # last hour are repeated ids; its older posts were forgotten and fall behind the watermark, so they
        # are late posts. Either way each post of the second pass is dropped exactly once, never windowed.
        assert figures["duplicates_repeated_id"] >= scenario.last_hour_posts
        # Every post of the second pass is a repeat or late; so is every deletion notice, counted as a
        # repeated id when its first copy is still remembered (late notices have no counter of their own).
        notices = len(scenario.feed.read_bytes().splitlines()) - scenario.posts
        repeated_or_late = figures["duplicates_repeated_id"] + figures["late_posts"]
        assert scenario.posts <= repeated_or_late <= scenario.posts + notices
        assert figures["duplicates_redelivered"] == 0
    finally:
        worker.stop(timeout=30)


# --------------------------------------------------------------------------------------------------
# 6. Junk interleaved with a replay (test_seed_replay.py covers four junk records on their own; this adds
#    every reason, the partition header, a real replay around them and the alerts).


def junk_records() -> list[tuple[bytes | None, str]]:
    """(value, the reason it must be dead-lettered with)."""
    post = {"id": "junk-ok", "ts": "2009-06-15T12:00:00Z", "text": "rally at Azadi"}

    def variant(**fields: Any) -> bytes:
        record = {**post, **fields}
        return orjson.dumps({k: v for k, v in record.items() if v is not None})

    return [
        (b"\xff\xfe\xfd not utf-8", "invalid_json"),
        (b'{"id": "junk-1", "ts": "2009-06-15T12:00:00Z", "text": "caf\xe9"}', "invalid_json"),
        (b"not json at all", "invalid_json"),
        (b'{"id": "junk-2", "ts": ', "invalid_json"),
        (b'["an", "array"]', "not_object"),
        (b'"a string"', "not_object"),
        (b"42", "not_object"),
        (b"null", "not_object"),
        (variant(id=None), "missing_field"),
        (variant(ts=None), "missing_field"),
        (variant(text=None), "missing_field"),
        (variant(id="junk-3", text=""), "missing_field"),
        (variant(id="junk-4", ts="yesterday"), "bad_ts"),
        (variant(id="junk-5", ts="2009-06-15T12:00:00"), "bad_ts"),  # no UTC offset
        (variant(id="junk-6", ts=1245067200000), "bad_ts"),  # milliseconds
        (variant(id=["junk-7"]), "bad_field"),
        (variant(id="junk-8", region=7), "bad_field"),
        (variant(id="junk-9", text="x" * (64 * 1024 + 1)), "oversized"),
        (None, "empty"),
    ]


@pytest.mark.timeout(240)
def test_junk_interleaved_with_a_replay_is_dead_lettered_and_the_alerts_hold(
    kafka_bootstrap, kafka, scenario, tmp_path
):
    worker = start_worker(kafka_bootstrap, fresh_name("junk"), tmp_path, partitions=PARTITIONS)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all", max_request_size=1024 * 1024)
    junk = junk_records()
    try:
        # Paced (about 10 s) so the junk lands between good posts on every partition.
        sender = start_replay(
            kafka_bootstrap,
            worker.topic,
            scenario.feed,
            tmp_path / "replay",
            "--speed",
            "max",
            "--rate",
            "3000",
        )
        placed: dict[tuple[int, int], tuple[bytes | None, str]] = {}
        for index, (raw, reason) in enumerate(junk):
            threshold = scenario.posts * 0.7 * (index + 1) / len(junk)
            wait_until(
                lambda t=threshold: sum(kafka.end_offsets(worker.topic).values()) >= t,
                timeout=120,
                interval=0.05,
                what="the replay to progress",
            )
            partition = index % PARTITIONS
            meta = producer.send(worker.topic, value=raw, key=b"junk", partition=partition).get(timeout=30)
            placed[meta.partition, meta.offset] = (raw, reason)
        finish(sender)
        ends = kafka.end_offsets(worker.topic)
        interleaved = sum(1 for partition, offset in placed if offset < ends[partition] - 1)

        wait_caught_up(kafka, [worker], scenario)
        letters = kafka.read_all(worker.dead_letter_topic)
        samples = labelled(worker)
        by_reason = Counter(reason for _, reason in junk)
        figures: dict[str, Any] = {
            "posts": scenario.posts,
            "junk_records": len(junk),
            "junk_followed_by_good_posts": interleaved,
            "dead_letters": len(letters),
            "dead_letters_by_reason": dict(
                Counter(dict(letter.headers)["error.reason"].decode() for letter in letters)
            ),
            "posts_invalid_total_by_reason": {
                reason: sample_total(samples, "pipeline_posts_invalid_total", reason=reason)
                for reason in by_reason
            },
            "consumed": sample_total(samples, "pipeline_posts_consumed_total"),
        }
        figures.update(classified_figures(kafka, worker, scenario))
        figures.update(compare_alerts(streamed_alerts(kafka, worker, scenario), scenario, cut=None))
        report(tmp_path, "junk", figures)

        assert interleaved == len(junk), "every junk record has good posts after it on its partition"
        assert len(letters) == len(junk)
        for letter in letters:
            headers = dict(letter.headers)
            source = int(headers["source.partition"]), int(headers["source.offset"])
            raw, reason = placed.pop(source)
            assert headers["source.topic"] == worker.topic.encode()
            assert headers["error.reason"] == reason.encode(), (raw, headers)
            assert headers["error.message"]
            assert letter.value == raw
        assert placed == {}, "every junk record was dead-lettered once"
        assert figures["posts_invalid_total_by_reason"] == {k: float(n) for k, n in by_reason.items()}
        assert sample_total(samples, "pipeline_posts_invalid_total") == len(junk)
        assert figures["consumed"] == scenario.posts
        assert figures["classified_records"] == scenario.posts
        assert figures["posts_lost"] == 0
        assert figures["alerts_equal_raw"], figures
        assert worker.process.poll() is None
    finally:
        producer.close()
        worker.stop(timeout=30)


# --------------------------------------------------------------------------------------------------
# 7. A worker killed with -9 leaves no classifier process behind.


def _children(pid: int) -> set[int]:
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found.update(int(child) for child in (task / "children").read_text().split())
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except FileNotFoundError:
        return False
    return state != "Z"


@pytest.mark.timeout(120)
def test_the_classifier_process_exits_with_its_killed_worker(kafka_bootstrap, tmp_path):
    worker = start_worker(kafka_bootstrap, fresh_name("orphan"), tmp_path, partitions=PARTITIONS)
    try:
        # The classifier is started (and warmed up) before the worker serves /health.
        wait_until(lambda: health(worker)[0] in (200, 503), timeout=120, what="the worker to answer")
        classifiers = wait_until(
            lambda: _children(worker.process.pid), timeout=60, what="the classifier process"
        )
        worker.process.kill()
        worker.process.wait(timeout=30)
        started = time.monotonic()
        wait_until(
            lambda: not any(_alive(pid) for pid in classifiers), timeout=30, what="the classifier to exit"
        )
        print(f"\n[orphan] classifier gone {time.monotonic() - started:.1f}s after kill -9 of its worker")
    finally:
        if worker.process.poll() is None:
            worker.stop(timeout=30)
