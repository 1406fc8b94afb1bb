#!/usr/bin/env python3
"""make soak: one worker under a long replay at max speed — memory, throughput and lag over time.

Starts its own broker (deploy/kafka/kafka.sh, a temporary KAFKA_DATA, free ports), generates a feed of
SOAK_POSTS posts (``python -m replay generate --scenario tactics``: its three days made dense enough, with
its deletion notices, new accounts, campaigns and relocations, so that every kind of detection state is
exercised; cut to exactly that many posts), replays it
at max speed into a 4-partition topic with one worker running, and every SOAK_INTERVAL seconds samples
the worker's resident memory (VmRSS of /proc/<pid>/status), the posts it has consumed and the classify
group's lag (end offsets minus committed offsets, asked of the broker) and what detection remembers
(``pipeline_detector_state_entries``: authors, indexed posts, signed posts, ...). It reports the start,
peak and end RSS, posts/s, whether the lag still grows at the end, and each kind of state at each quarter
of the run; everything goes to soak-results.json.
Ctrl-C (or SIGTERM) stops the replay, the worker and the broker, and removes the temporary directory.

SOAK_MODE=backlog starts the worker on a backlog instead: the iran2009 week (seed 1, 923,416 posts, or its
first SOAK_POSTS) is replayed at max speed into a 16-partition topic first, then the worker is started
and sampled the same way (also the partitions its event-time alignment holds paused) until it has caught
up; the clock starts with the worker.

Environment: SOAK_MODE (replay | backlog), SOAK_POSTS (5000000; backlog: the whole week), SOAK_INTERVAL
(5 s), SOAK_TIMEOUT (10800 s), SOAK_SCENARIO (tactics; stress; backlog: iran2009), SOAK_AUTHORS (300000
background authors; replay mode), SOAK_ACCOUNT_RETENTION (86400 s: the worker's ACCOUNT_RETENTION_SECONDS,
shorter than the feed so that authors expire during the soak), SOAK_DETECT_PARTITIONS (the worker's
DETECT_PARTITIONS; default the posts partitions, each shard's state sampled apart), SOAK_DIR (parent of
the temporary directory), SOAK_KEEP=1 (keep it), SOAK_RESULTS (soak-results.json).
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import closing, suppress
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from feed import parse_ts
from pipeline.metrics import read_samples, sample_total

REPO = Path(__file__).resolve().parents[1]
KAFKA_SH = REPO / "deploy" / "kafka" / "kafka.sh"
PARTITIONS = 4
BACKLOG_PARTITIONS = 16
NAME = "soak"
STRESS_RATE = 200.0  # posts/s of the stress scenario; its length is chosen to reach SOAK_POSTS
LATENESS_SECONDS = 120  # detection's allowed lateness (pipeline.detect.DetectorConfig)
# What detection remembers (pipeline_detector_state_entries): each must level off, not grow with the feed.
STATE_KINDS = ("authors", "indexed_posts", "signed_posts", "open_windows", "terms_tracked", "episodes")
SHARD_KINDS = ("authors", "indexed_posts", "open_windows")


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def env_float(name: str, default: float) -> float:
    return float(os.environ.get(name) or default)


def say(message: str) -> None:
    print(f"soak: {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def slope(points: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of (t, y) points, per second."""
    if len(points) < 2:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return sum((t - mean_t) * (y - mean_y) for t, y in points) / var


class Broker:
    def __init__(self, data: Path) -> None:
        self.env = {
            **os.environ,
            "KAFKA_DATA": str(data),
            "KAFKA_PORT": str(free_port()),
            "KAFKA_CONTROLLER_PORT": str(free_port()),
        }
        self.started = False
        self.bootstrap = ""

    def _run(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["bash", str(KAFKA_SH), command], env=self.env, capture_output=True, text=True, timeout=600
        )

    def start(self) -> str:
        self.started = True  # from here on, stop() must run even if start fails halfway
        result = self._run("start")
        if result.returncode != 0:
            raise RuntimeError(f"kafka.sh start failed:\n{result.stderr}")
        self.bootstrap = result.stdout.strip().splitlines()[-1].split("=", 1)[1]
        return self.bootstrap

    def stop(self) -> None:
        if self.started:
            result = self._run("stop")
            if result.returncode != 0:
                say(f"kafka.sh stop failed:\n{result.stderr}")
            self.started = False


