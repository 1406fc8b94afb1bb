"""The health probe: a Faust timer around the stages. Wiring only.

The stages themselves are services the Faust worker starts and stops with the app:
:mod:`pipeline.stream.classify_stage` (``posts`` → ``posts.classified`` + ``posts.detect``) and
:mod:`pipeline.stream.detect_stage` (``posts.detect`` → ``alerts``, or through the shards and the
merge). ``probe_health`` asks the broker for the end offsets of every partition they hold every few
seconds; :class:`HealthMonitor` decides (lag, stalls, /health) and
:meth:`PipelineMetrics.export_health` exports.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

import faust

from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings
from pipeline.stream.classify_stage import ClassifyService
from pipeline.stream.detect_stage import DetectService
from pipeline.stream.health import HealthMonitor, PartitionOffsets, TopicPartition


def register_agents(
    app: faust.App,
    settings: Settings,
    metrics: PipelineMetrics,
    health: HealthMonitor,
    classify_stage: ClassifyService | None,
    detect_stages: Sequence[DetectService],
) -> None:
    """``classify_stage``: None on a worker that detects only (CLASSIFY=0)."""

    @app.timer(interval=settings.health_interval)
    async def probe_health() -> None:
        await _probe(settings, classify_stage, detect_stages, metrics, health)


async def _probe(
    settings: Settings,
    classify_stage: ClassifyService | None,
    detect_stages: Sequence[DetectService],
    metrics: PipelineMetrics,
    health: HealthMonitor,
) -> None:
    """Asks the broker for the end offsets of every partition the stages hold: lag, stalls and health."""
    timeout = max(settings.health_interval, 5.0)
    error = None
    try:
        offsets: dict[TopicPartition, PartitionOffsets] = {}
        if classify_stage is not None:
            offsets.update(await asyncio.wait_for(classify_stage.offsets(), timeout))
        for detect_stage in detect_stages:
            offsets.update(await asyncio.wait_for(detect_stage.offsets(), timeout))
        connected = True
    except Exception as exc:  # any failure to reach the broker is the answer itself
        offsets, connected, error = {}, False, f"{type(exc).__name__}: {exc}"
    report = health.observe(time.monotonic(), offsets, broker_connected=connected, error=error)
    metrics.export_health(report)
