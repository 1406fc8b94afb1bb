"""Every query of every Grafana dashboard, run against a real Prometheus scraping a real stack.

Once per module: a real worker (tests/integration/conftest.py) on the real broker, a real Prometheus
(/usr/bin/prometheus) with deploy/prometheus's rules and a copy of its config pointed at the worker's and
the replayer's ports (1 s scrapes), an 8-hour generated scenario replayed by the real replayer (paced to
~30 s so its own metrics are scraped while it runs), then two junk records (dead letters) and three posts
sent again (duplicates). Then each panel's targets, each template variable and each annotation of
deploy/grafana/dashboards/*.json is run, with Grafana's variables substituted, as Grafana would run it
(range queries; instant ones for instant targets): no error, and data unless the panel is in MAY_BE_EMPTY.
"""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kafka import KafkaProducer

from feed import read_feed
from feed.model import Deletion
from feed.reader import feed_item
from pipeline.detect import DetectorConfig
from replay.generate import write_scenario
from tests.integration.conftest import RunningWorker, start_worker, with_account_tactics
from tests.support import REPO, as_sent, free_port, python_module, stop_process, wait_until

yaml = pytest.importorskip("yaml")

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

DASHBOARDS = REPO / "deploy" / "grafana" / "dashboards"
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
HOURS = 8  # warm-up, an outage, two filtering episodes and three surges (see test_detection_stack.py)
REPLAY_SECONDS = 30  # ~30 scrapes of the replayer; the 37-minute outage lasts ~2 s of wall time
PARTITIONS = 4
JUNK = [b"this is not JSON", b'{"id": "junk-1", "text": "a post without a timestamp"}']
REPEATS = 3  # the feed's last posts, sent again: the detector drops them as repeated ids

# Grafana's built-in variables, as a 1-hour dashboard with 5 s scrapes would have them.
GRAFANA_VARIABLES = {"$__rate_interval": "1m", "$__interval": "5s", "$__range": "1h"}
# Real values for the second pass over the filtered panels (first one present when absent).
PREFERRED_VALUES = {"region": "IR", "term": "democracy"}

# (dashboard uid, panel title or annotation name, refId or "") -> why no data is right in this test.
MAY_BE_EMPTY = {
    ("censorship-watch", "Suppressed watchlist terms", ""): (
        "WatchlistTermSuppressed has `for: 5m` of wall time; the whole replay takes about a minute"
    ),
    ("censorship-watch", "Coordination cluster sizes", "A"): (
        "an instant query: the feed's campaign cluster has ended long before the replay does"
    ),
}


def _dashboards() -> list[dict[str, Any]]:
    return [json.loads(path.read_text(encoding="utf-8")) for path in sorted(DASHBOARDS.glob("*.json"))]


def _panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return [panel for panel in found if panel.get("targets")]


BOARDS = _dashboards()
PANEL_CASES = [
    pytest.param(board, panel, id=f"{board['uid']}: {panel['title']}")
    for board in BOARDS
    for panel in _panels(board)
]
ANNOTATION_CASES = [
    pytest.param(board, note, id=f"{board['uid']}: {note['name']}")
    for board in BOARDS
    for note in board["annotations"]["list"]
    if "expr" in note
]
VARIABLE_CASES = [
    pytest.param(board, variable, id=f"{board['uid']}: ${variable['name']}")
    for board in BOARDS
    for variable in board["templating"]["list"]
]


# --- Prometheus ------------------------------------------------------------------------------------------


@dataclass
class Prometheus:
    url: str

    def api(self, path: str, **params: str) -> Any:
        query = urllib.parse.urlencode(params, doseq=True)
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/{path}?{query}", timeout=10) as response:
                body = json.load(response)
        except urllib.error.HTTPError as error:  # 400 / 422 carry the error as JSON
            body = json.load(error)
        return body

    def value(self, expr: str) -> float | None:
        """The single value of an instant query, None when it has no result."""
        body = self.api("query", query=expr)
        assert body["status"] == "success", body
        result = body["data"]["result"]
        return float(result[0]["value"][1]) if result else None


def _prometheus_config(folder: Path, targets: dict[str, str]) -> Path:
    """deploy/prometheus/prometheus.yml with its jobs scraping ``targets`` (job -> host:port) every second."""
    base = yaml.safe_load(PROMETHEUS_CONFIG.read_text(encoding="utf-8"))
    jobs = [job["job_name"] for job in base["scrape_configs"]]
    assert sorted(jobs) == sorted(targets), f"the test knows jobs {sorted(targets)}, the config has {jobs}"
    config = {
        "global": {
            **base.get("global", {}),
            "scrape_interval": "1s",
            "scrape_timeout": "1s",
            "evaluation_interval": "1s",
        },
        # The same rules, by absolute path.
        "rule_files": [str(PROMETHEUS_CONFIG.parent / pattern) for pattern in base["rule_files"]],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [targets[job]], "labels": {"stack": "test"}}]}
            for job in jobs
        ],
    }
    path = folder / "prometheus.yml"
    path.write_text(json.dumps(config, indent=2), encoding="utf-8")  # JSON is YAML
    return path


