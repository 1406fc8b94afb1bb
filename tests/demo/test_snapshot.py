"""demo/snapshot.py reads the real metric names: registries of the worker and the replay, exported as
Prometheus text and parsed as read_samples parses an endpoint."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from demo.snapshot import prometheus_alerts, replay_state, worker_state
from pipeline.metrics import PipelineMetrics
from replay.metrics import ReplayMetrics

T = 1244822280.0  # 2009-06-12T15:58:00Z


def samples(registry):
    text = generate_latest(registry).decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_worker_numbers_and_rates():
    metrics = PipelineMetrics()
    metrics.posts_consumed.labels("twitter", "IR").inc(100)
    metrics.posts_published.labels("twitter", "IR", "en").inc(90)
    before = samples(metrics.registry)
    metrics.posts_consumed.labels("twitter", "IR").inc(400)
    metrics.posts_consumed.labels("news", "US").inc(100)
    metrics.posts_published.labels("twitter", "IR", "en").inc(400)
    metrics.posts_by_category.labels("protest").inc(300)
    metrics.posts_by_category.labels("medical").inc(20)
    metrics.consumer_lag.labels("demo.posts", "0").set(100)
    metrics.consumer_lag.labels("demo.posts", "1").set(32)
    metrics.consumer_lag.labels("demo.detect", "0").set(5000)
    metrics.event_time.set(T)
    metrics.watermark.set(T - 120)
    metrics.alerts.labels("filtering").inc(2)
    metrics.end_markers.inc(4)
    state = worker_state(samples(metrics.registry), before, 2.0, posts_topic="demo.posts")
    assert (state.consumed, state.published) == (600, 490)
    assert (state.consumed_rate, state.published_rate) == (250.0, 200.0)
    assert state.lag == 132  # the posts topic only
    assert state.event_time == T and state.watermark == T - 120
    assert state.categories["protest"] == 300 and state.categories["medical"] == 20
    assert state.categories["other"] == 0 and len(state.categories) == 10
    assert (state.alerts_raised, state.end_markers) == (2, 4)


def test_a_worker_without_readings_yet():
    state = worker_state(samples(PipelineMetrics().registry))
    assert state.consumed == 0 and state.consumed_rate == 0.0
    assert state.lag is None and state.event_time is None and state.watermark is None


def test_replay_numbers_speed_and_pause():
    metrics = ReplayMetrics()
    metrics.posts_planned.set(1000)
    metrics.posts_acknowledged.inc(100)
    before = samples(metrics.registry)
    metrics.posts_sent.inc(600)
    metrics.posts_acknowledged.inc(400)
    metrics.speed_factor.set(1440)
    metrics.event_time.set(T)
    state = replay_state(samples(metrics.registry), before, 0.5)
    assert (state.sent, state.acknowledged, state.planned) == (600, 500, 1000)
    assert state.rate == 800.0
    assert state.speed == 1440 and not state.paused and state.event_time == T
    metrics.speed_factor.set(0)  # max
    metrics.paused.set(1)
    state = replay_state(samples(metrics.registry))
    assert state.speed is None and state.paused and state.rate == 0.0


def test_prometheus_alerts_firing_and_pending():
    answer = {
        "status": "success",
        "data": {
            "alerts": [
                {"labels": {"alertname": "RegionOutage", "region": "IR"}, "state": "firing"},
                {"labels": {"alertname": "SurgeDetected", "type": "surge"}, "state": "firing"},
                {"labels": {"alertname": "SurgeDetected", "type": "surge"}, "state": "firing"},
                {"labels": {"alertname": "WatchlistTermSuppressed", "term": "x"}, "state": "pending"},
            ]
        },
    }
    assert prometheus_alerts(answer) == (("RegionOutage(IR)", "SurgeDetected"), 1)
    assert prometheus_alerts(None) == ((), 0)
