"""DetectLoop with in-memory fakes of its snapshot store, alert sink and record source: restores, holes,
rebalances, alerts already published and records seen twice, against one uninterrupted run."""

from __future__ import annotations

import asyncio
import itertools
import zlib
from dataclasses import dataclass, field

import orjson
import pytest

from pipeline.detect import Alert, Detector, DetectorConfig
from pipeline.detect.dedupe import SingleDetection
from pipeline.engine import Engine
from pipeline.records import AlertPosition
from pipeline.stream.batch import Record, classify_batch
from pipeline.stream.detect_loop import (
    FOLDING_PER_SAVE,
    LONGEST_BETWEEN_SAVES,
    MAX_GAP_REREADS,
    DetectLoop,
    SaveSchedule,
)
from replay.generate import generate

PARTITIONS = 2
BATCH = 400


def new_engine() -> Engine:
    return Engine(detector=Detector(DetectorConfig(min_sources=PARTITIONS)))


def single_detection() -> SingleDetection:
    return SingleDetection(DetectorConfig(min_sources=PARTITIONS))


@pytest.fixture(scope="module")
def detect_log() -> list[bytes]:
    """The detect topic of 8 hours of the iran2009 scenario over two posts partitions, in batches."""
    posts, _ = generate("iran2009", seed=1, hours=8)
    by_partition: dict[int, list[Record]] = {p: [] for p in range(PARTITIONS)}
    for post in posts:
        partition = zlib.crc32((post.author or post.id).encode()) % PARTITIONS
        records = by_partition[partition]
        records.append(Record("posts", partition, len(records), None, post.to_json()))
    engine = Engine()
    log: list[bytes] = []
    for start in range(0, max(len(r) for r in by_partition.values()), BATCH):
        fetched = [record for records in by_partition.values() for record in records[start : start + BATCH]]
        log += classify_batch(fetched, engine, max_bytes=65536).detect.values()
    return log


@dataclass
class MemoryStore:
    saved: bytes | None = None
    saves: list[int] = field(default_factory=list)  # input offsets

    async def load(self) -> bytes | None:
        return self.saved

    async def save(self, snapshot: bytes, input_offset: int) -> None:
        self.saved = snapshot
        self.saves.append(input_offset)


@dataclass
class MemorySink:
    """The alerts topic: records land on ``flush``; ``crash`` loses what was not flushed."""

    topic: list[tuple[dict, AlertPosition]] = field(default_factory=list)
    pending: list[tuple[dict, AlertPosition]] = field(default_factory=list)

    async def send(self, alert: Alert, position: AlertPosition) -> None:
        self.pending.append((alert.to_record(), position))

    async def flush(self) -> None:
        self.topic += self.pending
        self.pending = []

    async def last_position(self) -> AlertPosition | None:
        return self.topic[-1][1] if self.topic else None

    def crash(self) -> None:
        self.pending = []

    def records(self) -> list[dict]:
        return [record for record, _ in self.topic]


class MemorySource:
    """The detect partition: ``fetch`` hands out up to ``per_fetch`` records from the position;
    ``holes`` makes given fetches skip records (as Faust's prefetch did); ``earliest`` is retention."""

    def __init__(self, log: list[bytes], per_fetch: int = 7) -> None:
        self.log = log
        self.per_fetch = per_fetch
        self.position = 0
        self.earliest_offset = 0
        self.committed: int | None = None
        self.holes: dict[int, int] = {}  # fetch number -> records skipped before it
        self.fetches = 0
        self.seeks: list[int] = []

    async def seek(self, offset: int) -> None:
        self.seeks.append(offset)
        self.position = offset

    async def fetch(self) -> list[tuple[int, bytes]]:
        self.fetches += 1
        self.position += self.holes.pop(self.fetches, 0)
        start = max(self.position, self.earliest_offset)
        end = min(start + self.per_fetch, len(self.log))
        self.position = end
        return [(offset, self.log[offset]) for offset in range(start, end)]

    async def earliest(self) -> int:
        return self.earliest_offset

    async def commit(self, next_offset: int) -> None:
        self.committed = next_offset

    @property
    def at_end(self) -> bool:
        return self.position >= len(self.log)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.1  # every reading is a little later: snapshots come due as records flow
        return self.now


