import orjson
import pytest

from feed import Post, end_of_feed_value
from pipeline.engine import Engine
from pipeline.records import detect_record_from_json, observations_from_json
from pipeline.stream.batch import Record, classify_batch


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

    from pipeline.stream.batch import classify_in_process

    posts = [post(i, region="IR" if i % 3 else "US") for i in range(50)]
    records = [Record("posts", i % 4, i, p.id.encode(), p.to_json()) for i, p in enumerate(posts)]
    records.append(Record("posts", 0, 99, None, b"\xff junk"))
    records.append(Record("posts", 1, 100, None, end_of_feed_value(posts[-1].ts)))
    here = classify_batch(records, Engine(), max_bytes=65536)
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:
        there = pool.submit(classify_in_process, records, 65536).result(timeout=120)
    assert there.classified == here.classified and there.detect == here.detect
    assert there.end_markers == here.end_markers == 1
    assert [(r.offset, e.code) for r, e in there.invalid] == [(99, "invalid_json")]
    assert (there.consumed, there.published, there.next_offsets) == (
        here.consumed,
        here.published,
        here.next_offsets,
    )


def test_an_end_of_feed_marker_ends_its_partition_in_the_detect_record_and_is_committed():
    engine = Engine()
    marker = end_of_feed_value(post(5).ts)
    records = [
        Record("posts", 0, 20, None, post(1).to_json()),
        Record("posts", 0, 21, None, marker),
        Record("posts", 0, 22, None, post(2).to_json()),  # a post after it: a second replay
        Record("posts", 1, 7, None, marker),  # a partition with nothing but its marker in this batch
    ]
    batch = classify_batch(records, engine, max_bytes=65536)
    assert batch.invalid == []  # not dead-lettered
    assert batch.end_markers == 2 and batch.records == 4
    assert [orjson.loads(o.value)["id"] for o in batch.classified[0]] == ["p1", "p2"]  # not published
    assert 1 not in batch.classified
    assert sum(batch.consumed.values()) == 2  # nor counted as a post
    assert batch.next_offsets == {0: 23, 1: 8}  # committed like any record
    zero = detect_record_from_json(batch.detect[0])
    assert [offset for offset, _, _ in zero.rows] == [20, 22]
    assert zero.ends == [(21, post(5).ts)]
    assert detect_record_from_json(batch.detect[1])[:3] == (1, [], [(7, post(5).ts)])


def test_a_batch_without_markers_writes_the_detect_records_it_always_did():
    records = [Record("posts", 0, n, None, post(n).to_json()) for n in range(3)]
    batch = classify_batch(records, Engine(), max_bytes=65536)
    assert set(orjson.loads(batch.detect[0])) == {"source", "rows"}


@pytest.mark.parametrize(
    "value",
    [
        b'{"kind": "end"}',  # no time
        b'{"kind": "end", "ts": "2009-06-20T00:00:00Z", "id": "x"}',  # has an id: a broken post
        b'{"kind": "end", "ts": "2009-06-20T00:00:00Z", "pad": "' + b"x" * 2000 + b'"}',  # too big to be one
    ],
)
def test_what_only_looks_like_a_marker_is_dead_lettered(value):
    batch = classify_batch([Record("posts", 3, 9, None, value)], Engine(), max_bytes=65536)
    assert [(r.offset, e.code) for r, e in batch.invalid] == [(9, "missing_field")]
    assert batch.detect == {} and batch.end_markers == 0
    assert batch.next_offsets == {3: 10}


class RaisingEngine(Engine):
    """An engine with a bug that shows on one post: whatever contains ``poison`` raises."""

    def classify(self, post: Post):
        if "poison" in post.text:
            raise IndexError("string index out of range")
        return super().classify(post)


def test_a_post_the_engine_raises_on_is_dead_lettered_and_the_batch_goes_on():
    posts = [post(0), Post(id="bad", ts=1245000001.0, text="a poison post"), post(2)]
    records = [Record("posts", 3, 40 + i, p.id.encode(), p.to_json()) for i, p in enumerate(posts)]
    batch = classify_batch(records, RaisingEngine(), max_bytes=65536)
    assert [(record.offset, error.code, error.exception_type) for record, error in batch.invalid] == [
        (41, "engine_error", "IndexError")
    ]
    assert "IndexError: string index out of range" in str(batch.invalid[0][1])
    assert [orjson.loads(o.value)["id"] for o in batch.classified[3]] == ["p0", "p2"]
    assert [post_id for _, post_id, _ in observations_from_json(batch.detect[3])] == ["p0", "p2"]
    assert batch.next_offsets == {3: 43}  # the dead letter is committed past like any other record


def test_a_raw_author_from_another_producer_is_pseudonymized_before_it_is_published():
    from feed.pseudonyms import Pseudonymizer

    pseudonymizer = Pseudonymizer(b"key")
    raw = Post(id="r1", ts=1245000000.0, text="RT @bob: rally at Azadi", author="alice")
    done = pseudonymizer.authors(raw)
    records = [Record("posts", 0, 0, b"alice", raw.to_json()), Record("posts", 0, 1, b"k", done.to_json())]
    batch = classify_batch(records, Engine(), max_bytes=65536, pseudonymizer=pseudonymizer)
    out = batch.classified[0]
    assert [orjson.loads(o.value)["author"] for o in out] == [done.author, done.author]
    assert orjson.loads(out[0].value)["text"] == done.text and b"alice" not in out[0].value
    assert out[0].key == done.author.encode()  # keyed by the pseudonym: per-author order holds
    assert out[1].key == b"k"  # already pseudonymous: left as the producer keyed it
    assert orjson.loads(out[0].value)["id"] == "r1"  # ids are the replayer's business


def test_a_deletion_notice_goes_into_its_partitions_detect_record_in_offset_order_and_is_not_published():
    from feed.model import Deletion
    from pipeline.detect.dedupe import DedupedDetector
    from pipeline.detect.detector import Detector

    engine = Engine()
    notice = Deletion(id="p1", ts=post(1).ts + 30, author="someone")
    records = [
        Record("posts", 0, 5, b"a", post(1).to_json()),
        Record("posts", 0, 6, b"a", notice.to_json()),
        Record("posts", 0, 7, b"a", post(2).to_json()),
        Record("posts", 1, 3, b"b", Deletion(id="p9", ts=post(3).ts).to_json()),  # a partition of notices
    ]
    batch = classify_batch(records, engine, max_bytes=65536)
    assert not batch.invalid and batch.deletions == 2
    assert [orjson.loads(o.value)["id"] for o in batch.classified[0]] == ["p1", "p2"]
    assert 1 not in batch.classified
    assert batch.next_offsets == {0: 8, 1: 4}
    zero = detect_record_from_json(batch.detect[0])
    assert [offset for offset, _, _ in zero.rows] == [5, 7]
    assert [(offset, r.post_id, r.ts, r.author, r.source) for offset, r in zero.deletes] == [
        (6, "p1", notice.ts, "someone", 0)
    ]
    one = detect_record_from_json(batch.detect[1])
    assert one.rows == [] and [r.post_id for _, r in one.deletes] == ["p9"]
    # Folded, the notice reaches the detector between its neighbours, once even when read again.
    state = DedupedDetector(Detector())
    state.fold(batch.detect[0], 0)
    state.fold(batch.detect[0], 1)
    assert state.redelivered == 3
    assert state.detector.posts == 2
    assert [d[0] for w in state.detector._windows.values() for d in w.deleted] == ["p1"]