def feed_shape(posts: int, scenario: str) -> tuple[float, float]:
    """(hours, posts/s) that give ``posts`` posts with a margin. A scenario laid out at fixed hours
    (``tactics``: its episodes are placed by the hour) keeps its length and is made denser; the others
    keep the stress density and are made longer."""
    from replay.generate.scenarios import scenario_spec

    spec = scenario_spec(scenario)
    if spec.layout == "fixed":
        return spec.hours, posts / (spec.hours * 3600) * 1.05
    return posts / (STRESS_RATE * 3600) * 1.05, STRESS_RATE


def generate(feed: Path, posts: int, scenario: str, authors: int | None = None) -> dict[str, Any]:
    """A feed of exactly ``posts`` posts (or fewer, if the generator falls short), cut there, with the
    deletion notices among them (``tactics`` has some; they are records of their own, counted apart)."""
    hours, rate = feed_shape(posts, scenario)
    raw = feed.with_suffix(".full.jsonl")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "replay", "generate", "--scenario", scenario, "--seed", "1",
         "--hours", f"{hours:.4f}", "--rate", f"{rate:.4f}",
         *(["--authors", str(authors)] if authors else []),
         "-o", str(raw), "--truth", str(feed.with_suffix(".truth.json"))],
        check=True,
    )  # fmt: skip
    count = notices = 0
    last = b""
    with raw.open("rb") as source, feed.open("wb") as out:
        for line in source:
            if count == posts:
                break
            out.write(line)
            last = line
            if b'"kind":"delete"' in line or b'"kind": "delete"' in line:
                notices += 1
            else:
                count += 1
    raw.unlink()
    return {
        "scenario": scenario,
        "hours": round(hours, 3),
        "rate": round(rate, 2),
        "authors": authors,
        "posts": count,
        "deletion_notices": notices,
        "records": count + notices,
        "bytes": feed.stat().st_size,
        "last_ts": parse_ts(orjson.loads(last)["ts"]),
        "generate_seconds": round(time.monotonic() - started, 1),
    }


def generate_backlog(feed: Path, posts: int, scenario: str) -> dict[str, Any]:
    """The scenario at its own length and density (iran2009: the week), cut at ``posts`` lines when
    ``posts`` is above zero."""
    raw = feed.with_suffix(".full.jsonl")
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "replay", "generate", "--scenario", scenario, "--seed", "1",
         "-o", str(raw), "--truth", str(feed.with_suffix(".truth.json"))],
        check=True,
    )  # fmt: skip
    count = 0
    first = last = b""
    with raw.open("rb") as source, feed.open("wb") as out:
        for line in source:
            if posts and count == posts:
                break
            out.write(line)
            first = first or line
            last = line
            count += 1
    raw.unlink()
    first_ts, last_ts = parse_ts(orjson.loads(first)["ts"]), parse_ts(orjson.loads(last)["ts"])
    return {
        "scenario": scenario,
        "hours": round((last_ts - first_ts) / 3600, 3),
        "posts": count,
        "bytes": feed.stat().st_size,
        "last_ts": last_ts,
        "generate_seconds": round(time.monotonic() - started, 1),
    }


def final_watermark_of(feed: Path, partitions: int) -> float | None:
    """Where detection's watermark ends once every partition is read: the earliest of the partitions'
    last event times, minus the lateness. In a sparse feed over 16 partitions a partition's last post can
    be minutes before the feed's end. The replayer puts a post in partition murmur2(author), as
    kafka-python does; None when a post has no author (its partition is not known in advance)."""
    from kafka.partitioner.default import murmur2

    last = [0.0] * partitions
    partition_of: dict[str, int] = {}
    with feed.open("rb") as lines:
        for line in lines:
            post = orjson.loads(line)
            author = post.get("author")
            if not author:
                return None
            partition = partition_of.get(author)
            if partition is None:
                key = author.encode()
                partition = partition_of[author] = (murmur2(key) & 0x7FFFFFFF) % partitions
            last[partition] = max(last[partition], parse_ts(post["ts"]))
    return min(last) - LATENESS_SECONDS


