"""Reading the running stack for the view: the worker's and the replay's /metrics, Prometheus's and
Alertmanager's alerts, and the alerts topic (a kafka-python consumer in a thread). The numbers go
through :mod:`demo.snapshot`; nothing here decides what is shown.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.request
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from demo.snapshot import ReplayState, WorkerState, prometheus_alerts, replay_state, worker_state
from demo.wording import notification
from pipeline.metrics import Samples, read_samples

Record = dict[str, Any]
TIMEOUT = 2.0


def get_json(url: str, timeout: float = TIMEOUT) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


class AlertFollower:
    """Every record of the alerts topic, from its beginning, as they come (a daemon thread)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self._records: list[Record] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="demo-alerts", daemon=True)

    def start(self) -> AlertFollower:
        self._thread.start()
        return self

    @property
    def records(self) -> list[Record]:
        with self._lock:
            return list(self._records)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    close = stop

    def _run(self) -> None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        try:
            consumer = KafkaConsumer(
                self.topic,
                bootstrap_servers=self.bootstrap,
                auto_offset_reset="earliest",
                enable_auto_commit=False,
                allow_auto_create_topics=False,  # the worker creates it, with its partitions
                client_id="iran2009-demo",
            )
        except KafkaError as exc:
            self.error = f"cannot follow {self.topic}: {exc}"
            return
        try:
            while not self._stop.is_set():
                batches = consumer.poll(timeout_ms=300)
                fresh = []
                for records in batches.values():
                    for record in records:
                        try:
                            fresh.append(orjson.loads(record.value))
                        except orjson.JSONDecodeError:
                            continue
                if fresh:
                    with self._lock:
                        self._records.extend(fresh)
        except Exception as exc:
            self.error = f"stopped following {self.topic}: {exc!r}"
        finally:
            consumer.close()


class WebhookReceiver:
    """Where the demo's Alertmanager sends its notifications (every receiver's webhook): an HTTP server
    on 127.0.0.1 in a daemon thread, keeping each one in words (:func:`demo.wording.notification`)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.notifications = 0
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    payload = json.loads(self.rfile.read(min(length, 1 << 20)) or b"{}")
                except ValueError:
                    payload = {}
                if isinstance(payload, dict):
                    receiver.add(payload)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        threading.Thread(target=self._server.serve_forever, name="demo-webhook", daemon=True).start()

    def add(self, payload: Record) -> None:
        with self._lock:
            self.notifications += 1
            self.lines.extend(notification(payload))

    def latest(self) -> tuple[int, tuple[str, ...]]:
        with self._lock:
            return self.notifications, tuple(self.lines)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class Endpoint:
    """One /metrics endpoint, read again and again: the latest samples and the ones before, for rates."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.now: Samples | None = None
        self.before: Samples | None = None
        self.seconds = 0.0
        self._read_at = 0.0

    def read(self) -> bool:
        if self.url is None:
            return False
        try:
            samples = read_samples(self.url, timeout=TIMEOUT)
        except (OSError, ValueError):
            return False
        now = time.monotonic()
        self.before, self.now = self.now, samples
        self.seconds = now - self._read_at if self._read_at else 0.0
        self._read_at = now
        return True


class Monitor:
    """Polls the stack from a daemon thread every ``interval`` seconds; :meth:`latest` is thread-safe."""

    def __init__(
        self,
        *,
        worker_url: str,
        posts_topic: str,
        prometheus_url: str | None,
        alertmanager_url: str | None,
        interval: float = 1.0,
    ) -> None:
        self.worker = Endpoint(worker_url)
        self.replay = Endpoint(None)
        self.posts_topic = posts_topic
        self.prometheus_url = prometheus_url
        self.alertmanager_url = alertmanager_url
        self.interval = interval
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {
            "replay": None,
            "worker": None,
            "firing": (),
            "pending": 0,
            "alertmanager": None,
        }
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="demo-monitor", daemon=True)
        self._polls = 0
        self._replay_done = False

    def watch_replay(self, url: str) -> None:
        self.replay.url = f"{url}/metrics"

    def replay_finished(self, *, complete: bool, last_ts: float) -> None:
        """The replay process exited: its last reading stays, marked finished (and, when it sent the
        whole feed, with every post acknowledged up to the feed's last event time)."""
        self.replay.url = None
        self._replay_done = True
        with self._lock:
            last: ReplayState = self._state["replay"] or ReplayState()
            if complete:
                last = replace(last, acknowledged=last.planned or last.acknowledged, event_time=last_ts)
            self._state["replay"] = replace(last, finished=True, rate=0.0, paused=False)

    def start(self) -> Monitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    close = stop

    def latest(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)

    def poll(self) -> None:
        """One round of reading (also called directly, for a last reading at the end)."""
        update: dict[str, Any] = {}
        if self.worker.read() and self.worker.now is not None:
            update["worker"] = worker_state(
                self.worker.now, self.worker.before, self.worker.seconds, posts_topic=self.posts_topic
            )
        if self.replay.read() and self.replay.now is not None:
            reading = replay_state(self.replay.now, self.replay.before, self.replay.seconds)
            if not self._replay_done:
                update["replay"] = reading
        # Prometheus and Alertmanager every other round: they change at their own (2 s) pace.
        if self._polls % 2 == 0:
            if self.prometheus_url is not None:
                with contextlib.suppress(OSError, ValueError):
                    update["firing"], update["pending"] = prometheus_alerts(
                        get_json(f"{self.prometheus_url}/api/v1/alerts")
                    )
            if self.alertmanager_url is not None:
                try:
                    answer = get_json(f"{self.alertmanager_url}/api/v2/alerts")
                    update["alertmanager"] = len(answer) if isinstance(answer, list) else None
                except (OSError, ValueError):
                    pass
        self._polls += 1
        with self._lock:
            self._state.update(update)

    def _run(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.poll()
            self._stop.wait(max(0.05, self.interval - (time.monotonic() - started)))


def worker_done(worker: WorkerState | None, *, final_watermark: float | None, alerts_read: int) -> bool:
    """The worker has read the whole feed (the end markers of every partition), closed its windows to
    the feed's end, and every alert it raised is on the alerts topic and read back."""
    if worker is None:
        return False
    from demo.config import PARTITIONS

    closed = final_watermark is None or (worker.watermark or 0) >= final_watermark
    return worker.end_markers >= PARTITIONS and closed and alerts_read >= worker.alerts_raised
