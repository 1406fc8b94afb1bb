"""Reading real feed formats into posts: one realistic sample per format, and the errors that name places."""

import json
from pathlib import Path

import pytest

from feed import FeedError, FeedStats, read_feed, write_feed
from replay.formats import FORMATS, parse_event_time, parse_field_map, read_posts, region_from_location

SAMPLES = Path(__file__).parent / "samples"
V1 = SAMPLES / "statuses_v1.jsonl"
V2 = SAMPLES / "search_v2.json"
ARCHIVE = SAMPLES / "tweets.js"
CSV = SAMPLES / "posts.csv"
CSV_MAP = "id=Tweet Id, ts=Date, text=Content, author=Username, region=Location, likes=Likes"

PERSIAN_V1 = "مردم در خیابان\u200cهای تهران هستند، الله اکبر از پشت بام\u200cها #iranelection"
JUNE_13_1405 = 1244901909.0  # Sat Jun 13 14:05:09 +0000 2009


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def status(post_id: str, created_at: str = "Sat Jun 13 14:05:09 +0000 2009", **fields) -> dict:
    return {"id_str": post_id, "created_at": created_at, "text": f"post {post_id}", **fields}


def test_formats_lists_every_reader():
    assert FORMATS == ("jsonl", "twitter-v1", "twitter-v2", "twitter-archive", "csv")


def test_unknown_format_and_misplaced_options_are_refused():
    with pytest.raises(ValueError, match="unknown format 'tweets'"):
        read_posts(V1, "tweets")
    with pytest.raises(ValueError, match="only to the csv format"):
        read_posts(V1, "twitter-v1", field_map={"id": "a", "ts": "b", "text": "c"})
    with pytest.raises(ValueError, match="only to the twitter-archive format"):
        read_posts(V1, "twitter-v1", archive_author="someone")


# --- parse_field_map ------------------------------------------------------------------------------


def test_field_map_keeps_targets_in_order_and_unknown_targets_as_extras():
    assert parse_field_map(CSV_MAP) == {
        "id": "Tweet Id",
        "ts": "Date",
        "text": "Content",
        "author": "Username",
        "region": "Location",
        "likes": "Likes",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id=a,ts=b", "needs a column for text"),
        ("author=u", "needs a column for id, ts, text"),
        ("id=a,ts,text=c", "bad --map entry 'ts': expected TARGET=COLUMN"),
        ("id=a,ts=b,text=", "bad --map entry 'text='"),
        ("id=a,ts=b,text=c,", "bad --map entry ''"),
        ("id=a,ts=b,text=c,id=d", "--map names 'id' twice"),
    ],
)
def test_field_map_errors_are_clear(text, message):
    with pytest.raises(ValueError, match=message):
        parse_field_map(text)


# --- shared mapping rules -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "region"),
    [
        ("Tehran, Iran", "IR"),
        ("ایران", "IR"),
        ("ايران", "IR"),  # typed with an Arabic-keyboard yeh
        ("Isfahan", "IR"),
        ("in the streets of TEHRAN", "IR"),
        ("London, UK", "GB"),
        ("Los Angeles, CA", "US"),
        ("New York", "US"),
        ("Toronto", "CA"),
        ("Paris", "FR"),
        ("Berlin / Germany", "DE"),
        ("York", None),
        ("Paris -> Tehran", None),  # two countries: not clear
        ("iPhone: 35.696,51.423", None),
        ("", None),
    ],
)
def test_region_from_location(location, region):
    assert region_from_location(location) == region


@pytest.mark.parametrize(
    "value",
    ["Sat Jun 13 14:05:09 +0000 2009", "2009-06-13 18:35:09 +0430", "2009-06-13T14:05:09.000Z", "1244901909"],
)
def test_event_time_styles(value):
    assert parse_event_time(value) == JUNE_13_1405


# --- twitter-v1 -----------------------------------------------------------------------------------


def test_v1_statuses_become_posts_in_event_time_order():
    stats = FeedStats()
    posts = read_posts(V1, "twitter-v1", stats=stats)

    # The delete notice is neither a post nor a bad record; the 14:05:09 tie keeps file order.
    assert [post.id for post in posts] == ["2149650012", "2149735612", "2149735699", "2149761234"]
    assert [post.ts for post in posts][1:3] == [JUNE_13_1405, JUNE_13_1405]
    assert (stats.posts, stats.skipped) == (4, 0)
    persian, original, reply, retweet = posts

    assert persian.text == PERSIAN_V1  # full_text, byte for byte
    assert (persian.author, persian.lang, persian.region) == ("azadi_now", "fa", "IR")
    assert persian.extra == {
        "source_format": "twitter-v1",
        "hashtags": ["iranelection"],
        "location": "تهران",
    }
    assert (original.author, original.platform, original.region) == ("tehran_witness", "twitter", "IR")
    assert retweet.text.startswith("RT @tehran_witness: ")
    assert (retweet.author, retweet.region) == ("diaspora_la", "US")
    assert retweet.extra["retweet_of"] == "2149735612"
    assert reply.lang is None  # "und"
    assert reply.region is None
    assert reply.extra == {
        "source_format": "twitter-v1",
        "reply_to": "2149735612",
        "location": "somewhere in the streets",
    }
    assert reply.text == "@tehran_witness stay safe!! &amp; keep posting"  # kept as delivered


