"""The feed contract shared by the replayer and the pipeline.

One post per JSON Lines record: ``{"id", "ts", "text", "author"?, "platform"?, "lang"?,
"region"?, "author_created"?, "author_followers"?, ...extra fields kept}``; or a deletion notice,
``{"kind": "delete", "id", "ts", "author"?, ...}`` (the post ``id`` was deleted at ``ts``); and one
end-of-feed marker per partition once a replay has sent everything (:mod:`feed.end_of_feed`). This
package is pure: no Kafka, no Faust.
"""

from feed.end_of_feed import (
    END_OF_FEED_HEADER,
    END_OF_FEED_HEADER_VALUE,
    end_of_feed_record,
    end_of_feed_ts,
    end_of_feed_value,
)
from feed.model import (
    Deletion,
    FeedError,
    FeedItem,
    Post,
    deletion_from_record,
    format_ts,
    item_from_record,
    parse_ts,
    post_from_record,
)
from feed.reader import FeedStats, read_feed, read_items, write_feed

__all__ = [
    "END_OF_FEED_HEADER",
    "END_OF_FEED_HEADER_VALUE",
    "Deletion",
    "FeedError",
    "FeedItem",
    "FeedStats",
    "Post",
    "deletion_from_record",
    "end_of_feed_record",
    "end_of_feed_ts",
    "end_of_feed_value",
    "format_ts",
    "item_from_record",
    "parse_ts",
    "post_from_record",
    "read_feed",
    "read_items",
    "write_feed",
]
