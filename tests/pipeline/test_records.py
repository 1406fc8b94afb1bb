"""The records that cross topics (pipeline/records.py): a post's value decoded or refused with a bounded
reason, and the detect record's format. Pure, no Kafka."""

import orjson
import pytest

from feed import FeedError
from pipeline.classify.signature import text_signature
from pipeline.detect import Observation
from pipeline.detect.model import band_keys
from pipeline.engine import Engine
from pipeline.records import (
    decode_post,
    detect_record_from_json,
    observations_from_json,
    observations_to_json,
)

LIMIT = 64 * 1024


def test_decodes_a_valid_record():
    raw = orjson.dumps({"id": "a", "ts": "2009-06-13T14:05:09Z", "text": "hi", "platform": "twitter"})
    post = decode_post(raw, max_bytes=LIMIT)
    assert (post.id, post.platform, post.ts) == ("a", "twitter", 1244901909.0)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "empty"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b'"just a string"', "not_object"),
        (b'{"id": "a", "text": "x"}', "missing_field"),
        (b'{"id": "a", "ts": "noon", "text": "x"}', "bad_ts"),
        (orjson.dumps({"id": "a", "ts": 1, "text": "x" * LIMIT}), "oversized"),
    ],
)
def test_bad_records_are_refused_with_a_bounded_reason(raw, code):
    with pytest.raises(FeedError) as caught:
        decode_post(raw, max_bytes=LIMIT)
    assert caught.value.code == code


T = 1245000000.0


def seen_at(ts: float, source: int) -> Observation:
    return Observation(ts, "IR", ("democracy",), ("protest",), source=source)


def test_a_detect_record_without_markers_is_the_old_format_and_one_with_them_decodes_both():
    rows = [(3, "a", seen_at(T, 2)), (5, "b", seen_at(T + 1.5, 2))]
    plain = observations_to_json(2, rows)
    assert set(orjson.loads(plain)) == {"source", "rows"}  # what older workers write and read
    assert detect_record_from_json(plain)[:3] == (2, rows, [])
    marked = observations_to_json(2, rows, [(4, T + 9.0), (6, T + 9.0)])
    assert orjson.loads(marked)["ends"] == [[4, T + 9.0], [6, T + 9.0]]
    assert detect_record_from_json(marked)[:3] == (2, rows, [(4, T + 9.0), (6, T + 9.0)])
    assert observations_from_json(marked) == rows  # the rows as before


def test_dead_letter_headers_say_why_and_where_and_name_the_exception_of_an_engine_error():
    from pipeline.engine import EngineError
    from pipeline.records import dead_letter_headers
    from pipeline.stream.batch import Record

    record = Record("posts", 2, 17, b"k", b"{}")
    plain = dict(dead_letter_headers(record, FeedError("missing field 'ts'", code="missing_field")))
    assert plain == {
        "error.reason": b"missing_field",
        "error.message": b"missing field 'ts'",
        "source.topic": b"posts",
        "source.partition": b"2",
        "source.offset": b"17",
    }
    engine = dict(dead_letter_headers(record, EngineError(ValueError("bad \ud800 text"))))
    assert engine["error.reason"] == b"engine_error" and engine["error.type"] == b"ValueError"
    assert engine["error.message"].startswith(
        b"the engine raised ValueError: bad "
    )  # a lone surrogate, replaced


def test_a_signed_post_carries_its_band_keys_as_one_string_and_ints_from_an_earlier_version_are_read():
    post = decode_post(
        orjson.dumps(
            {
                "id": "p1",
                "ts": T,
                "text": "Mousavi supporters are attacking police in Vanak square, do not trust them",
                "author": "a1",
            }
        ),
        max_bytes=LIMIT,
    )
    observation = Engine().classify(post).observation(source=3)
    keys = text_signature(post.text)
    assert observation.sig == "".join(f"{key:09x}" for key in keys) and band_keys(observation.sig)
    raw = observations_to_json(3, [(7, "p1", observation)])
    assert orjson.loads(raw)["rows"][0][9] == observation.sig
    assert observations_from_json(raw) == [(7, "p1", observation)]
    earlier = orjson.loads(raw)
    earlier["rows"][0][9] = list(keys)  # how the band keys travelled before
    assert observations_from_json(orjson.dumps(earlier)) == [(7, "p1", observation)]
    earlier["rows"][0][9] = ["not", "keys"]
    with pytest.raises(ValueError, match="not a signature"):
        observations_from_json(orjson.dumps(earlier))