def test_v1_place_country_code_wins_over_user_location(tmp_path):
    feed = write(
        tmp_path,
        "s.jsonl",
        json.dumps(status("1", user={"location": "London"}, place={"country_code": "ir"})),
    )
    [post] = read_posts(feed, "twitter-v1")
    assert post.region == "IR"
    assert post.extra["location"] == "London"


def test_v1_json_array_gives_the_same_posts_as_json_lines(tmp_path):
    statuses = [json.loads(line) for line in V1.read_text(encoding="utf-8").splitlines()]
    array = write(tmp_path, "statuses.json", json.dumps(statuses, ensure_ascii=False, indent=2))
    assert read_posts(array, "twitter-v1") == read_posts(V1, "twitter-v1")


def test_v1_prefers_the_extended_text_of_streamed_statuses(tmp_path):
    long_text = "x" * 200
    streamed = status("1", truncated=True, text="x" * 137 + "…", extended_tweet={"full_text": long_text})
    [post] = read_posts(write(tmp_path, "s.jsonl", json.dumps(streamed)), "twitter-v1")
    assert post.text == long_text


@pytest.mark.parametrize(
    ("second_line", "code", "reason"),
    [
        ('{"id_str": "2", "text": "no time"', "invalid_json", "not valid JSON"),
        ('{"id_str": "2", "text": "no time"}', "missing_field", "missing required field(s): created_at"),
        ('{"id_str": "2", "created_at": "June 13"}', "missing_field", "missing required field(s): text"),
        (json.dumps(status("2", created_at="Jun 13 2009, 2pm")), "bad_ts", "unparseable ts"),
        ("[1, 2]", "not_object", "expected a JSON object, got list"),
    ],
)
def test_v1_json_lines_errors_name_file_and_line(tmp_path, second_line, code, reason):
    feed = write(tmp_path, "s.jsonl", f"{json.dumps(status('1'))}\n\n{second_line}\n")
    with pytest.raises(FeedError) as caught:
        read_posts(feed, "twitter-v1")
    assert caught.value.place == f"{feed}:3"
    assert caught.value.code == code
    assert str(caught.value).startswith(f"{feed}:3: {reason}")


def test_v1_array_errors_name_the_index(tmp_path):
    feed = write(tmp_path, "s.json", json.dumps([status("1"), status("2"), {"id_str": "3"}]))
    with pytest.raises(FeedError, match=r"s\.json\[2\]: missing required field\(s\): created_at"):
        read_posts(feed, "twitter-v1")


def test_v1_broken_array_fails_the_whole_file_even_with_skip_bad(tmp_path):
    feed = write(tmp_path, "s.json", '[\n{"id_str": "1"},\n{oops}\n]')
    with pytest.raises(FeedError) as caught:
        read_posts(feed, "twitter-v1", skip_bad=True)
    assert (caught.value.place, caught.value.code) == (f"{feed}:3", "invalid_json")


def test_skip_bad_counts_and_keeps_the_good_records(tmp_path):
    lines = [
        json.dumps(status("1")),
        "{broken",
        json.dumps({"id_str": "3", "text": "no time"}),
        json.dumps(status("4", created_at="Sun Jun 14 09:00:00 +0000 2009")),
    ]
    stats = FeedStats()
    posts = read_posts(write(tmp_path, "s.jsonl", "\n".join(lines)), "twitter-v1", skip_bad=True, stats=stats)
    assert [post.id for post in posts] == ["1", "4"]
    assert (stats.posts, stats.skipped) == (2, 2)
    assert stats.errors[0].startswith(f"{tmp_path / 's.jsonl'}:2: not valid JSON (")
    assert stats.errors[1].endswith("s.jsonl:3: missing required field(s): created_at")


# --- twitter-v2 -----------------------------------------------------------------------------------


