"""End-of-feed markers in the detector: 16 partitions, one of them idle long before the feed's end.

Without markers the idle partition holds the watermark back for good, and the feed's last windows never
close. With a marker on every partition the watermark reaches where one source over the whole feed ends
(``python -m pipeline analyze``), and the alerts are that run's, whatever the order of the markers.
"""

from __future__ import annotations

from dataclasses import replace
from random import Random

import orjson
import pytest

from pipeline.detect import Alert, Detector, DetectorConfig, Observation
from pipeline.detect.dedupe import DedupedDetector
from pipeline.records import observations_to_json
from tests.pipeline.detect.streams import MIN, T0, make_stream, onsets, records, run

PARTITIONS = 16
IDLE = 15  # its last post comes ten minutes before the feed's end
IDLE_FOR = 10 * MIN
LATENESS = DetectorConfig().lateness_seconds
SIXTEEN = replace(DetectorConfig(), min_sources=PARTITIONS)


def surge_at_the_end() -> list[Observation]:
    """Four and a half hours, the volume four times its level in the last quarter hour."""
    return make_stream(270, volume=lambda minute, _region: 4.0 if minute >= 255 else 1.0, seed=21)


def partitioned(stream: list[Observation], *, silent: frozenset[int] = frozenset()) -> list[Observation]:
    """Spread over 16 partitions; IDLE gets nothing in the last ten minutes, ``silent`` ones nothing."""
    end = stream[-1].ts
    rng = Random(3)
    live = [source for source in range(PARTITIONS) if source not in silent]
    tagged = []
    for obs in stream:
        source = rng.choice(live)
        if source == IDLE and obs.ts >= end - IDLE_FOR:
            source = 0
        tagged.append(obs._replace(source=source))
    return tagged


@pytest.fixture(scope="module")
def single() -> tuple[list[Observation], float, list[bytes]]:
    """The stream as one source, as analyze runs it: its final watermark and its alerts."""
    stream = surge_at_the_end()
    detector, alerts = run(stream)
    late_surges = [a for a in onsets(alerts) if a.type == "surge" and a.start >= T0 + 250 * MIN]
    assert late_surges, "the scenario raises its surge in the feed's last windows"
    assert detector.watermark == stream[-1].ts - LATENESS
    return stream, detector.watermark, records(alerts)


def push_all(detector: Detector, stream: list[Observation]) -> list[Alert]:
    alerts: list[Alert] = []
    for obs in stream:
        alerts += detector.push(obs)
    return alerts


def test_without_markers_the_idle_partition_holds_the_watermark_short_of_the_end(single):
    stream, final, expected = single
    tagged = partitioned(stream)
    detector, alerts = run(tagged, SIXTEEN)
    idle_last = max(obs.ts for obs in tagged if obs.source == IDLE)
    assert detector.watermark == idle_last - LATENESS
    assert detector.watermark <= final - IDLE_FOR + 1.0
    assert records(alerts) == expected[: len(alerts)] and len(alerts) < len(expected)


@pytest.mark.parametrize("order", ["ascending", "descending", "shuffled"])
def test_with_a_marker_on_every_partition_the_watermark_and_alerts_are_analyzes(single, order):
    stream, final, expected = single
    detector = Detector(SIXTEEN)
    alerts = push_all(detector, partitioned(stream))
    ends = list(range(PARTITIONS))
    if order == "descending":
        ends.reverse()
    elif order == "shuffled":
        Random(7).shuffle(ends)
    for source in ends:
        alerts += detector.end_source(source, stream[-1].ts)
    assert detector.watermark == final
    assert records(alerts) == expected


def test_a_partition_ended_early_stops_holding_the_watermark_at_once(single):
    stream, final, expected = single
    tagged = partitioned(stream)
    idle_last = max(n for n, obs in enumerate(tagged) if obs.source == IDLE)
    detector = Detector(SIXTEEN)
    alerts = push_all(detector, tagged[: idle_last + 1])
    alerts += detector.end_source(IDLE, stream[-1].ts)
    alerts += push_all(detector, tagged[idle_last + 1 :])
    # The others decide now: the watermark follows the slowest of them, past the idle partition's end.
    assert detector.watermark > tagged[idle_last].ts - LATENESS + 60.0
    assert detector.watermark < final
    for source in range(PARTITIONS):
        alerts += detector.end_source(source, stream[-1].ts)
    assert detector.watermark == final
    assert records(alerts) == expected


def test_partitions_that_never_had_a_post_count_once_they_end(single):
    stream, final, expected = single
    silent = frozenset({3, 7, 11})
    tagged = partitioned(stream, silent=silent)
    detector = Detector(SIXTEEN)
    alerts = push_all(detector, tagged)
    assert detector.watermark is None and alerts == []  # only 13 of the 16 partitions were seen
    for source in range(PARTITIONS):
        alerts += detector.end_source(source, stream[-1].ts)
    assert detector.watermark == final
    assert records(alerts) == expected


