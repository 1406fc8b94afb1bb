"""Sharded detection (issue 20): shards and a merge raise exactly the alerts of one detector."""

from __future__ import annotations

import zlib
from random import Random

import orjson
import pytest
import zstandard

from pipeline.detect import Alert, Detector, DetectorConfig, Observation, Removal
from pipeline.detect import sharded as sharded_module
from pipeline.detect.model import signature_from_keys
from pipeline.detect.sharded import CHUNK_POSTS, MergeDetector, Part, ShardDetector
from pipeline.engine import Engine
from replay.generate import generate
from tests.pipeline.detect.test_accounts import tactics_stream

Event = tuple[str, object, str | None]  # ("post", Observation, id) | ("delete", Removal, None)


def source_of(author: str | None, sources: int) -> int:
    return zlib.crc32((author or "").encode()) % sources


def on_sources(events: list[Event], sources: int, seed: int) -> tuple[list[Event], list[list[Event]]]:
    """Each author's posts and notices on one source, in order; the sources interleaved at random (the
    order one detector reads them in), and each source's own queue."""
    queues: list[list[Event]] = [[] for _ in range(sources)]
    for kind, item, post_id in events:
        source = source_of(item.author, sources)
        queues[source].append((kind, item._replace(source=source), post_id))
    per_source = [list(queue) for queue in queues]
    rng, mixed = Random(seed), []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        take = rng.randint(1, 60)
        mixed.extend(queue[:take])
        del queue[:take]
    return mixed, per_source


def last_ts(queue: list[Event]) -> float:
    return max(item.ts for _, item, _ in queue)


def single(mixed: list[Event], per_source: list[list[Event]], config: DetectorConfig) -> list[Alert]:
    return single_detector(mixed, per_source, config)[0]


def single_detector(
    mixed: list[Event], per_source: list[list[Event]], config: DetectorConfig
) -> tuple[list[Alert], Detector]:
    detector = Detector(config)
    alerts: list[Alert] = []
    for kind, item, post_id in mixed:
        alerts += detector.push(item, post_id) if kind == "post" else detector.delete(item)
    for source, queue in enumerate(per_source):
        if queue:
            alerts += detector.end_source(source, last_ts(queue))
    return alerts, detector


def sharded(
    mixed: list[Event],
    per_source: list[list[Event]],
    config: DetectorConfig,
    shards: int,
    seed: int,
    restore_every: int = 0,
    through_bytes: list[int] | None = None,
) -> tuple[list[Alert], MergeDetector, list[ShardDetector]]:
    """Source s goes to shard s % shards; each shard hands its parts on after every few records, and the
    merge reads the shards' parts interleaved at random (each shard's in order). ``restore_every``: the
    shards and the merge are snapshotted and restored that often, through JSON. ``through_bytes``: the
    parts go as bytes, as on the parts topic, decoded with the merge's cuts; the list gets how many
    coordination posts the parts held and how many were decoded."""
    sources = len(per_source)
    owned = [sum(1 for s in range(sources) if s % shards == d) for d in range(shards)]
    detectors = [
        ShardDetector(
            DetectorConfig(**{**config.to_dict(), "min_sources": max(owned[d], 1)}),
            shard=d,
            owns_sources=owned[d] > 0,
        )
        for d in range(shards)
    ]
    merge = MergeDetector(config, shards=shards)
    rng = Random(seed)
    pending: list[list[Part]] = [[] for _ in range(shards)]
    alerts: list[Alert] = []

    def hand_on(shard: ShardDetector) -> None:
        part = shard.take()
        if part is not None:
            pending[shard.shard].append(part)

    def deliver(everything: bool = False) -> None:
        nonlocal merge
        while any(pending):
            queue = rng.choice([q for q in pending if q])
            part = queue.pop(0)
            if through_bytes is not None:
                sent = part
                part = Part.from_bytes(sent.to_bytes(), merge.signed_cuts(), merge.sample_cuts())
                through_bytes[0] += sum(len(window.signed) for window in sent.windows)
                through_bytes[1] += sum(len(window.signed) for window in part.windows)
            alerts.extend(merge.absorb(part))
            if not everything and rng.random() < 0.5:
                return

    for d in range(shards):
        hand_on(detectors[d])  # shards without sources say so at once
    for n, (kind, item, post_id) in enumerate(mixed):
        shard = detectors[item.source % shards]
        if kind == "post":
            shard.push(item, post_id)
        else:
            shard.delete(item)
        if rng.random() < 0.05:
            hand_on(shard)
            deliver()
        if restore_every and n % restore_every == restore_every - 1:
            for d in range(shards):
                hand_on(detectors[d])
                detectors[d] = ShardDetector.restore(orjson.loads(orjson.dumps(detectors[d].snapshot())))
            merge = MergeDetector.restore(orjson.loads(orjson.dumps(merge.snapshot())))
    for source, queue in enumerate(per_source):
        if queue:
            detectors[source % shards].end_source(source, last_ts(queue))
    for shard in detectors:
        hand_on(shard)
    deliver(everything=True)
    return alerts, merge, detectors


