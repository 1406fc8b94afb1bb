"""Every topic the worker reads or writes, with its partitions and config, declared in one place."""

from __future__ import annotations

from datetime import timedelta

import faust

from pipeline.settings import Settings

# Only the detect records after the last snapshot are ever read again, so a day of them is plenty; they
# carry the wall-clock time they were produced, so time-based retention works there (posts do not:
# their timestamps are 2009 event times, and the broker keeps them by size).
DETECT_RETENTION = timedelta(days=1)
SNAPSHOT_SEGMENT_BYTES = 64 * 1024 * 1024


def declare(app: faust.App, settings: Settings) -> dict[str, faust.TopicT]:
    """The worker's topics as Faust topics (created at start-up when missing), by role."""

    def topic(name: str, partitions: int, **config) -> faust.TopicT:
        return app.topic(
            name, internal=True, partitions=partitions, key_serializer="raw", value_serializer="raw", **config
        )

    return {
        "posts": topic(settings.posts_topic, settings.posts_partitions),
        "classified": topic(settings.classified_topic, settings.posts_partitions),
        "dead_letters": topic(settings.dead_letter_topic, 1),
        # One partition: detection compares regions and terms with each other.
        "detect": topic(settings.detect_topic, 1, retention=DETECT_RETENTION),
        "alerts": topic(settings.alerts_topic, 1),
        # The detector's snapshot as chunks (pipeline.stream.snapshot_log): compacted, so the last two
        # snapshots are what remains once the cleaner has run; small segments let it run soon.
        "detector_state": topic(
            f"{settings.app_id}-detector-state-changelog",
            1,
            compacting=True,
            config={"segment.bytes": str(SNAPSHOT_SEGMENT_BYTES), "min.cleanable.dirty.ratio": "0.2"},
        ),
    }
