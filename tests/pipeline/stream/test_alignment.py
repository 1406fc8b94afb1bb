"""Event-time alignment: partitions far ahead of the slowest one with records waiting are paused."""

from __future__ import annotations

import random

import pytest

from pipeline.stream.alignment import Alignment, Changes

HOUR = 3600.0


def aligned(max_ahead: float = 900.0, resume_ahead: float | None = None, **times: float) -> Alignment[str]:
    alignment: Alignment[str] = Alignment(max_ahead, resume_ahead)
    for partition, event_time in times.items():
        alignment.read(partition, event_time)
    return alignment


def changes(pause=(), resume=()) -> Changes[str]:
    return Changes(frozenset(pause), frozenset(resume))


def test_a_partition_more_than_max_ahead_of_the_slowest_waiting_one_is_paused():
    alignment = aligned(a=0.0, b=800.0, c=901.0)
    assert alignment.decide({"a": True, "b": True, "c": True}) == changes(pause={"c"})
    assert alignment.paused == {"c"}
    # Asked again with nothing new read: nothing to tell the consumer.
    assert not alignment.decide({"a": True, "b": True, "c": True})


def test_the_slowest_partition_with_records_waiting_is_never_paused():
    alignment = aligned(max_ahead=1.0, a=10_000.0, b=0.0)
    alignment.decide({"a": True, "b": True})
    assert "b" not in alignment.paused
    assert alignment.floor({"a": True, "b": True}) == 0.0


def test_partitions_with_nothing_waiting_hold_nobody_back():
    # a is far behind but caught up (or empty): c reads on, however far ahead of a.
    alignment = aligned(a=0.0, c=5 * HOUR)
    assert not alignment.decide({"a": False, "c": True})
    assert alignment.floor({"a": False, "c": True}) == 5 * HOUR


def test_a_paused_partition_is_resumed_once_the_slowest_is_within_resume_ahead():
    alignment = aligned(max_ahead=900.0, resume_ahead=300.0, a=0.0, b=1000.0)
    waiting = {"a": True, "b": True}
    assert alignment.decide(waiting) == changes(pause={"b"})
    alignment.read("a", 650.0)  # b is 350 s ahead: under max_ahead, still over resume_ahead
    assert not alignment.decide(waiting)
    assert alignment.paused == {"b"}
    alignment.read("a", 700.0)  # 300 s: back within resume_ahead
    assert alignment.decide(waiting) == changes(resume={"b"})
    assert alignment.paused == frozenset()


def test_without_hysteresis_it_resumes_as_soon_as_the_partition_is_within_max_ahead():
    alignment = aligned(max_ahead=900.0, resume_ahead=900.0, a=0.0, b=1000.0)
    waiting = {"a": True, "b": True}
    alignment.decide(waiting)
    alignment.read("a", 100.0)
    assert alignment.decide(waiting) == changes(resume={"b"})


def test_everything_is_resumed_when_nothing_waits_any_more():
    alignment = aligned(a=0.0, b=HOUR, c=2 * HOUR)
    alignment.decide({"a": True, "b": True, "c": True})
    assert alignment.paused == {"b", "c"}
    # a caught up: the paused ones are the only ones left with records, and the slowest of them goes on.
    assert alignment.decide({"a": False, "b": True, "c": True}) == changes(resume={"b"})
    assert alignment.decide({"a": False, "b": False, "c": False}) == changes(resume={"c"})
    assert alignment.paused == frozenset()


def test_a_partition_not_read_yet_is_never_paused_and_holds_the_others_near_the_start():
    # 16 partitions, the first fetch returned records for 3 of them.
    alignment: Alignment[int] = Alignment(900.0)
    alignment.read(0, 1000.0)  # a whole batch of partition 0: far past where it started
    alignment.read(0, 1000.0 + 3 * HOUR)
    alignment.read(1, 1000.0 + 600.0)
    alignment.read(2, 1200.0)
    waiting = dict.fromkeys(range(16), True)
    assert alignment.floor(waiting) == 1000.0  # the earliest event time read, for the 13 not read yet
    assert alignment.decide(waiting) == Changes(frozenset({0}), frozenset())
    # Once every partition was read, the slowest one is the floor and partition 0 waits for it.
    for partition in range(3, 16):
        alignment.read(partition, 1000.0 + 2 * HOUR)
    assert alignment.floor(waiting) == 1200.0  # partition 2
    assert alignment.paused == {0}
    assert alignment.decide(waiting) == Changes(frozenset(range(3, 16)), frozenset())


def test_a_partition_whose_posts_start_late_is_read_once_then_waits_for_the_others():
    alignment = aligned(a=0.0, b=60.0)
    waiting = {"a": True, "b": True, "late": True}
    assert not alignment.decide(waiting)
    alignment.read("late", 12 * HOUR)  # its first batch: where its data starts
    assert alignment.decide(waiting) == changes(pause={"late"})
    alignment.read("a", 12 * HOUR - 100.0)
    alignment.read("b", 12 * HOUR - 100.0)
    assert alignment.decide(waiting) == changes(resume={"late"})


def test_a_partition_not_read_yet_with_nothing_waiting_holds_nobody_back():
    alignment = aligned(a=0.0)
    alignment.read("a", 5 * HOUR)
    assert not alignment.decide({"a": True, "empty": False})


def test_nothing_is_paused_before_anything_was_read():
    alignment: Alignment[str] = Alignment(900.0)
    assert alignment.floor({"a": True, "b": True}) is None
    assert not alignment.decide({"a": True, "b": True})


