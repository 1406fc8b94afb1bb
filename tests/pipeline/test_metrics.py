"""pipeline.metrics: a batch's latency observed at once reads exactly like one observation per post."""

from __future__ import annotations

import urllib.error
import urllib.request

import orjson
import pytest
from prometheus_client import CollectorRegistry, Histogram

from pipeline.detect import DetectorConfig, Observation
from pipeline.metrics import PipelineMetrics, observe_many
from pipeline.stream.health import HealthReport, PartitionHealth
from tests.support import free_port

BUCKETS = (0.001, 0.01, 0.1, 1.0)


def histogram() -> tuple[CollectorRegistry, Histogram]:
    registry = CollectorRegistry()
    return registry, Histogram("latency_seconds", "test", buckets=BUCKETS, registry=registry)


@pytest.mark.parametrize("value", [0.0, 0.001, 0.05, 0.5, 3.0])
def test_observe_many_equals_one_observation_per_post(value):
    one_by_one, each = histogram()
    at_once, batch = histogram()
    for count in (1, 250, 1000):
        for _ in range(count):
            each.observe(value)
        observe_many(batch, value, count)
    for le in ("0.001", "0.01", "0.1", "1.0", "+Inf"):
        assert at_once.get_sample_value("latency_seconds_bucket", {"le": le}) == one_by_one.get_sample_value(
            "latency_seconds_bucket", {"le": le}
        )
    assert at_once.get_sample_value("latency_seconds_count") == 1251
    # The sum differs only by the rounding of 1,251 additions against one multiplication.
    assert at_once.get_sample_value("latency_seconds_sum") == pytest.approx(value * 1251)
    assert one_by_one.get_sample_value("latency_seconds_sum") == pytest.approx(value * 1251)


@pytest.fixture
def served():
    metrics = PipelineMetrics()
    state = {"healthy": True}
    port = free_port()
    metrics.serve(
        "127.0.0.1", port, lambda: (state["healthy"], {"status": "ok" if state["healthy"] else "stalled"})
    )
    metrics.posts_consumed.labels("twitter", "IR").inc(3)
    return f"http://127.0.0.1:{port}", state


def test_metrics_and_health_are_served_over_http(served):
    url, state = served
    with urllib.request.urlopen(url + "/metrics", timeout=5) as response:
        body = response.read().decode()
    assert 'pipeline_posts_consumed_total{platform="twitter",region="IR"} 3.0' in body
    with urllib.request.urlopen(url + "/health", timeout=5) as response:
        assert response.status == 200 and orjson.loads(response.read()) == {"status": "ok"}
    state["healthy"] = False
    with pytest.raises(urllib.error.HTTPError) as failed:
        urllib.request.urlopen(url + "/health", timeout=5)
    assert failed.value.code == 503 and orjson.loads(failed.value.read()) == {"status": "stalled"}
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(url + "/nothing", timeout=5)
    assert missing.value.code == 404


def partition(topic: str, number: int, lag: int, stalled: bool = False) -> PartitionHealth:
    return PartitionHealth(
        topic, number, end=100, committed=100 - lag, lag=lag, stalled=stalled, idle_seconds=0.0
    )


def test_a_health_report_is_exported_and_partitions_moved_away_stop_being_series():
    metrics = PipelineMetrics()
    metrics.export_health(
        HealthReport(1.0, True, (partition("posts", 0, 3), partition("posts", 1, 0, stalled=True)))
    )
    samples = read_registry(metrics)
    assert samples["pipeline_consumer_lag_records"] == {("posts", "0"): 3.0, ("posts", "1"): 0.0}
    assert samples["pipeline_consumer_stalled"][("posts", "1")] == 1.0
    assert samples["pipeline_assigned_partitions"] == {("posts",): 2.0}
    assert samples["pipeline_healthy"] == {(): 0.0}  # a stalled partition

    metrics.export_health(HealthReport(2.0, True, (partition("posts", 1, 5),)))  # posts[0] moved away
    samples = read_registry(metrics)
    assert samples["pipeline_consumer_lag_records"] == {("posts", "1"): 5.0}
    assert samples["pipeline_assigned_partitions"] == {("posts",): 1.0}
    assert samples["pipeline_healthy"] == {(): 1.0}


def read_registry(metrics: PipelineMetrics) -> dict[str, dict[tuple[str, ...], float]]:
    found: dict[str, dict[tuple[str, ...], float]] = {}
    for family in metrics.registry.collect():
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sample.labels.values())] = sample.value
    return found


