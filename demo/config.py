"""The demo's settings from the environment, and the configs it derives for Prometheus and Alertmanager.
Pure: no processes, no network.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
PROMETHEUS_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"
ALERTMANAGER_CONFIG = REPO / "deploy" / "alertmanager" / "alertmanager.yml"
KAFKA_SH = REPO / "deploy" / "kafka" / "kafka.sh"

# (variable, default, meaning): the --help text and DemoConfig.from_env read this one table.
ENVIRONMENT: tuple[tuple[str, str, str], ...] = (
    ("DEMO_SECONDS", "120", "wall seconds the replay should take (the speed is the feed's span / this)"),
    ("DEMO_FEED", "iran2009", "iran2009 (a generated scenario), seed (the built-in seed feed) or a path"),
    ("DEMO_HOURS", "48", "event-time hours of the generated scenario"),
    ("DEMO_SEED", "1", "random seed of the generated scenario"),
    ("DEMO_TRUTH", "", "truth file for DEMO_FEED=<path> (generated: written beside the feed)"),
    ("DEMO_KEEP", "", "1: after the report keep everything up until Ctrl-C; 0: stop at once "
     "(default: 1 on a terminal, 0 otherwise)"),
    ("DEMO_EVERY", "5", "seconds between plain lines (not on a terminal)"),
    ("DEMO_DRAIN_SECONDS", "120", "at most this long for the worker to finish after the replay"),
    ("DEMO_DIR", ".demo", "feed, truth, configs, logs and Prometheus data of the run (emptied first)"),
    ("KAFKA_PORT", "9092", "the local broker's port (reused when it is already up)"),
    ("KAFKA_DATA", ".kafka", "the local broker's data directory (deploy/kafka/kafka.sh)"),
    ("METRICS_PORT", "9108", "the worker's /metrics port"),
    ("REPLAY_METRICS_PORT", "9109", "the replay's /metrics and live-control port"),
    ("PROMETHEUS_PORT", "9090", "Prometheus's port (127.0.0.1 only)"),
    ("ALERTMANAGER_PORT", "9094", "Alertmanager's port (127.0.0.1 only; 9093 is the broker's controller)"),
    ("PROMETHEUS_BIN", "prometheus", "the Prometheus server (Debian: prometheus)"),
    ("ALERTMANAGER_BIN", "prometheus-alertmanager", "Alertmanager (Debian: prometheus-alertmanager)"),
)  # fmt: skip

SCRAPE_SECONDS = 2  # scrapes and rule evaluations: a two-minute demo gets sixty of each
PARTITIONS = 4


class ConfigError(ValueError):
    """A bad environment value: ``str()`` is one line saying which and why."""


@dataclass(frozen=True)
class DemoConfig:
    seconds: float = 120.0
    feed: str = "iran2009"
    hours: float = 48.0
    seed: int = 1
    truth: Path | None = None
    keep: bool | None = None  # None: decided by whether there is a terminal
    every: float = 5.0
    drain_seconds: float = 120.0
    directory: Path = Path(".demo")
    kafka_port: int = 9092
    kafka_data: Path = REPO / ".kafka"
    worker_port: int = 9108
    replay_port: int = 9109
    prometheus_port: int = 9090
    alertmanager_port: int = 9094
    prometheus_bin: str = "prometheus"
    alertmanager_bin: str = "prometheus-alertmanager"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DemoConfig:
        env = os.environ if env is None else env

        def get(name: str) -> str:
            default = next(default for variable, default, _ in ENVIRONMENT if variable == name)
            return (env.get(name) or default).strip()

        def positive(name: str, kind: type = float) -> Any:
            raw = get(name)
            try:
                value = kind(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r}: expected a positive number") from None
            if value <= 0:
                raise ConfigError(f"{name}={raw!r}: expected a positive number")
            return value

        def port(name: str) -> int:
            value = positive(name, int)
            if value > 65535:
                raise ConfigError(f"{name}={value}: not a port")
            return value

        keep_raw = get("DEMO_KEEP").lower()
        if keep_raw in ("", "auto"):
            keep = None
        elif keep_raw in ("1", "yes", "true"):
            keep = True
        elif keep_raw in ("0", "no", "false"):
            keep = False
        else:
            raise ConfigError(f"DEMO_KEEP={keep_raw!r}: use 1 or 0")
        feed = get("DEMO_FEED")
        if feed not in ("iran2009", "seed") and not Path(feed).is_file():
            raise ConfigError(f"DEMO_FEED={feed!r}: use iran2009, seed or the path of a JSON Lines feed")
        truth = get("DEMO_TRUTH")
        if truth and not Path(truth).is_file():
            raise ConfigError(f"DEMO_TRUTH={truth!r}: no such file")
        kafka_data = Path(env["KAFKA_DATA"]).resolve() if env.get("KAFKA_DATA") else REPO / ".kafka"
        return cls(
            seconds=positive("DEMO_SECONDS"),
            feed=feed,
            hours=positive("DEMO_HOURS"),
            seed=int(positive("DEMO_SEED", int)),
            truth=Path(truth) if truth else None,
            keep=keep,
            every=positive("DEMO_EVERY"),
            drain_seconds=positive("DEMO_DRAIN_SECONDS"),
            directory=Path(get("DEMO_DIR")).resolve(),
            kafka_port=port("KAFKA_PORT"),
            kafka_data=kafka_data,
            worker_port=port("METRICS_PORT"),
            replay_port=port("REPLAY_METRICS_PORT"),
            prometheus_port=port("PROMETHEUS_PORT"),
            alertmanager_port=port("ALERTMANAGER_PORT"),
            prometheus_bin=get("PROMETHEUS_BIN"),
            alertmanager_bin=get("ALERTMANAGER_BIN"),
        )

    def ports(self) -> dict[str, int]:
        return {
            "METRICS_PORT": self.worker_port,
            "REPLAY_METRICS_PORT": self.replay_port,
            "PROMETHEUS_PORT": self.prometheus_port,
            "ALERTMANAGER_PORT": self.alertmanager_port,
        }


def help_text() -> str:
    width = max(len(name) for name, _, _ in ENVIRONMENT)
    lines = [
        "usage: python -m demo   (make demo)",
        "",
        "Starts the local Kafka broker, a worker, Prometheus (the project's rules) and Alertmanager;",
        "replays a generated iran2009 scenario paced to about DEMO_SECONDS and shows the job live:",
        "posts/s in and out, lag, event time and speed, categories, open episodes, the last alerts.",
        "At the end the alerts are scored against the scenario's truth (found, missed, false alarms),",
        "and the Prometheus and Alertmanager URLs are printed.",
        "",
        "keys (on a terminal): + faster, - slower, space pause/resume, q quit; Ctrl-C stops everything",
        "the demo started (a broker that was already up is left running). Not on a terminal, it prints a",
        "plain line every DEMO_EVERY seconds and stops at the end.",
        "",
        "environment (default):",
    ]
    for name, default, meaning in ENVIRONMENT:
        lines.append(f"  {name:<{width}}  {meaning}" + (f" ({default})" if default else ""))
    lines += [
        "",
        "examples:",
        "  make demo                              two days of event time in about two minutes",
        "  DEMO_SECONDS=60 DEMO_HOURS=24 make demo",
        "  DEMO_FEED=seed make demo               the 63 posts of the built-in seed feed",
        "  DEMO_KEEP=0 make demo                  stop as soon as the report is printed",
    ]
    return "\n".join(lines)


# --- derived configs ---------------------------------------------------------------------------------


def prometheus_config(
    base: Mapping[str, Any],
    *,
    rules_dir: Path,
    targets: Mapping[str, str],
    alertmanager: str | None,
    scrape_seconds: int = SCRAPE_SECONDS,
) -> dict[str, Any]:
    """deploy/prometheus/prometheus.yml for this machine: the same rules (absolute paths), each job
    scraping its one local target (``targets``: job → host:port; a job of the file with no target here
    is left out), every ``scrape_seconds``, and alerts sent to ``alertmanager`` (host:port) if any."""
    jobs = [job["job_name"] for job in base.get("scrape_configs", [])]
    every = f"{scrape_seconds}s"
    config: dict[str, Any] = {
        "global": {
            **base.get("global", {}),
            "scrape_interval": every,
            "scrape_timeout": every,
            "evaluation_interval": every,
            "external_labels": {"stack": "demo"},
        },
        "rule_files": [str(rules_dir / pattern) for pattern in base.get("rule_files", [])],
        "scrape_configs": [
            {
                "job_name": job,
                "static_configs": [{"targets": [targets[job]], "labels": {"stack": "local"}}],
            }
            for job in jobs
            if job in targets
        ],
    }
    if alertmanager is not None:
        config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]}
    return config


def alertmanager_config(base: Mapping[str, Any] | None, webhook: str | None = None) -> dict[str, Any]:
    """deploy/alertmanager/alertmanager.yml for the demo: its routes (by severity) and inhibit rules, each
    receiver kept by name with its webhooks sent to ``webhook`` (the demo's own receiver, which shows
    what was delivered; None: notify nobody) and nothing else (mail or chat of the real stack is not
    here), and short waits so a two-minute demo shows its groups. Without a file: one receiver."""
    hooks = [{"url": webhook, "send_resolved": True}] if webhook else []

    def receiver(name: str) -> dict[str, Any]:
        return {"name": name, "webhook_configs": hooks} if hooks else {"name": name}

    if not base or "route" not in base:
        return {"route": {"receiver": "demo", **DEMO_WAITS}, "receivers": [receiver("demo")]}
    names = [item["name"] for item in base.get("receivers", []) if item.get("name")]
    config: dict[str, Any] = {
        "route": _quicker(base["route"], top=True),
        "receivers": [receiver(name) for name in names] or [receiver(base["route"].get("receiver", "demo"))],
    }
    if "resolve_timeout" in (base.get("global") or {}):
        config["global"] = {"resolve_timeout": base["global"]["resolve_timeout"]}
    if base.get("inhibit_rules"):
        config["inhibit_rules"] = base["inhibit_rules"]
    return config


DEMO_WAITS = {"group_wait": "2s", "group_interval": "10s", "repeat_interval": "1h"}


def _quicker(route: Mapping[str, Any], *, top: bool = False) -> dict[str, Any]:
    """A route tree with the demo's waits: at the top, and wherever a child route sets its own."""
    quick = {**route}
    for name, value in DEMO_WAITS.items():
        if top or name in route:
            quick[name] = value
    if "routes" in route:
        quick["routes"] = [_quicker(child) for child in route["routes"]]
    return quick