def test_revoked_partitions_are_forgotten_and_come_back_unknown_and_running():
    alignment = aligned(a=0.0, b=HOUR)
    alignment.decide({"a": True, "b": True})
    assert alignment.paused == {"b"}
    alignment.forget(["b"])
    assert alignment.paused == frozenset()
    assert alignment.event_time("b") is None
    # Assigned again: unknown, so never paused until read, and a's start holds nobody else back.
    assert not alignment.decide({"a": True, "b": True})


def test_partitions_left_out_of_a_decision_are_forgotten():
    alignment = aligned(a=0.0, b=HOUR)
    alignment.decide({"a": True, "b": True})
    assert not alignment.decide({"a": True})  # b was revoked: no resume call for it either
    assert alignment.paused == frozenset()
    assert alignment.event_time("b") is None


def test_a_record_stamped_far_in_the_future_pauses_its_partition_only_until_the_others_are_read():
    # Junk produced without a timestamp gets the wall clock (years after 2009): its partition is paused
    # while the others have records, and read again once they are drained; its next record is 2009 again.
    alignment = aligned(a=0.0, b=20 * 365 * 24 * HOUR)
    assert alignment.decide({"a": True, "b": True}) == changes(pause={"b"})
    assert alignment.decide({"a": False, "b": True}) == changes(resume={"b"})
    alignment.read("b", 60.0)
    alignment.read("a", 60.0)
    assert not alignment.decide({"a": True, "b": True})


def test_decisions_do_not_depend_on_the_order_partitions_are_listed_in():
    times = {f"p{n}": n * 700.0 for n in range(8)}
    waiting = {f"p{n}": n % 3 != 0 for n in range(8)}
    forward = aligned(**times).decide(waiting)
    backward = aligned(**times).decide(dict(reversed(list(waiting.items()))))
    assert forward == backward
    assert forward.pause  # the case decides something


@pytest.mark.parametrize(
    ("max_ahead", "resume_ahead"), [(0.0, None), (-1.0, None), (900.0, 901.0), (900.0, -1.0)]
)
def test_bad_bounds_are_refused(max_ahead, resume_ahead):
    with pytest.raises(ValueError):
        Alignment(max_ahead, resume_ahead)


# ---------------------------------------------------------------------------------------------------
# A consumer over a backlog, modelled the way aiokafka hands records out: each fetch drains up to a
# batch of ONE partition, the first fetchable one in the order the broker answered (here: a shuffled
# order, fixed per run), so without alignment a partition runs as far ahead as its data goes.


def backlog(partitions: int, posts: int, seed: int) -> list[list[float]]:
    """``posts`` event times over a day, spread over the partitions like a keyed topic, sorted per
    partition."""
    rng = random.Random(seed)
    feeds: list[list[float]] = [[] for _ in range(partitions)]
    for _ in range(posts):
        feeds[rng.randrange(partitions)].append(rng.uniform(0, 24 * HOUR))
    return [sorted(feed) for feed in feeds]


def consume(feeds: list[list[float]], alignment: Alignment[int] | None, batch: int, seed: int):
    """Reads everything; returns (fetches, largest skew: the fastest partition read minus the slowest
    partition with records waiting, once every partition was read). Like aiokafka, it goes on draining
    the partition it read last, up to a prefetched chunk of ten batches, before it takes another."""
    rng = random.Random(seed)
    positions = [0] * len(feeds)
    latest: dict[int, float] = {}
    paused: set[int] = set()
    current, left_in_chunk = -1, 0
    fetches = worst = 0
    while any(pos < len(feed) for pos, feed in zip(positions, feeds, strict=True)):
        fetches += 1
        assert fetches < 100_000, "no progress: a deadlock"
        fetchable = [p for p in range(len(feeds)) if p not in paused and positions[p] < len(feeds[p])]
        assert fetchable, f"every partition with records is paused: {paused}"
        if current not in fetchable or left_in_chunk == 0:
            current, left_in_chunk = rng.choice(fetchable), 10
        left_in_chunk -= 1
        end = min(positions[current] + batch, len(feeds[current]))
        latest[current] = feeds[current][end - 1]
        positions[current] = end
        waiting = {p: positions[p] < len(feeds[p]) for p in range(len(feeds))}
        if alignment is not None:
            alignment.read(current, latest[current])
            decided = alignment.decide(waiting)
            assert not decided.pause & paused and decided.resume <= paused
            paused = (paused | decided.pause) - decided.resume
            assert paused == alignment.paused
        behind = [latest[p] for p, wait in waiting.items() if wait and p in latest]
        if behind and len(latest) == len(feeds):
            worst = max(worst, max(latest.values()) - min(behind))
    return fetches, worst


@pytest.mark.parametrize("seed", range(5))
def test_a_backlog_is_read_to_the_end_with_the_skew_bounded_by_max_ahead_plus_one_batch(seed):
    feeds = backlog(16, 20_000, seed)
    batch = 20
    max_ahead = 900.0
    # The most event time one batch of any partition spans.
    span = max(feed[min(i + batch, len(feed)) - 1] - feed[i] for feed in feeds for i in range(len(feed)))
    _, unaligned = consume(feeds, None, batch, seed)
    fetches, skew = consume(feeds, Alignment(max_ahead), batch, seed)
    assert fetches >= sum(len(feed) for feed in feeds) / batch  # everything was read
    assert skew <= max_ahead + span
    assert unaligned > 3 * (max_ahead + span), "without alignment the model consumer does drift apart"
