"""The detector's core (pipeline/detect/detector.py) on crafted streams: the decoys of volume, event time,
snapshot/restore, the alert records and the views."""

from __future__ import annotations

import math
from dataclasses import replace
from random import Random

import orjson
import pytest

from feed import parse_ts
from pipeline.detect import Alert, Detector, DetectorConfig, Observation, WatchStatus, WindowStatus
from tests.pipeline.detect.streams import MIN, T0, Post, filtered, make_stream, onsets, records, run

# ---------------------------------------------------------------------------------------------------
# Decoys of volume.


def test_the_diurnal_cycle_raises_nothing():
    def cycle(minute: int, region: str | None) -> float:
        return 1.0 + 0.85 * math.sin(2 * math.pi * minute / 1440.0)

    rates = {"IR": 20.0, "US": 10.0, "GB": 10.0}
    _, alerts = run(make_stream(1440 + 240, rates=rates, volume=cycle, seed=3))
    assert onsets(alerts) == []


def test_a_slow_trend_raises_nothing():
    def trend(minute: int, region: str | None) -> float:
        return 1.0 + minute / 240.0  # x3 over 8 hours

    _, alerts = run(make_stream(480, rates={"IR": 30.0, "US": 15.0, "GB": 15.0}, volume=trend, seed=4))
    assert onsets(alerts) == []


# ---------------------------------------------------------------------------------------------------
# Event time.


def test_late_posts_are_counted_not_windowed():
    detector = Detector()
    detector.push(Observation(T0 + 1000.0, "IR", ("a",), ("other",)))
    assert detector.watermark == T0 + 1000.0 - 120.0
    detector.push(Observation(T0 + 900.0, "IR", ("a",), ("other",)))  # within the lateness
    assert detector.late_posts == 0
    detector.push(Observation(T0 + 870.0, "IR", ("a",), ("other",)))  # older than the watermark
    assert detector.late_posts == 1
    assert detector.watermark == T0 + 880.0


def test_open_windows_are_never_flushed():
    stream = make_stream(180, change=filtered("democracy", "IR", 100, 140))
    cut = [obs for obs in stream if obs.ts < T0 + 106 * MIN]  # the first fully filtered window is open
    _, alerts = run(cut)
    assert onsets(alerts) == []


def test_the_watermark_is_the_minimum_over_sources():
    detector = Detector()
    detector.push(Observation(T0 + 1000.0, "IR", (), ("other",), source=0))
    detector.push(Observation(T0 + 400.0, "IR", (), ("other",), source=1))
    assert detector.watermark == T0 + 1000.0 - 120.0  # never goes back
    detector.push(Observation(T0 + 2000.0, "IR", (), ("other",), source=0))
    assert detector.watermark == T0 + 1000.0 - 120.0  # source 1 holds it
    detector.push(Observation(T0 + 1500.0, "IR", (), ("other",), source=1))
    assert detector.watermark == T0 + 1380.0


def episode_stream() -> list[Observation]:
    """Filtering, an outage and a surge in one stream."""

    def volume(minute: int, region: str | None) -> float:
        if region == "IR" and 170 <= minute < 200:
            return 0.03
        return 4.0 if 230 <= minute < 250 else 1.0

    return make_stream(280, volume=volume, change=filtered("democracy", "IR", 90, 130), seed=11)


@pytest.fixture(scope="module")
def reference() -> tuple[list[Observation], list[bytes]]:
    stream = episode_stream()
    _, alerts = run(stream)
    assert [(a.type, a.key) for a in onsets(alerts)] == [
        ("filtering", "term:democracy"),
        ("outage", "*"),
        ("surge", "*"),
    ]
    return stream, records(alerts)