def make_loop(
    source: MemorySource, store: MemoryStore, sink: MemorySink, *, snapshot_seconds=0.5
) -> DetectLoop:
    return DetectLoop(
        single_detection(),
        store=store,
        sink=sink,
        source=source,
        snapshot_seconds=snapshot_seconds,
        clock=Clock(),
    )


async def run_until(loop: DetectLoop, source: MemorySource, stop_at: int | None = None) -> None:
    """Steps until the source is exhausted and its state saved (idle fetches until the input has been
    quiet long enough), or past offset ``stop_at``."""
    while True:
        if stop_at is not None and loop.next_offset > stop_at:
            return
        if source.at_end and loop.next_offset >= len(source.log):
            for _ in range(1000):  # the clock moves on at each step: the quiet input is saved in time
                await loop.step()
                if not loop.held:
                    return
            raise AssertionError("a quiet input was never saved")
        await loop.step()


def run_to_end(
    source: MemorySource,
    *,
    store: MemoryStore | None = None,
    sink: MemorySink | None = None,
    snapshot_seconds: float = 0.5,
) -> tuple[DetectLoop, MemorySink]:
    """One loop from its start to the end of ``source``, its alerts flushed."""
    sink = sink if sink is not None else MemorySink()
    loop = make_loop(
        source, store if store is not None else MemoryStore(), sink, snapshot_seconds=snapshot_seconds
    )

    async def go() -> None:
        await loop.start()
        await run_until(loop, source)
        await sink.flush()

    asyncio.run(go())
    return loop, sink


def reference(detect_log: list[bytes]) -> list[dict]:
    _, sink = run_to_end(MemorySource(detect_log))
    return sink.records()


@pytest.fixture(scope="module")
def expected(detect_log) -> list[dict]:
    alerts = reference(detect_log)
    assert len(alerts) >= 3, "the scenario must raise alerts for these tests to mean anything"
    return alerts


def test_one_run_raises_the_alerts_of_the_detector_fed_in_order(detect_log, expected):
    engine = new_engine()
    state = engine.fresh_detection()
    direct = [
        alert.to_record() for offset, record in enumerate(detect_log) for alert in state.fold(record, offset)
    ]
    assert expected == direct


