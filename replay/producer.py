"""Thin kafka-python producer: one post → one record keyed by author, timestamped with event time."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from feed import Post

log = logging.getLogger(__name__)


@dataclass
class DeliveryCounts:
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    first_error: str | None = None


def ensure_topic(bootstrap: str, topic: str, partitions: int) -> bool:
    """Create the topic with ``partitions`` if it is missing; True when this call created it."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="iran2009-replay-admin")
    try:
        if topic in admin.list_topics():
            return False
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        return True
    except TopicAlreadyExistsError:
        return False  # another client created it meanwhile
    finally:
        admin.close()


class PostProducer:
    def __init__(self, bootstrap: str, topic: str, *, linger_ms: int = 5) -> None:
        self.topic = topic
        self.counts = DeliveryCounts()
        # acks=all with idempotence: the broker keeps exactly one copy of each retried batch.
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="iran2009-replay",
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            batch_size=256 * 1024,
            compression_type=None,
        )

    def send(self, post: Post) -> None:
        future = self._producer.send(
            self.topic,
            value=post.to_json(),
            key=post.author.encode() if post.author else None,
            timestamp_ms=post.ts_ms,
        )
        self.counts.sent += 1
        future.add_callback(self._on_ack)
        future.add_errback(self._on_error, post.id)

    def _on_ack(self, _metadata: object) -> None:
        self.counts.acknowledged += 1

    def _on_error(self, error: Exception, post_id: str) -> None:
        self.counts.failed += 1
        if self.counts.first_error is None:
            self.counts.first_error = f"post {post_id}: {error!r}"
        log.error("delivery failed for post %s: %r", post_id, error)

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        self._producer.close(timeout=timeout)
