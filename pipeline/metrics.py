"""The worker's Prometheus metrics, in their own registry so tests and workers never share state.

Names carry the ``pipeline_`` prefix and base units; labels are bounded (platform, region, lang,
category, priority, alert type, watchlist term, topic/partition). Faust's own sensor adds
``pipeline_faust_*`` (events, sends, commits, rebalances) to the same registry.
"""

from __future__ import annotations

import threading
import time
from collections import Counter as CountOf
from collections.abc import Callable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse
from urllib.request import urlopen

import orjson
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.exposition import choose_encoder
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

from feed.taxonomy import ALERT_TYPES
from pipeline.detect import Detector
from pipeline.labels import region_label

if TYPE_CHECKING:
    from pipeline.stream.detect_loop import DetectCounts
    from pipeline.stream.health import HealthReport

# The outcomes a detect record can have, and the field of DetectCounts that counts each.
DETECT_OUTCOMES = {
    "folded": "records",
    "reread": "reread",
    "bad": "bad_records",
    "lost": "lost",
    "skipped": "skipped",
}

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
            "From a record's arrival in the worker to the broker acknowledging its classified post.",
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

        self.posts_published = Counter(
            "pipeline_posts_published",
            "Classified posts published to the classified topic, by platform, region and language.",
            ["platform", "region", "lang"],
            registry=self.registry,
        )
        self.duplicates = Counter(
            "pipeline_duplicates",
            "Records recognized as repeats and not counted again, by kind "
            "(redelivered: read again after a restart or rebalance; repeated_id: the same post id again; "
            "alert: an alert already on the alerts topic, raised again by a restored detector catching up).",
            ["kind"],
            registry=self.registry,
        )
        self.window_posts = Gauge(
            "pipeline_window_posts",
            "Posts in the last closed detection window, by region.",
            ["region"],
            registry=self.registry,
        )
        self.window_expected_posts = Gauge(
            "pipeline_window_expected_posts",
            "Posts the region's baseline expected in the last closed window.",
            ["region"],
            registry=self.registry,
        )
        self.surge_observed = Gauge(
            "pipeline_surge_observed",
            "Last closed window, as the surge test measured it: posts for '*' (all), each category:<c> "
            "and each watchlist term.",
            ["key"],
            registry=self.registry,
        )
        self.surge_expected = Gauge(
            "pipeline_surge_expected",
            "What the baselines expected of the same keys in that window.",
            ["key"],
            registry=self.registry,
        )
        # Accounts (issue 18).
        self.deletion_notices = Counter(
            "pipeline_deletion_notices",
            "Deletion notices read from the posts topic (they go to detection, not to posts.classified).",
            registry=self.registry,
        )
        self.window_deletions = Gauge(
            "pipeline_window_deletions",
            "Deletions in the last closed detection window, by region (where the deleted post counted, or "
            "its author's home region when the post was never seen).",
            ["region"],
            registry=self.registry,
        )
        self.window_expected_deletions = Gauge(
            "pipeline_window_expected_deletions",
            "Deletions the region's baseline expected in the last closed window.",
            ["region"],
            registry=self.registry,
        )
        self.term_deletions = Gauge(
            "pipeline_term_deletions",
            "Deleted posts carrying a watchlist term in the last closed window, by term and region.",
            ["term", "region"],
            registry=self.registry,
        )
        self.term_expected_deletions = Gauge(
            "pipeline_term_expected_deletions",
            "What the term's share of the region's posts predicts of those deletions.",
            ["term", "region"],
            registry=self.registry,
        )
        self.relocations = Counter(
            "pipeline_relocations",
            "Authors seen posting from another region than the first one the stream saw for them, by "
            "destination (once per move; their posts still count at home).",
            ["to"],
            registry=self.registry,
        )
        self.coordination_clusters = Gauge(
            "pipeline_coordination_clusters_open",
            "Coordination clusters open now (near-identical posts of many new accounts).",
            registry=self.registry,
        )
        self.coordination_cluster_accounts = Gauge(
            "pipeline_coordination_cluster_accounts",
            "Distinct accounts in each open coordination cluster (the series goes when the cluster ends).",
            ["cluster"],
            registry=self.registry,
        )
        self.late_deletions = Counter(
            "pipeline_late_deletions",
            "Deletion notices older than the event-time watermark on arrival: counted here, in no window.",
            registry=self.registry,
        )
        self.unknown_deletions = Counter(
            "pipeline_unknown_deletions",
            "Deletion notices whose post detection never saw (or had forgotten): they count toward the "
            "author's home region and no term.",
            registry=self.registry,
        )
        self.detector_state = Gauge(
            "pipeline_detector_state_entries",
            "What detection remembers, by kind (authors, indexed_posts, signed_posts, open_windows, "
            "terms_tracked, episodes); bounded by the retention and limits of the detector's config.",
            ["kind"],
            registry=self.registry,
        )
        self.active_episodes = Gauge(
            "pipeline_active_episodes",
            "Detection episodes open now (raised and not yet ended), by type.",
            ["type"],
            registry=self.registry,
        )
        self.consumer_end_offset = Gauge(
            "pipeline_consumer_end_offset",
            "End offset (next offset to be written) of each partition assigned to this worker.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.consumer_committed_offset = Gauge(
            "pipeline_consumer_committed_offset",
            "Offset this worker's group committed for each assigned partition.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.consumer_lag = Gauge(
            "pipeline_consumer_lag_records",
            "End offset minus committed offset of each assigned partition.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.consumer_stalled = Gauge(
            "pipeline_consumer_stalled",
            "1 while records wait on an assigned partition and the worker's position has not moved "
            "for STALL_SECONDS.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.assigned_partitions = Gauge(
            "pipeline_assigned_partitions",
            "Partitions assigned to this worker, by topic.",
            ["topic"],
            registry=self.registry,
        )
        self.partitions_paused = Gauge(
            "pipeline_partitions_paused",
            "Assigned partitions the classify stage holds back because they ran more than ALIGN_SECONDS "
            "of event time ahead of the slowest one with records waiting (event-time alignment).",
            ["topic"],
            registry=self.registry,
        )
        self.broker_connected = Gauge(
            "pipeline_broker_connected", "1 when the last probe of the broker answered.",
            registry=self.registry,
        )  # fmt: skip
        self.healthy = Gauge(
            "pipeline_healthy", "1 when /health answers 200 (broker reachable, nothing stalled).",
            registry=self.registry,
        )  # fmt: skip

        self.end_markers = Counter(
            "pipeline_end_markers",
            "End-of-feed markers read from the posts topic: a replay finished on that partition.",
            registry=self.registry,
        )
        self.consumer_held = Gauge(
            "pipeline_consumer_held_records",
            "Records of each assigned partition read and processed but not yet committed (the detect "
            "stage commits at each snapshot): a restart reads them again. Not lag.",
            ["topic", "partition"],
            registry=self.registry,
        )
        self.detect_records = Counter(
            "pipeline_detect_records",
            "Records of the detect topic by what the detect stage did with them (folded; reread: "
            "already in its state; bad: not a detect record; lost: gone from the broker when read; "
            "skipped: offsets that are no records).",
            ["outcome"],
            registry=self.registry,
        )
        self.detect_gaps = Counter(
            "pipeline_detect_gaps",
            "Holes in the detect topic's offsets that the detect stage read again.",
            registry=self.registry,
        )
        self.detect_snapshots = Counter(
            "pipeline_detect_snapshots", "Detector snapshots saved.", registry=self.registry
        )
        self.detect_snapshot_bytes = Gauge(
            "pipeline_detect_snapshot_bytes",
            "Size of the last detector snapshot (saved as chunks of at most 512 KiB).",
            registry=self.registry,
        )
        self.detect_snapshot_seconds = Histogram(
            "pipeline_detect_snapshot_seconds",
            "Time to save a detector snapshot, alerts flushed first.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=self.registry,
        )
        self.shard_state = Gauge(
            "pipeline_detect_shard_state_entries",
            "What each detection shard this worker holds remembers, by kind (as "
            "pipeline_detector_state_entries; DETECT_PARTITIONS above 1): authors and indexed posts live "
            "in the shards.",
            ["shard", "kind"],
            registry=self.registry,
        )
        self.detect_part_bytes = Histogram(
            "pipeline_detect_part_bytes",
            "Size of the parts the detection shards hand on to the merge (DETECT_PARTITIONS above 1).",
            buckets=(256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304),
            registry=self.registry,
        )
        self.detect_cpu = Counter(
            "pipeline_detect_cpu_seconds",
            "CPU seconds the detect loops spent in detection proper (folding records: decoding, detecting, "
            "making parts or alerts; encoding snapshots), by role: detect (one detector), shards, merge. "
            "Beside process_cpu_seconds_total it shows where a worker's time goes.",
            ["role"],
            registry=self.registry,
        )
        self.detect_restores = Counter(
            "pipeline_detect_restores",
            "Times this worker took the detect partition over from a saved snapshot.",
            registry=self.registry,
        )
        self.detect_restore_seconds = Gauge(
            "pipeline_detect_restore_seconds",
            "How long the last take-over of the detect partition took (snapshot read, alerts checked).",
            registry=self.registry,
        )
        self.detect_owner = Gauge(
            "pipeline_detect_owner",
            "1 while this worker holds the partition that raises the alerts: posts.detect's with one detect "
            "partition, else the parts topic's (the merge).",
            registry=self.registry,
        )
        self.detect_shards = Gauge(
            "pipeline_detect_shards",
            "Detect partitions (detection shards) this worker holds, when DETECT_PARTITIONS is above 1.",
            registry=self.registry,
        )

        # Series that exist from the start, so that rate() and increase() see their first increment.
        for kind in ALERT_TYPES:
            self.alerts.labels(kind)
        for kind in ("redelivered", "repeated_id", "alert"):
            self.duplicates.labels(kind)
        for outcome in DETECT_OUTCOMES:
            self.detect_records.labels(outcome)
        # pipeline_gc_seconds_total, by generation: the worker's pipeline.runtime.CollectorClock adds to
        # these floats, read at each scrape (a collection must not take a counter's lock).
        self.gc_seconds = [0.0, 0.0, 0.0]
        self.registry.register(_CollectorSeconds(self.gc_seconds))
        self._relocations_counted: dict[str, int] | None = None  # what the detector had counted when seen
        self._clusters_exported: set[str] = set()

    def export_detect_counts(self, counts: DetectCounts, before: DetectCounts, role: str = "detect") -> None:
        """A detect loop's running counts into the counters, as the increments since ``before`` (what
        that loop had counted when last exported); ``role``: the loop's (detect, shards or merge)."""
        for outcome, field in DETECT_OUTCOMES.items():
            grown = getattr(counts, field) - getattr(before, field)
            if grown > 0:
                self.detect_records.labels(outcome).inc(grown)
        if counts.gaps > before.gaps:
            self.detect_gaps.inc(counts.gaps - before.gaps)
        if counts.snapshots > before.snapshots:
            self.detect_snapshots.inc(counts.snapshots - before.snapshots)
        if counts.cpu_seconds > before.cpu_seconds:
            self.detect_cpu.labels(role).inc(counts.cpu_seconds - before.cpu_seconds)

    def export_shard(self, shard: int, detector: Detector | None) -> None:
        """A shard's state entries; None: the shard left this worker (its series go)."""
        for kind, entries in (detector.state_entries() if detector is not None else {}).items():
            self.shard_state.labels(str(shard), kind).set(entries)
        if detector is None:
            for labels in _label_sets(self.shard_state):
                if labels[0] == str(shard):
                    self.shard_state.remove(*labels)

    def export_detector(self, detector: Detector) -> None:
        """The detector's state after its watermark moved: watchlist, outages, windows, episodes."""
        self.watermark.set(detector.watermark)
        self.watermark_lag.set(time.time() - detector.watermark)
        for status in detector.watch_status():
            region = region_label(status.region)
            self.watch_observed.labels(status.term, region).set(status.observed)
            self.watch_expected.labels(status.term, region).set(status.expected)
            self.watch_suspicion.labels(status.term, region).set(status.suspicion)
        for region, down in detector.outages().items():
            self.outage.labels(region_label(region)).set(1 if down else 0)
        window = detector.window_status()
        if window is not None:
            for region, count in window.volume.items():
                self.window_posts.labels(region_label(region)).set(count)
            for region, expected in window.expected_volume.items():
                self.window_expected_posts.labels(region_label(region)).set(expected)
            for key, (observed, expected) in window.surge.items():
                self.surge_observed.labels(key).set(observed)
                self.surge_expected.labels(key).set(expected)
        self._export_accounts(detector)
        for kind, entries in detector.state_entries().items():
            self.detector_state.labels(kind).set(entries)
        episodes = CountOf(episode["type"] for episode in detector.active_episodes())
        for kind in ALERT_TYPES:
            self.active_episodes.labels(kind).set(episodes[kind])

    def _export_accounts(self, detector: Detector) -> None:
        window = detector.window_status()
        if window is not None:
            for region, (observed, expected) in window.deletions.items():
                self.window_deletions.labels(region_label(region or None)).set(observed)
                self.window_expected_deletions.labels(region_label(region or None)).set(expected)
            for key, (observed, expected) in window.term_deletions.items():
                term, _, region = key.partition("|")
                self.term_deletions.labels(term, region_label(region or None)).set(observed)
                self.term_expected_deletions.labels(term, region_label(region or None)).set(expected)
            for cluster, accounts in window.clusters.items():
                self.coordination_cluster_accounts.labels(cluster).set(accounts)
            for cluster in self._clusters_exported - set(window.clusters):
                self.coordination_cluster_accounts.remove(cluster)
            self._clusters_exported = set(window.clusters)
            self.coordination_clusters.set(len(window.clusters))
        # Relocations count from what this detector had counted when first seen here (a restored
        # detector's history is not counted again).
        totals = detector.relocations_total
        if self._relocations_counted is None:
            self._relocations_counted = dict(totals)
        for destination, total in totals.items():
            before = self._relocations_counted.get(destination, 0)
            if total > before:
                self.relocations.labels(region_label(destination)).inc(total - before)
            self._relocations_counted[destination] = total

    def export_health(self, report: HealthReport) -> None:
        """A health probe's findings: broker reachability, health, and per-partition offsets, lag and
        stalls; partitions moved to another worker stop being this worker's series."""
        self.broker_connected.set(1 if report.broker_connected else 0)
        self.healthy.set(1 if report.healthy(report.checked_at, max_age=float("inf")) else 0)
        per_topic: CountOf[str] = CountOf()
        exported = set()
        for partition in report.partitions:
            labels = (partition.topic, str(partition.partition))
            exported.add(labels)
            per_topic[partition.topic] += 1
            if partition.end is not None:
                self.consumer_end_offset.labels(*labels).set(partition.end)
            if partition.committed is not None:
                self.consumer_committed_offset.labels(*labels).set(partition.committed)
            if partition.lag is not None:
                self.consumer_lag.labels(*labels).set(partition.lag)
            if partition.held is not None:
                self.consumer_held.labels(*labels).set(partition.held)
            self.consumer_stalled.labels(*labels).set(1 if partition.stalled else 0)
        for gauge in (
            self.consumer_end_offset,
            self.consumer_committed_offset,
            self.consumer_lag,
            self.consumer_held,
            self.consumer_stalled,
        ):
            # Partitions moved to another worker stop being this worker's series.
            for labels in [labels for labels in _label_sets(gauge) if labels not in exported]:
                gauge.remove(*labels)
        for topic_name in {labels[0] for labels in _label_sets(self.assigned_partitions)} | set(per_topic):
            self.assigned_partitions.labels(topic_name).set(per_topic[topic_name])

    def serve(self, host: str, port: int, health: Callable[[], tuple[bool, dict[str, Any]]]) -> int:
        """Serve /metrics and /health (200 or 503 with a JSON body) over HTTP from a daemon thread;
        returns the port (port 0 takes a free one, with no window in which another process can)."""
        server = ThreadingHTTPServer((host, port), _handler(self.registry, health))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, name="metrics-http", daemon=True).start()
        return server.server_address[1]