def test_alerts_do_not_depend_on_how_sources_interleave(reference):
    stream, expected = reference
    config = replace(DetectorConfig(), min_sources=2)
    tagged = [obs._replace(source=i % 2) for i, obs in enumerate(stream)]
    _, round_robin = run(tagged, config)
    # Source 0 runs up to 40 minutes ahead of source 1, in blocks.
    blocks: dict[tuple[int, int], list[Observation]] = {}
    for obs in tagged:
        blocks.setdefault((int((obs.ts - T0) // 2400), obs.source), []).append(obs)
    reordered = [obs for key in sorted(blocks) for obs in blocks[key]]
    _, in_blocks = run(reordered, config)
    assert records(round_robin) == expected
    assert records(in_blocks) == expected


def test_alerts_do_not_depend_on_disorder_within_the_lateness(reference):
    stream, expected = reference
    rng = Random(5)
    # Each post is delivered up to 100 s late (lateness is 120 s), so arrival order is shuffled locally.
    shuffled = sorted(stream, key=lambda obs: obs.ts + rng.random() * 100.0)
    detector, alerts = run(shuffled)
    assert detector.late_posts == 0
    assert records(alerts) == expected


@pytest.mark.parametrize("cuts", [(35 * 60 + 7,), (100 * 60, 175 * 60 + 31, 240 * 60 + 1)])
def test_snapshot_and_restore_mid_stream_continue_exactly(reference, cuts):
    stream, expected = reference
    detector = Detector()
    alerts: list[Alert] = []
    for obs in stream:
        while cuts and obs.ts >= T0 + cuts[0]:
            state = orjson.loads(orjson.dumps(detector.snapshot()))
            detector = Detector.restore(state, DetectorConfig())
            cuts = cuts[1:]
        alerts.extend(detector.push(obs))
    assert records(alerts) == expected


def test_identical_alerts_whatever_the_chunking_of_input(reference):
    stream, expected = reference
    rng = Random(9)
    detector = Detector()
    alerts: list[Alert] = []
    position = 0
    while position < len(stream):
        size = rng.randint(1, 5000)
        for obs in stream[position : position + size]:
            alerts.extend(detector.push(obs))
        position += size
        # a snapshot between chunks changes nothing either
        Detector.restore(orjson.loads(orjson.dumps(detector.snapshot())))
    assert records(alerts) == expected


# ---------------------------------------------------------------------------------------------------
# Records and views.


def test_alert_record_contract(reference):
    _, expected = reference
    for raw in expected:
        record = orjson.loads(raw)
        assert record["type"] in ("filtering", "outage", "surge")
        assert record["key"] == "*" or record["key"].split(":", 1)[0] in ("term", "category")
        assert record["region"] is None or len(record["region"]) == 2
        assert record["start"].endswith("Z") and record["detected_at"].endswith("Z")
        assert parse_ts(record["start"]) <= parse_ts(record["detected_at"])
        for name in ("observed", "expected", "score"):
            assert isinstance(record[name], (int, float)) and math.isfinite(record[name])
        assert set(record) <= {
            "type", "key", "region", "start", "detected_at", "observed", "expected", "score",
            "terms", "evidence", "state",
        }  # fmt: skip
        assert record.get("state") in (None, "ended")


def test_detected_at_is_the_watermark_that_closed_the_window(reference):
    _, expected = reference
    config = DetectorConfig()
    for raw in expected:
        detected = parse_ts(orjson.loads(raw)["detected_at"])
        assert (detected - config.lateness_seconds) % config.window_seconds == 0


def test_watch_status_reports_watchlist_terms_per_region():
    stream = make_stream(150, change=filtered("democracy", "IR", 100, 200))
    detector, _ = run(stream)
    status = {(s.term, s.region): s for s in detector.watch_status()}
    assert all(isinstance(s, WatchStatus) for s in status.values())
    ir = status[("democracy", "IR")]
    assert ir.observed == 0 and ir.expected > 20 and ir.suspicion > 8
    us = status[("democracy", "US")]
    assert us.observed > 0 and us.suspicion == 0


def test_window_status_gives_region_volumes_and_bounded_surge_measures():
    def burst(minute: int, rng: Random) -> list[tuple[str | None, Post]]:
        if minute < 100:
            return []
        return [("IR", (("hospital", "democracy"), ("medical",), ())) for _ in range(20)]

    detector = Detector()
    assert detector.window_status() is None
    for obs in make_stream(112, extra=burst):  # the window [100, 105) minutes is closed by 107
        detector.push(obs)
    status = detector.window_status()
    assert isinstance(status, WindowStatus)
    assert set(status.volume) == {"IR", "US", "GB"}
    assert status.volume["IR"] > status.volume["US"] > 0  # IR: 60 a minute plus the burst
    observed, expected = status.surge["category:medical"]
    assert observed > 3 * expected > 0
    assert "democracy" in status.surge  # a watchlist term
    assert status.surge["*"][0] == sum(status.volume.values())
    assert "hospital" not in status.surge  # a free term would be an unbounded label value
    restored = Detector.restore(orjson.loads(orjson.dumps(detector.snapshot())))
    assert restored.window_status() == status


def json_types(value):
    """``value`` with its tuples as lists, as JSON gives them back (and nothing else changed)."""
    if isinstance(value, dict):
        return {key: json_types(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_types(item) for item in value]
    return value


def test_snapshot_is_plain_json_and_small():
    detector, _ = run(episode_stream())
    state = detector.snapshot()
    raw = orjson.dumps(state)
    assert orjson.loads(raw) == json_types(state)  # no int keys, no sets: nothing JSON would change
    assert len(raw) < 1_000_000


def test_restore_refuses_another_window_size():
    detector, _ = run(make_stream(20))
    with pytest.raises(ValueError, match="window_seconds"):
        Detector.restore(detector.snapshot(), DetectorConfig(window_seconds=600))


def test_ended_records_can_be_turned_off(reference):
    stream, expected = reference
    _, alerts = run(stream, DetectorConfig(emit_ended=False))
    assert all(alert.state is None for alert in alerts)
    assert records(alerts) == [raw for raw in expected if b'"state"' not in raw]
