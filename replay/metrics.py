"""The replayer's Prometheus metrics (``--metrics-port``), so Grafana can show replay progress.

They are served with the replay's live control (:mod:`replay.control`) on the same port."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, disable_created_metrics

disable_created_metrics()


class ReplayMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.posts_sent = Counter(
            "replay_posts_sent", "Posts handed to the Kafka producer.", registry=self.registry
        )
        self.posts_acknowledged = Counter(
            "replay_posts_acknowledged", "Posts the broker acknowledged.", registry=self.registry
        )
        self.posts_failed = Counter(
            "replay_posts_failed", "Posts whose delivery failed for good.", registry=self.registry
        )
        self.posts_planned = Gauge(
            "replay_posts_planned",
            "Posts this replay will send in all (loops included).",
            registry=self.registry,
        )
        self.behind_schedule = Gauge(
            "replay_behind_schedule_seconds",
            "How late the last post was sent against its schedule (0 = on time).",
            registry=self.registry,
        )
        self.posts_skipped = Counter(
            "replay_posts_skipped",
            "Posts a seek passed over: not sent.",
            registry=self.registry,
        )
        self.speed_factor = Gauge(
            "replay_speed_factor",
            "Event-time speed-up now (it changes with `replay ctl speed`); 0 means unpaced (max).",
            registry=self.registry,
        )
        self.event_time = Gauge(
            "replay_event_time_seconds",
            "Event time (Unix seconds) of the post now being replayed.",
            registry=self.registry,
        )
        self.paused = Gauge(
            "replay_paused", "1 while the replay is paused (ctl pause, SIGUSR1).", registry=self.registry
        )
        self.end_markers = Counter(
            "replay_end_markers",
            "End-of-feed markers the broker acknowledged: one per partition once the whole feed is.",
            registry=self.registry,
        )

    def serve(self, port: int, host: str = "127.0.0.1", control=None):
        """Serve the metrics (and ``control``'s commands, a :class:`replay.control.ReplayControl`) on
        ``host:port`` (0: any free port); returns the running :class:`replay.control.ControlServer`."""
        from replay.control import ControlServer

        return ControlServer(self.registry, control, host, port)
