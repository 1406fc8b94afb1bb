"""The numbers the live view shows, read from the worker's and the replay's /metrics. Pure.

:func:`replay_state` and :func:`worker_state` turn two readings of an endpoint (now and the one before,
as :func:`pipeline.metrics.read_samples` returns them) into what is on screen: totals, rates per second,
lag, event times, category counts. :class:`Snapshot` is everything the view needs at one moment; the
view is a function of it alone (:mod:`demo.view`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from feed.taxonomy import CATEGORIES
from pipeline.metrics import Samples, sample_total

Record = dict[str, Any]


@dataclass(frozen=True)
class ReplayState:
    sent: int = 0
    acknowledged: int = 0
    planned: int = 0
    skipped: int = 0
    speed: float | None = None  # None: max (unpaced)
    paused: bool = False
    event_time: float | None = None
    rate: float = 0.0  # posts acknowledged per second, over the last interval
    behind: float = 0.0  # seconds behind schedule, last post
    finished: bool = False  # the replay process has exited


@dataclass(frozen=True)
class WorkerState:
    consumed: int = 0
    published: int = 0
    invalid: int = 0
    consumed_rate: float = 0.0
    published_rate: float = 0.0
    lag: int | None = None  # records waiting on the posts topic (the worker probes every few seconds)
    event_time: float | None = None
    watermark: float | None = None
    categories: dict[str, int] = field(default_factory=dict)
    alerts_raised: int = 0  # pipeline_alerts_total, every type, onsets and ends
    end_markers: int = 0


@dataclass(frozen=True)
class Snapshot:
    title: str  # what is replayed, e.g. "iran2009 scenario (seed 1): 48 h of event time in ~120 s"
    phase: str  # starting | replaying | draining | done
    elapsed: float  # wall seconds since the replay started
    replay: ReplayState | None = None
    worker: WorkerState | None = None
    alerts: tuple[Record, ...] = ()  # the alerts topic, in order
    firing: tuple[str, ...] = ()  # Prometheus alerts firing now (alertname[, label])
    pending: int = 0  # Prometheus alerts pending (a `for:` not yet over)
    alertmanager: int | None = None  # alerts Alertmanager holds now; None: not running
    notifications: int = 0  # webhooks Alertmanager delivered to the demo's receiver
    delivered: tuple[str, ...] = ()  # what they said, in words, oldest first
    prometheus_url: str | None = None
    alertmanager_url: str | None = None
    notes: tuple[str, ...] = ()  # the last things the demo said (key presses, ...)
    interactive: bool = False  # keys work (a terminal)


def _int(value: float | None) -> int:
    return int(value or 0)


def _gauge(samples: Samples, name: str) -> float | None:
    """The single value of an unlabelled gauge, None when absent or 0 (not set yet)."""
    for (sample, _labels), value in samples.items():
        if sample == name:
            return value or None
    return None


def _rate(now: Samples, before: Samples | None, seconds: float, name: str, **labels: str) -> float:
    if before is None or seconds <= 0:
        return 0.0
    return max(0.0, (sample_total(now, name, **labels) - sample_total(before, name, **labels)) / seconds)


def replay_state(now: Samples, before: Samples | None = None, seconds: float = 0.0) -> ReplayState:
    """A replay's /metrics (``replay_*``); rates between ``before`` and ``now``, ``seconds`` apart."""
    speed = _gauge(now, "replay_speed_factor")
    return ReplayState(
        sent=_int(sample_total(now, "replay_posts_sent_total")),
        acknowledged=_int(sample_total(now, "replay_posts_acknowledged_total")),
        planned=_int(sample_total(now, "replay_posts_planned")),
        skipped=_int(sample_total(now, "replay_posts_skipped_total")),
        speed=speed,  # 0 (max) reads as None
        paused=bool(sample_total(now, "replay_paused")),
        event_time=_gauge(now, "replay_event_time_seconds"),
        rate=_rate(now, before, seconds, "replay_posts_acknowledged_total"),
        behind=sample_total(now, "replay_behind_schedule_seconds"),
    )


def worker_state(
    now: Samples, before: Samples | None = None, seconds: float = 0.0, *, posts_topic: str | None = None
) -> WorkerState:
    """A worker's /metrics (``pipeline_*``); lag of ``posts_topic`` (every topic when None)."""
    lag_labels = {"topic": posts_topic} if posts_topic else {}
    has_lag = any(name == "pipeline_consumer_lag_records" for name, _ in now)
    categories = {
        category: _int(sample_total(now, "pipeline_posts_classified_total", category=category))
        for category in CATEGORIES
    }
    return WorkerState(
        consumed=_int(sample_total(now, "pipeline_posts_consumed_total")),
        published=_int(sample_total(now, "pipeline_posts_published_total")),
        invalid=_int(sample_total(now, "pipeline_posts_invalid_total")),
        consumed_rate=_rate(now, before, seconds, "pipeline_posts_consumed_total"),
        published_rate=_rate(now, before, seconds, "pipeline_posts_published_total"),
        lag=_int(sample_total(now, "pipeline_consumer_lag_records", **lag_labels)) if has_lag else None,
        event_time=_gauge(now, "pipeline_event_time_seconds"),
        watermark=_gauge(now, "pipeline_watermark_seconds"),
        categories=categories,
        alerts_raised=_int(sample_total(now, "pipeline_alerts_total")),
        end_markers=_int(sample_total(now, "pipeline_end_markers_total")),
    )


def prometheus_alerts(answer: Any) -> tuple[tuple[str, ...], int]:
    """Prometheus's ``/api/v1/alerts`` answer → (the firing ones as ``Name`` or ``Name(label)``, sorted
    and unique; how many are pending)."""
    alerts = (answer or {}).get("data", {}).get("alerts", []) if isinstance(answer, dict) else []
    firing: set[str] = set()
    pending = 0
    for alert in alerts:
        labels = alert.get("labels", {})
        if alert.get("state") == "firing":
            detail = labels.get("region") or labels.get("term")
            name = labels.get("alertname", "?")
            firing.add(f"{name}({detail})" if detail else name)
        elif alert.get("state") == "pending":
            pending += 1
    return tuple(sorted(firing)), pending
