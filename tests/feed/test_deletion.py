"""Deletion notices and the author's account fields in the feed contract (feed/model.py, feed/reader.py,
feed/pseudonyms.py). Pure, no Kafka."""

from __future__ import annotations

import orjson
import pytest

from feed import (
    Deletion,
    FeedError,
    FeedStats,
    Post,
    deletion_from_record,
    end_of_feed_ts,
    item_from_record,
    post_from_record,
    read_feed,
    read_items,
    write_feed,
)
from feed.pseudonyms import Pseudonymizer, is_pseudonym

TEHRAN_AFTERNOON = 1244901909.0  # 2009-06-13T14:05:09Z
ACCOUNT_MADE = 1245240000.0  # 2009-06-17T12:00:00Z
NOTICE = {"kind": "delete", "id": "2149735612", "ts": "2009-06-13T14:05:09Z", "author": "tehran_witness"}
POST = {
    "id": "2149735612",
    "ts": "2009-06-13T13:00:00Z",
    "text": "Vali Asr #iranelection",
    "author": "tehran_witness",
}


def write(tmp_path, *lines: str):
    path = tmp_path / "feed.jsonl"
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


# --- the deletion notice --------------------------------------------------------------------------


def test_a_deletion_notice_is_read_and_written_as_the_contract_says():
    notice = deletion_from_record(dict(NOTICE))
    assert notice == Deletion(id="2149735612", ts=TEHRAN_AFTERNOON, author="tehran_witness")
    assert notice.kind == "delete" and notice.ts_ms == 1244901909000
    assert notice.to_json() == (
        b'{"kind":"delete","id":"2149735612","ts":"2009-06-13T14:05:09Z","author":"tehran_witness"}'
    )
    assert item_from_record(orjson.loads(notice.to_json())) == notice


def test_a_notice_needs_no_text_and_no_author_and_keeps_extra_fields():
    notice = item_from_record({"kind": "delete", "id": 77, "ts": 1244901909, "platform": "twitter"})
    assert isinstance(notice, Deletion)
    assert (notice.id, notice.ts, notice.author) == ("77", TEHRAN_AFTERNOON, None)  # numeric id: a string
    assert notice.extra == {"platform": "twitter"}
    assert notice.to_record() == {
        "kind": "delete",
        "id": "77",
        "ts": "2009-06-13T14:05:09Z",
        "platform": "twitter",
    }
    assert item_from_record({**NOTICE, "author": ""}).author is None  # empty: absent, as for posts


@pytest.mark.parametrize(
    ("record", "code", "reason"),
    [
        (
            {"kind": "delete", "ts": "2009-06-13T14:05:09Z"},
            "missing_field",
            "deletion notice: missing required field(s): id",
        ),
        ({"kind": "delete", "id": "1"}, "missing_field", "deletion notice: missing required field(s): ts"),
        (
            {"kind": "delete", "id": "", "ts": ""},
            "missing_field",
            "deletion notice: missing required field(s): id, ts",
        ),
        (
            {"kind": "delete", "id": "1", "ts": "yesterday"},
            "bad_ts",
            "deletion notice: unparseable ts 'yesterday'",
        ),
        ({"kind": "delete", "id": "1", "ts": "2009-06-13T14:05:09"}, "bad_ts", "deletion notice: ts '2009"),
        (
            {"kind": "delete", "id": "1", "ts": 1244901909000},
            "bad_ts",
            "deletion notice: ts 1244901909000 is out",
        ),
        ({"kind": "delete", "id": ["1"], "ts": 1244901909}, "bad_field", "id must be a string, got list"),
        (
            {"kind": "delete", "id": "1", "ts": 1244901909, "author": 5},
            "bad_field",
            "author must be a string",
        ),
    ],
)
def test_bad_notices_are_refused_with_a_clear_reason(record, code, reason):
    with pytest.raises(FeedError) as caught:
        item_from_record(record)
    assert caught.value.code == code
    assert str(caught.value).startswith(reason)
    assert "\n" not in str(caught.value)


