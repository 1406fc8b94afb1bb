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
        self.alerts = Counter("pipeline_alerts", "Alerts raised, by type.", ["type"], registry=self.registry)
        self.late_posts = Counter(
            "pipeline_late_posts",
            "Posts older than the event-time watermark on arrival: counted here, not in any window.",
            registry=self.registry,
        )
        self.watermark = Gauge(
            "pipeline_watermark_seconds",
            "Event-time watermark of detection (Unix seconds): windows before it are closed.",
            registry=self.registry,
        )
        self.watermark_lag = Gauge(
            "pipeline_watermark_lag_seconds",
            "Wall clock minus the event-time watermark (years when replaying 2009; seconds when live).",
            registry=self.registry,
        )
        self.watch_observed = Gauge(
            "pipeline_watchlist_observed",
            "Posts with a watchlist term in the last closed window, by region.",
            ["term", "region"],
            registry=self.registry,
        )
        self.watch_expected = Gauge(
            "pipeline_watchlist_expected",
            "Posts with the term that the control and the baseline predict for that window.",
            ["term", "region"],
            registry=self.registry,
        )
        self.watch_suspicion = Gauge(
            "pipeline_watchlist_suspicion",
            "Filtering suspicion: -log10 of the count test's p-value (higher = more suspicious).",
            ["term", "region"],
            registry=self.registry,
        )
        self.outage = Gauge(
            "pipeline_region_outage", "1 while a region is in an outage.", ["region"], registry=self.registry
        )
        self.event_time = Gauge(
            "pipeline_event_time_seconds",
            "Largest post event time seen so far (Unix seconds): how far the stream has got.",
            registry=self.registry,
        )

    def serve(self, host: str, port: int) -> None:
        """Expose /metrics over HTTP from a daemon thread."""
        start_http_server(port, addr=host, registry=self.registry)
