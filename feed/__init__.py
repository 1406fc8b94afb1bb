"""The feed contract shared by the replayer and the pipeline.

One post per JSON Lines record: ``{"id", "ts", "text", "author"?, "platform"?, "lang"?,
"region"?, ...extra fields kept}``, and one end-of-feed marker per partition once a replay has sent
everything (:mod:`feed.end_of_feed`). This package is pure: no Kafka, no Faust.
"""

from feed.end_of_feed import (
    END_OF_FEED_HEADER,
    END_OF_FEED_HEADER_VALUE,
    end_of_feed_record,
    end_of_feed_ts,
    end_of_feed_value,
)
from feed.model import FeedError, Post, format_ts, parse_ts, post_from_record
from feed.reader import FeedStats, read_feed, write_feed

__all__ = [
    "END_OF_FEED_HEADER",
    "END_OF_FEED_HEADER_VALUE",
    "FeedError",
    "FeedStats",
    "Post",
    "end_of_feed_record",
    "end_of_feed_ts",
    "end_of_feed_value",
    "format_ts",
    "parse_ts",
    "post_from_record",
    "read_feed",
    "write_feed",
]