def test_the_account_signals_are_exported_and_a_restored_detectors_history_is_not_counted_again():
    from pipeline.detect import Detector, Observation, Removal

    t0, created = 1244764800.0, 1000000000.0
    detector = Detector()
    detector.push(Observation(t0, "US", ("democracy",), ("other",), (), 0, "a", created), "p1")
    detector.push(Observation(t0 + 10, "IR", ("democracy",), ("other",), (), 0, "a", created), "p2")
    detector.delete(Removal(t0 + 20, "p1", "a"))
    detector.push(Observation(t0 + 1000, "US", (), ("other",), (), 0, "b", created), "p3")
    assert detector.window_status() is not None
    registry = CollectorRegistry()
    metrics = PipelineMetrics(registry)
    metrics.export_detector(detector)
    # A detector seen for the first time (a restore): its relocations so far are history, not news.
    assert registry.get_sample_value("pipeline_relocations_total", {"to": "IR"}) is None
    assert registry.get_sample_value("pipeline_window_deletions", {"region": "US"}) == 1.0
    assert registry.get_sample_value("pipeline_window_expected_deletions", {"region": "US"}) == 1.0
    assert registry.get_sample_value("pipeline_term_deletions", {"term": "democracy", "region": "US"}) == 1.0
    assert registry.get_sample_value("pipeline_coordination_clusters_open") == 0.0
    # What detection remembers: authors a and b, posts p2 and p3 (p1 was deleted).
    assert registry.get_sample_value("pipeline_detector_state_entries", {"kind": "authors"}) == 2.0
    assert registry.get_sample_value("pipeline_detector_state_entries", {"kind": "indexed_posts"}) == 2.0
    detector.push(Observation(t0 + 1100, "GB", (), ("other",), (), 0, "b", created), "p4")
    detector.push(Observation(t0 + 2000, "US", (), ("other",), (), 0, "c", created), "p5")
    metrics.export_detector(detector)
    assert registry.get_sample_value("pipeline_relocations_total", {"to": "GB"}) == 1.0


def test_a_shards_state_is_exported_by_shard_and_goes_when_the_shard_leaves():
    from pipeline.detect.sharded import ShardDetection

    metrics = PipelineMetrics()
    detectors = [
        ShardDetection(DetectorConfig(min_sources=4), shard, 2, 4).fresh().detector for shard in (0, 1)
    ]
    detectors[0].push(Observation(1244764800.0, "IR", ("w",), ("other",), (), 0, "author-a"), "p1")
    for shard, detector in enumerate(detectors):
        metrics.export_shard(shard, detector)
    entries = read_registry(metrics)["pipeline_detect_shard_state_entries"]
    assert entries[("0", "authors")] == 1.0 and entries[("1", "authors")] == 0.0
    metrics.export_shard(0, None)  # shard 0 moved to another worker
    entries = read_registry(metrics)["pipeline_detect_shard_state_entries"]
    assert {shard for shard, _ in entries} == {"1"}


def test_detect_counts_are_exported_as_the_increments_since_the_last_export():
    from pipeline.stream.detect_loop import DetectCounts

    metrics = PipelineMetrics()
    first = DetectCounts(records=5, reread=1, gaps=2, snapshots=1, cpu_seconds=0.5)
    metrics.export_detect_counts(first, DetectCounts(), "shards")
    # Another loop of the same worker (another shard) counts from its own zero.
    metrics.export_detect_counts(DetectCounts(records=3, cpu_seconds=0.25), DetectCounts(), "shards")
    metrics.export_detect_counts(DetectCounts(records=1, cpu_seconds=0.125), DetectCounts(), "merge")
    metrics.export_detect_counts(
        DetectCounts(records=7, reread=1, gaps=2, snapshots=2, cpu_seconds=1.5), first, "shards"
    )
    samples = read_registry(metrics)
    assert samples["pipeline_detect_cpu_seconds_total"] == {("shards",): 1.75, ("merge",): 0.125}
    assert samples["pipeline_detect_records_total"][("folded",)] == 11.0
    assert samples["pipeline_detect_records_total"][("reread",)] == 1.0
    assert samples["pipeline_detect_gaps_total"][()] == 2.0
    assert samples["pipeline_detect_snapshots_total"][()] == 2.0


def test_the_collectors_seconds_are_read_at_each_scrape_by_generation_from_zero():
    metrics = PipelineMetrics()
    assert read_registry(metrics)["pipeline_gc_seconds_total"] == {("0",): 0.0, ("1",): 0.0, ("2",): 0.0}
    metrics.gc_seconds[0] += 0.75  # as the worker's CollectorClock adds them
    metrics.gc_seconds[2] += 1.0
    assert read_registry(metrics)["pipeline_gc_seconds_total"] == {("0",): 0.75, ("1",): 0.0, ("2",): 1.0}
