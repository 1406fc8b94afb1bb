"""The composition root: settings → App → metrics → agents → a running Faust worker."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time
from typing import Any

import faust
from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from prometheus_client import ProcessCollector

from feed.pseudonyms import Pseudonymizer, load_key
from pipeline import runtime
from pipeline.detect import Detector, DetectorConfig
from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings
from pipeline.stream import kafka_clients, log_repeats, metadata_backoff
from pipeline.stream.app import create_app
from pipeline.stream.classify_stage import ClassifyService
from pipeline.stream.detect_stage import DetectService, detect_roles
from pipeline.stream.faults import make_engine
from pipeline.stream.health import HealthMonitor
from pipeline.stream.health_probe import register_agents
from pipeline.stream.stop_deadline import StopDeadline
from pipeline.stream.topics import declare as declare_topics

log = logging.getLogger(__name__)


def run(settings: Settings) -> int:
    kafka_clients.security()  # a bad KAFKA_SECURITY, KAFKA_PASSWORD_FILE, ...: ValueError, one line
    try:
        kafka_clients.check_access(settings)
    except kafka_clients.WorkerRefused as exc:  # who, which topic or group, which operation: one line
        print(exc, file=sys.stderr, flush=True)
        return 1
    runtime.tune()
    app = create_app(settings)
    metrics = PipelineMetrics()
    # process_cpu_seconds_total, process_resident_memory_bytes, ... of this process (its event loop; the
    # classifier processes are apart): beside pipeline_detect_cpu_seconds, where the time goes.
    ProcessCollector(registry=metrics.registry)
    runtime.CollectorClock(metrics.gc_seconds).install()  # pipeline_gc_seconds_total
    log_repeats.limit_repeats()  # a broker away: not thousands of reconnection errors a second
    metadata_backoff.install()  # ... nor as many reconnections
    # Faust's own sensor (events, sends, commits, rebalances) in the same registry, as pipeline_faust_*.
    app.monitor = PrometheusMonitor(metrics=FaustMetrics.create(metrics.registry, "pipeline_faust"))
    # The watermark waits for every partition of posts, so the alerts never depend on which partition
    # happens to be read first (see pipeline/detect).
    detector_config = settings.detector_config(min_sources=settings.posts_partitions)
    health = HealthMonitor(stall_seconds=settings.stall_seconds, interval=settings.health_interval)
    topics = declare_topics(app, settings)
    classify_stage = _classify_stage(settings, topics, metrics, detector_config)
    if settings.detect:
        roles = detect_roles(settings, detector_config)
        if settings.detect_partitions > 1 and len(roles) == 1:
            log.warning(
                "DETECT_ROLES=%s: this worker holds the %s only; another worker must hold the %s",
                settings.detect_roles,
                roles[0].name,
                "merge" if roles[0].is_shards else "shards",
            )
    else:
        roles = []
        log.warning("DETECT=0: this worker classifies only; another worker of the group must detect")
    detect_stages = [DetectService(topics, settings, metrics, role) for role in roles]
    register_agents(app, settings, metrics, health, classify_stage, detect_stages)

    def health_check() -> tuple[bool, dict]:
        report, now = health.report(), time.monotonic()
        # The pid says which process answered: a test (or an operator) can tell its worker from
        # another that took the same port.
        return report.healthy(now, health.max_age), {
            **report.to_record(now, health.max_age),
            "pid": os.getpid(),
        }

    try:
        port = metrics.serve(settings.metrics_host, settings.metrics_port, health_check)
    except OSError as exc:
        print(f"pipeline: cannot serve metrics on port {settings.metrics_port}: {exc}", file=sys.stderr)
        return 2
    consuming = settings.posts_topic if classify_stage is not None else settings.detect_topic
    print(
        f"pipeline: worker {settings.app_id} consuming {consuming}@{settings.bootstrap}; "
        f"metrics on http://127.0.0.1:{port}/metrics, health on /health",
        file=sys.stderr,
        flush=True,
    )
    deadline = StopDeadline(settings.stop_seconds, os._exit, _say)
    stages = [stage for stage in (classify_stage, *detect_stages) if stage is not None]
    worker = _Worker(deadline, app, *stages, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()  # returns or exits once Ctrl-C / SIGTERM has stopped the app
    return 0


def _classify_stage(
    settings: Settings,
    topics: dict[str, faust.TopicT],
    metrics: PipelineMetrics,
    detector_config: DetectorConfig,
) -> ClassifyService | None:
    """The classify stage, or None on a worker that detects only (CLASSIFY=0). Only a classifying worker
    loads the pseudonym key: detection sees authors as the classify stage wrote them, pseudonymous, so a
    detecting-only worker has no key to lose."""
    if not settings.classify:
        log.warning("CLASSIFY=0: this worker detects only; other workers of the group must classify")
        return None
    engine = make_engine(settings.fault_engine_error, detector=Detector(detector_config))
    if settings.keep_authors:
        log.warning("KEEP_AUTHORS=1: authors and @mentions are published as they reach the posts topic")
    pseudonymizer = None if settings.keep_authors else Pseudonymizer(load_key())
    return ClassifyService(topics, settings, metrics, engine, pseudonymizer)


class _Worker(faust.Worker):
    """Faust's worker, with a deadline on every stop (see pipeline.stream.stop_deadline)."""

    def __init__(self, deadline: StopDeadline, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def _schedule_shutdown(self, signal: signal.Signals) -> None:
        self.deadline.signalled()
        super()._schedule_shutdown(signal)

    def on_worker_shutdown(self) -> None:
        # Every stop passes here, a signal's and a crash's (a stage that failed): both end in time.
        self.deadline.arm()


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
