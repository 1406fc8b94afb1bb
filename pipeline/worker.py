"""The composition root: settings → App → metrics → agents → a running Faust worker."""

from __future__ import annotations

import sys

import faust

from pipeline.agents import register_agents
from pipeline.app import create_app
from pipeline.engine import Engine
from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings


def run(settings: Settings) -> int:
    app = create_app(settings)
    metrics = PipelineMetrics()
    register_agents(app, settings, metrics, Engine())
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