def test_v2_response_resolves_authors_and_places_from_includes():
    posts = read_posts(V2, "twitter-v2")

    assert [post.id for post in posts] == ["2260098812", "2260150033", "2260311478"]  # API gives newest first
    reply, persian, retweet = posts
    assert persian.text == "راهپیمایی سکوت از انقلاب تا آزادی، بدون شعار #iranelection"
    assert (persian.author, persian.lang, persian.region) == ("azadi_now", "fa", "IR")
    assert persian.ts == parse_event_time("2009-06-20T16:22:47Z")
    assert persian.extra["hashtags"] == ["iranelection"]
    assert (retweet.author, retweet.region) == ("diaspora_la", "US")
    assert retweet.extra["retweet_of"] == "2260150033"
    assert reply.author is None  # author_id missing from includes.users
    assert reply.extra == {"source_format": "twitter-v2", "author_id": "77001234", "reply_to": "2259990001"}


def test_v2_errors_name_the_data_index(tmp_path):
    response = json.loads(V2.read_text(encoding="utf-8"))
    del response["data"][1]["created_at"]
    feed = write(tmp_path, "v2.json", json.dumps(response))
    with pytest.raises(FeedError, match=r"v2\.json\[1\]: missing required field\(s\): created_at") as caught:
        read_posts(feed, "twitter-v2")
    assert caught.value.code == "missing_field"


def test_v2_rejects_what_is_not_a_response(tmp_path):
    feed = write(tmp_path, "v1.json", json.dumps({"statuses": [status("1")]}))
    with pytest.raises(FeedError, match=r"v1\.json: not an API v2 response"):
        read_posts(feed, "twitter-v2", skip_bad=True)


def test_v2_json_lines_of_pages_as_twarc2_writes_them(tmp_path):
    page = json.loads(V2.read_text(encoding="utf-8"))
    empty_page = {"meta": {"result_count": 0}}
    feed = write(tmp_path, "pages.jsonl", "\n".join(map(json.dumps, [empty_page, page, "oops"])))
    with pytest.raises(FeedError, match=r"pages\.jsonl:3: expected a JSON object, got str"):
        read_posts(feed, "twitter-v2")
    stats = FeedStats()
    assert len(read_posts(feed, "twitter-v2", skip_bad=True, stats=stats)) == 3
    assert (stats.posts, stats.skipped) == (3, 1)
    page["data"][2]["text"] = ""
    write(tmp_path, "pages.jsonl", "\n".join(map(json.dumps, [empty_page, page])))
    with pytest.raises(FeedError, match=r"pages\.jsonl:2\[2\]: missing required field\(s\): text"):
        read_posts(feed, "twitter-v2")


# --- twitter-archive ------------------------------------------------------------------------------


def test_archive_tweets_with_the_account_name_given():
    posts = read_posts(ARCHIVE, "twitter-archive", archive_author="@azadi_now")

    assert [post.id for post in posts] == ["2171330987", "2195884410"]  # exports list newest first
    reply, persian = posts
    assert persian.text == "میلیون\u200cها نفر از میدان انقلاب تا آزادی، در سکوت"
    assert (persian.author, persian.platform, persian.lang) == ("azadi_now", "twitter", "fa")
    assert persian.region is None  # archives carry no user location
    assert persian.ts == parse_event_time("2009-06-16T15:03:14Z")
    assert persian.extra == {"source_format": "twitter-archive"}  # no favorite_count, edit_info, ...
    assert reply.extra == {
        "source_format": "twitter-archive",
        "reply_to": "2170001234",
        "hashtags": ["iranelection"],
    }


def test_archive_author_comes_from_account_js_or_stays_unknown(tmp_path):
    tweets = write(tmp_path, "tweets.js", ARCHIVE.read_text(encoding="utf-8").replace("part0", "part1"))
    assert {post.author for post in read_posts(tweets, "twitter-archive")} == {None}
    write(
        tmp_path,
        "account.js",
        'window.YTD.account.part0 = [{"account": {"username": "azadi_now", "accountId": "51234098"}}]',
    )
    assert {post.author for post in read_posts(tweets, "twitter-archive")} == {"azadi_now"}


def test_archive_errors_name_the_entry_index(tmp_path):
    entries = [{"tweet": status("1")}, {"tweet": status("2", created_at="yesterday")}]
    tweets = write(tmp_path, "tweets.js", f"window.YTD.tweets.part0 = {json.dumps(entries)}")
    with pytest.raises(FeedError, match=r"tweets\.js\[1\]: unparseable ts 'yesterday'") as caught:
        read_posts(tweets, "twitter-archive")
    assert caught.value.code == "bad_ts"
    stats = FeedStats()
    assert [post.id for post in read_posts(tweets, "twitter-archive", skip_bad=True, stats=stats)] == ["1"]
    assert stats.skipped == 1


# --- csv ------------------------------------------------------------------------------------------


