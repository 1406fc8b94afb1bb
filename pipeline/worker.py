"""The composition root: settings → App → metrics → agents → a running Faust worker."""

from __future__ import annotations

import sys

import faust

from pipeline.agents import register_agents
from pipeline.app import create_app
from pipeline.detect import Detector, DetectorConfig
from pipeline.engine import Engine
from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings


def run(settings: Settings) -> int:
    app = create_app(settings)
    metrics = PipelineMetrics()
    # The watermark waits for every partition of posts, so the alerts never depend on which partition
    # happens to be read first (see pipeline/detect).
    engine = Engine(detector=Detector(DetectorConfig(min_sources=settings.posts_partitions)))
    register_agents(app, settings, metrics, engine)
    try:
        metrics.serve(settings.metrics_host, settings.metrics_port)
    except OSError as exc:
        print(f"pipeline: cannot serve metrics on port {settings.metrics_port}: {exc}", file=sys.stderr)
        return 2
    print(
        f"pipeline: worker {settings.app_id} consuming {settings.posts_topic}@{settings.bootstrap}; "
        f"metrics on http://127.0.0.1:{settings.metrics_port}/metrics",
        file=sys.stderr,
        flush=True,
    )
    worker = faust.Worker(app, loglevel=settings.log_level, quiet=True)
    worker.execute_from_commandline()  # returns or exits once Ctrl-C / SIGTERM has stopped the app
    return 0