@pytest.fixture(scope="module")
def accounts_events() -> list[Event]:
    return tactics_stream()


@pytest.fixture(scope="module")
def words_events() -> list[Event]:
    """iran2009, 8 hours (~51k posts): filtering, outage and surges, classified by the real engine."""
    engine = Engine()
    posts, _ = generate("iran2009", seed=1, hours=8)
    return [("post", engine.classify(post).observation(), post.id) for post in posts]


@pytest.mark.parametrize(("sources", "shards"), [(4, 1), (4, 2), (4, 4), (3, 2), (2, 4)])
def test_shards_and_a_merge_raise_the_alerts_of_one_detector(accounts_events, sources, shards):
    config = DetectorConfig(min_sources=sources, lateness_seconds=600.0)
    mixed, per_source = on_sources(accounts_events, sources, seed=sources * 10 + shards)
    expected = single(mixed, per_source, config)
    assert {a.type for a in expected} >= {"deletion", "relocation", "coordination"}
    alerts, merge, shard_detectors = sharded(mixed, per_source, config, shards, seed=shards)
    assert alerts == expected
    assert merge.posts == sum(1 for kind, _, _ in mixed if kind == "post")
    # Each author's state lives in one shard only.
    books = [set(shard._book._authors) for shard in shard_detectors]
    assert sum(len(book) for book in books) == len(set().union(*books))


def test_filtering_outages_and_surges_too(words_events):
    sources, shards = 4, 3
    config = DetectorConfig(min_sources=sources, lateness_seconds=600.0)
    mixed, per_source = on_sources(words_events, sources, seed=7)
    expected = single(mixed, per_source, config)
    assert {a.type for a in expected} >= {"filtering", "outage", "surge"}
    alerts, _, _ = sharded(mixed, per_source, config, shards, seed=3)
    assert alerts == expected


def test_snapshots_of_every_shard_and_the_merge_continue_exactly(accounts_events):
    sources, shards = 4, 2
    config = DetectorConfig(min_sources=sources, lateness_seconds=600.0)
    mixed, per_source = on_sources(accounts_events, sources, seed=11)
    expected = single(mixed, per_source, config)
    alerts, _, _ = sharded(mixed, per_source, config, shards, seed=5, restore_every=3000)
    assert alerts == expected


@pytest.mark.parametrize(
    ("events", "sample", "shards"),
    [("accounts_events", 5, 4), ("words_events", 20, 3), ("words_events", 20, 4)],
)
def test_the_merge_decodes_only_the_coordination_posts_that_can_join_its_sample(
    request, events, sample, shards
):
    # Small samples, so that each shard hands on a full one and the merge keeps a fraction of them. A
    # merged sample has a cut once two shards' parts overflow it: from the third part of a window on,
    # the merge skips what cannot join (so with two shards it never does).
    sources = 4
    config = DetectorConfig(min_sources=sources, lateness_seconds=600.0, coordination_sample=sample)
    mixed, per_source = on_sources(request.getfixturevalue(events), sources, seed=shards)
    expected, detector = single_detector(mixed, per_source, config)
    if events == "accounts_events":
        assert "coordination" in {a.type for a in expected}
    counted = [0, 0]  # coordination posts in the parts, decoded by the merge
    alerts, merge, _ = sharded(mixed, per_source, config, shards, seed=shards, through_bytes=counted)
    assert alerts == expected
    # The coordination samples of the last windows closed are one detector's, post for post.
    assert merge._signed_windows == detector._signed_windows
    assert counted[1] < counted[0]