def test_restore_from_a_snapshot_continues_where_it_stood(detect_log, expected):
    store, sink = MemoryStore(), MemorySink()

    async def go() -> None:
        first_source = MemorySource(detect_log)
        first = make_loop(first_source, store, sink)
        await first.start()
        await run_until(first, first_source, stop_at=len(detect_log) // 2)
        await first.checkpoint()  # a clean hand-over: alerts flushed, snapshot saved
        saved_at = store.saves[-1]
        assert first_source.committed == saved_at + 1

        second_source = MemorySource(detect_log)
        second = make_loop(second_source, store, sink)
        assert await second.start() == saved_at + 1
        assert second_source.seeks == [saved_at + 1]
        assert second.counts.restores == 1
        await run_until(second, second_source)
        await sink.flush()
        assert second.counts.reread == 0 and second.counts.alerts_suppressed == 0

    asyncio.run(go())
    assert sink.records() == expected


def test_records_after_the_snapshot_are_folded_again_and_their_alerts_not_sent_twice(detect_log, expected):
    """A kill -9 after alerts went out but before the next snapshot: the restored loop reads the records
    after its snapshot again, raises their alerts again and suppresses those already on the topic."""
    store, sink = MemoryStore(), MemorySink()

    async def go() -> int:
        source = MemorySource(detect_log)
        killed = make_loop(source, store, sink, snapshot_seconds=1e9)  # saves only when told to
        await killed.start()
        await run_until(killed, source, stop_at=len(detect_log) // 3)
        await killed.checkpoint()
        await run_until(killed, source, stop_at=2 * len(detect_log) // 3)
        await sink.flush()  # its alerts reached the topic...
        sink.crash()  # ...and then it died, without a snapshot after the first third
        assert killed.counts.alerts_sent > 0

        restarted_source = MemorySource(detect_log)
        restarted = make_loop(restarted_source, store, sink)
        await restarted.start()
        await run_until(restarted, restarted_source)
        await sink.flush()
        return restarted.counts.alerts_suppressed

    suppressed = asyncio.run(go())
    assert sink.records() == expected
    assert [position for _, position in sink.topic] == sorted({position for _, position in sink.topic})
    assert suppressed > 0, "the window between snapshot and kill must have raised alerts for this test"


def test_a_crash_before_the_alerts_landed_raises_them_from_the_snapshot(detect_log, expected):
    store, sink = MemoryStore(), MemorySink()

    async def go() -> None:
        source = MemorySource(detect_log)
        first = make_loop(source, store, sink, snapshot_seconds=1e9)
        await first.start()
        await run_until(first, source, stop_at=len(detect_log) // 2)
        sink.crash()  # nothing it raised since its start reached the topic
        second_source = MemorySource(detect_log)
        second = make_loop(second_source, store, sink)
        assert await second.start() == 0  # no snapshot was saved: from the beginning
        await run_until(second, second_source)
        await sink.flush()

    asyncio.run(go())
    assert sink.records() == expected


def test_a_snapshot_is_saved_only_after_its_alerts_are_flushed(detect_log):
    order: list[str] = []

    class Sink(MemorySink):
        async def flush(self) -> None:
            order.append("flush")
            await super().flush()

    class Store(MemoryStore):
        async def save(self, snapshot: bytes, input_offset: int) -> None:
            order.append("save")
            await super().save(snapshot, input_offset)

    class Source(MemorySource):
        async def commit(self, next_offset: int) -> None:
            order.append("commit")
            await super().commit(next_offset)

    source = Source(detect_log)
    loop = make_loop(source, Store(), Sink())

    async def go() -> None:
        await loop.start()
        await run_until(loop, source)

    asyncio.run(go())
    saves = [i for i, step in enumerate(order) if step == "save"]
    assert len(saves) >= 2
    for i in saves:
        assert order[i - 1] == "flush" and order[i + 1] == "commit"


def test_a_rebalance_mid_window_hands_over_without_loss_or_repeat(detect_log, expected):
    """The partition moves to another worker, and back, at offsets that fall inside windows."""
    store, sink = MemoryStore(), MemorySink()
    cuts = [len(detect_log) // 5, len(detect_log) // 2 + 3, 4 * len(detect_log) // 5 + 1]

    async def go() -> None:
        for cut in [*cuts, None]:
            source = MemorySource(detect_log, per_fetch=5)
            loop = make_loop(source, store, sink)
            await loop.start()
            await run_until(loop, source, stop_at=cut)
            await loop.checkpoint()  # on_partitions_revoked
            assert loop.counts.alerts_suppressed == 0

    asyncio.run(go())
    assert sink.records() == expected


def test_a_detect_record_seen_twice_is_folded_once(detect_log, expected):
    class Repeating(MemorySource):
        async def fetch(self) -> list[tuple[int, bytes]]:
            records = await super().fetch()
            if records and self.fetches % 3 == 0:
                self.position = records[0][0]  # the same records again next time, as after a retry
            return records

    loop, sink = run_to_end(Repeating(detect_log))
    assert loop.counts.reread > 0
    assert loop.counts.records == len(detect_log)
    assert sink.records() == expected


def test_a_hole_in_the_offsets_is_read_again(detect_log, expected):
    source = MemorySource(detect_log)
    source.holes = {2: 4, 10: 1, 11: 3}  # fetches that skip records, as Faust's consumer did
    loop, sink = run_to_end(source)
    assert loop.counts.gaps == 3 and loop.counts.lost == 0
    assert loop.counts.records == len(detect_log)
    assert sink.records() == expected


def test_records_gone_from_the_broker_are_counted_lost_not_passed_over_silently(detect_log):
    store, sink = MemoryStore(), MemorySink()

    async def go() -> DetectLoop:
        source = MemorySource(detect_log)
        first = make_loop(source, store, sink)
        await first.start()
        await run_until(first, source, stop_at=10)
        await first.checkpoint()
        late = MemorySource(detect_log)
        late.earliest_offset = 20  # retention removed 11..19 while no worker ran
        second = make_loop(late, store, sink)
        await second.start()
        await run_until(second, late)
        return second

    second = asyncio.run(go())
    assert second.counts.lost == 20 - (store.saves[0] + 1)
    assert second.counts.records == len(detect_log) - 20


def test_a_bad_record_is_counted_and_skipped(detect_log, expected):
    junk = [*detect_log[:5], b"not a detect record", *detect_log[5:]]
    loop, sink = run_to_end(MemorySource(junk))
    assert loop.counts.bad_records == 1
    assert sink.records() == expected


def test_an_idle_input_is_saved_so_nothing_stays_held(detect_log):
    source, store = MemorySource(detect_log[:50]), MemoryStore()
    loop = make_loop(source, store, MemorySink(), snapshot_seconds=0.0)

    async def go() -> None:
        await loop.start()
        while not source.at_end:
            await loop.step()
        await loop.step()  # nothing came: idle

    asyncio.run(go())
    assert loop.held == 0
    assert store.saves[-1] == 49 and source.committed == 50


def test_a_snapshot_from_the_faust_table_era_restores(detect_log, expected):
    """Before issue 14 the table held the snapshot as a JSON string of the JSON (value_type=str)."""
    engine = new_engine()
    state = engine.fresh_detection()
    half = len(detect_log) // 2
    raised = [a.to_record() for offset in range(half) for a in state.fold(detect_log[offset], offset)]
    store = MemoryStore(saved=orjson.dumps(orjson.dumps(state.snapshot()).decode()))
    # On the topic already, positioned before anything the restored loop raises.
    sink = MemorySink(topic=[(record, AlertPosition(-1, 0)) for record in raised])
    source = MemorySource(detect_log)
    loop = make_loop(source, store, sink)

    async def go() -> None:
        assert await loop.start() == half
        await run_until(loop, source)
        await sink.flush()

    asyncio.run(go())
    assert sink.records() == expected


def test_offsets_never_handed_out_even_when_read_again_are_skipped_not_lost(detect_log, expected):
    """Offsets a consumer never hands out though the broker holds them (control records of
    transactions): read again a few times, then counted as skipped, and nothing is lost."""
    missing = 40  # the record at this offset stands for a control record: never handed out

    class WithControlRecord(MemorySource):
        async def fetch(self) -> list[tuple[int, bytes]]:
            return [(offset, value) for offset, value in await super().fetch() if offset != missing]

    source = WithControlRecord([*detect_log[:missing], b"(a control record)", *detect_log[missing:]])
    loop, sink = run_to_end(source)
    assert loop.counts.gaps == MAX_GAP_REREADS + 1 and loop.counts.skipped == 1 and loop.counts.lost == 0
    assert sink.records() == expected


def test_the_save_schedule_spaces_saves_by_the_clock_and_between_them_by_the_folding_cpu():
    schedule = SaveSchedule(snapshot_seconds=5.0)
    schedule.saved(now=100.0, save_cpu=0.4)
    schedule.folded_cpu = 100.0
    assert not schedule.due(104.9, idle=True, window_closed=True)  # never within snapshot_seconds
    schedule.folded_cpu = FOLDING_PER_SAVE * 0.4 - 0.01
    assert not schedule.due(150.0, idle=True, window_closed=True)
    schedule.folded_cpu = FOLDING_PER_SAVE * 0.4
    assert schedule.due(150.0, idle=False, window_closed=True)
    assert schedule.due(150.0, idle=True, window_closed=False)
    assert not schedule.due(150.0, idle=False, window_closed=False)  # only at a window close or idle
    schedule.saved(now=200.0, save_cpu=0.1)
    assert schedule.folded_cpu == 0.0 and not schedule.due(204.0, idle=True, window_closed=True)


def test_a_save_whose_folding_has_not_paid_for_it_comes_after_twelve_times_snapshot_seconds():
    schedule = SaveSchedule(snapshot_seconds=5.0)
    schedule.saved(now=100.0, save_cpu=10.0)  # a save so costly that folding never pays for it here
    schedule.folded_cpu = 1.0
    longest = 100.0 + LONGEST_BETWEEN_SAVES * 5.0
    assert not schedule.due(longest - 0.1, idle=True, window_closed=True)  # a pause is not the end
    assert schedule.due(longest, idle=False, window_closed=True)
    assert schedule.due(longest, idle=True, window_closed=False)  # an input gone quiet is saved
    assert not schedule.due(longest, idle=False, window_closed=False)


def test_a_restart_keeps_the_last_saves_cost() -> None:
    schedule = SaveSchedule(snapshot_seconds=5.0)
    schedule.saved(now=100.0, save_cpu=0.4)
    schedule.folded_cpu = FOLDING_PER_SAVE * 0.4
    schedule.restart(now=300.0)
    assert (schedule.last_save, schedule.save_cpu, schedule.folded_cpu) == (300.0, 0.4, 0.0)
    assert not schedule.due(310.0, idle=True, window_closed=True)  # folding starts again from nothing


class CpuClock:
    """A CPU clock that only the test moves (``now``)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Costed:
    """Detection states whose folding and snapshots cost given CPU seconds on ``cpu``."""

    def __init__(self, states: SingleDetection, cpu: CpuClock, *, fold: float, snapshot: float) -> None:
        self.states, self.cpu, self.fold_cost, self.snapshot_cost = states, cpu, fold, snapshot

    def fresh(self) -> CostedState:
        return CostedState(self.states.fresh(), self)

    def restore(self, snapshot) -> CostedState:
        return CostedState(self.states.restore(snapshot), self)


class CostedState:
    def __init__(self, state, costs: Costed) -> None:
        object.__setattr__(self, "state", state)
        object.__setattr__(self, "costs", costs)

    def __getattr__(self, name):
        return getattr(self.state, name)

    def __setattr__(self, name, value):
        setattr(self.state, name, value)

    def fold(self, record, input_offset):
        self.costs.cpu.now += self.costs.fold_cost
        return self.state.fold(record, input_offset)

    def snapshot(self):
        self.costs.cpu.now += self.costs.snapshot_cost
        return self.state.snapshot()


def run_costed(
    detect_log: list[bytes],
    cpu: CpuClock,
    *,
    fold: float,
    snapshot: float,
    store: MemoryStore,
    sink: MemorySink,
) -> DetectLoop:
    """One loop to the end of ``detect_log``, folding a record costing ``fold`` CPU seconds on ``cpu`` and
    a snapshot ``snapshot``; its alerts flushed."""
    source = MemorySource(detect_log)
    loop = DetectLoop(
        Costed(single_detection(), cpu, fold=fold, snapshot=snapshot), store=store, sink=sink,
        source=source, snapshot_seconds=0.5, clock=Clock(), cpu_clock=cpu,
    )  # fmt: skip

    async def go() -> None:
        await loop.start()
        await run_until(loop, source)
        await sink.flush()

    asyncio.run(go())
    return loop


def busy_saves(detect_log: list[bytes], *, fold: float, snapshot: float) -> tuple[list[int], list[dict]]:
    """The input offsets of the snapshots saved while records kept coming (the idle one at the end left
    out), and the alerts, when folding a record costs ``fold`` CPU seconds and a snapshot ``snapshot``."""
    store, sink = MemoryStore(), MemorySink()
    run_costed(detect_log, CpuClock(), fold=fold, snapshot=snapshot, store=store, sink=sink)
    assert store.saves[-1] == len(detect_log) - 1  # the idle save at the end
    return store.saves[:-1], sink.records()


def test_a_costly_snapshot_waits_for_ten_times_its_cpu_in_folding_and_alerts_stay_the_same(
    detect_log, expected
):
    cheap, cheap_alerts = busy_saves(detect_log, fold=1.0, snapshot=0.01)
    costly, costly_alerts = busy_saves(detect_log, fold=1.0, snapshot=5.0)
    assert len(costly) >= 2 and len(costly) < len(cheap)  # the costly state was saved less often
    # Each busy save after the first waited for 50 records' folding (10 x 5.0 CPU s): the offsets of
    # consecutive saves lie at least 50 apart. The cheap state is saved as windows close, closer.
    assert all(later - earlier >= 50 for earlier, later in itertools.pairwise(costly))
    assert any(later - earlier < 50 for earlier, later in itertools.pairwise(cheap))
    assert cheap_alerts == costly_alerts == expected


def test_the_cpu_counted_is_detections_own_not_the_sends_or_the_saves(detect_log, expected):
    # Folding a record costs 1, encoding a snapshot 0.25; sending an alert and saving a snapshot (Kafka
    # I/O, where other tasks of the event loop run) cost 100.
    cpu = CpuClock()

    @dataclass
    class CostlySink(MemorySink):
        async def send(self, alert, position):
            cpu.now += 100.0
            await MemorySink.send(self, alert, position)

    @dataclass
    class CostlyStore(MemoryStore):
        async def save(self, snapshot, input_offset):
            cpu.now += 100.0
            await MemoryStore.save(self, snapshot, input_offset)

    sink = CostlySink()
    loop = run_costed(detect_log, cpu, fold=1.0, snapshot=0.25, store=CostlyStore(), sink=sink)
    assert sink.records() == expected
    assert loop.counts.records == len(detect_log) and loop.counts.snapshots >= 2
    assert loop.counts.cpu_seconds == len(detect_log) * 1.0 + loop.counts.snapshots * 0.25
