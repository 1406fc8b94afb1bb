"""The detect loops of DETECT_PARTITIONS > 1 (issue 20): shard loops hand parts on, a merge loop raises
the alerts; crashes of a shard or of the merge at any point repeat nothing and lose nothing. In-memory
fakes of the topics, as in test_detect_loop."""

from __future__ import annotations

import asyncio
import zlib
from dataclasses import dataclass, field

import pytest

from pipeline.detect import DetectorConfig
from pipeline.detect.dedupe import SingleDetection
from pipeline.detect.sharded import MergeDetection, Part, ShardDetection, shard_of
from pipeline.engine import Engine
from pipeline.records import AlertPosition
from pipeline.stream.batch import Record, classify_batch
from pipeline.stream.detect_loop import DetectLoop
from replay.generate import generate
from tests.pipeline.stream.test_detect_loop import Clock, MemorySink, MemorySource, MemoryStore

SOURCES = 4
BATCH = 300


@pytest.fixture(scope="module")
def source_batches() -> list[tuple[int, bytes]]:
    """(posts partition, detect record) of 8 hours of iran2009 over four posts partitions, in the order
    the classify stage would publish them."""
    posts, _ = generate("iran2009", seed=1, hours=8)
    by_partition: dict[int, list[Record]] = {p: [] for p in range(SOURCES)}
    for post in posts:
        partition = zlib.crc32((post.author or post.id).encode()) % SOURCES
        records = by_partition[partition]
        records.append(Record("posts", partition, len(records), None, post.to_json()))
    engine, out = Engine(), []
    for start in range(0, max(len(r) for r in by_partition.values()), BATCH):
        fetched = [record for records in by_partition.values() for record in records[start : start + BATCH]]
        out += classify_batch(fetched, engine, max_bytes=65536).detect.items()
    return out


def config() -> DetectorConfig:
    return DetectorConfig(min_sources=SOURCES)


@pytest.fixture(scope="module")
def expected(source_batches) -> list[dict]:
    """One detector over the same records, in one partition."""
    state = SingleDetection(config()).fresh()
    alerts = [
        a.to_record() for offset, (_, record) in enumerate(source_batches) for a in state.fold(record, offset)
    ]
    assert {a["type"] for a in alerts} >= {"filtering", "outage"}
    return alerts


@dataclass
class PartsTopic:
    """The parts topic: what every shard loop flushed, in the order it landed."""

    log: list[bytes] = field(default_factory=list)


@dataclass
class MemoryPartSink:
    topic: PartsTopic
    pending: list[bytes] = field(default_factory=list)

    async def send(self, part: Part, position: AlertPosition) -> None:
        self.pending.append(part.to_bytes())

    async def flush(self) -> None:
        self.topic.log += self.pending
        self.pending = []

    async def last_position(self) -> AlertPosition | None:
        return None

    def crash(self) -> None:
        self.pending = []


def shard_logs(source_batches: list[tuple[int, bytes]], shards: int) -> list[list[bytes]]:
    logs: list[list[bytes]] = [[] for _ in range(shards)]
    for source, record in source_batches:
        logs[shard_of(source, shards)].append(record)
    return logs


