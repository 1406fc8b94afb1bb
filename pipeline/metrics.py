"""The worker's Prometheus metrics, in their own registry so tests and workers never share state."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics, start_http_server

# The *_created series double every counter's cardinality and no dashboard reads them.
disable_created_metrics()


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.posts_consumed = Counter(
            "pipeline_posts_consumed",
            "Valid posts consumed from the posts topic.",
            ["platform", "region"],
            registry=self.registry,
        )
        self.posts_invalid = Counter(
            "pipeline_posts_invalid",
            "Records on the posts topic that broke the feed contract, sent to the dead-letter topic.",
            ["reason"],
            registry=self.registry,
        )
        self.event_time = Gauge(
            "pipeline_event_time_seconds",
            "Largest post event time seen so far (Unix seconds): how far the stream has got.",
            registry=self.registry,
        )

    def serve(self, host: str, port: int) -> None:
        """Expose /metrics over HTTP from a daemon thread."""
        start_http_server(port, addr=host, registry=self.registry)