def test_csv_with_a_custom_column_mapping():
    posts = read_posts(CSV, "csv", field_map=parse_field_map(CSV_MAP))

    # 14:07:09 (epoch), 14:10:00Z (Twitter style), 18:40+04:30 = 14:10:00Z (tie keeps order), 14:20:00Z
    assert [post.id for post in posts] == ["2149800002", "2149800003", "2149800004", "2149800001"]
    persian, london, unknown_place, multiline = posts
    assert multiline.text == 'Phones cut, SMS down, "facebook" blocked\nonly twitter works now'
    assert (multiline.region, multiline.extra) == ("IR", {"likes": "12", "source_format": "csv"})
    assert persian.text == "شعار «مرگ بر دیکتاتور» از پشت بام\u200cها, ساعت ۱۰ شب"
    assert (persian.author, persian.region, persian.platform) == ("azadi_now", "IR", None)
    assert (london.region, london.extra) == ("GB", {"source_format": "csv"})  # empty Likes cell: absent
    assert unknown_place.author is None
    assert (unknown_place.region, unknown_place.extra["location"]) == (None, "Somewhere")


def test_csv_without_a_map_uses_contract_column_names(tmp_path):
    feed = write(tmp_path, "p.csv", "id,ts,text,lang,kind\n7,2009-06-13T14:05:09Z,hello,und,report\n")
    [post] = read_posts(feed, "csv")
    assert (post.id, post.ts, post.text, post.lang, post.extra) == (
        "7",
        JUNE_13_1405,
        "hello",
        None,
        {"kind": "report", "source_format": "csv"},
    )


def test_csv_errors_name_the_line_where_the_record_starts(tmp_path):
    rows = [
        "id,when,body",
        '1,2009-06-13T14:05:09Z,"spans',
        'two lines"',
        "2,not a time,ok",
        "3,2009-06-13T14:05:09Z,",
        "4,2009-06-13T14:05:09Z,too,many",
    ]
    feed = write(tmp_path, "p.csv", "\n".join(rows) + "\n")
    field_map = parse_field_map("id=id,ts=when,text=body")
    with pytest.raises(FeedError, match=r"p\.csv:4: unparseable ts 'not a time'") as caught:
        read_posts(feed, "csv", field_map=field_map)
    assert caught.value.code == "bad_ts"
    stats = FeedStats()
    posts = read_posts(feed, "csv", field_map=field_map, skip_bad=True, stats=stats)
    assert [post.id for post in posts] == ["1"]
    assert stats.skipped == 3
    assert stats.errors[1].endswith("p.csv:5: missing required field(s): text (column 'body')")
    assert stats.errors[2].endswith("p.csv:6: row has 4 fields, header has 3")


def test_csv_header_without_the_mapped_columns_fails_at_line_1(tmp_path):
    feed = write(tmp_path, "p.csv", "tweet_id,date,content\n1,2009-06-13T14:05:09Z,x\n")
    with pytest.raises(FeedError, match=r"p\.csv:1: CSV header has no id, ts, text") as caught:
        read_posts(feed, "csv", skip_bad=True)
    assert caught.value.code == "missing_column"
    with pytest.raises(FeedError, match=r"p\.csv:1: CSV header has no column 'Text'"):
        read_posts(feed, "csv", field_map=parse_field_map("id=tweet_id,ts=date,text=Text"))


# --- every format -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fmt", "options"),
    [
        (V1, "twitter-v1", {}),
        (V2, "twitter-v2", {}),
        (ARCHIVE, "twitter-archive", {"archive_author": "azadi_now"}),
        (CSV, "csv", {"field_map": parse_field_map(CSV_MAP)}),
    ],
)
def test_converted_feed_round_trips_through_the_contract(tmp_path, path, fmt, options):
    posts = read_posts(path, fmt, **options)
    out = tmp_path / "out.jsonl"
    assert write_feed(posts, out) == len(posts) > 0
    assert list(read_feed(out)) == posts
    assert read_posts(out, "jsonl") == posts
    assert "\\u" not in out.read_text(encoding="utf-8")  # Persian written as UTF-8, not escapes


def test_jsonl_is_read_with_the_feed_contract_and_sorted(tmp_path):
    feed = write(
        tmp_path,
        "f.jsonl",
        '{"id": "b", "ts": 1244902000, "text": "later"}\n'
        '{"id": "a", "ts": "2009-06-13T14:05:09Z", "text": "x"}\n'
        '{"id": "c", "ts": "soon", "text": "bad"}\n',
    )
    with pytest.raises(FeedError, match=r"f\.jsonl:3: unparseable ts"):
        read_posts(feed, "jsonl")
    stats = FeedStats()
    assert [post.id for post in read_posts(feed, "jsonl", skip_bad=True, stats=stats)] == ["a", "b"]
    assert (stats.posts, stats.skipped) == (2, 1)
