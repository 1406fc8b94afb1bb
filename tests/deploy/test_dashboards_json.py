"""The Grafana dashboards (deploy/grafana): generated, well formed, and querying only metrics that exist.

No Grafana and no Prometheus here: the JSON is read as data. tests/integration/test_dashboards.py runs
every query against a real Prometheus scraping a real worker and replayer.
"""

from __future__ import annotations

import importlib.util
import json
import re
from functools import cache
from types import ModuleType
from typing import Any

import pytest
from faust.sensors.prometheus import FaustMetrics
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from pipeline.metrics import PipelineMetrics
from replay.metrics import ReplayMetrics
from tests.support import REPO

yaml = pytest.importorskip("yaml")

GRAFANA = REPO / "deploy" / "grafana"
GENERATOR = GRAFANA / "build_dashboards.py"
DASHBOARDS = GRAFANA / "dashboards"
DATASOURCES = GRAFANA / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = GRAFANA / "provisioning" / "dashboards" / "dashboards.yml"
RULES = REPO / "deploy" / "prometheus" / "rules"
COMPOSE = REPO / "docker-compose.yml"

FAUST_PREFIX = "pipeline_faust"  # FaustMetrics.create(registry, "pipeline_faust") in the worker
BUILT_IN_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}
PANEL_TYPES = {"timeseries", "stat", "table", "state-timeline", "bargauge", "row"}
GRAFANA_VARIABLES = {"__rate_interval", "__interval", "__range", "__all"}
# Which dashboards must offer which template variables.
REQUIRED_VARIABLES = {
    "censorship-watch": {"region", "term"},
    "classification": {"region"},
    "surges": {"region"},
}
FILES = sorted(path.name for path in DASHBOARDS.glob("*.json"))


@cache
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_dashboards", GENERATOR)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load(name: str) -> dict[str, Any]:
    return json.loads((DASHBOARDS / name).read_text(encoding="utf-8"))


