from __future__ import annotations

import os
import signal
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.support import free_port, python_module, scrape, wait_until

pytestmark = pytest.mark.integration


@dataclass
class RunningWorker:
    process: subprocess.Popen[str]
    topic: str
    dead_letter_topic: str
    classified_topic: str
    metrics_url: str

    def metrics(self) -> dict[str, float]:
        return scrape(self.metrics_url)

    def consumed(self) -> int:
        return int(self.metrics().get("pipeline_posts_consumed_total", 0))


@pytest.fixture
def worker(kafka_bootstrap, tmp_path) -> Iterator[RunningWorker]:
    """A real `python -m pipeline worker` on its own topic and consumer group."""
    name = f"t{uuid.uuid4().hex[:8]}"
    port = free_port()
    env = {
        **os.environ,
        "DEAD_LETTER_TOPIC": f"{name}.dead-letter",
        "CLASSIFIED_TOPIC": f"{name}.classified",
        "POSTS_PARTITIONS": "2",
    }
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            python_module(
                "pipeline", "worker",
                "--bootstrap", kafka_bootstrap,
                "--topic", f"{name}.posts",
                "--app-id", f"{name}-app",
                "--metrics-port", str(port),
                "--data-dir", str(tmp_path / "faust"),
            ),
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )  # fmt: skip
    running = RunningWorker(
        process,
        topic=f"{name}.posts",
        dead_letter_topic=f"{name}.dead-letter",
        classified_topic=f"{name}.classified",
        metrics_url=f"http://127.0.0.1:{port}/metrics",
    )
    try:
        wait_until(lambda: running.metrics() is not None, timeout=60, what="the worker's metrics endpoint")
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
