"""Deletion notices through the replayer: read, pseudonymized like their posts, keyed by their author, sent
in event-time order with the posts on the posts topic (replay.wire, replay.source, replay.cli)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import orjson
import pytest

from feed import Deletion, FeedError, FeedStats, Post, item_from_record
from feed.pseudonyms import Pseudonymizer, is_pseudonym
from replay.cli import main
from replay.runner import Replay
from replay.source import open_source, open_wire_source, survey_posts
from replay.wire import WirePost, _canonical, relabel, wire_post_from_record
from tests.replay.test_runner import stand_in_producer

T0 = 1244851200.0  # 2009-06-13T00:00:00Z
KEY = "a test key"
POST_LINE = b'{"id":"p1","ts":"2009-06-13T00:00:00Z","text":"hi @bob","author":"alice"}'
NOTICE_LINE = b'{"kind":"delete","id":"p1","ts":"2009-06-13T00:05:00Z","author":"alice"}'
LATER_LINE = b'{"id":"p2","ts":"2009-06-13T00:10:00Z","text":"later","author":"carol"}'


def flags(fmt: str = "jsonl") -> argparse.Namespace:
    return argparse.Namespace(format=fmt, field_map=None, skip_bad=False)


def feed_of(tmp_path: Path, *lines: bytes) -> Path:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return path


def sent(line: bytes) -> WirePost:
    return wire_post_from_record(orjson.loads(line), line)


# --- replay.wire ----------------------------------------------------------------------------------


def test_a_notice_is_sent_keyed_by_its_author_with_the_deleted_posts_id():
    notice = sent(NOTICE_LINE)
    assert (notice.id, notice.ts, notice.key) == ("p1", T0 + 300, b"alice")
    assert orjson.loads(notice.value) == orjson.loads(NOTICE_LINE)
    assert notice.to_post() == Deletion(id="p1", ts=T0 + 300, author="alice")
    assert sent(POST_LINE).key == notice.key  # on the same partition as the author's posts
    anonymous = sent(b'{"kind":"delete","id":"p1","ts":1244851500}')
    assert anonymous.key is None and orjson.loads(anonymous.value)["ts"] == "2009-06-13T00:05:00Z"


def test_a_notice_never_takes_the_posts_fast_path_even_with_a_text():
    line = b'{"kind":"delete","id":"p1","ts":"2009-06-13T00:05:00Z","text":"gone","author":"alice"}'
    assert _canonical(orjson.loads(line), line) is None
    assert isinstance(sent(line).to_post(), Deletion)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        (b'{"kind":"delete","ts":"2009-06-13T00:05:00Z"}', "missing_field"),
        (b'{"kind":"delete","id":"p1"}', "missing_field"),
        (b'{"kind":"delete","id":"p1","ts":"2009-06-13T00:05:00"}', "bad_ts"),
    ],
)
def test_bad_notices_are_refused_as_the_contract_refuses_them(line, code):
    with pytest.raises(FeedError) as caught:
        sent(line)
    assert caught.value.code == code


def test_a_loop_pass_relabels_a_notice_like_its_post_so_they_still_match():
    post, notice = relabel(sent(POST_LINE), 2, 3600.0), relabel(sent(NOTICE_LINE), 2, 3600.0)
    assert post.id == notice.id == "p1#3"
    assert (notice.ts, notice.key) == (T0 + 300 + 7200.0, b"alice")
    assert item_from_record(orjson.loads(notice.value)) == Deletion("p1#3", T0 + 7500.0, "alice")


def test_account_fields_in_format_ts_form_take_the_fast_path():
    line = (
        b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"x","author_created":"2009-06-01T08:00:00Z",'
        b'"author_followers":3}'
    )
    fast = _canonical(orjson.loads(line), line)
    assert fast is not None and fast.value == line
    assert fast.to_post().author_followers == 3


@pytest.mark.parametrize(
    "fields",
    [
        b'"author_created":"2009-06-01T12:30:00+04:30"',
        b'"author_created":1243843200',
        b'"author_created":""',
        b'"author_followers":null',
    ],
)
def test_other_account_field_forms_are_rewritten_to_the_posts_json(fields):
    line = b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"x",' + fields + b"}"
    assert _canonical(orjson.loads(line), line) is None
    post = sent(line)
    assert orjson.loads(post.value) == post.to_post().to_record()


@pytest.mark.parametrize("fields", [b'"author_followers":"3"', b'"author_followers":-1'])
def test_bad_account_fields_are_refused_on_the_wire_too(fields):
    with pytest.raises(FeedError) as caught:
        sent(b'{"id":"a","ts":"2009-06-13T00:00:00Z","text":"x",' + fields + b"}")
    assert caught.value.code == "bad_field"


# --- replay.source --------------------------------------------------------------------------------


def test_jsonl_notices_are_read_surveyed_and_counted(tmp_path):
    feed = feed_of(tmp_path, POST_LINE, NOTICE_LINE, LATER_LINE)
    stats = FeedStats()
    survey = survey_posts(
        open_wire_source(flags(), feed)(stats), stats, lambda _ts: True, memory_bytes=1 << 20
    )
    assert (survey.posts, stats.deletions) == (3, 1)
    assert survey.kept is not None and [post.value for post in survey.kept] == [
        POST_LINE,
        sent(NOTICE_LINE).value,
        LATER_LINE,
    ]
    assert [type(item) for item in open_source(flags(), feed)(None)] == [Post, Deletion, Post]


def test_a_pseudonymized_notice_names_its_posts_pseudonyms_and_goes_to_its_authors_partition(tmp_path):
    pseudonymizer = Pseudonymizer(KEY.encode())
    feed = feed_of(tmp_path, POST_LINE, NOTICE_LINE)
    post, notice = open_wire_source(flags(), feed, pseudonymizer)(None)
    assert is_pseudonym(post.id) and notice.id == post.id == pseudonymizer.pseudonym("p1")
    assert notice.key == post.key == pseudonymizer.author("alice").encode()
    record = orjson.loads(notice.value)
    assert record == {
        "kind": "delete",
        "id": post.id,
        "ts": "2009-06-13T00:05:00Z",
        "author": post.key.decode(),
    }
    assert b"alice" not in notice.value and b"p1" not in notice.value


@pytest.mark.parametrize(
    ("options", "raw_id", "raw_author"),
    [({"keep_ids": True}, True, False), ({"keep_authors": True}, False, True)],
)
def test_keep_ids_and_keep_authors_apply_to_notices_as_to_posts(tmp_path, options, raw_id, raw_author):
    pseudonymizer = Pseudonymizer(KEY.encode(), **options)
    post, notice = open_wire_source(flags(), feed_of(tmp_path, POST_LINE, NOTICE_LINE), pseudonymizer)(None)
    assert notice.id == post.id and (notice.id == "p1") is raw_id
    assert notice.key == post.key and (notice.key == b"alice") is raw_author


def test_a_converted_twitter_feed_sends_its_notices_sorted_and_pseudonymized(tmp_path):
    statuses = tmp_path / "statuses.jsonl"
    statuses.write_text(
        json.dumps(
            {"delete": {"status": {"id_str": "9", "user_id_str": "44"}, "timestamp_ms": "1244851800000"}}
        )
        + "\n"
        + json.dumps(
            {
                "id_str": "9",
                "created_at": "Sat Jun 13 00:00:00 +0000 2009",
                "text": "x",
                "user": {"screen_name": "a"},
            }
        )
        + "\n"
    )
    pseudonymizer = Pseudonymizer(KEY.encode())
    post, notice = open_wire_source(flags("twitter-v1"), statuses, pseudonymizer)(None)
    assert (post.ts, notice.ts) == (T0, T0 + 600)  # event-time order, whatever the file's order
    assert notice.id == post.id == pseudonymizer.pseudonym("9")
    assert notice.key == pseudonymizer.author("44").encode()  # the platform user id, pseudonymized
    assert orjson.loads(notice.value)["kind"] == "delete"


# --- replay send, end to end against a stand-in broker --------------------------------------------


@pytest.mark.parametrize("loops", [1, 2])
def test_send_delivers_notices_on_the_posts_topic_in_order_keyed_like_posts(monkeypatch, tmp_path, loops):
    import replay.cli

    monkeypatch.setenv("AUTHOR_KEY", KEY)
    feed = feed_of(tmp_path, POST_LINE, NOTICE_LINE, LATER_LINE)
    handed: list = []
    monkeypatch.setattr(replay.cli, "_send", lambda *args: handed.append(args) or 0)
    argv = ["send", str(feed), "--speed", "max", "--state", str(tmp_path), "--loop", str(loops)]
    assert main(argv) == 0
    [(_args, options, survey, slots, *_rest)] = handed
    assert survey.posts == 3 and options.loops == loops
    producer, client = stand_in_producer()
    report = Replay(slots, producer, planned=3 * loops, paced=False).run()
    assert report.ok and report.sent == 3 * loops
    values = [orjson.loads(value) for *_, value in client.records]
    assert [value.get("kind") for value in values] == [None, "delete", None] * loops
    assert [ts_ms for _key, _partition, ts_ms, _value in client.records] == sorted(
        ts_ms for _key, _partition, ts_ms, _value in client.records
    )
    pseudonymizer = Pseudonymizer(KEY.encode())
    for n in range(loops):
        post, notice = values[3 * n], values[3 * n + 1]
        assert notice["id"] == post["id"] == pseudonymizer.pseudonym("p1") + ("" if n == 0 else f"#{n + 1}")
        (post_key, post_partition, *_), (notice_key, notice_partition, *_) = client.records[3 * n : 3 * n + 2]
        assert notice_key == post_key == pseudonymizer.author("alice").encode()
        assert notice_partition == post_partition


def test_convert_writes_notices_and_says_how_many(tmp_path, capsys):
    statuses = tmp_path / "statuses.jsonl"
    statuses.write_text(
        json.dumps(
            {"delete": {"status": {"id_str": "9", "user_id_str": "44"}, "timestamp_ms": "1244851800000"}}
        )
        + "\n"
        + json.dumps({"delete": {"status": {"id_str": "8", "user_id_str": "44"}}})  # 2009: no time
        + "\n"
    )
    out = tmp_path / "feed.jsonl"
    assert main(["convert", str(statuses), "--format", "twitter-v1", "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote 1 posts to {out}" in err
    assert "1 of them deletion notices; 1 deletion notices without a time left out" in err
    assert json.loads(out.read_text()) == {
        "kind": "delete",
        "id": "9",
        "ts": "2009-06-13T00:10:00Z",
        "author": "44",
        "platform": "twitter",
        "source_format": "twitter-v1",
    }
