"""The worker's Prometheus metrics, in their own registry so tests and workers never share state."""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)

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
        self.posts_by_category = Counter(
            "pipeline_posts_classified",
            "Classified posts by category (a post with several categories counts in each).",
            ["category"],
            registry=self.registry,
        )
        self.posts_by_priority = Counter(
            "pipeline_posts_priority",
            "Classified posts by TREC-IS priority.",
            ["priority"],
            registry=self.registry,
        )
        self.posts_by_lang = Counter(
            "pipeline_posts_lang", "Classified posts by language (en, fa, fa-Latn, other).", ["lang"],
            registry=self.registry,
        )  # fmt: skip
        self.processing_latency = Histogram(
            "pipeline_processing_latency_seconds",
            "From a record's arrival in the worker to its classified post being handed to Kafka.",
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
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
