"""Every topic the worker reads or writes, with its partitions and config, declared in one place."""

from __future__ import annotations

from datetime import timedelta

import faust

from pipeline.settings import Settings, snapshot_topics

# Only the detect records after the last snapshot are ever read again, so a day of them is plenty; they
# carry the wall-clock time they were produced, so time-based retention works there (posts do not:
# their timestamps are 2009 event times, and the broker keeps them by size).
DETECT_RETENTION = timedelta(days=1)
SNAPSHOT_SEGMENT_BYTES = 64 * 1024 * 1024


PARTS_MAX_BYTES = 16 * 1024 * 1024  # a part carries whole windows (sums and samples, not posts)


def declare(app: faust.App, settings: Settings) -> dict[str, faust.TopicT]:
    """The worker's topics as Faust topics (created at start-up when missing), by role."""

    def topic(name: str, partitions: int, **config) -> faust.TopicT:
        return app.topic(
            name, internal=True, partitions=partitions, key_serializer="raw", value_serializer="raw", **config
        )

    def snapshots(name: str, partitions: int) -> faust.TopicT:
        # Snapshots as chunks (pipeline.stream.snapshot_log): compacted, so the last two snapshots are
        # what remains once the cleaner has run; small segments let it run soon.
        return topic(
            name,
            partitions,
            compacting=True,
            config={"segment.bytes": str(SNAPSHOT_SEGMENT_BYTES), "min.cleanable.dirty.ratio": "0.2"},
        )

    shards = settings.detect_partitions
    names = snapshot_topics(settings)
    topics = {
        "posts": topic(settings.posts_topic, settings.posts_partitions),
        "classified": topic(settings.classified_topic, settings.posts_partitions),
        "dead_letters": topic(settings.dead_letter_topic, 1),
        # One partition per detection shard (one in all: the single detector).
        "detect": topic(settings.detect_topic, shards, retention=DETECT_RETENTION),
        "alerts": topic(settings.alerts_topic, 1),
    }
    if shards == 1:
        topics["detector_state"] = snapshots(names["single"], 1)
    else:
        # The merge reads every shard's parts in one place: what it compares needs all of them.
        topics["parts"] = topic(
            settings.parts_topic,
            1,
            retention=DETECT_RETENTION,
            config={"max.message.bytes": str(PARTS_MAX_BYTES)},
        )
        topics["shard_state"] = snapshots(names["shards"], shards)
        topics["merge_state"] = snapshots(names["merge"], 1)
    return topics
