"""replay.formats: deletion notices from Twitter v1.1 streams and v2 compliance events, and the author's
account fields (``author_created``, ``author_followers``) from every format that has them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from feed import Deletion, FeedError, FeedStats, Post, read_items, write_feed
from replay.formats import parse_field_map, read_posts

SAMPLES = Path(__file__).parent / "samples"
V1 = SAMPLES / "statuses_v1.jsonl"
V2 = SAMPLES / "search_v2.json"
JUNE_13_1405 = 1244901909.0  # Sat Jun 13 14:05:09 +0000 2009
JUNE_13_1410 = 1244902209.0
ACCOUNT_MADE = 1245240000.0  # Wed Jun 17 12:00:00 +0000 2009


def write(tmp_path: Path, name: str, *lines: str) -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def status(post_id: str, created_at: str = "Sat Jun 13 14:05:09 +0000 2009", **fields) -> dict:
    return {"id_str": post_id, "created_at": created_at, "text": f"post {post_id}", **fields}


def v1_delete(post_id: str = "2149735612", user_id: str = "44571029", **where) -> dict:
    """A v1.1 notice; ``inside`` / ``beside`` put timestamp_ms in ``delete`` or next to it."""
    notice: dict = {"delete": {"status": {"id": int(post_id), "id_str": post_id, "user_id": int(user_id)}}}
    notice["delete"]["status"]["user_id_str"] = user_id
    if "inside" in where:
        notice["delete"]["timestamp_ms"] = where["inside"]
    if "beside" in where:
        notice["timestamp_ms"] = where["beside"]
    return notice


def v2_delete(post_id: str = "2260150033", author_id: str = "51234098", event_at: str | None = None) -> dict:
    notice: dict = {"tweet": {"id": post_id, "author_id": author_id}}
    if event_at is not None:
        notice["event_at"] = event_at
    return {"data": {"delete": notice}}


# --- twitter-v1 notices ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "where",
    [{"inside": "1244902209000"}, {"beside": "1244902209000"}, {"inside": 1244902209000}],
    ids=["inside-delete", "beside-delete", "a-number"],
)
def test_v1_delete_notice_becomes_a_deletion_notice(tmp_path, where):
    feed = write(tmp_path, "s.jsonl", json.dumps(status("2149735612")), json.dumps(v1_delete(**where)))
    stats = FeedStats()
    post, notice = read_posts(feed, "twitter-v1", stats=stats)
    assert isinstance(post, Post) and isinstance(notice, Deletion)
    assert notice == Deletion(
        id="2149735612",
        ts=JUNE_13_1410,
        author="44571029",  # the platform user id: all a notice says of its author
        extra={"platform": "twitter", "source_format": "twitter-v1"},
    )
    assert notice.id == post.id
    assert (stats.posts, stats.deletions, stats.skipped, stats.undated_deletions) == (2, 1, 0, 0)


def test_v1_notices_are_sorted_with_the_posts_by_event_time(tmp_path):
    lines = [
        json.dumps(v1_delete("1", inside="1244902209000")),  # deleted 14:10:09
        json.dumps(status("1")),  # posted 14:05:09
        json.dumps(status("2", created_at="Sat Jun 13 14:20:00 +0000 2009")),
    ]
    items = read_posts(write(tmp_path, "s.jsonl", *lines), "twitter-v1")
    assert [(type(item).__name__, item.id) for item in items] == [
        ("Post", "1"),
        ("Deletion", "1"),
        ("Post", "2"),
    ]


def test_v1_notice_falls_back_to_numeric_ids_and_may_have_no_user(tmp_path):
    notice = {"delete": {"status": {"id": 2149735612}, "timestamp_ms": "1244902209000"}}
    [deletion] = read_posts(write(tmp_path, "s.jsonl", json.dumps(notice)), "twitter-v1")
    assert (deletion.id, deletion.author) == ("2149735612", None)
    notice["delete"]["status"]["user_id"] = 44571029
    [deletion] = read_posts(write(tmp_path, "s.jsonl", json.dumps(notice)), "twitter-v1")
    assert deletion.author == "44571029"


def test_v1_notice_in_a_json_array_names_its_index(tmp_path):
    good, bad = v1_delete(inside="1244902209000"), v1_delete(inside="soon")
    feed = tmp_path / "s.json"
    feed.write_text(json.dumps([status("1"), good, bad]))
    with pytest.raises(FeedError, match=r"s\.json\[2\]: deletion notice: unparseable timestamp_ms 'soon'"):
        read_posts(feed, "twitter-v1")


@pytest.mark.parametrize(
    ("notice", "code", "reason"),
    [
        (
            {"delete": {"status": {"user_id_str": "1"}, "timestamp_ms": "1244902209000"}},
            "missing_field",
            "missing required field(s): delete.status.id_str",
        ),
        ({"delete": "gone"}, "missing_field", "missing required field(s): delete.status.id_str"),
        (
            v1_delete(inside="1244902209"),
            "bad_ts",
            "deletion notice: timestamp_ms 1244902209 is out of range (milliseconds since the epoch, "
            "after 2006)",
        ),
        (
            v1_delete(inside="12:00"),
            "bad_ts",
            "deletion notice: unparseable timestamp_ms '12:00': expected milliseconds since the epoch",
        ),
        (
            v1_delete(beside=True),
            "bad_ts",
            "deletion notice: unparseable timestamp_ms True: expected milliseconds since the epoch",
        ),
    ],
)
def test_bad_v1_notices_name_file_and_line_or_are_skipped(tmp_path, notice, code, reason):
    feed = write(tmp_path, "s.jsonl", json.dumps(status("1")), json.dumps(notice))
    with pytest.raises(FeedError) as caught:
        read_posts(feed, "twitter-v1")
    assert (caught.value.place, caught.value.code) == (f"{feed}:2", code)
    assert str(caught.value) == f"{feed}:2: {reason}"
    stats = FeedStats()
    assert [item.id for item in read_posts(feed, "twitter-v1", skip_bad=True, stats=stats)] == ["1"]
    assert (stats.skipped, stats.deletions) == (1, 0)


def test_v1_notice_without_any_time_is_left_out_and_counted_not_bad(tmp_path):
    # Streams before 2013 (June 2009 among them) sent notices with no timestamp_ms: no event time.
    feed = write(tmp_path, "s.jsonl", json.dumps(status("1")), json.dumps(v1_delete()))
    stats = FeedStats()
    assert [item.id for item in read_posts(feed, "twitter-v1", stats=stats)] == ["1"]
    assert (stats.posts, stats.deletions, stats.undated_deletions, stats.skipped) == (1, 0, 1, 0)
    sample = FeedStats()
    read_posts(V1, "twitter-v1", stats=sample)
    assert sample.undated_deletions == 1  # the sample's 2009 notice


def test_other_v1_stream_notices_are_still_neither_posts_nor_bad(tmp_path):
    lines = [
        json.dumps({"limit": {"track": 12}}),
        json.dumps({"scrub_geo": {"user_id": 1}}),
        json.dumps(status("1")),
    ]
    stats = FeedStats()
    assert [
        item.id for item in read_posts(write(tmp_path, "s.jsonl", *lines), "twitter-v1", stats=stats)
    ] == ["1"]
    assert (stats.posts, stats.skipped, stats.undated_deletions) == (1, 0, 0)


# --- twitter-v2 compliance events -----------------------------------------------------------------


def test_v2_compliance_delete_events_become_deletion_notices(tmp_path):
    events = [
        v2_delete("2260150033", "51234098", "2009-06-20T17:00:00.000Z"),
        {"data": {"user_suspend": {"user": {"id": "1"}, "event_at": "2009-06-20T17:01:00Z"}}},  # not a notice
        v2_delete("2260311478", "19283746", "2009-06-20T16:59:00Z"),
    ]
    stats = FeedStats()
    first, second = read_posts(
        write(tmp_path, "compliance.jsonl", *map(json.dumps, events)), "twitter-v2", stats=stats
    )
    assert (first.id, first.author, first.ts) == ("2260311478", "19283746", 1245517140.0)
    assert second == Deletion(
        id="2260150033",
        ts=1245517200.0,
        author="51234098",
        extra={"platform": "twitter", "source_format": "twitter-v2"},
    )
    assert (stats.posts, stats.deletions, stats.skipped) == (2, 2, 0)


def test_v2_compliance_events_mix_with_tweet_pages_and_one_event_is_a_file(tmp_path):
    page = json.loads(V2.read_text(encoding="utf-8"))
    event = v2_delete(event_at="2009-06-21T00:00:00Z")
    items = read_posts(write(tmp_path, "mixed.jsonl", json.dumps(page), json.dumps(event)), "twitter-v2")
    assert [type(item).__name__ for item in items] == ["Post", "Post", "Post", "Deletion"]
    assert items[-1].id == "2260150033" and items[-1].id in {item.id for item in items[:3]}
    [single] = read_posts(write(tmp_path, "one.json", json.dumps(event, indent=2)), "twitter-v2")
    assert isinstance(single, Deletion)


@pytest.mark.parametrize(
    ("event", "code", "reason"),
    [
        (v2_delete(), "missing_field", "missing required field(s): delete.event_at"),
        (
            {"data": {"delete": {"event_at": "2009-06-21T00:00:00Z"}}},
            "missing_field",
            "missing required field(s): delete.tweet.id",
        ),
        (v2_delete(event_at="tomorrow"), "bad_ts", "deletion notice: unparseable ts 'tomorrow'"),
    ],
)
def test_bad_v2_compliance_events_name_file_and_line(tmp_path, event, code, reason):
    feed = write(
        tmp_path, "c.jsonl", json.dumps(v2_delete(event_at="2009-06-21T00:00:00Z")), json.dumps(event)
    )
    with pytest.raises(FeedError) as caught:
        read_posts(feed, "twitter-v2")
    assert caught.value.code == code
    assert str(caught.value).startswith(f"{feed}:2: {reason}")
    stats = FeedStats()
    assert len(read_posts(feed, "twitter-v2", skip_bad=True, stats=stats)) == 1
    assert stats.skipped == 1


# --- author_created and author_followers ----------------------------------------------------------


def test_v1_fills_the_account_fields_from_the_user_object(tmp_path):
    user = {
        "screen_name": "tehran_witness",
        "created_at": "Wed Jun 17 12:00:00 +0000 2009",
        "followers_count": 812,
    }
    [post] = read_posts(write(tmp_path, "s.jsonl", json.dumps(status("1", user=user))), "twitter-v1")
    assert (post.author_created, post.author_followers) == (ACCOUNT_MADE, 812)
    assert post.to_record()["author_created"] == "2009-06-17T12:00:00Z"
    assert "created_at" not in post.extra and "followers_count" not in post.extra
    sample = {post.author: post.author_followers for post in read_posts(V1, "twitter-v1")}
    assert sample["tehran_witness"] == 812 and sample["azadi_now"] is None  # absent: absent


def test_v2_fills_the_account_fields_from_includes_users(tmp_path):
    page = json.loads(V2.read_text(encoding="utf-8"))
    for user in page["includes"]["users"]:
        user["created_at"] = "2009-06-17T12:00:00.000Z"
        user["public_metrics"] = {"followers_count": 40, "following_count": 3}
    posts = read_posts(write(tmp_path, "v2.json", json.dumps(page)), "twitter-v2")
    known = [post for post in posts if post.author is not None]
    assert known and {(post.author_created, post.author_followers) for post in known} == {(ACCOUNT_MADE, 40)}
    unknown = [post for post in posts if post.author is None]  # author_id missing from includes.users
    assert {(post.author_created, post.author_followers) for post in unknown} == {(None, None)}


@pytest.mark.parametrize(
    ("user", "reason"),
    [
        (
            {"created_at": "the summer of 2009"},
            "unparseable author_created 'the summer of 2009': expected RFC 3339 or epoch seconds",
        ),
        ({"followers_count": "many"}, "author_followers must be an integer of 0 or more, got 'many'"),
        ({"followers_count": -3}, "author_followers must be an integer of 0 or more, got -3"),
    ],
)
def test_invalid_account_fields_fail_the_record_like_other_bad_values(tmp_path, user, reason):
    feed = write(tmp_path, "s.jsonl", json.dumps(status("1")), json.dumps(status("2", user=user)))
    with pytest.raises(FeedError) as caught:
        read_posts(feed, "twitter-v1")
    assert str(caught.value) == f"{feed}:2: {reason}" and caught.value.code == "bad_field"
    stats = FeedStats()
    assert [post.id for post in read_posts(feed, "twitter-v1", skip_bad=True, stats=stats)] == ["1"]
    assert stats.skipped == 1


def test_csv_map_can_name_the_account_columns(tmp_path):
    rows = [
        "tid,when,body,joined,fans",
        "1,2009-06-13T14:05:09Z,hello,Wed Jun 17 12:00:00 +0000 2009,1200",
        "2,2009-06-13T14:05:10Z,again,2009-06-17T16:30:00+04:30, 7 ",
        "3,2009-06-13T14:05:11Z,quiet,,",
        "4,2009-06-13T14:05:12Z,bad,2009-06-17,12k",
        "5,2009-06-13T14:05:13Z,bad,someday,3",
    ]
    feed = write(tmp_path, "p.csv", *rows)
    field_map = parse_field_map("id=tid,ts=when,text=body,author_created=joined,author_followers=fans")
    stats = FeedStats()
    posts = read_posts(feed, "csv", field_map=field_map, skip_bad=True, stats=stats)
    assert [(p.id, p.author_created, p.author_followers) for p in posts] == [
        ("1", ACCOUNT_MADE, 1200),
        ("2", ACCOUNT_MADE, 7),
        ("3", None, None),  # empty cells: absent
    ]
    assert stats.errors[0].endswith(
        "p.csv:5: author_created '2009-06-17' has no UTC offset: RFC 3339 needs Z or +HH:MM"
    )
    assert stats.errors[1].endswith(
        "p.csv:6: unparseable author_created 'someday': expected RFC 3339 or epoch seconds"
    )
    with pytest.raises(FeedError, match=r"p\.csv:5: "):
        read_posts(feed, "csv", field_map=field_map)
    rows[4] = "4,2009-06-13T14:05:12Z,bad,,12k"
    with pytest.raises(
        FeedError, match=r"p\.csv:5: author_followers must be an integer of 0 or more, got '12k'"
    ):
        read_posts(write(tmp_path, "p.csv", *rows), "csv", field_map=field_map)


def test_converted_notices_and_account_fields_round_trip_through_the_contract(tmp_path):
    user = {"screen_name": "a", "created_at": "Wed Jun 17 12:00:00 +0000 2009", "followers_count": 0}
    lines = [json.dumps(status("1", user=user)), json.dumps(v1_delete("1", inside="1244902209000"))]
    items = read_posts(write(tmp_path, "s.jsonl", *lines), "twitter-v1")
    out = tmp_path / "out.jsonl"
    assert write_feed(items, out) == 2
    assert list(read_items(out)) == items
    assert read_posts(out, "jsonl") == items
    assert json.loads(out.read_text().splitlines()[1]) == {
        "kind": "delete",
        "id": "1",
        "ts": "2009-06-13T14:10:09Z",
        "author": "44571029",
        "platform": "twitter",
        "source_format": "twitter-v1",
    }
