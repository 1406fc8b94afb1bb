"""Where a send's posts come from: the feed or the seed feed, a reader per format, and the survey."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from feed import FeedError, FeedStats, Post
from replay.seed import SEED_FEED_PATH
from replay.source import (
    KEPT_POST_OVERHEAD_BYTES,
    feed_or_seed,
    open_source,
    open_wire_source,
    survey_feed,
    survey_posts,
)
from replay.wire import WirePost

SAMPLES = Path(__file__).parent / "samples"
CSV_MAP = "id=Tweet Id,ts=Date,text=Content,author=Username,region=Location"


def flags(fmt: str = "jsonl", field_map: str | None = None, *, skip_bad: bool = False) -> argparse.Namespace:
    """The options of ``send`` and ``convert`` that choose a reader."""
    return argparse.Namespace(format=fmt, field_map=field_map, skip_bad=skip_bad)


def write_feed(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_survey_of_the_seed_feed_spans_june_2009():
    survey = survey_feed(SEED_FEED_PATH, skip_bad=False)
    assert survey.posts == sum(1 for line in SEED_FEED_PATH.read_bytes().splitlines() if line.strip())
    assert survey.stats.skipped == 0
    assert 5 * 86400 < survey.span_seconds < 9 * 86400


def test_no_feed_means_the_seed_feed_and_a_missing_one_is_refused(tmp_path):
    assert feed_or_seed(None) == SEED_FEED_PATH
    given = write_feed(tmp_path / "feed.jsonl", '{"id": "a", "ts": 1244901909, "text": "x"}')
    assert feed_or_seed(given) == given
    with pytest.raises(ValueError, match=r"^feed not found: .*nope\.jsonl$"):
        feed_or_seed(tmp_path / "nope.jsonl")


def test_jsonl_is_streamed_and_sent_as_its_own_lines(tmp_path):
    line = '{"id":"a","ts":"2009-06-13T10:00:00Z","text":"x"}'
    feed = write_feed(tmp_path / "feed.jsonl", line)
    read = open_wire_source(flags(), feed)
    first, again = list(read(None)), list(read(None))  # one read of the file per pass
    assert first == again and [post.id for post in first] == ["a"]
    assert isinstance(first[0], WirePost) and first[0].value == line.encode()
    assert [post.id for post in open_source(flags(), feed)(None)] == ["a"]


def test_csv_is_parsed_once_with_its_column_map_and_kept_for_later_passes():
    read = open_wire_source(flags("csv", CSV_MAP), SAMPLES / "posts.csv")
    first = list(read(FeedStats()))
    assert first and [p.ts for p in first] == sorted(p.ts for p in first)
    assert list(read(None)) == first
    posts = open_source(flags("csv", CSV_MAP), SAMPLES / "posts.csv")(None)
    assert all(isinstance(post, Post) for post in posts) and len(posts) == len(first)


@pytest.mark.parametrize("opener", [open_source, open_wire_source])
def test_map_is_for_csv_only_and_must_name_the_required_columns(tmp_path, opener):
    feed = write_feed(tmp_path / "feed.jsonl", '{"id": "a", "ts": 1244901909, "text": "x"}')
    with pytest.raises(ValueError, match=r"^--map applies to --format csv only$"):
        opener(flags("jsonl", "id=a,ts=b,text=c"), feed)
    with pytest.raises(ValueError, match=r"^--map: .*\(id, ts and text are required\)"):
        opener(flags("csv", "id=a"), SAMPLES / "posts.csv")


def test_bad_records_are_raised_or_counted_when_read(tmp_path):
    feed = write_feed(
        tmp_path / "feed.jsonl",
        '{"id": "a", "ts": 1244901909, "text": "ok"}',
        '{"id": "b", "ts": "later", "text": "x"}',
    )
    read = open_source(flags(), feed)  # opening reads nothing yet
    with pytest.raises(FeedError, match=r"feed\.jsonl:2: unparseable ts 'later'"):
        list(read(None))
    stats = FeedStats()
    assert [post.id for post in open_source(flags(skip_bad=True), feed)(stats)] == ["a"]
    assert stats.skipped == 1


def wire(post_id: str, ts: float) -> WirePost:
    return WirePost.from_post(Post(id=post_id, ts=ts, text="x"))


def test_survey_counts_the_window_and_spans_out_of_order_posts():
    posts = [wire("a", 100.0), wire("b", 300.0), wire("c", 50.0), wire("d", 200.0), wire("e", 900.0)]
    survey = survey_posts(posts, FeedStats(), lambda ts: ts < 500)
    assert (survey.posts, survey.first_ts, survey.last_ts, survey.span_seconds) == (4, 50.0, 300.0, 250.0)
    assert survey.kept is None  # no memory budget: the sending pass reads the feed again
    empty = survey_posts([], FeedStats(), lambda ts: True)
    assert (empty.posts, empty.first_ts, empty.span_seconds) == (0, None, 0.0)


def test_survey_keeps_the_posts_only_while_they_fit_the_memory_budget():
    posts = [wire(str(index), float(index)) for index in range(10)]
    each = len(posts[0].value) + KEPT_POST_OVERHEAD_BYTES
    fits = survey_posts(posts, FeedStats(), lambda ts: True, memory_bytes=10 * each)
    assert fits.kept == posts
    too_big = survey_posts(posts, FeedStats(), lambda ts: True, memory_bytes=10 * each - 1)
    assert too_big.kept is None and too_big.posts == 10
