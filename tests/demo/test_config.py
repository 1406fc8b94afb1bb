"""demo/config.py: the environment, and the Prometheus and Alertmanager configs derived from deploy/
(checked with promtool and amtool where they are installed)."""

from __future__ import annotations

import glob
import json
import shutil
import subprocess

import pytest

from demo.config import (
    ALERTMANAGER_CONFIG,
    PROMETHEUS_CONFIG,
    ConfigError,
    DemoConfig,
    alertmanager_config,
    help_text,
    prometheus_config,
)

yaml = pytest.importorskip("yaml")
HOOK = "http://127.0.0.1:8099/alerts"


def test_defaults_and_environment():
    config = DemoConfig.from_env({})
    assert (config.seconds, config.feed, config.hours, config.keep) == (120.0, "iran2009", 48.0, None)
    assert (config.worker_port, config.replay_port, config.alertmanager_port) == (9108, 9109, 9094)
    config = DemoConfig.from_env(
        {
            "DEMO_SECONDS": "20",
            "DEMO_FEED": "seed",
            "DEMO_KEEP": "0",
            "KAFKA_PORT": "19092",
            "DEMO_HOURS": "8",
        }
    )
    assert (config.seconds, config.feed, config.keep, config.kafka_port, config.hours) == (
        20.0, "seed", False, 19092, 8.0,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DEMO_SECONDS", "soon", "DEMO_SECONDS='soon': expected a positive number"),
        ("DEMO_SECONDS", "-5", "expected a positive number"),
        ("DEMO_FEED", "/no/such/feed.jsonl", "use iran2009, seed or the path of a JSON Lines feed"),
        ("DEMO_KEEP", "maybe", "DEMO_KEEP='maybe': use 1 or 0"),
        ("METRICS_PORT", "70000", "METRICS_PORT=70000: not a port"),
    ],
)
def test_bad_values_are_one_line_errors(name, value, says):
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        DemoConfig.from_env({name: value})


def test_help_lists_every_variable():
    text = help_text()
    for name in ("DEMO_SECONDS", "DEMO_FEED", "DEMO_HOURS", "DEMO_KEEP", "KAFKA_PORT", "ALERTMANAGER_PORT"):
        assert f"  {name} " in text
    assert "+ faster, - slower, space pause/resume" in text


def local_prometheus(alertmanager: str | None = "127.0.0.1:9094") -> dict:
    base = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    return prometheus_config(
        base,
        rules_dir=PROMETHEUS_CONFIG.parent,
        targets={"pipeline": "127.0.0.1:9108", "replay": "127.0.0.1:9109"},
        alertmanager=alertmanager,
    )


def test_prometheus_scrapes_the_local_worker_and_replay_with_the_projects_rules():
    config = local_prometheus()
    targets = {job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]}
    assert targets == {"pipeline": ["127.0.0.1:9108"], "replay": ["127.0.0.1:9109"]}
    rules = [path for pattern in config["rule_files"] for path in glob.glob(pattern)]
    assert rules and all(path.startswith(str(PROMETHEUS_CONFIG.parent)) for path in rules)
    assert config["alerting"] == {"alertmanagers": [{"static_configs": [{"targets": ["127.0.0.1:9094"]}]}]}
    assert config["global"]["evaluation_interval"] == "2s"
    assert "alerting" not in local_prometheus(alertmanager=None)


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_derived_prometheus_config(tmp_path):
    path = tmp_path / "prometheus.yml"
    path.write_text(json.dumps(local_prometheus()))
    checked = subprocess.run(["promtool", "check", "config", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_alertmanager_keeps_the_routes_and_sends_every_receiver_to_the_demos_webhook():
    if not ALERTMANAGER_CONFIG.is_file():
        pytest.skip("deploy/alertmanager/alertmanager.yml is not there yet")
    base = yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
    config = alertmanager_config(base, HOOK)
    assert [r["name"] for r in config["receivers"]] == [r["name"] for r in base["receivers"]]
    assert all(r["webhook_configs"] == [{"url": HOOK, "send_resolved": True}] for r in config["receivers"])
    assert config["route"]["receiver"] == base["route"]["receiver"]
    assert config["route"]["group_by"] == base["route"]["group_by"]
    assert config["route"]["group_wait"] == "2s"
    assert [route["receiver"] for route in config["route"]["routes"]] == [
        route["receiver"] for route in base["route"]["routes"]
    ]
    for route in config["route"]["routes"]:  # a child's own wait is shortened too, not added
        original = next(r for r in base["route"]["routes"] if r["receiver"] == route["receiver"])
        assert ("group_wait" in route) == ("group_wait" in original)


def test_alertmanager_without_the_file_or_a_webhook():
    assert alertmanager_config(None, HOOK)["receivers"] == [
        {"name": "demo", "webhook_configs": [{"url": HOOK, "send_resolved": True}]}
    ]
    assert alertmanager_config(None)["receivers"] == [{"name": "demo"}]
    route = {"receiver": "x", "routes": [{"receiver": "y", "matchers": ['severity="info"']}]}
    config = alertmanager_config({"route": route, "receivers": [{"name": "x"}, {"name": "y"}]})
    assert config["receivers"] == [{"name": "x"}, {"name": "y"}]


@pytest.mark.skipif(shutil.which("amtool") is None, reason="amtool is not installed")
@pytest.mark.parametrize("with_file", [True, False])
def test_amtool_accepts_the_derived_alertmanager_config(tmp_path, with_file):
    base = (
        yaml.safe_load(ALERTMANAGER_CONFIG.read_text())
        if with_file and ALERTMANAGER_CONFIG.is_file()
        else None
    )
    path = tmp_path / "alertmanager.yml"
    path.write_text(json.dumps(alertmanager_config(base, HOOK)))
    checked = subprocess.run(["amtool", "check-config", str(path)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