def test_a_marker_twice_changes_nothing_and_the_markers_time_never_moves_the_watermark(single):
    stream, final, expected = single
    detector = Detector(SIXTEEN)
    alerts = push_all(detector, partitioned(stream))
    for source in range(PARTITIONS):
        alerts += detector.end_source(source, stream[-1].ts + 86400.0)  # a marker that overstates the end
    assert detector.end_source(IDLE, stream[-1].ts) == []
    assert detector.watermark == final
    assert records(alerts) == expected


def ended_stack(stream: list[Observation]) -> tuple[Detector, list[Alert]]:
    detector = Detector(SIXTEEN)
    alerts = push_all(detector, partitioned(stream))
    for source in range(PARTITIONS):
        alerts += detector.end_source(source, stream[-1].ts)
    return detector, alerts


def test_a_post_after_the_feed_ended_starts_a_new_one_on_every_partition(single):
    stream, final, _ = single
    detector, _ = ended_stack(stream)
    later = stream[-1].ts + 3600.0
    detector.push(Observation(later, "IR", (), ("other",), source=3))
    assert detector.ended_sources() == {}
    assert detector.watermark == final  # the other 15 hold it, as at the start of a feed
    for source in range(PARTITIONS):
        if source != 3:
            detector.push(Observation(later + source, "IR", (), ("other",), source=source))
    assert detector.watermark == later - LATENESS


def test_a_new_feed_waits_again_for_partitions_that_never_had_a_post(single):
    stream, final, _ = single
    detector = Detector(SIXTEEN)
    push_all(detector, partitioned(stream, silent=frozenset({5})))
    for source in range(PARTITIONS):
        detector.end_source(source, stream[-1].ts)
    later = stream[-1].ts + 3600.0
    for source in range(PARTITIONS):
        if source != 5:
            detector.push(Observation(later + source, "IR", (), ("other",), source=source))
    assert detector.watermark == final  # partition 5 is not known in the new feed until it says so
    detector.end_source(5, later)
    assert detector.watermark == later - LATENESS


def test_a_post_on_an_ended_partition_of_a_live_feed_reopens_only_that_one(single):
    stream, _, _ = single
    tagged = partitioned(stream, silent=frozenset({5}))
    idle_last = max(n for n, obs in enumerate(tagged) if obs.source == IDLE)
    detector = Detector(SIXTEEN)
    detector.end_source(5, T0)  # a partition a live producer declared idle from the start
    push_all(detector, tagged[: idle_last + 1])
    detector.end_source(IDLE, tagged[idle_last].ts)
    push_all(detector, tagged[idle_last + 1 : idle_last + 400])
    held = detector.watermark
    assert held > tagged[idle_last].ts - LATENESS
    straggler = tagged[idle_last]._replace(ts=held - 30.0)  # late: counted, not windowed
    late_before = detector.late_posts
    detector.push(straggler)
    assert detector.late_posts == late_before + 1
    assert detector.ended_sources() == {5: T0}
    push_all(detector, tagged[idle_last + 400 :])
    assert detector.watermark == held  # the idle partition holds it again, at its last post


def test_a_second_pass_of_the_same_feed_raises_nothing_more(single):
    stream, final, expected = single
    tagged = partitioned(stream)
    state = DedupedDetector(Detector(SIXTEEN))
    alerts: list[Alert] = []
    offsets = dict.fromkeys(range(PARTITIONS), 0)
    input_offset = 0
    for _ in range(2):
        for n, obs in enumerate(tagged):
            record = observations_to_json(obs.source, [(offsets[obs.source], f"p{n}", obs)])
            offsets[obs.source] += 1
            alerts += state.fold(record, input_offset)
            input_offset += 1
        for source in range(PARTITIONS):
            marker = observations_to_json(source, [], [(offsets[source], stream[-1].ts)])
            offsets[source] += 1
            alerts += state.fold(marker, input_offset)
            input_offset += 1
        assert state.detector.watermark == final
        assert records(alerts) == expected
    # Each post of the second pass is a repeat (within an hour of the end) or late, never windowed.
    assert state.repeated_ids + state.detector.late_posts == len(stream)
    assert state.detector.posts == len(stream)


@pytest.mark.parametrize("cut", [0.3, 0.9])
def test_snapshot_and_restore_with_ended_partitions_continue_exactly(single, cut):
    stream, final, expected = single
    tagged = partitioned(stream)
    idle_last = max(n for n, obs in enumerate(tagged) if obs.source == IDLE)
    detector = Detector(SIXTEEN)
    alerts = push_all(detector, tagged[: idle_last + 1])
    alerts += detector.end_source(IDLE, stream[-1].ts)
    middle = idle_last + 1 + int(cut * (len(tagged) - idle_last - 1))
    alerts += push_all(detector, tagged[idle_last + 1 : middle])
    state = orjson.loads(orjson.dumps(detector.snapshot()))
    assert state["ended_sources"] == [[IDLE, stream[-1].ts]]
    detector = Detector.restore(state, SIXTEEN)
    assert detector.ended_sources() == {IDLE: stream[-1].ts}
    alerts += push_all(detector, tagged[middle:])
    for source in range(PARTITIONS):
        alerts += detector.end_source(source, stream[-1].ts)
    assert detector.watermark == final
    assert records(alerts) == expected