def test_a_part_whose_window_the_merge_closed_is_late_as_a_whole():
    config = DetectorConfig(min_sources=1, lateness_seconds=0.0)
    early, slow = ShardDetector(config, shard=0), ShardDetector(config, shard=1)
    merge = MergeDetector(config, shards=2)
    t0 = 1244764800.0

    def post(ts: float, source: int) -> Observation:
        return Observation(ts, "IR", ("w",), ("other",), (), source)

    early.push(post(t0 + 10, 0), "a")
    early.push(post(t0 + 900, 0), "b")
    slow.push(post(t0 + 20, 1), "c")
    slow.push(post(t0 + 900, 1), "d")
    merge.absorb(early.take())
    merge.absorb(slow.take())
    assert merge.watermark == t0 + 900 and merge.late_posts == 0
    # A shard that falls behind and then hands on a part for a window the merge has closed.
    slow.delete(Removal(t0 + 950, "d", None))
    slow.push(post(t0 + 2000, 1), "e")
    early.push(post(t0 + 2000, 0), "f")
    merge.absorb(early.take())
    merge.absorb(slow.take())
    late = ShardDetector(config, shard=1)
    late.push(post(t0 + 30, 1), "g")
    late.push(post(t0 + 3000, 1), "h")
    part = late.take()
    assert part is not None and len(part.windows) == 1
    before = merge.late_posts
    merge.absorb(part)
    assert merge.late_posts == before + 1


def test_a_shard_hands_on_nothing_new_as_none_and_refuses_a_snapshot_with_a_part_pending():
    config = DetectorConfig(min_sources=1, lateness_seconds=0.0)
    shard = ShardDetector(config)
    t0 = 1244764800.0
    shard.push(Observation(t0, "IR", ("w",), ("other",), (), 0), "a")
    assert shard.take() is not None  # its progress changed
    assert shard.take() is None
    shard.push(Observation(t0 + 600, "IR", ("w",), ("other",), (), 0), "b")
    with pytest.raises(RuntimeError, match="take"):
        shard.snapshot()
    part = shard.take()
    assert part is not None and [w.start for w in part.windows] == [t0]


def test_a_part_is_zstd_and_a_part_of_the_earlier_zlib_format_is_still_read():
    config = DetectorConfig(min_sources=1, lateness_seconds=0.0)
    shard = ShardDetector(config)
    t0 = 1244764800.0
    shard.push(Observation(t0, "IR", ("tehran", "basij"), ("other",), (), 0), "a")
    shard.push(Observation(t0 + 600, "IR", ("w",), ("other",), (), 0), "b")
    part = shard.take()
    assert part is not None and part.windows
    raw = part.to_bytes()
    assert raw[:4] == b"\x28\xb5\x2f\xfd"  # a zstd frame
    earlier = zlib.compress(zstandard.decompress(raw), 1)  # what the parts topic held before
    for data in (raw, earlier):
        back = Part.from_bytes(data)
        assert back.windows[0].dump() == part.windows[0].dump()
        assert (back.shard, back.progress, back.offset) == (part.shard, part.progress, part.offset)
    for junk in (raw[:-3], b"\x28\xb5\x2f\xfd junk", earlier[:-3], b"not a part"):
        with pytest.raises(ValueError, match="not a detection part"):
            Part.from_bytes(junk)


def closed_part(posts: int, config: DetectorConfig) -> Part:
    """A shard's part holding one closed window of ``posts`` posts of new accounts."""
    shard = ShardDetector(config)
    t0 = 1244764800.0
    for n in range(posts):
        ts = t0 + n * 0.01  # all in one window
        shard.push(
            Observation(
                ts,
                "IR",
                ("tehran",),
                ("other",),
                (),
                0,
                f"u{n}",
                ts - 60,
                signature_from_keys([n]),
                f"text {n}",
            ),
            f"p{n}",
        )
    shard.push(Observation(t0 + 5000, "IR", ("w",), ("other",), (), 0), "last")
    part = shard.take()
    assert part is not None
    return part


