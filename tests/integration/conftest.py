from __future__ import annotations

import os
import re
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from feed import read_feed
from feed.model import Deletion
from feed.pseudonyms import Pseudonymizer, load_key
from feed.reader import feed_item
from pipeline.analyze import analyze
from pipeline.detect import DetectorConfig
from pipeline.detect.dedupe import DEDUPE_HORIZON_SECONDS
from pipeline.engine import Engine
from replay.generate import write_scenario
from tests.support import as_sent, python_module, scrape, wait_until

pytestmark = pytest.mark.integration


@dataclass
class RunningWorker:
    process: subprocess.Popen[str]
    topic: str
    dead_letter_topic: str
    classified_topic: str
    alerts_topic: str
    metrics_url: str
    log_path: Path | None = None  # what the worker printed

    def metrics(self) -> dict[str, float]:
        return scrape(self.metrics_url)

    def consumed(self) -> int:
        return int(self.metrics().get("pipeline_posts_consumed_total", 0))

    def stop(self, timeout: float = 60) -> int | None:
        """Ctrl-C, then SIGKILL after ``timeout``; the exit code, or None when it had to be killed."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                return None
        return self.process.returncode


METRICS_LINE = re.compile(r"metrics on http://127\.0\.0\.1:(\d+)/metrics")


def start_worker(
    bootstrap: str,
    name: str,
    work_dir: Path,
    *,
    partitions: int = 2,
    detect_partitions: int = 1,
    environment: dict[str, str] | None = None,
) -> RunningWorker:
    """A real `python -m pipeline worker` in group ``name``-app over topics named after ``name``.

    The worker takes any free metrics port itself (``--metrics-port 0``) and prints it: a port picked
    here and handed over could be taken by another process in between, and the test would then talk
    to that process (a /health answer of another worker's start-up looked like this worker's)."""
    env = {
        **os.environ,
        "DEAD_LETTER_TOPIC": f"{name}.dead-letter",
        "CLASSIFIED_TOPIC": f"{name}.classified",
        "DETECT_TOPIC": f"{name}.detect",
        "PARTS_TOPIC": f"{name}.parts",
        "ALERTS_TOPIC": f"{name}.alerts",
        "POSTS_PARTITIONS": str(partitions),
        "DETECT_PARTITIONS": str(detect_partitions),
        **(environment or {}),
    }
    work_dir.mkdir(parents=True, exist_ok=True)
    token = uuid.uuid4().hex[:8]
    log_path = work_dir / f"worker-{token}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            python_module(
                "pipeline", "worker",
                "--bootstrap", bootstrap,
                "--topic", f"{name}.posts",
                "--app-id", f"{name}-app",
                "--metrics-port", "0",
                "--data-dir", str(work_dir / f"faust-{token}"),
            ),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip

    def announced_port() -> int | None:
        if process.poll() is not None:
            raise AssertionError(
                f"the worker exited with {process.returncode}: {log_path.read_text()[-2000:]}"
            )
        found = METRICS_LINE.search(log_path.read_text(errors="replace"))
        return int(found.group(1)) if found else None

    try:
        port = wait_until(announced_port, timeout=60, what="the worker to announce its metrics port")
    except AssertionError:
        process.kill()
        process.wait()
        raise
    running = RunningWorker(
        process,
        topic=f"{name}.posts",
        dead_letter_topic=f"{name}.dead-letter",
        classified_topic=f"{name}.classified",
        alerts_topic=f"{name}.alerts",
        metrics_url=f"http://127.0.0.1:{port}/metrics",
        log_path=log_path,
    )
    try:
        wait_until(lambda: running.metrics() is not None, timeout=60, what="the worker's metrics endpoint")
    except AssertionError:
        running.stop()
        raise
    return running


@pytest.fixture
def workers(kafka_bootstrap, tmp_path) -> Iterator[Callable[..., RunningWorker]]:
    """Starts workers on demand (same name = same group); all are stopped at the end."""
    started: list[RunningWorker] = []

    def start(
        name: str | None = None,
        *,
        partitions: int = 2,
        detect_partitions: int = 1,
        environment: dict[str, str] | None = None,
    ) -> RunningWorker:
        running = start_worker(
            kafka_bootstrap,
            name or f"t{uuid.uuid4().hex[:8]}",
            tmp_path,
            partitions=partitions,
            detect_partitions=detect_partitions,
            environment=environment,
        )
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()


@pytest.fixture
def worker(workers) -> RunningWorker:
    """One real worker on its own topics and consumer group."""
    return workers()


@dataclass(frozen=True)
class Scenario:
    """A generated feed and what the offline oracle says of it."""

    feed: Path
    alerts: list[dict]  # analyze's, in order
    posts: int
    ids: frozenset[str]
    last_ts: float
    final_watermark: float  # analyze's final watermark: the replay's end-of-feed markers take detection there
    last_hour_posts: int  # posts within the dedupe horizon of the feed's last event time


def with_account_tactics(feed: Path) -> None:
    """Rewrites a generated feed with what the account detectors look for (issue 18): background
    deletions, a mass self-deletion in IR (of the posts of the middle tenth, a tenth of the feed later), a
    campaign of 30 new accounts posting one claim in near-identical words (at three quarters), and half
    the US authors posting as IR in the last sixth."""
    import random
    from dataclasses import replace

    from feed import Post
    from feed.model import Deletion

    rng = random.Random(18)
    posts = list(read_feed(feed))
    first, last = min(p.ts for p in posts), max(p.ts for p in posts)
    span = last - first
    movers = set(sorted({p.author for p in posts if p.region == "US" and p.author})[::2])
    items: list = []
    for post in posts:
        if post.author in movers and post.ts > last - span / 6:
            post = replace(post, region="IR")
        items.append(post)
        age = (post.ts - first) / span
        if post.region == "IR" and 0.45 <= age < 0.55 and rng.random() < 0.5:
            items.append(Deletion(id=post.id, ts=post.ts + span / 10, author=post.author))
        elif rng.random() < 0.02 and post.ts + 600 < last:
            items.append(Deletion(id=post.id, ts=post.ts + 600, author=post.author))
    start = first + 0.75 * span
    twists = ["", "now", "friends", "please", "at all", "brothers"]
    for i in range(30):
        claim = "Mousavi supporters are attacking police in Vanak square, do not trust them"
        text = f"{claim} {rng.choice(twists)}"
        items.append(
            Post(
                id=f"campaign-{i}",
                ts=round(start + rng.random() * 600, 3),
                text=text,
                author=f"new_account_{i}",
                lang="en",
                region="IR",
                author_created=start - 3 * 86400,
                author_followers=rng.randint(0, 9),
            )
        )
    items.sort(key=lambda item: item.ts)
    feed.write_bytes(b"".join(item.to_json() + b"\n" for item in items))


def build_scenario(folder: Path, hours: float, *, accounts: bool = False) -> Scenario:
    """The iran2009 scenario (seed 1) cut to ``hours``, written to ``folder``, with analyze's alerts;
    ``accounts``: with the account tactics of :func:`with_account_tactics` woven in."""
    feed = folder / "feed.jsonl"
    write_scenario(
        "iran2009", seed=1, hours=hours, rate=None, feed_path=feed, truth_path=folder / "truth.json"
    )
    if accounts:
        with_account_tactics(feed)
    alerts_path = folder / "alerts.jsonl"
    with alerts_path.open("wb") as alerts_out:
        # As the stack sees the feed: ids, authors and mentions pseudonymized by the replayer.
        report = analyze(
            feed, engine=Engine(), alerts_out=alerts_out, pseudonymizer=Pseudonymizer(load_key())
        )
    alerts = [orjson.loads(line) for line in alerts_path.read_bytes().splitlines()]
    posts = [item for item in read_feed(feed, build=feed_item) if not isinstance(item, Deletion)]
    last_ts = max(post.ts for post in posts)
    return Scenario(
        feed=feed,
        alerts=alerts,
        posts=report.posts,
        ids=frozenset(as_sent(post).id for post in posts),
        last_ts=last_ts,
        final_watermark=last_ts - DetectorConfig().lateness_seconds,
        last_hour_posts=sum(1 for post in posts if post.ts >= last_ts - DEDUPE_HORIZON_SECONDS),
    )
