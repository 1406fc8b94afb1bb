"""The feed contract shared by the replayer and the pipeline.

One post per JSON Lines record: ``{"id", "ts", "text", "author"?, "platform"?, "lang"?,
"region"?, ...extra fields kept}``. This package is pure: no Kafka, no Faust.
"""

from feed.model import FeedError, Post, format_ts, parse_ts, post_from_record
from feed.reader import FeedStats, read_feed, write_feed

__all__ = [
    "FeedError",
    "FeedStats",
    "Post",
    "format_ts",
    "parse_ts",
    "post_from_record",
    "read_feed",
    "write_feed",
]
