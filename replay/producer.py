"""Thin kafka-python producer: one post → one record keyed by author, timestamped with event time."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2
from kafka.producer.future import FutureRecordMetadata

from replay.wire import WirePost

log = logging.getLogger(__name__)

PARTITIONS_CHECK_SECONDS = 5.0
MAX_REMEMBERED_AUTHORS = 1_000_000


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
    """Sends posts and tracks their delivery, in the order they were sent.

    Nothing runs per record on kafka-python's I/O thread: the futures are kept in send order and
    :meth:`collect` pops the completed ones from the front, so ``acked`` fills in send order (the
    checkpoint only ever needs the acknowledged prefix).
    """

    def __init__(self, bootstrap: str, topic: str, *, linger_ms: int = 5) -> None:
        self.topic = topic
        self.counts = DeliveryCounts()
        self.acked: deque[int] = deque()  # slot indexes acknowledged, drained by the replay loop
        self._in_flight: deque[tuple[int, str, FutureRecordMetadata]] = deque()
        # The partition of each author, as kafka-python's default partitioner picks it (murmur2 of the
        # key), computed once per author: in pure Python the hash costs as much as the rest of a send.
        self._partition_of: dict[bytes, int] = {}
        self._partitions: list[int] = []
        self._partitions_checked = -math.inf
        # acks=all with idempotence: the broker keeps one copy of each retried batch (Kafka 4.1.1 was
        # seen to accept one twice across a restart; detection drops repeated post ids either way).
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

    def send(self, post: WirePost, index: int) -> None:
        """Hand one post to the producer; blocks (and retries) while the broker is unreachable."""
        key = post.key
        while True:
            try:
                partition = None if key is None else self._partition(key)
                future = self._producer.send(
                    self.topic, value=post.value, key=key, partition=partition, timestamp_ms=post.ts_ms
                )
                break
            except KafkaTimeoutError as exc:  # no metadata or a full buffer: the broker is away
                log.warning("broker unavailable (%s); retrying post %s", exc, post.id)
        self.counts.sent += 1
        self._in_flight.append((index, post.id, future))

    def _partition(self, key: bytes) -> int:
        now = time.monotonic()
        if not self._partitions or now - self._partitions_checked >= PARTITIONS_CHECK_SECONDS:
            # Partitions can be added to a topic while it is in use: then every author moves, as with
            # kafka-python's own partitioner. Raises KafkaTimeoutError while the broker is away.
            partitions = sorted(self._producer.partitions_for(self.topic))
            self._partitions_checked = now
            if partitions != self._partitions:
                self._partitions = partitions
                self._partition_of.clear()
        partition = self._partition_of.get(key)
        if partition is None:
            if len(self._partition_of) >= MAX_REMEMBERED_AUTHORS:
                self._partition_of.clear()
            partitions = self._partitions
            partition = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
            self._partition_of[key] = partition
        return partition

    def collect(self) -> None:
        """Moves the posts delivered (or failed) at the front of the send order into the counts."""
        in_flight = self._in_flight
        while in_flight and in_flight[0][2].is_done:
            index, post_id, future = in_flight.popleft()
            if future.succeeded():
                self.counts.acknowledged += 1
                self.acked.append(index)
            else:
                self.counts.failed += 1
                if self.counts.first_error is None:
                    self.counts.first_error = f"post {post_id}: {future.exception!r}"
                log.error("delivery failed for post %s: %r", post_id, future.exception)

    def flush(self, timeout: float | None = None) -> None:
        self._producer.flush(timeout=timeout)
        self.collect()

    def close(self, timeout: float | None = None) -> None:
        self._producer.close(timeout=timeout)
        self.collect()
