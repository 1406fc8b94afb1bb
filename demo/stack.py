"""The processes of the demo: the broker (deploy/kafka/kafka.sh), a worker, Prometheus, Alertmanager and
the replay, each in its own process group with its log in the run directory, and all of them stopped on
the way out, in order, whatever ends the run.

Every process started here carries ``IRAN2009_DEMO_RUN=<run id>`` in its environment (children inherit
it: the worker's classifier processes, the broker's JVM), so :func:`leftovers` finds anything still
running of this run, and :meth:`Stack.close` ends it: nothing is left behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from demo.config import (
    ALERTMANAGER_CONFIG,
    KAFKA_SH,
    PARTITIONS,
    PROMETHEUS_CONFIG,
    REPO,
    DemoConfig,
    alertmanager_config,
    prometheus_config,
)
from pipeline.metrics import read_samples, sample_total

MARKER = "IRAN2009_DEMO_RUN"
KILL_WAIT_SECONDS = 5.0  # how long close() waits for killed processes to be gone


class StartError(RuntimeError):
    """A part of the stack could not start: ``str()`` says which and why, with its log's tail."""


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def leftovers(run_id: str, *, exclude: int | None = None) -> list[int]:
    """Live processes whose environment carries this run's marker."""
    wanted = f"{MARKER}={run_id}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        try:
            environ = (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if state != "Z" and wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (OSError, ValueError):
        return False


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log: Path
    stop_signal: int = signal.SIGTERM
    stop_timeout: float = 20.0
    url: str | None = None

    @property
    def running(self) -> bool:
        return self.process.poll() is None


@dataclass
class Topics:
    """The run's own topics and consumer group: a new run never reads an old one's records or state."""

    prefix: str

    @property
    def posts(self) -> str:
        return f"{self.prefix}.posts"

    @property
    def alerts(self) -> str:
        return f"{self.prefix}.alerts"

    def env(self) -> dict[str, str]:
        return {
            "POSTS_TOPIC": self.posts,
            "CLASSIFIED_TOPIC": f"{self.prefix}.classified",
            "DETECT_TOPIC": f"{self.prefix}.detect",
            "ALERTS_TOPIC": self.alerts,
            "DEAD_LETTER_TOPIC": f"{self.prefix}.dead-letter",
            "PIPELINE_APP_ID": self.prefix,
            "POSTS_PARTITIONS": str(PARTITIONS),
        }


@dataclass
class Stack:
    config: DemoConfig
    run_dir: Path
    say: Callable[[str], None]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    services: list[Service] = field(default_factory=list)
    bootstrap: str | None = None
    kafka_started: bool = False  # by this run: stopped at the end (a broker already up is left alone)
    topics: Topics = field(init=False)
    worker_url: str | None = None
    replay_url: str | None = None
    prometheus_url: str | None = None
    alertmanager_url: str | None = None

    def __post_init__(self) -> None:
        self.topics = Topics(f"demo-{time.strftime('%Y%m%d-%H%M%S')}-{self.run_id}")

    # --- environment ---------------------------------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, MARKER: self.run_id, "PYTHONUNBUFFERED": "1", **extra}
        if self.bootstrap:
            env["KAFKA_BOOTSTRAP"] = self.bootstrap
        return env

    def kafka_env(self) -> dict[str, str]:
        env = self.env(KAFKA_PORT=str(self.config.kafka_port), KAFKA_DATA=str(self.config.kafka_data))
        # KAFKA_CONTROLLER_PORT, KAFKA_VERSION, ... pass through from the caller's environment.
        return env

    def port(self, name: str, preferred: int) -> int:
        """``preferred`` if free, else any free port (said)."""
        if port_free(preferred):
            return preferred
        chosen = free_port()
        self.say(f"port {preferred} is taken: {name} on 127.0.0.1:{chosen} instead")
        return chosen

    # --- starting ------------------------------------------------------------------------------------

    def start(self, name: str, argv: list[str], *, env: dict[str, str], **options) -> Service:
        log = self.run_dir / f"{name.lower()}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                env=env,
                cwd=REPO,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: Ctrl-C reaches the demo only
            )
        service = Service(name, process, log, **options)
        self.services.append(service)
        return service

    def wait_ready(self, service: Service, url: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not service.running:
                raise StartError(
                    f"{service.name} exited with {service.process.returncode}; the end of {service.log}:\n"
                    + tail(service.log)
                )
            if http_ok(url):
                return
            time.sleep(0.2)
        raise StartError(f"{service.name} did not answer on {url} within {timeout:.0f}s; see {service.log}")

    def start_kafka(self) -> str:
        env = self.kafka_env()
        status = subprocess.run(
            ["bash", str(KAFKA_SH), "status"], env=env, capture_output=True, text=True, check=False
        )
        if status.returncode == 0:
            self.say(f"using the broker that is already up ({status.stdout.strip()}); it stays up")
        else:
            self.kafka_started = True  # from here on, the end of the run stops it
            self.say(
                f"starting Kafka on 127.0.0.1:{self.config.kafka_port} (data in {self.config.kafka_data}) ..."
            )
        started = time.monotonic()
        result = subprocess.run(
            ["bash", str(KAFKA_SH), "start"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
            start_new_session=True,
        )
        if result.returncode != 0:
            raise StartError("kafka.sh start failed:\n" + "\n".join(result.stderr.strip().splitlines()[-10:]))
        lines = result.stdout.strip().splitlines()
        bootstrap = next(
            (line.split("=", 1)[1] for line in lines if line.startswith("KAFKA_BOOTSTRAP=")), None
        )
        if bootstrap is None:
            raise StartError(f"kafka.sh start printed no KAFKA_BOOTSTRAP line:\n{result.stdout}")
        if any(line.startswith("KAFKA_SECURITY=") for line in lines):
            raise StartError(
                f"the broker in {self.config.kafka_data} is in secure mode (sasl_ssl); the demo needs a "
                "plaintext one: set KAFKA_DATA and KAFKA_PORT to another broker's"
            )
        if self.kafka_started:
            self.say(f"Kafka is up at {bootstrap} ({time.monotonic() - started:.0f}s)")
        self.bootstrap = bootstrap
        return bootstrap

    def _installed(self, name: str, command: str, package: str) -> str | None:
        """The path of ``command``, or None after saying the demo goes on without it."""
        binary = shutil.which(command)
        if binary is None:
            self.say(
                f"{name} ({command}) is not installed: going on without it "
                f"(Debian: apt-get install {package}, or make system-deps)"
            )
        return binary

    def start_alertmanager(self, webhook: str | None = None) -> str | None:
        """Alertmanager on the project's routes, its receivers' webhooks sent to ``webhook``."""
        binary = self._installed("Alertmanager", self.config.alertmanager_bin, "prometheus-alertmanager")
        if binary is None:
            return None
        base = None
        if ALERTMANAGER_CONFIG.is_file():
            base = _load_yaml(ALERTMANAGER_CONFIG)
        else:
            self.say(f"{ALERTMANAGER_CONFIG.relative_to(REPO)} is missing: Alertmanager gets one receiver")
        path = self.run_dir / "alertmanager.yml"
        path.write_text(
            json.dumps(alertmanager_config(base, webhook), indent=2), encoding="utf-8"
        )  # JSON is YAML
        port = self.port("Alertmanager", self.config.alertmanager_port)
        service = self.start(
            "Alertmanager",
            [
                binary,
                f"--config.file={path}",
                f"--storage.path={self.run_dir / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--cluster.listen-address=",  # no gossip port: one instance, this machine only
                "--log.level=warn",
            ],
            env=self.env(),
        )
        self.wait_ready(service, f"http://127.0.0.1:{port}/-/ready", timeout=30)
        self.alertmanager_url = service.url = f"http://127.0.0.1:{port}"
        return self.alertmanager_url

    def start_prometheus(self, worker_port: int, replay_port: int) -> str | None:
        binary = self._installed("Prometheus", self.config.prometheus_bin, "prometheus")
        if binary is None:
            return None
        alertmanager = self.alertmanager_url.removeprefix("http://") if self.alertmanager_url else None
        config = prometheus_config(
            _load_yaml(PROMETHEUS_CONFIG),
            rules_dir=PROMETHEUS_CONFIG.parent,
            targets={"pipeline": f"127.0.0.1:{worker_port}", "replay": f"127.0.0.1:{replay_port}"},
            alertmanager=alertmanager,
        )
        path = self.run_dir / "prometheus.yml"
        path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        port = self.port("Prometheus", self.config.prometheus_port)
        service = self.start(
            "Prometheus",
            [
                binary,
                f"--config.file={path}",
                f"--storage.tsdb.path={self.run_dir / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                "--storage.tsdb.retention.time=1d",
                "--log.level=warn",
            ],
            env=self.env(),
        )
        self.wait_ready(service, f"http://127.0.0.1:{port}/-/ready", timeout=60)
        self.prometheus_url = service.url = f"http://127.0.0.1:{port}"
        return self.prometheus_url

    def start_worker(self, port: int) -> str:
        env = self.env(
            **self.topics.env(),
            METRICS_PORT=str(port),
            METRICS_HOST="127.0.0.1",
            PIPELINE_DATA_DIR=str(self.run_dir / "worker-data"),
            STOP_SECONDS="20",
            HEALTH_INTERVAL="2",  # lag on screen every 2 s
        )
        service = self.start(
            "Worker", [sys.executable, "-m", "pipeline", "worker"], env=env, stop_signal=signal.SIGINT,
            stop_timeout=30,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        self.wait_ready(service, f"{url}/metrics", timeout=90)
        self.worker_url = service.url = f"{url}/metrics"
        # Consuming (partitions of the posts topic assigned), so what is replayed flows through at once.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and service.running:
            try:
                samples = read_samples(self.worker_url, timeout=2)
            except (OSError, ValueError):
                samples = {}
            if sample_total(samples, "pipeline_assigned_partitions", topic=self.topics.posts) > 0:
                break
            time.sleep(0.3)
        return self.worker_url

    def start_replay(self, feed: Path | None, speed: float, port: int) -> Service:
        argv = [sys.executable, "-m", "replay", "send"]
        if feed is not None:
            argv.append(str(feed))
        argv += [
            "--topic", self.topics.posts, "--partitions", str(PARTITIONS), "--speed", f"{speed:.6g}",
            "--metrics-port", str(port), "--state", str(self.run_dir), "--quiet",
        ]  # fmt: skip
        service = self.start("Replay", argv, env=self.env(), stop_timeout=20)
        self.replay_url = service.url = f"http://127.0.0.1:{port}"
        return service

    def service(self, name: str) -> Service | None:
        return next((service for service in self.services if service.name == name), None)

    # --- stopping ------------------------------------------------------------------------------------

    def stop(self, service: Service) -> None:
        process = service.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(service.stop_signal)
            try:
                process.wait(timeout=service.stop_timeout)
            except subprocess.TimeoutExpired:
                self.say(f"{service.name} did not stop within {service.stop_timeout:g}s: killing it")
        # Whatever it started is in its process group: gone too.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)

    def close(self) -> None:
        """Stop everything this run started, last started first; then its topics go, then the broker it
        started. Safe to call twice, and after a failed start."""
        try:
            for service in reversed(self.services):
                try:
                    if service.running:
                        self.say(f"stopping {service.name}")
                finally:
                    self.stop(service)
            self.services.clear()
            if self.bootstrap is not None:
                self._purge()  # the broker keeps no demo topics, whether it stays up or not
            if self.kafka_started:
                try:
                    self.say("stopping Kafka")
                finally:
                    self._stop_kafka()
        finally:
            # Whatever is still there of this run (a step above failed, or a process escaped its group).
            for pid in leftovers(self.run_id, exclude=os.getpid()):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            # A killed process lives on until the kernel has torn it down: return once they are gone.
            deadline = time.monotonic() + KILL_WAIT_SECONDS
            while leftovers(self.run_id, exclude=os.getpid()) and time.monotonic() < deadline:
                time.sleep(0.05)
            self.bootstrap = None

    def _stop_kafka(self) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            subprocess.run(
                ["bash", str(KAFKA_SH), "stop"],
                env=self.kafka_env(),
                capture_output=True,
                check=False,
                start_new_session=True,
                timeout=90,
            )
        self.kafka_started = False

    def _purge(self) -> None:
        """The run's topics, consumer groups and worker state: ``python -m pipeline purge --yes``."""
        env = self.env(**self.topics.env(), PIPELINE_DATA_DIR=str(self.run_dir / "worker-data"))
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            subprocess.run(
                [sys.executable, "-m", "pipeline", "purge", "--yes"],
                env=env,
                cwd=REPO,
                capture_output=True,
                check=False,
                start_new_session=True,
                timeout=60,
            )


def _load_yaml(path: Path) -> dict:
    try:
        import yaml
    except ImportError:
        raise StartError(
            f"PyYAML is needed to read {path} (make install installs it: pip install -e '.[dev]')"
        ) from None
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}