def create_topics(bootstrap: str, partitions: int = PARTITIONS, detect_partitions: int = 1) -> None:
    """The worker's topics, sized before it starts (``posts.detect`` with one partition per detection
    shard); no size limit on them, so nothing is deleted before the worker reads it (the broker's default
    keeps 1 GiB per partition)."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="soak-admin")
    unlimited = {"retention.bytes": "-1", "retention.ms": "-1"}
    try:
        for name, count in (
            (f"{NAME}.posts", partitions),
            (f"{NAME}.classified", partitions),
            (f"{NAME}.detect", detect_partitions),
        ):
            with suppress(TopicAlreadyExistsError):
                admin.create_topics([NewTopic(name, count, 1, topic_configs=unlimited)])
    finally:
        admin.close()


class Lag:
    """The classify group's lag over the posts topic, asked of the broker."""

    def __init__(self, bootstrap: str, group: str, topic: str, partitions: int = PARTITIONS) -> None:
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap)
        self.group = group
        self.tps = [TopicPartition(topic, p) for p in range(partitions)]
        self.committed: dict[TopicPartition, Any] = {}

    def read(self) -> tuple[int, int]:
        """(records on the posts topic, records not yet committed by the group). While the group's
        coordinator is still loading (just after the group first joins) the last offsets read stand."""
        ends = self.consumer.end_offsets(self.tps)
        try:
            self.committed = self.admin.list_group_offsets({self.group: None}).get(self.group, {})
        except KafkaError as error:
            if not error.retriable:
                raise
        committed = self.committed
        produced = sum(ends.values())
        done = sum(max(committed[tp].offset, 0) for tp in self.tps if tp in committed)
        return produced, produced - done

    def close(self) -> None:
        self.consumer.close()
        self.admin.close()


