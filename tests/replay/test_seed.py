"""The seed feed extracted from replay/data/seeds: content, order, and the committed copy."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest

from feed.model import Post
from feed.reader import read_feed
from replay.seed import SEED_DOCS_DIR, SEED_FEED_PATH, build_seed_posts, write_seed_feed

JUNE_12 = datetime(2009, 6, 12, tzinfo=UTC).timestamp()
JUNE_21 = datetime(2009, 6, 21, tzinfo=UTC).timestamp()
PLATFORMS = {"twitter", "facebook", "blog", "chat", "news"}


@pytest.fixture(scope="module")
def posts() -> list[Post]:
    return build_seed_posts()


def by_id(posts: list[Post]) -> dict[str, Post]:
    return {post.id: post for post in posts}


def test_build_is_deterministic(tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    assert write_seed_feed(first) == write_seed_feed(second)
    assert first.read_bytes() == second.read_bytes()


def test_committed_feed_matches_a_fresh_build(tmp_path: Path) -> None:
    fresh = tmp_path / "seed_feed.jsonl"
    write_seed_feed(fresh)
    assert SEED_FEED_PATH.read_bytes() == fresh.read_bytes(), (
        "replay/data/seed_feed.jsonl is stale: run `python -m replay build-seed-feed`"
    )


def test_explicit_seed_dir_gives_the_same_posts(posts: list[Post]) -> None:
    assert build_seed_posts(SEED_DOCS_DIR) == posts


def test_missing_document_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="000_"):
        build_seed_posts(tmp_path)


def test_size_and_platforms(posts: list[Post]) -> None:
    assert 40 <= len(posts) <= 70
    assert {post.platform for post in posts} <= PLATFORMS
    assert {post.extra["source"] for post in posts} == {"seed:000", "seed:001", "seed:002"}
    assert Counter(post.platform for post in posts)["twitter"] == 7
    assert all(post.lang == "en" for post in posts)


def test_ids_are_unique(posts: list[Post]) -> None:
    assert len({post.id for post in posts}) == len(posts)


def test_timestamps_increase_inside_june_12_to_20(posts: list[Post]) -> None:
    stamps = [post.ts for post in posts]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == len(stamps)
    assert JUNE_12 <= stamps[0] <= stamps[-1] < JUNE_21


def test_documents_follow_each_other(posts: list[Post]) -> None:
    sources = [post.extra["source"] for post in posts]
    assert sources == sorted(sources)


@pytest.mark.parametrize(
    ("author", "quote"),
    [
        ("Change for Iran", "more than 100 students arrested"),
        ("madtownbabe", "state TV & Radio went berserk today"),
        ("islandchic", "Iran has ordered people to remove all material that could 'create tension'"),
        ("msanusiliman", "Show support for democracy in Iran add green overlay to your Twitter avatar"),
    ],
)
def test_named_twitterers_have_their_tweet(posts: list[Post], author: str, quote: str) -> None:
    tweets = [post for post in posts if post.author == author and post.platform == "twitter"]
    assert len(tweets) == 1
    tweet = tweets[0]
    assert quote in tweet.text
    assert not tweet.text.endswith(",")  # the attribution comma is not part of the tweet
    quoting = by_id(posts)[tweet.extra["quoted_in"]]
    assert quoting.platform == "news" and tweet.text in quoting.text and tweet.ts < quoting.ts


def test_unsigned_tweets_are_anonymous(posts: list[Post]) -> None:
    anonymous = [post.text for post in posts if post.platform == "twitter" and post.author is None]
    assert any(text.startswith("Security forces are setting up twitter accounts") for text in anonymous)
    assert "Several arrests today after tracking thru twiter proxys" in anonymous
    assert "GO BACK & DELETE ALL PAST TWEETS that may have Iran usernames." in anonymous


def test_interview_quotes_are_chats_from_iran(posts: list[Post]) -> None:
    chats = {post.author: post for post in posts if post.platform == "chat"}
    assert set(chats) == {"Ali", "Samereh"}
    assert (
        chats["Samereh"].text
        == "The government is taking satellites down from peoples’ homes. They’re everywhere."
    )
    assert all(chat.region == "IR" and chat.extra["kind"] == "quote" for chat in chats.values())


def test_every_blog_comment_is_a_post(posts: list[Post]) -> None:
    (blog,) = SEED_DOCS_DIR.glob("002_*.txt")
    comment_starts = re.findall(r"^[ \t]+\d+\. ", blog.read_text(encoding="utf-8"), flags=re.MULTILINE)
    comments = [post for post in posts if post.extra["kind"] == "comment"]
    assert len(comments) == len(comment_starts) == 6
    assert all(post.platform == "blog" and post.text for post in comments)


def test_comment_authors_and_replies(posts: list[Post]) -> None:
    comments = [post for post in posts if post.extra["kind"] == "comment"]
    assert [post.author for post in comments] == ["Julie", "Rob", "Mariana", "Rob", "Ken", "Rob"]
    replies = [post for post in comments if "reply_to" in post.extra]
    assert [post.extra["reply_to"] for post in replies] == ["seed-002-c01", "seed-002-c03", "seed-002-c05"]
    # The signature lines are attribution, not comment text.
    assert not any(post.text.startswith(("Julie", "Mariana", "Ken")) for post in comments)
    assert comments[4].text.startswith("Rob, good read my friend")


def test_regions(posts: list[Post]) -> None:
    regions = {(post.author, post.region) for post in posts}
    assert ("Change for Iran", "IR") in regions and ("Rob", "US") in regions
    assert all(post.region is None for post in posts if post.platform == "news")


def test_no_boilerplate_or_mojibake(posts: list[Post]) -> None:
    for unwanted in ("Click here", "Comments are closed", "thoughts on", "Photo Courtesy", "Â", "»", "\xa0"):
        assert not [post.id for post in posts if unwanted in post.text], unwanted
    texts = {post.text for post in posts}
    assert "Iranian Protesters Cling to Twitter as Key Lifeline Amid Crackdown" not in texts
    assert not any("contributed to this report" in text for text in texts)
    assert all(text == text.strip() and "  " not in text for text in texts)


def test_unicode_punctuation_is_kept(posts: list[Post]) -> None:
    assert any("Moussavi’s Facebook page" in post.text for post in posts)
    assert any(post.text.endswith("rude at all 🙂") for post in posts)


def test_posts_round_trip_through_the_reader(posts: list[Post], tmp_path: Path) -> None:
    path = tmp_path / "seed.jsonl"
    write_seed_feed(path)
    assert list(read_feed(path)) == posts
