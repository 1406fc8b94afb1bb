"""Faust timers around the stages: the health probe. Wiring only.

The stages themselves are services the Faust worker starts and stops with the app:
:mod:`pipeline.stream.classify_stage` (``posts`` → ``posts.classified`` + ``posts.detect``) and
:mod:`pipeline.stream.detect_stage` (``posts.detect`` → ``alerts``). ``probe_health`` asks the broker for the
end offsets of every partition they hold every few seconds: consumer lag, stalls, /health.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import faust
from prometheus_client import Gauge

from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings
from pipeline.stream.classify_stage import ClassifyService
from pipeline.stream.detect_stage import DetectService
from pipeline.stream.health import HealthMonitor, HealthReport


def register_agents(
    app: faust.App,
    settings: Settings,
    metrics: PipelineMetrics,
    health: HealthMonitor,
    classify_stage: ClassifyService,
    detect_stage: DetectService,
) -> None:
    @app.timer(interval=settings.health_interval)
    async def probe_health() -> None:
        await _probe(settings, classify_stage, detect_stage, metrics, health)


async def _probe(
    settings: Settings,
    classify_stage: ClassifyService,
    detect_stage: DetectService,
    metrics: PipelineMetrics,
    health: HealthMonitor,
) -> None:
    """Asks the broker for the end offsets of every partition the stages hold: lag, stalls and health."""
    timeout = max(settings.health_interval, 5.0)
    error = None
    try:
        offsets = await asyncio.wait_for(classify_stage.offsets(), timeout)
        offsets.update(await asyncio.wait_for(detect_stage.offsets(), timeout))
        connected = True
    except Exception as exc:  # any failure to reach the broker is the answer itself
        offsets, connected, error = {}, False, f"{type(exc).__name__}: {exc}"
    report = health.observe(time.monotonic(), offsets, broker_connected=connected, error=error)
    _export_health(report, metrics)


def _export_health(report: HealthReport, metrics: PipelineMetrics) -> None:
    metrics.broker_connected.set(1 if report.broker_connected else 0)
    metrics.healthy.set(1 if report.healthy(report.checked_at, max_age=float("inf")) else 0)
    per_topic: Counter[str] = Counter()
    exported = set()
    for partition in report.partitions:
        labels = (partition.topic, str(partition.partition))
        exported.add(labels)
        per_topic[partition.topic] += 1
        if partition.end is not None:
            metrics.consumer_end_offset.labels(*labels).set(partition.end)
        if partition.committed is not None:
            metrics.consumer_committed_offset.labels(*labels).set(partition.committed)
        if partition.lag is not None:
            metrics.consumer_lag.labels(*labels).set(partition.lag)
        if partition.held is not None:
            metrics.consumer_held.labels(*labels).set(partition.held)
        metrics.consumer_stalled.labels(*labels).set(1 if partition.stalled else 0)
    for gauge in (
        metrics.consumer_end_offset,
        metrics.consumer_committed_offset,
        metrics.consumer_lag,
        metrics.consumer_held,
        metrics.consumer_stalled,
    ):
        # Partitions moved to another worker stop being this worker's series.
        for labels in [labels for labels in _label_sets(gauge) if labels not in exported]:
            gauge.remove(*labels)
    for topic_name in {labels[0] for labels in _label_sets(metrics.assigned_partitions)} | set(per_topic):
        metrics.assigned_partitions.labels(topic_name).set(per_topic[topic_name])


def _label_sets(gauge: Gauge) -> list[tuple[str, ...]]:
    return [tuple(sample.labels.values()) for metric in gauge.collect() for sample in metric.samples]