def run_sharded(
    source_batches: list[tuple[int, bytes]],
    shards: int,
    *,
    crash_shard_at: dict[int, int] | None = None,
    crash_merge_every: int = 0,
    watermark: list[float | None] | None = None,
) -> tuple[list[dict], int]:
    """Shard loops stepped in turn, the merge stepped after each round; ``crash_shard_at``: shard ->
    offset after which it is killed (unflushed parts lost, no snapshot) and restored by a new loop;
    ``crash_merge_every``: the merge is killed that often; ``watermark`` gets the merge's at the end.
    Returns the alerts and the parts dropped as repeats by the merge."""
    crash_shard_at = dict(crash_shard_at or {})
    logs = shard_logs(source_batches, shards)
    parts = PartsTopic()
    stores = [MemoryStore() for _ in range(shards)]
    sources = [MemorySource(log, per_fetch=3) for log in logs]

    def shard_loop(shard: int) -> DetectLoop:
        return DetectLoop(
            ShardDetection(config(), shard, shards, SOURCES),
            store=stores[shard],
            sink=MemoryPartSink(parts),
            source=sources[shard],
            snapshot_seconds=0.5,
            clock=Clock(),
        )

    merge_store, alerts = MemoryStore(), MemorySink()
    merge_source = MemorySource(parts.log, per_fetch=5)

    def merge_loop() -> DetectLoop:
        return DetectLoop(
            MergeDetection(config(), shards),
            store=merge_store,
            sink=alerts,
            source=merge_source,
            snapshot_seconds=0.5,
            clock=Clock(),
        )

    repeats = 0

    async def go() -> None:
        nonlocal repeats
        loops = [shard_loop(d) for d in range(shards)]
        for loop in loops:
            await loop.start()
        merge = merge_loop()
        await merge.start()
        steps = 0
        while True:
            busy = False
            for d in range(shards):
                loop = loops[d]
                if sources[d].at_end and loop.next_offset >= len(logs[d]):
                    await loop.step()  # idle: saves what is unsaved once the snapshot is due
                    # A producer delivers what it was sent without a flush (here only a flush
                    # delivers), so a shard's last parts reach the merge whenever its save is due.
                    await loop.sink.flush()
                    continue
                busy = True
                await loop.step()
                at = crash_shard_at.get(d)
                if at is not None and loop.next_offset > at:
                    del crash_shard_at[d]
                    await loop.sink.flush()  # its parts landed, its snapshot did not: the merge gets repeats
                    loops[d] = shard_loop(d)
                    await loops[d].start()
            steps += 1
            if crash_merge_every and steps % crash_merge_every == 0:
                alerts.crash()
                repeats += merge.state.repeated_parts
                merge = merge_loop()
                await merge.start()
            while merge.next_offset < len(parts.log):
                await merge.step()
            if not busy:
                break
        await merge.step()
        await alerts.flush()
        repeats += merge.state.repeated_parts
        if watermark is not None:
            watermark.append(merge.state.detector.watermark)

    asyncio.run(go())
    return alerts.records(), repeats


@pytest.mark.parametrize("shards", [1, 2, 3, 4])
def test_shard_loops_and_a_merge_loop_raise_the_alerts_of_one_detector(source_batches, expected, shards):
    alerts, repeats = run_sharded(source_batches, shards)
    assert alerts == expected
    assert repeats == 0


def test_once_the_input_is_drained_the_merges_watermark_is_the_one_detectors(source_batches, expected):
    # Shards report their progress in whole seconds while busy; idle, exactly (ShardState.idle). No
    # end-of-feed markers here: the watermark is where the posts alone put it.
    single = SingleDetection(config()).fresh()
    for offset, (_, record) in enumerate(source_batches):
        single.fold(record, offset)
    watermark: list[float | None] = []
    alerts, _ = run_sharded(source_batches, 3, watermark=watermark)
    assert alerts == expected
    assert watermark == [single.detector.watermark]
    assert single.detector.watermark != int(single.detector.watermark)  # not a whole second: a real test


def test_a_shard_killed_after_its_parts_landed_repeats_them_and_the_merge_drops_them(
    source_batches, expected
):
    logs = shard_logs(source_batches, 2)
    alerts, repeats = run_sharded(
        source_batches, 2, crash_shard_at={0: len(logs[0]) // 3, 1: 2 * len(logs[1]) // 3}
    )
    assert repeats > 0, "the killed shards must have made some parts again"
    assert alerts == expected


def test_the_merge_killed_again_and_again_raises_each_alert_once(source_batches, expected):
    alerts, _ = run_sharded(source_batches, 3, crash_merge_every=7)
    assert alerts == expected


def test_a_snapshot_of_another_shard_or_layout_is_refused(source_batches):
    shard = ShardDetection(config(), 0, 2, SOURCES).fresh()
    snapshot = shard.snapshot()
    with pytest.raises(ValueError, match="shard 1"):
        ShardDetection(config(), 1, 2, SOURCES).restore(snapshot)
    merge = MergeDetection(config(), 2).fresh()
    with pytest.raises(ValueError, match="DETECT_PARTITIONS=3"):
        MergeDetection(config(), 3).restore(merge.snapshot())


def test_the_merge_refuses_what_is_not_a_part():
    merge = MergeDetection(config(), 2).fresh()
    with pytest.raises(ValueError, match="not a detection part"):
        merge.fold(b'{"posts": 1}', 0)
    with pytest.raises(ValueError, match="shard 5"):
        merge.fold(
            Part(5, (), ShardDetection(config(), 0, 2, SOURCES).fresh().detector.progress(), 0, 0).to_bytes(),
            1,
        )