def _start_prometheus(folder: Path, targets: dict[str, str]) -> tuple[subprocess.Popen[bytes], Prometheus]:
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(binary).exists():
        pytest.fail("prometheus is not installed (make system-deps installs the Debian package)")
    port = free_port()
    log = (folder / "prometheus.log").open("wb")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={_prometheus_config(folder, targets)}",
            f"--storage.tsdb.path={folder / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=1d",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    prometheus = Prometheus(f"http://127.0.0.1:{port}")

    def ready() -> bool:
        assert process.poll() is None, (folder / "prometheus.log").read_text(errors="replace")
        with urllib.request.urlopen(f"{prometheus.url}/-/ready", timeout=2) as response:
            return response.status == 200

    try:
        wait_until(ready, timeout=30, what="Prometheus to be ready")
    except BaseException:
        stop_process(process)
        raise
    return process, prometheus


# --- the stack -------------------------------------------------------------------------------------------


@dataclass
class Stack:
    prometheus: Prometheus
    worker: RunningWorker
    start: float
    end: float

    def range(self, expr: str) -> dict[str, Any]:
        return self.prometheus.api(
            "query_range", query=expr, start=f"{self.start:.3f}", end=f"{self.end:.3f}", step="1s"
        )

    def instant(self, expr: str) -> dict[str, Any]:
        return self.prometheus.api("query", query=expr, time=f"{self.end:.3f}")


@pytest.fixture(scope="module")
def stack(kafka_bootstrap, tmp_path_factory) -> Iterator[Stack]:
    folder = tmp_path_factory.mktemp("dashboards")
    feed = folder / "feed.jsonl"
    write_scenario(
        "iran2009", seed=1, hours=HOURS, rate=None, feed_path=feed, truth_path=folder / "truth.json"
    )
    with_account_tactics(feed)  # deletions, a campaign and relocations for the account panels
    posts = [item for item in read_feed(feed, build=feed_item) if not isinstance(item, Deletion)]
    final_watermark = max(post.ts for post in posts) - DetectorConfig().lateness_seconds - 60
    # start_worker is what the `workers` fixture runs; called here so one stack serves the whole module.
    worker = start_worker(kafka_bootstrap, f"dash{uuid.uuid4().hex[:8]}", folder, partitions=PARTITIONS)
    replay_port = free_port()
    prometheus_process: subprocess.Popen[bytes] | None = None
    replay: subprocess.Popen[str] | None = None
    try:
        prometheus_process, prometheus = _start_prometheus(
            folder,
            {
                "pipeline": urllib.parse.urlparse(worker.metrics_url).netloc,
                "replay": f"127.0.0.1:{replay_port}",
            },
        )
        wait_until(
            lambda: prometheus.value('up{job="pipeline"}') == 1,
            timeout=30,
            what="Prometheus to scrape the worker",
        )
        start = time.time() - 5
        replay_log = folder / "replay.log"
        with replay_log.open("w") as log:
            replay = subprocess.Popen(
                python_module(
                    "replay", "send", str(feed),
                    "--bootstrap", kafka_bootstrap,
                    "--topic", worker.topic,
                    "--partitions", str(PARTITIONS),
                    "--duration", str(REPLAY_SECONDS),
                    "--metrics-port", str(replay_port),
                    "--state", str(folder),
                    "--quiet",
                ),
                stdout=log,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip

        def replayer_scraped() -> bool:
            assert replay.poll() in (None, 0), replay_log.read_text()
            return prometheus.value('up{job="replay"}') == 1

        wait_until(replayer_scraped, timeout=30, what="Prometheus to scrape the replayer")
        assert replay.wait(timeout=REPLAY_SECONDS + 120) == 0, replay_log.read_text()
        # Records the dashboards must show too: dead letters and repeats.
        producer = KafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        # Repeats as the replayer sent them (pseudonymous ids), so they are the same ids again.
        repeats = [as_sent(post).to_json() for post in posts[-REPEATS:]]
        for value in [*JUNK, *repeats]:
            producer.send(worker.topic, value=value, key=b"dashboards-test")
        producer.flush()
        producer.close()

        def processed() -> bool:
            return (
                (prometheus.value("sum(pipeline_posts_consumed_total)") or 0) >= len(posts) + REPEATS
                and (prometheus.value("max(pipeline_watermark_seconds)") or 0) >= final_watermark
                and (prometheus.value("sum(pipeline_posts_invalid_total)") or 0) >= len(JUNK)
                and (prometheus.value("sum(pipeline_duplicates_total)") or 0) >= REPEATS
            )

        wait_until(processed, timeout=240, what="Prometheus to see the whole feed processed", interval=1.0)
        # Two more scrapes of the settled worker, so rates and rules see the final state.
        settled = time.time() + 2
        wait_until(
            lambda: (prometheus.value('timestamp(up{job="pipeline"})') or 0) >= settled,
            timeout=30,
            what="Prometheus to scrape the settled worker",
        )
        yield Stack(prometheus, worker, start=start, end=time.time())
    finally:
        if replay is not None and replay.poll() is None:
            replay.kill()
            replay.wait()
        if prometheus_process is not None:
            stop_process(prometheus_process)
        worker.stop()


# --- running the queries ---------------------------------------------------------------------------------


def substitute(expr: str, values: dict[str, str]) -> str:
    """Grafana's interpolation for what the dashboards use: $var and ${var} (custom ones as regexes)."""
    for name, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(name, value)
    return re.sub(r"\$\{?(\w+)\}?", lambda match: values[match.group(1)], expr)


def has_data(body: dict[str, Any]) -> bool:
    """At least one series with at least one finite value (NaN alone draws nothing in Grafana)."""
    for series in body["data"]["result"]:
        samples = series.get("values") or [series.get("value")]
        if any(sample and math.isfinite(float(sample[1])) for sample in samples):
            return True
    return False


def check(
    stack: Stack,
    board: dict[str, Any],
    name: str,
    ref: str,
    expr: str,
    values: dict[str, str],
    *,
    instant=False,
) -> str | None:
    """Runs one query; returns a problem, or None."""
    query = substitute(expr, values)
    body = stack.instant(query) if instant else stack.range(query)
    if body.get("status") != "success":
        return f"{query!r}: {body.get('errorType')}: {body.get('error')}"
    if not has_data(body) and (board["uid"], name, ref) not in MAY_BE_EMPTY:
        return f"{query!r}: no data ({'instant' if instant else 'range'} query)"
    return None


def label_values(stack: Stack, query: str, values: dict[str, str]) -> list[str]:
    match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query)
    assert match, f"not a label_values() query: {query!r}"
    selector, label = substitute(match.group(1), values), match.group(2)
    body = stack.prometheus.api(
        f"label/{label}/values",
        **{"match[]": selector, "start": f"{stack.start:.3f}", "end": f"{stack.end:.3f}"},
    )
    assert body["status"] == "success", body
    return body["data"]


