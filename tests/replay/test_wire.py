"""replay.wire: what is sent for each feed line equals the post's own JSON, by either path."""

from __future__ import annotations

import orjson
import pytest

from feed import FeedError, Post, post_from_record, read_feed
from replay.seed import SEED_FEED_PATH
from replay.wire import WirePost, _canonical, relabel, wire_post_from_record

T0 = 1244851200.0  # 2009-06-13T00:00:00Z


def sent(line: bytes) -> WirePost:
    return wire_post_from_record(orjson.loads(line), line)


def expected(line: bytes) -> WirePost:
    return WirePost.from_post(post_from_record(orjson.loads(line)))


def test_every_seed_line_is_sent_as_its_post_and_takes_the_fast_path():
    lines = [line for line in SEED_FEED_PATH.read_bytes().splitlines() if line.strip()]
    for line in lines:
        fast, slow = sent(line), expected(line)
        assert (fast.id, fast.ts, fast.key) == (slow.id, slow.ts, slow.key)
        assert orjson.loads(fast.value) == orjson.loads(slow.value)
    assert all(_canonical(orjson.loads(line), line) is not None for line in lines)


@pytest.mark.parametrize(
    "line",
    [
        b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"x","author":"u1","region":"IR"}',
        b'{"id":"a","ts":"2009-06-13T00:00:00.120Z","text":"x","extra":{"n":[1,2]}}',
        b'  {"text":"x", "ts":"2009-06-13T00:00:00.005Z", "id":"a"}  \r\n',  # order and spaces
        b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"caf\\u00e9"}',  # an escape
    ],
)
def test_canonical_lines_are_sent_as_they_are(line):
    post = sent(line)
    assert post.value == line.strip()
    assert orjson.loads(post.value) == orjson.loads(expected(line).value)
    assert post.ts == expected(line).ts


@pytest.mark.parametrize(
    "line",
    [
        b'{"id":"a","ts":"2009-06-13T04:30:00+04:30","text":"x"}',  # an offset: rewritten to Z
        b'{"id":"a","ts":"2009-06-13T00:00:00.000Z","text":"x"}',  # zero milliseconds are dropped
        b'{"id":"a","ts":1244851200,"text":"x"}',  # epoch seconds
        b'{"id":"a","ts":"2009-06-13 00:00:00Z","text":"x"}',  # a space for the T
        b'{"id":7,"ts":"2009-06-13T00:00:00Z","text":"x"}',  # a numeric id becomes a string
        b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"x","author":""}',  # empty optional: dropped
        b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"x","region":null}',  # null optional: dropped
        b'{"id":"a","ts":"2009-06-13t00:00:00z","text":"x"}',  # lower case
    ],
)
def test_other_lines_are_rewritten_to_the_posts_json(line):
    assert _canonical(orjson.loads(line), line) is None
    post = sent(line)
    assert post == expected(line)
    assert orjson.loads(post.value) == post.to_post().to_record()


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b"[1, 2]", "not_object"),
        (b'{"id":"a","text":"x"}', "missing_field"),
        (b'{"id":"a","ts":"2009-13-45T00:00:00Z","text":"x"}', "bad_ts"),
        (b'{"id":"a","ts":"2009-06-13T00:00:00","text":"x"}', "bad_ts"),
        (b'{"id":"a","ts":"3009-06-13T00:00:00Z","text":"x"}', "bad_ts"),
        (b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"x","lang":5}', "bad_field"),
    ],
)
def test_bad_lines_are_refused_as_the_post_model_refuses_them(line, code):
    with pytest.raises(FeedError) as caught:
        sent(line)
    assert caught.value.code == code


def test_read_feed_names_the_line_of_a_bad_record(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.write_bytes(b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"x"}\n{"id":"b","text":"y"}\n')
    with pytest.raises(FeedError, match=r"feed\.jsonl:2: missing required field"):
        list(read_feed(feed, build=wire_post_from_record))


def test_relabel_moves_time_and_suffixes_the_id_on_later_passes():
    post = WirePost.from_post(Post(id="p", ts=T0, text="x", author="u", extra={"k": 1}))
    assert relabel(post, 0, 60.0) is post
    later = relabel(post, 2, 60.0)
    assert (later.id, later.ts, later.key) == ("p#3", T0 + 120.0, b"u")
    record = orjson.loads(later.value)
    assert record["id"] == "p#3" and record["ts"] == "2009-06-13T00:02:00Z" and record["k"] == 1
    assert later.ts_ms == round((T0 + 120.0) * 1000)
