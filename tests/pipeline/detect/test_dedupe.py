"""RecentIds and DedupedDetector (pipeline/detect/dedupe.py): repeats dropped, end-of-feed markers folded
in source-offset order, and both kept over a snapshot. Pure, no Kafka."""

import orjson

from pipeline.detect import Detector, DetectorConfig, Observation
from pipeline.detect.dedupe import DedupedDetector, RecentIds
from pipeline.engine import Engine
from pipeline.records import observations_to_json


def test_recent_ids_recognize_a_repeat_within_the_horizon_behind_the_watermark_only():
    recent = RecentIds(horizon=100, limit=1000)
    assert recent.add("a", 0.0)
    assert not recent.add("a", 50.0)
    recent.forget(watermark=100.0)  # "a" (ts 0) is not older than 100 - 100: kept
    assert not recent.add("a", 60.0)
    recent.forget(watermark=101.0)  # now it is
    assert recent.add("a", 102.0)
    assert len(recent) == 1


def test_recent_ids_are_bounded_in_number():
    recent = RecentIds(horizon=1e9, limit=3)
    for i in range(10):
        recent.add(f"p{i}", float(i))
    assert len(recent) == 3 and [post_id for post_id, _ in recent.dump()] == ["p7", "p8", "p9"]


def test_ids_leave_in_arrival_order_not_at_once():
    recent = RecentIds(horizon=10, limit=100)
    recent.add("new", 1000.0)
    assert recent.add("old", 5.0)
    recent.forget(watermark=20.0)  # "old" is past the cutoff, but "new" arrived before it
    assert not recent.add("old", 6.0)
    recent.forget(watermark=1011.0)  # "new" expires, and "old" behind it
    assert [post_id for post_id, _ in recent.dump()] == []


def test_a_source_running_ahead_does_not_make_the_others_ids_forgotten():
    # Two partitions, the second an hour and a half ahead in event time (a backlog read late): the
    # watermark follows the first, so a repeat of its post is still recognized.
    state = DedupedDetector(Engine().fresh_detection().detector)
    start = 1245000000.0
    behind = Observation(start, "IR", ("democracy",), ("protest",), source=0)
    state.push(behind, 0, 0, "slow-1")
    for n in range(1, 60):
        ahead = Observation(start + 5400.0 + n, "IR", ("unrest",), (), source=1)
        state.push(ahead, n, n, f"fast-{n}")
    state.push(behind._replace(ts=start + 1.0), 1, 60, "slow-1")  # the same post again
    assert state.repeated_ids == 1 and state.detector.posts == 60


def test_deduped_detector_drops_redeliveries_and_repeated_ids_and_keeps_them_over_a_restore():
    state = DedupedDetector(Engine().fresh_detection().detector)
    obs = Observation(1245000000.0, "IR", ("democracy",), ("protest",))
    state.push(obs, 0, 0, "a")
    state.push(obs, 0, 1, "a")  # the same record read again
    state.push(obs, 1, 2, "a")  # the same post at another offset
    assert (state.redelivered, state.repeated_ids, state.detector.posts) == (1, 1, 1)
    restored = DedupedDetector.restore(orjson.loads(orjson.dumps(state.snapshot())))
    restored.push(obs, 2, 3, "a")
    assert restored.repeated_ids == 1 and restored.detector.posts == 1 and restored.input_offset == 3


# The detect record's end-of-feed markers, and what DedupedDetector does with them.

T = 1245000000.0


def seen_at(ts: float, source: int) -> Observation:
    return Observation(ts, "IR", ("democracy",), ("protest",), source=source)


def two_sources() -> DedupedDetector:
    return DedupedDetector(Detector(DetectorConfig(min_sources=2)))


def test_fold_applies_posts_and_markers_in_source_offset_order():
    state = two_sources()
    state.fold(observations_to_json(1, [(0, "b0", seen_at(T + 600.0, 1))]), 0)
    # Source 0: a post, its marker (source 1 alone decides), then a post after the marker (a second
    # replay): late by then, and source 0 is open again.
    record = observations_to_json(0, [(0, "a0", seen_at(T, 0)), (2, "a2", seen_at(T + 30.0, 0))], [(1, T)])
    state.fold(record, 1)
    assert state.detector.watermark == T + 600.0 - 120.0
    assert state.detector.late_posts == 1
    assert state.detector.ended_sources() == {}
    state.fold(observations_to_json(1, [(1, "b1", seen_at(T + 1000.0, 1))]), 2)
    assert state.detector.watermark == T + 600.0 - 120.0  # source 0 holds it again
    # Its marker alone (a record with no rows) ends it again.
    state.fold(observations_to_json(0, [], [(3, T + 30.0)]), 3)
    assert state.detector.ended_sources() == {0: T + 30.0}
    assert state.detector.watermark == T + 1000.0 - 120.0
    assert state.input_offset == 3


def detector_state(state: DedupedDetector) -> dict:
    return state.detector.snapshot()


def test_a_marker_read_again_is_dropped_by_its_offset_and_cannot_end_a_reopened_source():
    records = [
        observations_to_json(1, [(0, "b0", seen_at(T + 900.0, 1))]),
        observations_to_json(0, [(0, "a0", seen_at(T, 0)), (1, "a1", seen_at(T + 60.0, 0))], [(2, T + 60.0)]),
        observations_to_json(0, [(3, "a3", seen_at(T + 300.0, 0))]),  # re-opens source 0
    ]
    once = two_sources()
    for offset, record in enumerate(records):
        once.fold(record, offset)
    again = two_sources()
    for offset, record in enumerate([*records[:2], records[1], records[2], records[1]]):
        again.fold(record, offset)  # the marker's record read again, before and after the re-opening
    assert again.redelivered == 6 and once.redelivered == 0
    assert again.detector.ended_sources() == once.detector.ended_sources() == {}
    assert detector_state(again) == detector_state(once)  # nothing depends on the redelivery


def test_ended_sources_survive_a_snapshot_and_old_snapshots_restore_with_none():
    state = two_sources()
    state.fold(observations_to_json(0, [(0, "a0", seen_at(T, 0))], [(1, T)]), 0)
    state.fold(observations_to_json(1, [(0, "b0", seen_at(T + 400.0, 1))]), 1)
    assert state.detector.watermark == T + 400.0 - 120.0  # source 0 ended: only source 1 counts
    snapshot = orjson.loads(orjson.dumps(state.snapshot()))
    assert snapshot["detector"]["ended_sources"] == [[0, T]]
    restored = DedupedDetector.restore(snapshot)
    assert restored.detector.ended_sources() == {0: T}
    for current in (state, restored):
        current.fold(observations_to_json(1, [(1, "b1", seen_at(T + 500.0, 1))]), 2)
    assert restored.detector.watermark == state.detector.watermark == T + 500.0 - 120.0
    assert detector_state(restored) == detector_state(state)

    del snapshot["detector"]["ended_sources"]  # written before markers existed
    old = DedupedDetector.restore(snapshot)
    assert old.detector.ended_sources() == {}
    old.fold(observations_to_json(1, [(1, "b1", seen_at(T + 500.0, 1))]), 2)
    assert old.detector.watermark == T + 400.0 - 120.0  # source 0 holds it, as it did then