def test_a_part_holds_its_samples_in_chunks_and_the_merge_parses_only_those_under_its_cuts(monkeypatch):
    config = DetectorConfig(min_sources=1, lateness_seconds=0.0, sample_size=600, coordination_sample=1500)
    part = closed_part(2000, config)
    (window,) = [w for w in part.windows if w.signed]
    signed, sample = sorted(window.signed), sorted(window.sample)
    assert len(signed) == 1500 and len(sample) == 600  # three chunks of the one, two of the other
    raw = part.to_bytes()
    back = Part.from_bytes(raw)
    assert [w.dump() for w in back.windows] == [w.dump() for w in part.windows]

    parsed: list[bytes] = []
    loads = sharded_module.orjson.loads
    monkeypatch.setattr(sharded_module.orjson, "loads", lambda data: parsed.append(data) or loads(data))
    signed_cut, sample_cut = signed[CHUNK_POSTS + 10][0], sample[CHUNK_POSTS - 1][0]
    cut = Part.from_bytes(raw, {window.start: signed_cut}, {window.start: sample_cut})
    (cut_window,) = [w for w in cut.windows if w.start == window.start]
    assert cut_window.signed == [row for row in signed if row[0] <= signed_cut]
    assert cut_window.sample == [row for row in sample if row[0] <= sample_cut]
    # The header, then the first sample chunk (the second starts above its cut), then the first two
    # coordination chunks (the third starts above its cut).
    assert len(parsed) == 1 + 1 + 2


def test_a_part_written_all_as_json_by_the_earlier_version_is_still_read():
    config = DetectorConfig(min_sources=1, lateness_seconds=0.0, sample_size=600, coordination_sample=1500)
    part = closed_part(700, config)
    earlier = zstandard.compress(
        orjson.dumps(
            {
                "shard": part.shard,
                "offset": part.offset,
                "windows": [window.dump() for window in part.windows],
                "progress": part.progress.to_list(),
                "late_posts": part.late_posts,
                "late_deletions": part.late_deletions,
            }
        )
    )
    back = Part.from_bytes(earlier)
    assert [w.dump() for w in back.windows] == [w.dump() for w in part.windows]
    assert (back.shard, back.progress, back.offset) == (part.shard, part.progress, part.offset)


def test_a_chunk_that_points_outside_its_part_is_refused():
    config = DetectorConfig(min_sources=1, lateness_seconds=0.0, sample_size=600, coordination_sample=1500)
    raw = zstandard.decompress(closed_part(700, config).to_bytes())
    size = int.from_bytes(raw[4:8], "big")
    header = orjson.loads(raw[8 : 8 + size])
    header["windows"][0]["signed_chunks"][0][2] += len(raw)  # a length past the end
    forged = orjson.dumps(header)
    data = zstandard.compress(raw[:4] + len(forged).to_bytes(4, "big") + forged + raw[8 + size :])
    with pytest.raises(ValueError, match=r"chunk at \d+\+\d+ is outside the part"):
        Part.from_bytes(data)


def test_a_shard_reports_progress_by_the_second_and_exactly_when_idle():
    config = DetectorConfig(min_sources=1, lateness_seconds=0.0)
    t0 = 1244764800.0
    quiet, asked = ShardDetector(config), ShardDetector(config)
    made: dict[str, list] = {"quiet": [], "asked": []}
    for n, ts in enumerate([t0, t0 + 0.2, t0 + 0.7, t0 + 1.1, t0 + 1.5, t0 + 299.5, t0 + 300.2]):
        for name, shard in (("quiet", quiet), ("asked", asked)):
            shard.push(Observation(ts, "IR", ("w",), ("other",), (), 0), f"p{n}")
            part = shard.take()
            made[name].append(None if part is None else (part.progress.live_min, len(part.windows)))
        idle = asked.take_idle()  # asked after every post: it must not change what take() makes
        assert (idle is None) == (made["asked"][-1] is not None or n == 0)
        if idle is not None:
            assert idle.progress.live_min == ts and not idle.windows and idle.late_posts == 0
            assert asked.take_idle() is None  # told once
    assert made["quiet"] == made["asked"]
    # The first post, a new second, a new second, and the window's end (a part with the window).
    assert made["quiet"] == [(t0, 0), None, None, (t0 + 1.1, 0), None, (t0 + 299.5, 0), (t0 + 300.2, 1)]