def all_values(board: dict[str, Any]) -> dict[str, str]:
    return {variable["name"]: variable["allValue"] for variable in board["templating"]["list"]}


@pytest.fixture(scope="module")
def real_values(stack) -> dict[str, dict[str, str]]:
    """Dashboard uid -> one real value of each variable, picked as a user would (region IR, ...)."""
    chosen: dict[str, dict[str, str]] = {}
    for board in BOARDS:
        values = all_values(board)
        for variable in board["templating"]["list"]:
            options = label_values(stack, variable["query"], values)
            assert options, f"{board['uid']}: ${variable['name']} has no values"
            preferred = PREFERRED_VALUES.get(variable["name"])
            value = preferred if preferred in options else options[0]
            assert re.fullmatch(r"[\w-]+", value), f"{value!r} would need regex escaping"
            values[variable["name"]] = value
        chosen[board["uid"]] = values
    return chosen


@pytest.mark.parametrize(("board", "panel"), PANEL_CASES)
def test_panel_queries_run_and_return_data(stack, real_values, board, panel):
    problems = []
    passes = [all_values(board)]
    if any(re.search(r"\$\{?(region|term)\b", target["expr"]) for target in panel["targets"]):
        passes.append(real_values[board["uid"]])
    for values in passes:
        for target in panel["targets"]:
            ref, expr, instant = target["refId"], target["expr"], target.get("instant", False)
            problem = check(stack, board, panel["title"], ref, expr, values, instant=instant)
            if problem:
                shown = {k: v for k, v in values.items() if f"${k}" in target["expr"]}
                problems.append(f"{target['refId']} {shown or ''}: {problem}")
    assert not problems, f"{board['uid']} / {panel['title']}:\n" + "\n".join(problems)


@pytest.mark.parametrize(("board", "note"), ANNOTATION_CASES)
def test_annotation_queries_run_and_mark_something(stack, board, note):
    problem = check(stack, board, note["name"], "", note["expr"], all_values(board))
    assert problem is None, f"{board['uid']} / annotation {note['name']}: {problem}"


@pytest.mark.parametrize(("board", "variable"), VARIABLE_CASES)
def test_template_variables_offer_values(stack, board, variable):
    options = label_values(stack, variable["query"], all_values(board))
    assert options, f"{board['uid']} / ${variable['name']}: {variable['query']!r} offers nothing"
    if variable["name"] == "region":
        assert "IR" in options, options


def test_the_may_be_empty_list_names_real_queries():
    """No stale entries: each names a dashboard, a panel (with that refId) or an annotation that exists."""
    known = {(board["uid"], panel["title"], target["refId"]) for board in BOARDS for panel in _panels(board)
             for target in panel["targets"]}  # fmt: skip
    known |= {(board["uid"], note["name"], "") for board in BOARDS for note in board["annotations"]["list"]}
    assert set(MAY_BE_EMPTY) <= known, set(MAY_BE_EMPTY) - known
