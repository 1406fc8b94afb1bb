import pytest

from feed import FeedError, FeedStats, Post, read_feed, write_feed

GOOD = b'{"id": "a", "ts": "2009-06-13T14:05:09Z", "text": "hello"}\n'


def test_write_then_read_round_trips(tmp_path):
    posts = [Post(id=str(n), ts=1244901909.0 + n, text=f"post {n}", author="islandchic") for n in range(5)]
    path = tmp_path / "feed.jsonl"
    assert write_feed(posts, path) == 5
    assert list(read_feed(path)) == posts


def test_bad_line_error_names_file_and_line(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(GOOD + b"\n" + b'{"id": "b", "text": "no time"}\n')
    with pytest.raises(FeedError) as caught:
        list(read_feed(path))
    assert str(caught.value).startswith(f"{path}:3: missing required field(s): ts")


def test_skip_bad_counts_every_bad_line_and_keeps_the_good(tmp_path):
    path = tmp_path / "feed.jsonl"
    path.write_bytes(GOOD + b"not json\n" + b"[1]\n" + b"\xff\xfe\n" + GOOD.replace(b'"a"', b'"b"'))
    stats = FeedStats()
    posts = list(read_feed(path, skip_bad=True, stats=stats))
    assert [post.id for post in posts] == ["a", "b"]
    assert stats.posts == 2
    assert stats.skipped == 3
    assert [error.split(":")[1] for error in stats.errors] == ["2", "3", "4"]
