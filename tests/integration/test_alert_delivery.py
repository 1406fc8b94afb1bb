"""Alert delivery end to end: a filtering episode in the feed becomes a webhook call.

A real worker on the real broker, a real Prometheus (/usr/bin/prometheus) with deploy/prometheus's rules
scraping it, and a real Alertmanager (Debian's /usr/bin/prometheus-alertmanager) with the routes and
receivers of deploy/alertmanager/alertmanager.yml; both on free ports of 127.0.0.1 with their storage in
a temporary folder. Their configs are copies of the deployed ones with the local addresses, 1 s scrapes
and evaluations, 1 s grouping, and the webhook URL pointed at a small HTTP server in this test. An 8-hour
generated iran2009 scenario (a filtering episode; see test_detection_stack.py) is replayed at --speed max:
the webhook must receive the firing KeywordFilteringSuspected alert, with its labels, at the receiver of
its severity.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import RunningWorker, Scenario, build_scenario
from tests.support import REPO, free_port, python_module, stop_process, wait_until

yaml = pytest.importorskip("yaml")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
HOURS = 8  # warm-up, an outage, two filtering episodes and three surges (see test_detection_stack.py)
PARTITIONS = 4
ALERT = "KeywordFilteringSuspected"


# --- the webhook -----------------------------------------------------------------------------------------


@dataclass
class Webhook:
    """An HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it (Alertmanager's webhook)."""

    url: str
    server: ThreadingHTTPServer
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def payloads(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.received)

    def firing(self, alertname: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(payload, alert) for each firing ``alertname`` alert received so far."""
        return [
            (payload, alert)
            for payload in self.payloads()
            for alert in payload["alerts"]
            if alert["status"] == "firing" and alert["labels"].get("alertname") == alertname
        ]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    received: list[dict[str, Any]] = []
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                received.append(json.loads(body) | {"_path": self.path})
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="webhook", daemon=True)
    thread.start()
    try:
        yield Webhook(f"http://127.0.0.1:{server.server_address[1]}/hook", server, received, lock)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


# --- Alertmanager and Prometheus, as subprocesses --------------------------------------------------------


def _binary(*names: str) -> str:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    pytest.fail(f"{names[0]} is not installed (make system-deps installs it from Debian's packages)")


def _start(name: str, command: list[str], folder: Path, ready_url: str) -> subprocess.Popen[bytes]:
    """Starts ``command``, logging to ``folder``/``name``.log, and waits for ``ready_url`` to answer 200."""
    log_path = folder / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)

    def ready() -> bool:
        assert process.poll() is None, f"{name} exited: {log_path.read_text(errors='replace')[-3000:]}"
        with urllib.request.urlopen(ready_url, timeout=2) as response:
            return response.status == 200

    try:
        wait_until(ready, timeout=30, what=f"{name} to be ready")
    except BaseException:
        stop_process(process)
        raise
    return process


def alertmanager_config(folder: Path, webhook_url: str) -> Path:
    """deploy/alertmanager/alertmanager.yml with every webhook sent to ``webhook_url`` and 1 s grouping:
    what a local run (the demo, this test) starts Alertmanager on."""
    config = yaml.safe_load(ALERTMANAGER_CONFIG.read_text(encoding="utf-8"))
    webhooks = [hook for receiver in config["receivers"] for hook in receiver.get("webhook_configs", [])]
    assert webhooks, "alertmanager.yml has no webhook receiver to point at the test's server"
    for hook in webhooks:
        hook["url"] = webhook_url
    for route in [config["route"], *config["route"].get("routes", [])]:
        route.update(group_wait="1s", group_interval="1s")
    path = folder / "alertmanager.yml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def start_alertmanager(folder: Path, webhook_url: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(
        "alertmanager",
        [
            _binary("prometheus-alertmanager", "alertmanager"),
            f"--config.file={alertmanager_config(folder, webhook_url)}",
            f"--storage.path={folder / 'alertmanager-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",  # no gossip port: one Alertmanager, nothing else listening
            "--log.level=warn",
        ],
        folder,
        f"{url}/-/ready",
    )
    return process, url


def prometheus_config(folder: Path, worker_target: str, alertmanager_target: str) -> Path:
    """deploy/prometheus/prometheus.yml with its `pipeline` job scraping the worker, its alerts sent to the
    local Alertmanager (the compose one is alertmanager:9093), and 1 s scrapes and evaluations."""
    base = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    managers = base["alerting"]["alertmanagers"]
    targets = [
        target for manager in managers for static in manager["static_configs"] for target in static["targets"]
    ]
    assert targets == ["alertmanager:9093"], f"prometheus.yml sends alerts to {targets}: update this test"
    jobs = {job["job_name"] for job in base["scrape_configs"]}
    assert "pipeline" in jobs, "the alert rules select job=pipeline"
    config = {
        "global": {
            **base.get("global", {}),
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "evaluation_interval": "1s",
        },
        "rule_files": [str(PROMETHEUS_CONFIG.parent / pattern) for pattern in base["rule_files"]],
        "alerting": {
            "alertmanagers": [
                {**manager, "static_configs": [{"targets": [alertmanager_target]}]} for manager in managers
            ]
        },
        "scrape_configs": [
            {
                "job_name": "pipeline",
                "static_configs": [{"targets": [worker_target], "labels": {"stack": "test"}}],
            }
        ],
    }
    path = folder / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")
    return path


def start_prometheus(
    folder: Path, worker_target: str, alertmanager_target: str
) -> tuple[subprocess.Popen, str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = _start(
        "prometheus",
        [
            _binary("prometheus"),
            f"--config.file={prometheus_config(folder, worker_target, alertmanager_target)}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ],
        folder,
        f"{url}/-/ready",
    )
    return process, url


def api(url: str, path: str, **params: str) -> Any:
    with urllib.request.urlopen(f"{url}/api/{path}?{urllib.parse.urlencode(params)}", timeout=10) as response:
        return json.load(response)


# --- the test --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("scenario"), HOURS)


def test_a_filtering_episode_reaches_the_webhook_through_alertmanager(
    kafka_bootstrap, workers, scenario, webhook, tmp_path
):
    assert any(alert["type"] == "filtering" for alert in scenario.alerts), "the scenario has no filtering"
    worker: RunningWorker = workers("alerts", partitions=PARTITIONS)
    worker_target = urllib.parse.urlparse(worker.metrics_url).netloc
    started: list[subprocess.Popen] = []
    try:
        alertmanager, alertmanager_url = start_alertmanager(tmp_path, webhook.url)
        started.append(alertmanager)
        alertmanager_target = urllib.parse.urlparse(alertmanager_url).netloc
        prometheus, prometheus_url = start_prometheus(tmp_path, worker_target, alertmanager_target)
        started.append(prometheus)

        def ready_to_alert() -> bool:
            up = api(prometheus_url, "v1/query", query='up{job="pipeline"}')["data"]["result"]
            managers = api(prometheus_url, "v1/alertmanagers")["data"]["activeAlertmanagers"]
            return (
                bool(up)
                and up[0]["value"][1] == "1"
                and any(alertmanager_target in m["url"] for m in managers)
            )

        wait_until(
            ready_to_alert, timeout=30, what="Prometheus to scrape the worker and know the Alertmanager"
        )
        assert not webhook.firing(ALERT), "the alert fired before any post was sent"

        sent = subprocess.run(
            python_module("replay", "send", str(scenario.feed), "--bootstrap", kafka_bootstrap,
                          "--topic", worker.topic, "--partitions", str(PARTITIONS), "--speed", "max",
                          "--quiet", "--state", str(tmp_path)),
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert sent.returncode == 0, sent.stderr

        delivered = wait_until(
            lambda: webhook.firing(ALERT),
            timeout=180,
            interval=0.5,
            what=f"the webhook to receive {ALERT} (logs in {tmp_path})",
        )
    finally:
        for process in reversed(started):
            stop_process(process)

    payload, alert = delivered[0]
    labels = alert["labels"]
    # The rule's labels, and the series' own: the worker's filtering alerts counter, as Prometheus scraped it.
    assert labels["alertname"] == ALERT
    assert labels["severity"] == "warning"
    assert labels["type"] == "filtering"
    assert labels["job"] == "pipeline" and labels["instance"] == worker_target
    assert alert["annotations"]["summary"].startswith("Keyword filtering suspected")
    assert alert["startsAt"] and alert["generatorURL"]
    # Alertmanager's webhook payload, routed by severity to the receiver of that name.
    assert payload["version"] == "4"
    assert payload["status"] == "firing"
    assert payload["receiver"] == "warning"
    assert payload["groupLabels"] == {"alertname": ALERT, "severity": "warning"}
    assert payload["_path"] == "/hook"
    # Every alert of every notification went to the receiver of its severity (the outage is critical, the
    # surges are info: they are delivered too, each to its own receiver).
    for each in webhook.payloads():
        for item in each["alerts"]:
            assert each["receiver"] == item["labels"]["severity"], (each["receiver"], item["labels"])