@cache
def datasource_uid() -> str:
    config = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))
    (prometheus,) = [ds for ds in config["datasources"] if ds["type"] == "prometheus"]
    assert prometheus.get("uid"), "the provisioned Prometheus datasource needs a fixed uid"
    return prometheus["uid"]


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows' nested panels included."""
    found = []
    for panel in board["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def queries(board: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, PromQL) for every target, annotation and variable of a dashboard."""
    found = []
    for panel in panels(board):
        for target in panel.get("targets", []):
            found.append((f"panel {panel['title']!r} {target['refId']}", target["expr"]))
    for note in board["annotations"]["list"]:
        if "expr" in note:
            found.append((f"annotation {note['name']!r}", note["expr"]))
    for variable in board["templating"]["list"]:
        found.append((f"variable {variable['name']!r}", variable_selector(variable["query"])))
    return found


def variable_selector(query: str) -> str:
    """label_values(selector, label) → selector; other variable queries are PromQL already."""
    match = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", query)
    return match.group(1) if match else query


# --- PromQL, just enough of it ---------------------------------------------------------------------------

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless"}
KEYWORDS |= {"offset", "inf", "nan"}


def metric_names(expr: str) -> set[str]:
    """Metric (and recording rule) names in a PromQL expression: identifiers that are not functions,
    keywords, label names in by/without/on/ignoring clauses, or anything inside strings, label
    matchers and range brackets."""
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    text = re.sub(r"\{[^}]*\}", " ", text)
    text = re.sub(r"\[[^\]]*\]", " ", text)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    text = re.sub(r"\boffset\s+-?\w+", " ", text)
    names = set()
    for match in re.finditer(r"(?<![\w.:$])([A-Za-z_:][\w:]*)(\s*\()?", text):
        name, call = match.groups()
        if call is None and name.lower() not in KEYWORDS:
            names.add(name)
    return names


def selectors(expr: str) -> list[tuple[str, str]]:
    """(metric name, label matchers) for each vector selector; matchers are '' when there are none."""
    text = re.sub(r"\[[^\]]*\]", " ", expr)
    text = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", text)
    found = []
    for match in re.finditer(r'(?<![\w.:$"])([A-Za-z_:][\w:]*)\s*(\{[^}]*\})?(\s*\()?', text):
        name, matchers, call = match.groups()
        if call is None and name.lower() not in KEYWORDS:
            found.append((name, matchers or ""))
    return found


def test_metric_names_parser_on_known_shapes():
    expr = (
        "histogram_quantile(0.99, sum by (le) "
        "(rate(pipeline_faust_consumer_commit_latency_bucket[$__rate_interval])))"
        ' / scalar(sum(rate(pipeline_posts_consumed_total{region=~"$region", lang!="x y"}[5m] offset 1m)))'
        " + on (key) group_left pipeline:posts_consumed:rate1m * 1e-3 > bool 0 or vector(0)"
    )
    assert metric_names(expr) == {
        "pipeline_faust_consumer_commit_latency_bucket",
        "pipeline_posts_consumed_total",
        "pipeline:posts_consumed:rate1m",
    }
    assert selectors('max by (key) (pipeline_surge_observed{key="*"}) / up') == [
        ("pipeline_surge_observed", '{key="*"}'),
        ("up", ""),
    ]
    assert selectors(expr) == [
        ("pipeline_faust_consumer_commit_latency_bucket", ""),
        ("pipeline_posts_consumed_total", '{region=~"$region", lang!="x y"}'),
        ("pipeline:posts_consumed:rate1m", ""),
    ]


# --- what the worker, the replayer and Prometheus export ----------------------------------------------


def _collectors(source: Any) -> list[MetricWrapperBase]:
    values = source._asdict().values() if hasattr(source, "_asdict") else vars(source).values()
    return [value for value in values if isinstance(value, MetricWrapperBase)]


def _sample_names(registry: CollectorRegistry) -> set[str]:
    names = set()
    for family in registry.collect():
        suffixes = {
            "counter": ("_total",),
            "histogram": ("_bucket", "_sum", "_count"),
            "summary": ("", "_sum", "_count"),
        }.get(family.type, ("",))
        names.update(family.name + suffix for suffix in suffixes)
    return names


@cache
def recording_rules() -> dict[str, set[str]]:
    """Recording rule name → the labels its result keeps (from its outer `by (...)`)."""
    rules = {}
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            for rule in group["rules"]:
                if "record" in rule:
                    by = re.match(r"\s*\w+\s+by\s*\(([^)]*)\)", rule["expr"])
                    rules[rule["record"]] = (
                        {label.strip() for label in by.group(1).split(",")} if by else set()
                    )
    return rules


@cache
def known_metrics() -> dict[str, set[str] | None]:
    """Every name a dashboard may query → its label names (None: not known statically)."""
    pipeline = PipelineMetrics()
    faust_registry = CollectorRegistry()
    faust = FaustMetrics.create(faust_registry, FAUST_PREFIX)
    replay = ReplayMetrics()
    known: dict[str, set[str] | None] = {}
    for registry, source in (
        (pipeline.registry, pipeline),
        (faust_registry, faust),
        (replay.registry, replay),
    ):
        labels = {collector._name: set(collector._labelnames) for collector in _collectors(source)}
        for name in _sample_names(registry):
            base = re.sub(r"_(total|bucket|sum|count)$", "", name)
            known[name] = labels.get(base, labels.get(name, set()))
    known.update(recording_rules())
    known.update(dict.fromkeys(BUILT_IN_SERIES))
    return known


# --- the tests -------------------------------------------------------------------------------------------


def test_the_committed_json_is_the_generators_output():
    built = generator().build()
    assert sorted(built) == FILES, "a dashboard file is committed that the generator does not build"
    for name, board in built.items():
        text = (DASHBOARDS / name).read_text(encoding="utf-8")
        assert text == generator().render(board), (
            f"{name} differs from the generator: run python deploy/grafana/build_dashboards.py"
        )


def test_check_mode_exits_1_when_a_file_differs(tmp_path):
    assert generator().main(["--check"]) == 0
    assert generator().main(["--check", "--out", str(tmp_path)]) == 1
    assert generator().main(["--out", str(tmp_path)]) == 0
    assert sorted(path.name for path in tmp_path.iterdir()) == FILES
    assert generator().main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / FILES[0]).write_text("{}\n", encoding="utf-8")
    assert generator().main(["--check", "--out", str(tmp_path)]) == 1


def test_the_generator_uses_the_provisioned_datasource():
    assert datasource_uid() == generator().DATASOURCE_UID


def test_the_provider_loads_the_folder_compose_mounts():
    config = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))
    (provider,) = config["providers"]
    assert provider["type"] == "file"
    assert provider["folder"] == "Iran 2009"
    assert provider["allowUiUpdates"] is False
    path = provider["options"]["path"]
    assert path == "/var/lib/grafana/dashboards"
    compose = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    volumes = compose["services"]["grafana"].get("volumes", [])
    assert any(str(v).split(":")[:2] == ["./deploy/grafana/dashboards", path] for v in volumes), volumes
    assert any(str(v).split(":")[:2] == ["./deploy/grafana/provisioning", "/etc/grafana/provisioning"]
               for v in volumes), volumes  # fmt: skip


def test_dashboard_uids_are_unique_and_the_overview_is_there():
    uids = [load(name)["uid"] for name in FILES]
    assert len(set(uids)) == len(uids)
    assert {"pipeline-overview", "classification", "censorship-watch", "surges"} <= set(uids)