def test_only_kind_delete_makes_a_notice_other_kinds_stay_a_posts_extra_field():
    paragraph = item_from_record({"id": "seed-1", "ts": 1244901909, "text": "x", "kind": "paragraph"})
    assert isinstance(paragraph, Post) and paragraph.extra == {"kind": "paragraph"}
    with pytest.raises(FeedError, match=r"missing required field\(s\): id, text"):
        item_from_record({"kind": "end", "ts": "2009-06-13T14:05:09Z"})  # the end-of-feed marker is no item
    assert end_of_feed_ts(NOTICE) is None  # and a notice is no marker: it has an id


def test_the_post_model_refuses_a_notice_so_old_readers_never_take_it_for_a_post():
    with pytest.raises(FeedError) as caught:
        post_from_record({**NOTICE, "text": "even with a text"})
    assert caught.value.code == "deletion"
    with pytest.raises(FeedError) as caught:
        deletion_from_record(dict(POST))
    assert caught.value.code == "bad_field"


def test_read_items_gives_posts_and_notices_in_file_order_and_counts_the_notices(tmp_path):
    feed = write(tmp_path, orjson.dumps(POST).decode(), orjson.dumps(NOTICE).decode())
    stats = FeedStats()
    post, notice = read_items(feed, stats=stats)
    assert isinstance(post, Post) and isinstance(notice, Deletion) and notice.id == post.id
    assert (stats.posts, stats.deletions, stats.skipped) == (2, 1, 0)


def test_a_bad_notice_names_file_and_line_or_is_skipped_and_counted(tmp_path):
    feed = write(tmp_path, orjson.dumps(POST).decode(), '{"kind": "delete", "id": "9"}')
    with pytest.raises(FeedError) as caught:
        list(read_items(feed))
    assert str(caught.value) == f"{feed}:2: deletion notice: missing required field(s): ts"
    stats = FeedStats()
    assert [item.id for item in read_items(feed, skip_bad=True, stats=stats)] == ["2149735612"]
    assert (stats.posts, stats.deletions, stats.skipped) == (1, 0, 1)


def test_read_feed_alone_still_reads_posts_only(tmp_path):
    feed = write(tmp_path, orjson.dumps(POST).decode(), orjson.dumps(NOTICE).decode())
    with pytest.raises(FeedError, match=r"feed\.jsonl:2: a deletion notice"):
        list(read_feed(feed))


def test_notices_round_trip_through_write_feed(tmp_path):
    items = [post_from_record(dict(POST)), deletion_from_record(dict(NOTICE))]
    out = tmp_path / "out.jsonl"
    assert write_feed(items, out) == 2
    assert list(read_items(out)) == items


# --- the author's account fields ------------------------------------------------------------------


def test_account_fields_are_read_typed_and_written_after_the_other_optional_fields():
    record = {**POST, "author_followers": 812, "author_created": "2009-06-17T16:30:00+04:30", "rt": 3}
    post = post_from_record(record)
    assert (post.author_created, post.author_followers, post.extra) == (ACCOUNT_MADE, 812, {"rt": 3})
    assert post.to_json() == (
        b'{"id":"2149735612","ts":"2009-06-13T13:00:00Z","text":"Vali Asr #iranelection",'
        b'"author":"tehran_witness","author_created":"2009-06-17T12:00:00Z","author_followers":812,"rt":3}'
    )
    assert post_from_record(orjson.loads(post.to_json())) == post


def test_a_post_without_account_fields_is_written_byte_for_byte_as_before():
    line = b'{"id":"a","ts":"2009-06-13T14:05:09Z","text":"x","author":"u","region":"IR","kind":"tweet"}'
    post = post_from_record(orjson.loads(line))
    assert (post.author_created, post.author_followers) == (None, None)
    assert post.to_json() == line
    # Positional construction keeps its meaning: the new fields come after extra.
    assert Post("a", TEHRAN_AFTERNOON, "x", "u", None, None, "IR", {"kind": "tweet"}).to_json() == line


