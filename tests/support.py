"""Helpers for tests that run real processes: free ports, waiting on conditions, a real broker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import TypeVar

from feed import Post, post_from_record
from feed.pseudonyms import Pseudonymizer, load_key
from pipeline.metrics import read_samples, totals_by_name

REPO = Path(__file__).resolve().parents[1]
# Every process a test starts (replayer, worker, analyze) pseudonymizes under this key, so a test can
# compute what the stack publishes; no key file is written into the tester's home.
TEST_AUTHOR_KEY = "tests-only-pseudonym-key"
os.environ.setdefault("AUTHOR_KEY", TEST_AUTHOR_KEY)


def as_sent(post: Post) -> Post:
    """The post as the replayer sends it by default (feed/pseudonyms.py)."""
    return post_from_record(Pseudonymizer(load_key()).record(post.to_record()))


KAFKA_SH = REPO / "deploy" / "kafka" / "kafka.sh"
# Resolved once, so tests may hand kafka.sh a PATH without bash on it.
BASH = shutil.which("bash") or "/bin/bash"
T = TypeVar("T")


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition: Callable[[], T], *, timeout: float, what: str, interval: float = 0.2) -> T:
    """Poll ``condition`` until it returns something truthy; fail with ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
        except Exception as exc:  # the condition may fail until the thing it probes is up
            last_error = exc
        else:
            last_error = None
            if result:
                return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last error: {last_error!r})")


def kafka_env(data_dir: Path, port: int, controller_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_DATA": str(data_dir),
        "KAFKA_PORT": str(port),
        "KAFKA_CONTROLLER_PORT": str(controller_port),
    }


def kafka_sh(command: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [BASH, str(KAFKA_SH), command], env=env, capture_output=True, text=True, timeout=timeout
    )


def broker_pids(config_path: Path) -> list[int]:
    """Live processes running kafka.Kafka with this config file."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if f"kafka.Kafka {config_path}" in cmdline:
            pids.append(int(entry.name))
    return pids


def scrape(url: str) -> dict[str, float]:
    """Sum each sample name across labels, e.g. {'pipeline_posts_consumed_total': 63.0}."""
    return totals_by_name(read_samples(url))


def python_module(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def stop_process(process: subprocess.Popen) -> None:
    """Terminates a helper process (Prometheus, Alertmanager, ...), killing it after 15 s."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
