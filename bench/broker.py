"""The bench's own Kafka broker (deploy/kafka/kafka.sh, free ports, data in a temp dir) and offset probes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from contextlib import closing, suppress
from pathlib import Path

from kafka import KafkaAdminClient, TopicPartition
from kafka.admin import NewTopic, OffsetSpec
from kafka.errors import TopicAlreadyExistsError

REPO = Path(__file__).resolve().parents[1]
# Set by Ctrl-C / SIGTERM (bench.run). kafka-python's own event loop catches BaseException, so a
# KeyboardInterrupt raised inside a client call can be swallowed: the bench's loops check this too.
INTERRUPTED = threading.Event()


def check_interrupted() -> None:
    if INTERRUPTED.is_set():
        raise KeyboardInterrupt


KAFKA_SH = REPO / "deploy" / "kafka" / "kafka.sh"
KAFKA_VERSION = os.environ.get("KAFKA_VERSION", "4.1.1")


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Broker:
    """``kafka.sh start`` in the background (so the feed can be generated meanwhile), ``stop`` always."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        port = free_port()
        controller = free_port()
        while controller == port:
            controller = free_port()
        self.env = {
            **os.environ,
            "KAFKA_DATA": str(data_dir),
            "KAFKA_PORT": str(port),
            "KAFKA_CONTROLLER_PORT": str(controller),
            "KAFKA_VERSION": KAFKA_VERSION,
        }
        self.bootstrap = f"127.0.0.1:{port}"
        self._starting: subprocess.Popen[str] | None = None
        self.started = False

    def start(self) -> None:
        self.started = True
        self._starting = subprocess.Popen(
            ["bash", str(KAFKA_SH), "start"],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def wait(self, timeout: float = 300) -> str:
        assert self._starting is not None
        out, err = self._starting.communicate(timeout=timeout)
        if self._starting.returncode != 0:
            raise RuntimeError(f"kafka.sh start failed ({self._starting.returncode}):\n{err}{out}")
        return self.bootstrap

    def pid(self) -> int | None:
        try:
            return int((self.data_dir / "kafka.pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def stop(self) -> None:
        if not self.started:
            return
        if self._starting is not None and self._starting.poll() is None:
            self._starting.kill()  # interrupted while starting: stop whatever it launched below
            self._starting.wait()
        pid = self.pid()
        # Its own session: a second Ctrl-C at the terminal must not cut the stop short.
        result = subprocess.run(
            ["bash", str(KAFKA_SH), "stop"],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            start_new_session=True,
        )
        if result.returncode != 0:
            print(f"bench: kafka.sh stop failed: {result.stderr}", file=sys.stderr)
        if pid is not None and self._is_our_broker(pid):
            _kill(pid)
        self.started = False

    def _is_our_broker(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            return False
        return f"kafka.Kafka {self.data_dir / 'server.properties'}" in cmdline


def _kill(pid: int) -> None:
    """SIGTERM, then SIGKILL after 30 s."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


class Offsets:
    """End offsets of topics and committed offsets of groups, through one admin client."""

    def __init__(self, bootstrap: str) -> None:
        self.admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="iran2009-bench")
        self._partitions: dict[str, list[TopicPartition]] = {}

    def create(self, topics: dict[str, int]) -> None:
        """Creates the missing topics (name → partitions) and waits until they have leaders."""
        existing = set(self.admin.list_topics())
        new = [NewTopic(name, num_partitions=n, replication_factor=1) for name, n in topics.items()]
        new = [topic for topic in new if topic.name not in existing]
        if new:
            with suppress(TopicAlreadyExistsError):
                self.admin.create_topics(new)
        self.admin.wait_for_topics(list(topics), timeout_ms=60_000)

    def partitions(self, topic: str) -> list[TopicPartition]:
        if topic not in self._partitions:
            (description,) = self.admin.describe_topics([topic])
            self._partitions[topic] = sorted(
                TopicPartition(topic, p["partition_index"]) for p in description["partitions"]
            )
        return self._partitions[topic]

    def end_offsets(self, topic: str) -> dict[TopicPartition, int]:
        specs = {tp: OffsetSpec.LATEST for tp in self.partitions(topic)}
        return {tp: found.offset for tp, found in self.admin.list_partition_offsets(specs).items()}

    def end_total(self, topic: str) -> int:
        return sum(self.end_offsets(topic).values())

    def committed(self, group: str, topic: str) -> dict[TopicPartition, int]:
        offsets = self.admin.list_group_offsets({group: None}).get(group, {})
        return {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic and meta.offset >= 0}

    def close(self) -> None:
        self.admin.close()


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        check_interrupted()
        try:
            result = condition()
        except Exception as exc:  # the thing probed may not be up yet
            last_error = exc
        else:
            if result:
                return result
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r})")
