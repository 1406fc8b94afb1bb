"""deploy/alertmanager/alertmanager.yml, the routes it gives the alert rules, and how Prometheus and compose
reach it. No server: the files are read as data, and amtool (Debian's prometheus-alertmanager, from
scripts/system-deps.sh) checks the config and tests the routes. tests/integration/test_alert_delivery.py
sends real alerts through a real Alertmanager.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.deploy.test_compose import COMPOSE_FILE, PROMETHEUS_FILE, _yaml_loader, load_yaml
from tests.support import REPO

ALERTMANAGER_DIR = REPO / "deploy" / "alertmanager"
ALERTMANAGER_FILE = ALERTMANAGER_DIR / "alertmanager.yml"
TEST_ROUTES = ALERTMANAGER_DIR / "test-routes.sh"
RULES = sorted((REPO / "deploy" / "prometheus" / "rules").glob("*.yml"))
SEVERITIES = ("critical", "warning", "info")
# Every webhook receiver sends here: one string, so that a local copy can replace it (sed, or YAML).
WEBHOOK_URL = "http://127.0.0.1:5001/alerts"


def _amtool() -> str:
    binary = shutil.which("amtool")
    if binary is None:
        pytest.skip("amtool is not installed (scripts/system-deps.sh installs prometheus-alertmanager)")
    return binary


def _check_config(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([_amtool(), "check-config", str(path)], capture_output=True, text=True, timeout=60)


def _routes_to(config: Path, labels: dict[str, str]) -> list[str]:
    """The receivers a label set reaches, as `amtool config routes test` resolves them."""
    resolved = subprocess.run(
        [
            _amtool(), "config", "routes", "test", f"--config.file={config}",
            *(f"{name}={value}" for name, value in sorted(labels.items())),
        ],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert resolved.returncode == 0, resolved.stderr
    return resolved.stdout.strip().split(",")


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    return load_yaml(ALERTMANAGER_FILE)


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)["services"]


def _alert_rules() -> list[dict[str, Any]]:
    rules = []
    for path in RULES:
        for group in load_yaml(path)["groups"]:
            rules.extend(rule for rule in group["rules"] if "alert" in rule)
    return rules


# --- the config and its routes ---------------------------------------------------------------------------


def test_amtool_accepts_the_config():
    checked = _check_config(ALERTMANAGER_FILE)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_each_severity_has_a_route_and_a_receiver_of_its_name(config):
    receivers = {receiver["name"] for receiver in config["receivers"]}
    assert receivers == set(SEVERITIES)
    routes = {tuple(route["matchers"]): route["receiver"] for route in config["route"]["routes"]}
    assert routes == {(f'severity="{severity}"',): severity for severity in SEVERITIES}
    assert config["route"]["receiver"] in receivers


def test_every_receiver_is_a_webhook_to_the_one_replaceable_url(config):
    for receiver in config["receivers"]:
        assert set(receiver) == {"name", "webhook_configs"}, receiver["name"]
        for webhook in receiver["webhook_configs"]:
            assert webhook["url"] == WEBHOOK_URL, receiver["name"]
            assert webhook.get("send_resolved") is True
    # The header says how to replace it, with this very URL.
    assert f"sed 's#{WEBHOOK_URL}#" in ALERTMANAGER_FILE.read_text(encoding="utf-8")


@pytest.mark.parametrize("rule", _alert_rules(), ids=lambda rule: rule["alert"])
def test_every_alert_rule_reaches_the_receiver_of_its_severity(rule):
    severity = rule.get("labels", {}).get("severity")
    assert severity in SEVERITIES, f"{rule['alert']}: severity {severity!r} (Alertmanager routes on it)"
    labels = {"alertname": rule["alert"], **rule["labels"]}
    assert _routes_to(ALERTMANAGER_FILE, labels) == [severity]


def test_an_alert_without_a_severity_still_reaches_a_receiver(config):
    assert _routes_to(ALERTMANAGER_FILE, {"alertname": "Unlabelled"}) == [config["route"]["receiver"]]


def test_the_routing_script_passes_and_catches_a_wrong_route(tmp_path):
    _amtool()
    passed = subprocess.run(["bash", str(TEST_ROUTES)], capture_output=True, text=True, timeout=120)
    assert passed.returncode == 0, passed.stderr
    wrong = tmp_path / "alertmanager.yml"
    wrong.write_text(
        ALERTMANAGER_FILE.read_text(encoding="utf-8").replace("receiver: info\n", "receiver: warning\n"),
        encoding="utf-8",
    )
    failed = subprocess.run(
        ["bash", str(TEST_ROUTES), str(wrong)], capture_output=True, text=True, timeout=120
    )
    assert failed.returncode == 1
    assert "should go to receiver info" in failed.stderr


def test_make_prom_check_runs_amtool():
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    target = makefile[makefile.index("\nprom-check:") :].split("\n\n")[0]
    assert "amtool check-config deploy/alertmanager/alertmanager.yml" in target
    assert "deploy/alertmanager/test-routes.sh" in target


def test_system_deps_installs_alertmanager():
    script = (REPO / "scripts" / "system-deps.sh").read_text(encoding="utf-8")
    assert "missing+=(prometheus-alertmanager)" in script
    assert "command -v amtool" in script and "command -v prometheus-alertmanager" in script


def _commented_examples() -> list[str]:
    """The receivers shown in comments at the end of the file, each as the YAML it would be uncommented."""
    text = ALERTMANAGER_FILE.read_text(encoding="utf-8")
    tail = text[text.index("# --- Examples") :].splitlines()[1:]
    examples: list[list[str]] = []
    current: list[str] | None = None
    for line in tail:
        body = line[2:] if line.startswith("# ") else ""
        if body.startswith("  - name:"):
            current = [body]
            examples.append(current)
        elif current is not None and body.startswith("    "):
            current.append(body)
        else:
            current = None
    return ["\n".join(example) for example in examples]


def test_the_commented_examples_are_valid_receivers(config, tmp_path):
    examples = _commented_examples()
    kinds = set()
    for index, example in enumerate(examples):
        (receiver,) = _yaml_loader()(example)
        kinds |= set(receiver) - {"name"}
        swapped = {
            **config,
            "receivers": [receiver if r["name"] == receiver["name"] else r for r in config["receivers"]],
        }
        path = tmp_path / f"example-{index}.yml"
        path.write_text(json.dumps(swapped, indent=2), encoding="utf-8")  # JSON is YAML
        checked = _check_config(path)
        assert checked.returncode == 0, f"{example}\n{checked.stdout}{checked.stderr}"
    assert {"email_configs", "slack_configs"} <= kinds
    # Secrets come from files (compose secrets), never written in the config.
    for example in examples:
        assert not re.search(r"^\s*(auth_password|api_url|bot_token|webhook_url):", example, re.M), example


# --- Prometheus and compose ------------------------------------------------------------------------------


def test_prometheus_sends_its_alerts_to_the_compose_alertmanager(services):
    prometheus = load_yaml(PROMETHEUS_FILE)
    managers = prometheus["alerting"]["alertmanagers"]
    targets = [
        target for manager in managers for config in manager["static_configs"] for target in config["targets"]
    ]
    assert targets == ["alertmanager:9093"]
    host, port = targets[0].split(":")
    assert host in services
    assert services[host]["ports"] == [f"127.0.0.1:{port}:{port}"]


def test_the_compose_alertmanager_is_pinned_and_reads_the_mounted_config(services):
    alertmanager = services["alertmanager"]
    assert re.fullmatch(r"prom/alertmanager:v\d+\.\d+\.\d+", alertmanager["image"]), alertmanager["image"]
    command = alertmanager["command"]
    assert "--config.file=/etc/alertmanager/alertmanager.yml" in command
    assert "./deploy/alertmanager:/etc/alertmanager:ro" in alertmanager["volumes"]
    # Its silences and notification log on a volume, not in the container.
    storage = next(flag for flag in command if flag.startswith("--storage.path="))
    assert f"alertmanager-data:{storage.split('=', 1)[1]}" in alertmanager["volumes"]


def test_the_compose_alertmanager_listens_on_nothing_more(services):
    command = services["alertmanager"]["command"]
    # No high-availability gossip: its default is 0.0.0.0:9094, an open port for nothing.
    assert "--cluster.listen-address=" in command
    assert "expose" not in services["alertmanager"]