@pytest.mark.parametrize("name", FILES)
def test_panels_are_well_formed(name):
    board = load(name)
    uid = datasource_uid()
    assert board["schemaVersion"] >= 36 and board["title"] and board["uid"] == name.removesuffix(".json")
    ids = [panel["id"] for panel in panels(board)]
    assert len(set(ids)) == len(ids), f"{name}: panel ids repeat: {ids}"
    for panel in panels(board):
        title = panel.get("title")
        assert title, f"{name}: panel {panel['id']} has no title"
        assert panel["type"] in PANEL_TYPES, f"{name}: {title}: type {panel['type']}"
        grid = panel["gridPos"]
        assert {"h", "w", "x", "y"} <= set(grid) and all(isinstance(grid[k], int) for k in "hwxy")
        assert grid["w"] > 0 and grid["h"] > 0 and grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, title
        if panel["type"] == "row":
            continue
        assert panel.get("description", "").strip(), f"{name}: {title}: no description"
        assert panel["datasource"] == {"type": "prometheus", "uid": uid}, f"{name}: {title}"
        targets = panel.get("targets", [])
        assert targets, f"{name}: {title}: no target"
        ref_ids = [target["refId"] for target in targets]
        assert len(set(ref_ids)) == len(ref_ids) and all(ref_ids), f"{name}: {title}: refIds {ref_ids}"
        for target in targets:
            assert target["expr"].strip(), f"{name}: {title}: empty query"
            assert target["datasource"] == {"type": "prometheus", "uid": uid}, f"{name}: {title}"


@pytest.mark.parametrize("name", FILES)
def test_annotations_and_variables_use_the_datasource(name):
    board = load(name)
    uid = datasource_uid()
    for note in board["annotations"]["list"]:
        if note.get("builtIn"):
            continue
        assert note["datasource"] == {"type": "prometheus", "uid": uid}, note["name"]
        assert note["expr"].strip() and note["enable"], note["name"]
    for variable in board["templating"]["list"]:
        assert variable["datasource"] == {"type": "prometheus", "uid": uid}, variable["name"]


@pytest.mark.parametrize("name", FILES)
def test_every_query_uses_metrics_that_exist(name):
    known = known_metrics()
    for where, expr in queries(load(name)):
        names = metric_names(expr)
        assert names, f"{name}: {where}: no metric in {expr!r}"
        unknown = names - set(known)
        assert not unknown, f"{name}: {where}: unknown metric(s) {sorted(unknown)} in {expr!r}"


@pytest.mark.parametrize("name", FILES)
def test_only_defined_variables_are_referenced(name):
    board = load(name)
    defined = {variable["name"] for variable in board["templating"]["list"]} | GRAFANA_VARIABLES
    texts = [expr for _, expr in queries(board)]
    texts += [panel["title"] for panel in panels(board)] + [p.get("repeat", "") for p in panels(board)]
    for text in texts:
        for used in re.findall(r"\$\{?(\w+)", text):
            assert used in defined, f"{name}: ${used} is not a template variable: {text!r}"
    for panel in panels(board):
        if "repeat" in panel:
            assert panel["repeat"] in defined - GRAFANA_VARIABLES, panel["title"]


@pytest.mark.parametrize("name", FILES)
def test_required_variables_and_their_filters(name):
    """region and term exist where required; a panel whose metrics all carry that label filters on it."""
    board = load(name)
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    required = REQUIRED_VARIABLES.get(board["uid"], set())
    assert required <= set(variables), f"{name}: missing variables {required - set(variables)}"
    for variable in variables.values():
        assert variable["multi"] and variable["includeAll"] and variable["allValue"] == ".*", variable["name"]
        assert variable["query"].startswith("label_values("), variable["name"]
        assert metric_names(variable_selector(variable["query"])), variable["name"]
    known = known_metrics()
    for panel in panels(board):
        for target in panel.get("targets", []):
            found = selectors(target["expr"])
            for label in set(variables) & {"region", "term"}:
                labelled = [known.get(metric) for metric, _ in found]
                if not found or any(labels is None or label not in labels for labels in labelled):
                    continue  # some metric of the query cannot be filtered by this label
                for metric, matchers in found:
                    assert f'{label}=~"${label}"' in matchers, (
                        f"{name}: {panel['title']} {target['refId']}: {metric} is not filtered by ${label}"
                    )


def test_the_censorship_dashboard_repeats_a_panel_per_term_and_annotates_alerts():
    board = load("censorship-watch.json")
    assert any(panel.get("repeat") == "term" for panel in panels(board))
    names = {note["name"] for note in board["annotations"]["list"] if not note.get("builtIn")}
    assert {"Filtering alerts", "Region outages"} <= names
    surges = load("surges.json")
    assert any("surge" in note["name"].lower() for note in surges["annotations"]["list"])