def _handler(
    registry: CollectorRegistry, health: Callable[[], tuple[bool, dict[str, Any]]]
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = urlparse(self.path).path
            if path in ("/", "/metrics"):
                encoder, content_type = choose_encoder(self.headers.get("Accept", ""))
                self._reply(200, content_type, encoder(registry))
            elif path in ("/health", "/ready"):
                healthy, record = health()
                self._reply(200 if healthy else 503, "application/json", orjson.dumps(record))
            else:
                self._reply(404, "text/plain", b"try /metrics or /health\n")

        def _reply(self, status: int, content_type: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


def _label_sets(gauge: Gauge) -> list[tuple[str, ...]]:
    return [tuple(sample.labels.values()) for metric in gauge.collect() for sample in metric.samples]


def observe_many(histogram: Histogram, value: float, count: int) -> None:
    """``count`` observations of one value: a batch's posts share their latency, and observing each
    one costs a lock and a bucket search per post. Uses prometheus-client's internals when it has them."""
    buckets, bounds = getattr(histogram, "_buckets", None), getattr(histogram, "_upper_bounds", None)
    if buckets is None or bounds is None or len(buckets) != len(bounds):
        for _ in range(count):
            histogram.observe(value)
        return
    histogram._sum.inc(value * count)
    for bucket, bound in zip(buckets, bounds, strict=True):
        if value <= bound:
            bucket.inc(count)
            return


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def read_samples(url: str, timeout: float = 5.0) -> Samples:
    """Every sample a /metrics endpoint serves, keyed by (name, labels): how the soak, the bench and the
    tests read a worker or a replayer from outside."""
    with urlopen(url, timeout=timeout) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample_total(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name`` over the samples whose labels include ``labels``."""
    wanted = set(labels.items())
    return sum(v for (n, found), v in samples.items() if n == name and wanted <= found)


def totals_by_name(samples: Samples) -> dict[str, float]:
    """Each sample name summed across its labels, e.g. {'pipeline_posts_consumed_total': 63.0}."""
    totals: dict[str, float] = {}
    for (name, _labels), value in samples.items():
        totals[name] = totals.get(name, 0.0) + value
    return totals


class _CollectorSeconds(Collector):
    def __init__(self, seconds: Sequence[float]) -> None:
        self.seconds = seconds

    def collect(self) -> Iterator[CounterMetricFamily]:
        family = CounterMetricFamily(
            "pipeline_gc_seconds",
            "Seconds this process (the worker's event loop, not its classifier processes) spent in the "
            "garbage collector, by generation. A profiler charges them to whichever line allocated: "
            "beside process_cpu_seconds_total, what the objects kept cost.",
            labels=["generation"],
        )
        for generation, seconds in enumerate(self.seconds):
            family.add_metric([str(generation)], seconds)
        yield family
