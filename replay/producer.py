"""Thin kafka-python producer: one post → one record keyed by author, timestamped with event time."""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError

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
    """Sends posts; delivery results arrive on kafka-python's I/O thread and are queued for the caller."""

    def __init__(self, bootstrap: str, topic: str, *, linger_ms: int = 5) -> None:
        self.topic = topic
        self.counts = DeliveryCounts()
        self.acked: deque[int] = deque()  # slot indexes acknowledged, drained by the replay loop
        # acks=all with idempotence: the broker keeps exactly one copy of each retried batch.
        # A broker that goes away is waited for (10 min) rather than failing the replay.
        self._producer = KafkaProducer(
            bootstrap_servers=bootstrap,
            client_id="iran2009-replay",
            acks="all",
            enable_idempotence=True,
            linger_ms=linger_ms,
            batch_size=256 * 1024,
            delivery_timeout_ms=600_000,
            reconnect_backoff_max_ms=2_000,
        )

    def send(self, post: Post, index: int) -> None:
        """Hand one post to the producer; blocks (and retries) while the broker is unreachable."""
        value = post.to_json()
        key = post.author.encode() if post.author else None
        while True:
            try:
                future = self._producer.send(self.topic, value=value, key=key, timestamp_ms=post.ts_ms)
                break
            except KafkaTimeoutError as exc:  # no metadata or a full buffer: the broker is away
                log.warning("broker unavailable (%s); retrying post %s", exc, post.id)
        self.counts.sent += 1
        future.add_callback(self._on_ack, index)
        future.add_errback(self._on_error, post.id)

    def _on_ack(self, index: int, _metadata: object) -> None:
        self.counts.acknowledged += 1
        self.acked.append(index)

    def _on_error(self, post_id: str, error: Exception) -> None:
        self.counts.failed += 1
        if self.counts.first_error is None:
            self.counts.first_error = f"post {post_id}: {error!r}"
        log.error("delivery failed for post %s: %r", post_id, error)

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)

    def close(self, timeout: float | None = None) -> None:
        self._producer.close(timeout=timeout)