def test_account_fields_accept_epoch_seconds_zero_followers_and_empty_as_absent():
    post = post_from_record({**POST, "author_created": ACCOUNT_MADE, "author_followers": 0})
    assert (post.author_created, post.author_followers) == (ACCOUNT_MADE, 0)
    empty = post_from_record({**POST, "author_created": "", "author_followers": None})
    assert (empty.author_created, empty.author_followers) == (None, None)
    assert "author_created" not in empty.to_record() and "author_followers" not in empty.to_record()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"author_followers": "812"}, "author_followers must be an integer of 0 or more, got '812'"),
        ({"author_followers": -1}, "author_followers must be an integer of 0 or more, got -1"),
        ({"author_followers": 8.5}, "author_followers must be an integer of 0 or more, got 8.5"),
        ({"author_followers": True}, "author_followers must be an integer of 0 or more, got True"),
        ({"author_created": "last June"}, "unparseable author_created 'last June'"),
        ({"author_created": "2009-06-17T12:00:00"}, "author_created '2009-06-17T12:00:00' has no UTC offset"),
        ({"author_created": 1245240000000}, "author_created 1245240000000 is out of range"),
    ],
)
def test_bad_account_fields_are_refused_naming_the_field(tmp_path, fields, reason):
    with pytest.raises(FeedError) as caught:
        post_from_record({**POST, **fields})
    assert caught.value.code == "bad_field"
    assert str(caught.value).startswith(reason)
    feed = write(tmp_path, orjson.dumps({**POST, **fields}).decode())
    with pytest.raises(FeedError, match=rf"^{feed}:1: "):
        list(read_items(feed))


# --- pseudonyms -----------------------------------------------------------------------------------


def test_a_notices_pseudonymous_id_and_author_equal_its_posts_under_one_key():
    pseudonymizer = Pseudonymizer(b"one key")
    post = pseudonymizer.record({**POST, "id": 2149735612, "author": "@Tehran_Witness"})
    notice = pseudonymizer.record(dict(NOTICE))
    assert is_pseudonym(notice["id"]) and is_pseudonym(notice["author"])
    assert notice["id"] == post["id"] == pseudonymizer.pseudonym("2149735612")
    assert notice["author"] == post["author"] == pseudonymizer.author("tehran_witness")
    assert notice["kind"] == "delete" and "text" not in notice
    assert item_from_record(notice) == Deletion(notice["id"], TEHRAN_AFTERNOON, notice["author"])
    assert pseudonymizer.record(dict(notice)) == notice  # idempotent
    other = Pseudonymizer(b"another key").record(dict(NOTICE))
    assert other["id"] != notice["id"]  # the key, not the value alone, decides the pseudonym


def test_a_notice_keeps_its_id_or_author_as_the_operator_asks_and_loses_identifying_fields():
    raw = {**NOTICE, "author_id": "44571029", "screen_name": "tehran_witness"}
    kept_ids = Pseudonymizer(b"key", keep_ids=True).record(dict(raw))
    assert kept_ids["id"] == "2149735612" and is_pseudonym(kept_ids["author"])
    assert "author_id" not in kept_ids and "screen_name" not in kept_ids
    kept_authors = Pseudonymizer(b"key", keep_authors=True).record(dict(raw))
    assert kept_authors["author"] == "tehran_witness" and is_pseudonym(kept_authors["id"])


def test_the_classify_stage_form_pseudonymizes_a_notices_author_like_its_posts():
    pseudonymizer = Pseudonymizer(b"key")
    post = pseudonymizer.authors(post_from_record({**POST, "author_followers": 5}))
    notice = pseudonymizer.authors(deletion_from_record(dict(NOTICE)))
    assert isinstance(notice, Deletion) and notice.author == post.author == pseudonymizer.author(
        "tehran_witness"
    )
    assert notice.id == "2149735612"  # ids as they are, as for posts
    assert post.author_followers == 5  # the account fields survive the rewrite
    assert pseudonymizer.authors(notice) is notice
    anonymous = deletion_from_record({**NOTICE, "author": None})
    assert pseudonymizer.authors(anonymous) is anonymous
