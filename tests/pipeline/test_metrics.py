"""pipeline.metrics: a batch's latency observed at once reads exactly like one observation per post."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry, Histogram

from pipeline.metrics import observe_many

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