def stop_process(process: subprocess.Popen | None, sig: int, timeout: float) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def summarize(samples: list[dict[str, Any]], marks: dict[str, float], feed: dict[str, Any]) -> dict[str, Any]:
    replay_start, replay_end = marks["replay_start"], marks.get("replay_end")
    caught_up = marks.get("caught_up")
    busy = [s for s in samples if s["t"] >= replay_start and (caught_up is None or s["t"] <= caught_up)]
    rss = [s["rss_kb"] for s in samples if s["rss_kb"] is not None]
    # Worker posts/s between consecutive samples while it had work.
    rates = [
        (b["consumed"] - a["consumed"]) / (b["t"] - a["t"])
        for a, b in itertools.pairwise(busy)
        if b["t"] > a["t"] and a["lag"] > 0
    ]
    quarter = max(len(rates) // 4, 1)
    during = [(s["t"], s["lag"]) for s in busy if replay_end is None or s["t"] <= replay_end]
    tail = busy[-max(len(busy) // 4, 3) :]
    final_slope = slope([(s["t"], s["lag"]) for s in tail])
    during_slope = slope(during)
    rss_second_half = [(s["t"], s["rss_kb"]) for s in busy[len(busy) // 2 :] if s["rss_kb"] is not None]
    rss_slope = slope(rss_second_half)
    worker_seconds = (caught_up - replay_start) if caught_up else None
    replay_seconds = (replay_end - replay_start) if replay_end else None

    quarter_marks = [busy[min(len(busy) - 1, q * len(busy) // 4)] for q in (1, 2, 3, 4)] if busy else []

    def mb(kb: float | None) -> float | None:
        return None if kb is None else round(kb / 1024, 1)

    return {
        "posts": feed["posts"],
        "deletion_notices": feed.get("deletion_notices", 0),
        "replay_seconds": None if replay_seconds is None else round(replay_seconds, 1),
        "replay_posts_per_s": round(feed["posts"] / replay_seconds) if replay_seconds else None,
        "worker_caught_up": caught_up is not None,
        "worker_seconds": None if worker_seconds is None else round(worker_seconds, 1),
        "worker_posts_per_s": round(feed["posts"] / worker_seconds) if worker_seconds else None,
        "worker_posts_per_s_first_quarter": round(sum(rates[:quarter]) / quarter) if rates else None,
        "worker_posts_per_s_last_quarter": round(sum(rates[-quarter:]) / quarter) if rates else None,
        "detection_caught_up_seconds": (
            round(marks["detect_caught_up"] - replay_start, 1) if "detect_caught_up" in marks else None
        ),
        "rss_start_mb": mb(rss[0]) if rss else None,
        "rss_peak_mb": mb(max(rss)) if rss else None,
        "rss_end_mb": mb(rss[-1]) if rss else None,
        "rss_slope_second_half_mb_per_min": None if rss_slope is None else round(rss_slope * 60 / 1024, 2),
        "replay_rss_peak_mb": mb(max((s["replay_rss_kb"] or 0) for s in samples)) if samples else None,
        "lag_max": max((s["lag"] for s in samples), default=0),
        "lag_at_replay_end": next((s["lag"] for s in samples if replay_end and s["t"] >= replay_end), None),
        "lag_slope_during_replay_per_s": None if during_slope is None else round(during_slope),
        "lag_slope_at_end_per_s": None if final_slope is None else round(final_slope),
        # At the end the lag must drain: a slope above zero means the worker falls further behind.
        "lag_growing_at_end": final_slope is not None and final_slope > 0,
        "max_partitions_paused": max((s.get("paused", 0) for s in samples), default=0),
        # Per kind: the largest entry count, and the count at each quarter of the worker's run.
        "detector_state": {
            kind: {
                "peak": max((s["state"][kind] for s in busy), default=0),
                "quarters": [s["state"][kind] for s in quarter_marks],
            }
            for kind in STATE_KINDS
        },
        # Per shard (DETECT_PARTITIONS above 1), what grows with the authors: at each quarter.
        "shard_state": {
            shard: {kind: [s["shards"][shard][kind] for s in quarter_marks] for kind in SHARD_KINDS}
            for shard in (quarter_marks[0]["shards"] if quarter_marks else {})
        },
        "samples": len(samples),
    }


def send_command(feed: Path, bootstrap: str, partitions: int, work: Path) -> list[str]:
    return [
        sys.executable, "-m", "replay", "send", str(feed), "--bootstrap", bootstrap,
        "--topic", f"{NAME}.posts", "--partitions", str(partitions), "--speed", "max", "--quiet",
        "--state", str(work / "replay-state"),
    ]  # fmt: skip


def main() -> int:
    mode = os.environ.get("SOAK_MODE") or "replay"
    if mode not in ("replay", "backlog"):
        say(f"SOAK_MODE={mode!r}: expected replay or backlog")
        return 2
    backlog = mode == "backlog"
    posts = env_int("SOAK_POSTS", 0 if backlog else 5_000_000)  # backlog: 0 = the whole scenario
    interval = env_float("SOAK_INTERVAL", 5.0)
    timeout = env_float("SOAK_TIMEOUT", 3 * 3600.0)
    scenario = os.environ.get("SOAK_SCENARIO") or ("iran2009" if backlog else "tactics")
    partitions = BACKLOG_PARTITIONS if backlog else PARTITIONS
    # Many more authors than the scenario's 6,000, and a retention shorter than its three days: the
    # author book must level off as authors expire, not grow with the feed (the default, 7 days, is
    # longer than any generated feed).
    authors = env_int("SOAK_AUTHORS", 300_000)
    account_retention = env_float("SOAK_ACCOUNT_RETENTION", 86400.0)
    # Detection in as many shards as posts partitions (issue 20): the state of each is sampled.
    detect_partitions = env_int("SOAK_DETECT_PARTITIONS", partitions)
    results_path = Path(os.environ.get("SOAK_RESULTS") or "soak-results.json")
    keep = os.environ.get("SOAK_KEEP") == "1"
    work = Path(tempfile.mkdtemp(prefix="iran2009-soak-", dir=os.environ.get("SOAK_DIR") or None))

    def terminate(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    broker = Broker(work / "kafka")
    worker: subprocess.Popen | None = None
    sender: subprocess.Popen | None = None
    lag: Lag | None = None
    samples: list[dict[str, Any]] = []
    marks: dict[str, float] = {}
    feed_info: dict[str, Any] = {}
    outcome = "interrupted"
    try:
        say(f"working in {work}{' (kept)' if keep else ''}")
        say(f"generating a {scenario} feed of {f'{posts:,}' if posts else 'all its'} posts ...")
        feed = work / "feed.jsonl"
        feed_info = (
            generate_backlog(feed, posts, scenario) if backlog else generate(feed, posts, scenario, authors)
        )
        say(f"feed: {feed_info['posts']:,} posts, {feed_info['bytes'] / 1e6:,.0f} MB")

        say("starting a broker ...")
        bootstrap = broker.start()
        create_topics(bootstrap, partitions, detect_partitions)
        if backlog:
            say(f"pre-filling {NAME}.posts ({partitions} partitions) before the worker starts ...")
            started = time.monotonic()
            with (work / "replay.log").open("w") as replay_log:
                filled = subprocess.run(
                    send_command(feed, bootstrap, partitions, work),
                    stdout=subprocess.DEVNULL, stderr=replay_log, start_new_session=True, check=False,
                )  # fmt: skip
            if filled.returncode != 0:
                raise RuntimeError(f"the replay failed ({filled.returncode}); see {work / 'replay.log'}")
            feed_info["prefill_seconds"] = round(time.monotonic() - started, 1)
            say(f"pre-filled in {feed_info['prefill_seconds']}s; starting the worker")

        metrics_port = free_port()
        worker_env = {
            **os.environ,
            "POSTS_PARTITIONS": str(partitions),
            "CLASSIFIED_TOPIC": f"{NAME}.classified",
            "DETECT_TOPIC": f"{NAME}.detect",
            "PARTS_TOPIC": f"{NAME}.parts",
            "DETECT_PARTITIONS": str(detect_partitions),
            "ALERTS_TOPIC": f"{NAME}.alerts",
            "DEAD_LETTER_TOPIC": f"{NAME}.dead-letter",
            "ACCOUNT_RETENTION_SECONDS": str(account_retention),
        }
        feed_info["detect_partitions"] = detect_partitions
        feed_info["account_retention_seconds"] = account_retention
        # Own sessions: a Ctrl-C reaches this script only, which then stops everything in order.
        with (work / "worker.log").open("w") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "pipeline", "worker", "--bootstrap", bootstrap,
                 "--topic", f"{NAME}.posts", "--app-id", NAME, "--metrics-port", str(metrics_port),
                 "--metrics-host", "127.0.0.1", "--data-dir", str(work / "faust")],
                env=worker_env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        launched = time.monotonic()
        metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        health_url = f"http://127.0.0.1:{metrics_port}/health"
        deadline = time.monotonic() + 120
        while True:
            try:
                # On a backlog the worker is busy from its start: sample as soon as it serves metrics.
                with urllib.request.urlopen(metrics_url if backlog else health_url, timeout=5) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if worker.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the worker did not become healthy; see {work / 'worker.log'}")
            time.sleep(0.5)
        lag = Lag(bootstrap, f"{NAME}-classify", f"{NAME}.posts", partitions)
        final_watermark = feed_info["last_ts"] - LATENESS_SECONDS - 60
        if backlog:
            final_watermark = final_watermark_of(feed, partitions) or final_watermark

        def sample(now: float) -> dict[str, Any]:
            metrics = read_samples(metrics_url)
            produced, behind = lag.read()
            record = {
                "t": round(now, 2),
                "rss_kb": rss_kb(worker.pid),
                "replay_rss_kb": rss_kb(sender.pid) if sender is not None and sender.poll() is None else None,
                "consumed": int(sample_total(metrics, "pipeline_posts_consumed_total")),
                "notices": int(sample_total(metrics, "pipeline_deletion_notices_total")),
                "produced": produced,
                "lag": behind,
                "detect_lag": int(
                    sample_total(metrics, "pipeline_consumer_lag_records", topic=f"{NAME}.detect")
                ),
                "watermark": sample_total(metrics, "pipeline_watermark_seconds"),
                "paused": int(sample_total(metrics, "pipeline_partitions_paused")),
                # The merge's (or the one detector's) and every shard's, added up; and each shard's.
                "state": {
                    kind: int(
                        sample_total(metrics, "pipeline_detector_state_entries", kind=kind)
                        + sample_total(metrics, "pipeline_detect_shard_state_entries", kind=kind)
                    )
                    for kind in STATE_KINDS
                },
                "shards": {
                    str(shard): {
                        kind: int(
                            sample_total(
                                metrics, "pipeline_detect_shard_state_entries", shard=str(shard), kind=kind
                            )
                        )
                        for kind in SHARD_KINDS
                    }
                    for shard in range(detect_partitions if detect_partitions > 1 else 0)
                },
            }
            samples.append(record)
            return record

        if backlog:
            # The clock starts with the worker, which has been reading since it started.
            origin = launched
            sample(time.monotonic() - origin)
            say(f"worker ready after {samples[0]['t']:.1f}s (RSS {samples[0]['rss_kb'] / 1024:.0f} MB)")
            marks["replay_start"] = marks["replay_end"] = 0.0
        else:
            origin = time.monotonic()
            sample(0.0)
            say(f"worker ready (RSS {samples[0]['rss_kb'] / 1024:.0f} MB); replaying at max speed ...")
            marks["replay_start"] = time.monotonic() - origin
            replay_log = (work / "replay.log").open("w")
            sender = subprocess.Popen(
                send_command(feed, bootstrap, partitions, work),
                stdout=subprocess.DEVNULL, stderr=replay_log, start_new_session=True,
            )  # fmt: skip
            replay_log.close()
        next_sample = time.monotonic() + interval
        while True:
            # Sleep until the next sample, waking early when the replay ends (then sample at once).
            remaining = next_sample - time.monotonic()
            if remaining > 0:
                if sender is not None and sender.poll() is None:
                    with suppress(subprocess.TimeoutExpired):
                        sender.wait(timeout=remaining)
                else:
                    time.sleep(remaining)
            now = time.monotonic()
            next_sample = now + interval
            if sender is not None and sender.returncode is not None and "replay_end" not in marks:
                marks["replay_end"] = now - origin
                lines = (work / "replay.log").read_text().strip().splitlines()
                say(lines[-1] if lines else f"replay exited {sender.returncode}")
                if sender.returncode != 0:
                    raise RuntimeError(f"the replay failed ({sender.returncode}); see {work / 'replay.log'}")
            if worker.poll() is not None:
                raise RuntimeError(f"the worker exited with {worker.returncode}; see {work / 'worker.log'}")
            record = sample(now - origin)
            say(
                f"t={record['t']:7.1f}s  produced={record['produced']:>10,}  "
                f"consumed={record['consumed']:>10,}  lag={record['lag']:>9,}  "
                f"RSS={(record['rss_kb'] or 0) / 1024:7.1f} MB"
            )
            done = record["consumed"] + record["notices"] >= feed_info.get("records", feed_info["posts"])
            if "replay_end" in marks and record["lag"] == 0 and done:
                marks.setdefault("caught_up", record["t"])
                if record["watermark"] >= final_watermark:
                    marks["detect_caught_up"] = record["t"]
                    outcome = "completed"
                    break
            if now - origin > timeout:
                outcome = "timed out"
                break
    except KeyboardInterrupt:
        say("interrupted: stopping everything")
    finally:
        stop_process(sender, signal.SIGTERM, 60)
        stop_process(worker, signal.SIGINT, 60)
        if lag is not None:
            lag.close()
        broker.stop()
        if samples and "replay_start" in marks:
            results = {
                "outcome": outcome,
                "mode": mode,
                "feed": feed_info,
                "summary": summarize(samples, marks, feed_info),
                "marks": {name: round(at, 2) for name, at in marks.items()},
                "samples": samples,
            }
            results_path.write_text(json.dumps(results, indent=2))
            print(json.dumps({"outcome": outcome, **results["summary"]}, indent=2))
            say(f"results in {results_path}")
        if keep:
            say(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0 if outcome == "completed" else 1


if __name__ == "__main__":
    sys.exit(main())
