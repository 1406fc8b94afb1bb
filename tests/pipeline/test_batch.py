import orjson

from feed import Post
from pipeline.batch import Record, classify_batch
from pipeline.engine import Engine, observations_from_json


def post(i: int, region: str = "IR") -> Post:
    return Post(
        id=f"p{i}", ts=1245000000.0 + i, text=f"Protesters in Tehran #{i} basij shooting", region=region
    )


def test_a_batch_is_classified_grouped_by_partition_in_offset_order():
    engine = Engine()
    posts = [post(i) for i in range(6)]
    records = [Record("posts", i % 2, 10 + i // 2, p.id.encode(), p.to_json()) for i, p in enumerate(posts)]
    batch = classify_batch(records, engine, max_bytes=65536)
    assert batch.records == 6 and not batch.invalid
    assert batch.next_offsets == {0: 13, 1: 13}
    for partition in (0, 1):
        mine = [p for i, p in enumerate(posts) if i % 2 == partition]
        out = batch.classified[partition]
        assert [orjson.loads(o.value) for o in out] == [engine.classify(p).to_record() for p in mine]
        assert [o.timestamp_ms for o in out] == [p.ts_ms for p in mine]
        assert [o.key for o in out] == [p.id.encode() for p in mine]
        rows = observations_from_json(batch.detect[partition])
        assert [(offset, post_id) for offset, post_id, _ in rows] == [
            (10, mine[0].id),
            (11, mine[1].id),
            (12, mine[2].id),
        ]
        assert [obs for _, _, obs in rows] == [engine.classify(p).observation(partition) for p in mine]
    assert sum(batch.consumed.values()) == 6 and batch.consumed["unknown", "IR"] == 6
    assert sum(batch.priorities.values()) == 6
    assert batch.latest_event_time == posts[-1].ts


def test_bad_records_are_set_aside_with_their_reason_and_still_move_the_offset():
    engine = Engine()
    good = post(1)
    records = [
        Record("posts", 0, 5, None, b"{not json"),
        Record("posts", 0, 6, None, good.to_json()),
        Record("posts", 0, 7, None, b'{"id": "x"}'),
        Record("posts", 0, 8, None, None),
    ]
    batch = classify_batch(records, engine, max_bytes=65536)
    assert [(r.offset, e.code) for r, e in batch.invalid] == [
        (5, "invalid_json"),
        (7, "missing_field"),
        (8, "empty"),
    ]
    assert len(batch.classified[0]) == 1
    assert batch.next_offsets == {0: 9}  # the dead letters are handled: past them is committed too


def test_a_classifier_process_gives_the_same_batch_as_the_event_loop():
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from pipeline.batch import classify_in_process

    posts = [post(i, region="IR" if i % 3 else "US") for i in range(50)]
    records = [Record("posts", i % 4, i, p.id.encode(), p.to_json()) for i, p in enumerate(posts)]
    records.append(Record("posts", 0, 99, None, b"\xff junk"))
    here = classify_batch(records, Engine(), max_bytes=65536)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        there = pool.submit(classify_in_process, records, 65536).result(timeout=120)
    assert there.classified == here.classified and there.detect == here.detect
    assert [(r.offset, e.code) for r, e in there.invalid] == [(99, "invalid_json")]
    assert (there.consumed, there.published, there.next_offsets) == (
        here.consumed,
        here.published,
        here.next_offsets,
    )
