"""Thin kafka-python producer: one post → one record keyed by author, timestamped with event time."""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import NamedTuple

from kafka import KafkaAdminClient, KafkaProducer
from kafka.admin import NewTopic
from kafka.errors import AuthorizationError, KafkaError, KafkaTimeoutError, TopicAlreadyExistsError
from kafka.partitioner.default import murmur2
from kafka.producer.future import FutureRecordMetadata
from kafka.structs import TopicPartition

from feed import END_OF_FEED_HEADER, END_OF_FEED_HEADER_VALUE, end_of_feed_value
from feed.kafka_security import KafkaSecurity, RefusalWatch, refusal
from replay.wire import WirePost

log = logging.getLogger(__name__)

PARTITIONS_CHECK_SECONDS = 5.0
WARM_UP_SECONDS = 10.0
# Records wait this long for others to share a request at max speed; a paced replay sends each at once.
UNPACED_LINGER_MS = 5
MAX_REMEMBERED_AUTHORS = 1_000_000


_is_done = attrgetter("is_done")
_exception = attrgetter("exception")


@dataclass
class DeliveryCounts:
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    first_error: str | None = None


class EndOfFeedError(RuntimeError):
    """An end-of-feed marker the broker did not acknowledge."""


class SentBatch(NamedTuple):
    """Posts handed to the producer together, with their futures in the same order."""

    first_index: int  # the replay position of posts[0]; the others follow one by one
    posts: Sequence[WirePost]
    futures: list[FutureRecordMetadata]


class KafkaRefused(RuntimeError):
    """The broker refused this client (login, TLS trust or an ACL): ``str()`` is one line saying who,
    which topic and which operation."""


CONNECT_SECONDS = 30.0
# While the final flush waits for a broker that is away: how often it says so.
FLUSH_REPORT_SECONDS = 30.0


def connect_admin(
    bootstrap: str, security: KafkaSecurity, *, topic: str, timeout: float = CONNECT_SECONDS
) -> KafkaAdminClient:
    """An admin client once the broker answered, within ``timeout`` seconds.

    kafka-python retries a refused login (or an untrusted certificate) until its bootstrap times out and
    then says only "Unable to bootstrap", so it is asked in short attempts, watching what it logs: a
    refusal ends the wait at once, as :class:`KafkaRefused`."""
    deadline = time.monotonic() + timeout
    with RefusalWatch("kafka") as watch:
        while True:
            attempt = max(1.0, min(3.0, deadline - time.monotonic()))
            try:
                return KafkaAdminClient(
                    bootstrap_servers=bootstrap,
                    client_id="iran2009-replay-admin",
                    bootstrap_timeout_ms=int(attempt * 1000),
                    **security.kafka_python(),
                )
            except KafkaError as exc:
                if watch.decided(security) or time.monotonic() >= deadline:
                    raise KafkaRefused(
                        refusal(watch.explain(exc), security, program="replay", operation="WRITE",
                                topic=topic, bootstrap=bootstrap)
                    ) from exc  # fmt: skip


def ensure_topic(bootstrap: str, topic: str, partitions: int, security: KafkaSecurity | None = None) -> bool:
    """Create the topic with ``partitions`` if it is missing; True when this call created it.

    A user that may not create it (or, under ACLs, not even see it) is left to the first send, which
    names the refusal."""
    security = security or KafkaSecurity()
    admin = connect_admin(bootstrap, security, topic=topic)
    try:
        if topic in admin.list_topics():
            return False
        admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=1)])
        return True
    except TopicAlreadyExistsError:
        return False  # another client created it meanwhile
    except AuthorizationError:
        return False
    finally:
        admin.close()


class PostProducer:
    """Sends posts in batches and tracks their delivery, in the order they were sent.

    Nothing runs per record on kafka-python's I/O thread: each batch keeps its futures, and
    :meth:`collect` retires the batches at the front of the send order once all their records are done.
    So the acknowledged prefix (what a checkpoint may record) moves a whole batch at a time and never
    passes a post whose delivery failed. ``client`` stands in for the KafkaProducer built from the
    settings below (the unit tests pass one).
    """

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        *,
        linger_ms: int = UNPACED_LINGER_MS,
        client: KafkaProducer | None = None,
        security: KafkaSecurity | None = None,
    ) -> None:
        self.topic = topic
        self.counts = DeliveryCounts()
        self.acked_position: int | None = None  # posts before this replay position are all acknowledged
        self.acked_last_id: str | None = None  # the id of the post just before acked_position
        self._prefix_stopped = False  # a failed post: the acknowledged prefix ends there for good
        self._in_flight: deque[SentBatch] = deque()
        # The partition of each author, as kafka-python's default partitioner picks it (murmur2 of the
        # key), computed once per author: in pure Python the hash costs as much as the rest of a send.
        self._partition_of: dict[bytes, int] = {}
        self._partitions: list[int] = []
        self._partitions_checked = -math.inf
        # acks=all with idempotence: the broker keeps one copy of each retried batch (Kafka 4.1.1 was
        # seen to accept one twice across a restart; detection drops repeated post ids either way).
        # A broker that goes away is waited for (10 min) rather than failing the replay.
        if client is None:
            client = KafkaProducer(
                bootstrap_servers=bootstrap,
                client_id="iran2009-replay",
                acks="all",
                enable_idempotence=True,
                linger_ms=linger_ms,
                batch_size=256 * 1024,
                delivery_timeout_ms=600_000,
                reconnect_backoff_max_ms=2_000,
                **(security or KafkaSecurity()).kafka_python(),
            )
        self._producer = client
        self._security = security or KafkaSecurity()
        self._bootstrap = bootstrap

    def check_access(self) -> None:
        """Raises :class:`KafkaRefused` (one line) unless this user may write the topic: a refusal is
        said before the first post, not as a traceback in the middle of the replay."""
        try:
            with RefusalWatch("kafka"):  # kafka-python logs the refusal as well: said once, below
                self._check_partitions()
        except AuthorizationError as exc:
            raise KafkaRefused(
                refusal(exc, self._security, program="replay", operation="WRITE", topic=self.topic,
                        bootstrap=self._bootstrap)
            ) from exc  # fmt: skip

    def warm_up(self, timeout: float = WARM_UP_SECONDS) -> bool:
        """Get ready to send before the schedule is anchored: the topic's metadata, a connection to the
        leader of each of its partitions and, for the idempotent producer, its producer id.

        kafka-python does all that lazily, on the first send: the first posts of a paced replay then
        wait for it, reach the broker late (65-140 ms were seen) and the next ones catch up in a burst.
        kafka-python has no call for this, so its internals are used where they exist (3.x); elsewhere,
        or when the broker does not answer within ``timeout``, the first send does it as before.
        True when everything was ready."""
        deadline = time.monotonic() + timeout
        try:
            self._check_partitions()
        except KafkaError as exc:  # the first send waits for the broker, as it always has
            log.debug("warm-up: no metadata for %s yet (%r)", self.topic, exc)
            return False
        sender = getattr(self._producer, "_sender", None)
        client = getattr(sender, "_client", None)
        cluster = getattr(self._producer, "_metadata", None)
        if client is None or cluster is None or not hasattr(client, "is_ready"):
            return False  # a stand-in client, or a kafka-python without these internals
        leaders = {cluster.leader_for_partition(TopicPartition(self.topic, p)) for p in self._partitions}
        leaders -= {None, -1}
        self._warm_codecs(sender, client)
        net = getattr(client, "_net", None)
        for node in leaders:
            if not client.is_ready(node) and hasattr(net, "call_soon_threadsafe"):
                # On kafka-python's I/O thread, which owns the connections.
                net.call_soon_threadsafe(lambda node=node: client.maybe_connect(node))
        producer_ids = getattr(self._producer, "_transaction_manager", None)
        while True:
            ready = all(client.is_ready(node) for node in leaders) and (
                producer_ids is None or producer_ids.has_producer_id()
            )
            if ready or time.monotonic() >= deadline:
                if not ready:
                    log.warning("warm-up: the producer was not ready after %.0f s; sending anyway", timeout)
                return ready
            time.sleep(0.002)

    def _warm_codecs(self, sender: object, client: object) -> None:
        """kafka-python 3 generates and compiles the code that encodes a request and decodes its response
        the first time each is used: 5-10 ms added to the first post's trip otherwise. Done here, for the
        produce request the sender will build, in the version the broker will be sent; and the topic's
        client metrics, registered on the first send otherwise."""
        try:
            from kafka.protocol.producer import ProduceResponse

            request = sender._produce_request(None, -1, 1000, [])  # type: ignore[attr-defined]
            version = client._manager.broker_version_data.api_version(request)  # type: ignore[attr-defined]
            request.encode(version=version)
            response = ProduceResponse(responses=[], throttle_time_ms=0)
            ProduceResponse.decode(response.encode(version=version), version=version)
            sensors = getattr(sender, "_sensors", None)
            if sensors is not None:
                sensors.maybe_register_topic_metrics(self.topic)
        except Exception as exc:  # another kafka-python: the first send pays for it, as it always did
            log.debug("warm-up: produce codecs not prepared (%r)", exc)

    def set_linger(self, linger_ms: int) -> None:
        """How long a record may wait for others to share its request. A paced replay wants 0 (each post
        goes when due); max speed wants a few ms (fewer, bigger requests). kafka-python reads it from its
        accumulator on every check, so it can change while records flow; ignored where it cannot."""
        config = getattr(getattr(self._producer, "_accumulator", None), "config", None)
        if isinstance(config, dict):
            config["linger_ms"] = linger_ms

    def send(self, post: WirePost, index: int) -> None:
        """Hand one post to the producer; blocks (and retries) while the broker is unreachable."""
        self.send_batch((post,), index)

    def send_batch(self, posts: Sequence[WirePost], first_index: int) -> None:
        """Hand posts at replay positions ``first_index``, ``first_index + 1``, ... to the producer.

        Blocks (and retries) while the broker is unreachable. At max speed this loop is the replay's
        hot path, so it keeps to local names and does per batch what need not be done per post."""
        futures: list[FutureRecordMetadata] = []
        add = futures.append
        send = self._producer.send
        topic = self.topic
        try:
            while True:
                try:
                    partition_of = self._check_partitions()
                    for post in posts[len(futures) :] if futures else posts:
                        key = post.key
                        partition = None
                        if key is not None:
                            partition = partition_of.get(key)
                            if partition is None:
                                partition = self._partition_of_new(key)
                        add(send(topic, value=post.value, key=key, partition=partition,
                                 timestamp_ms=round(post.ts * 1000)))  # fmt: skip
                    return
                except KafkaTimeoutError as exc:  # no metadata or a full buffer: the broker is away
                    log.warning("broker unavailable (%s); retrying post %s", exc, posts[len(futures)].id)
        finally:
            # Also when interrupted part way: what was handed over is tracked, so flush and the counts
            # account for it.
            if futures:
                sent = posts if len(futures) == len(posts) else posts[: len(futures)]
                self._in_flight.append(SentBatch(first_index, sent, futures))
                self.counts.sent += len(futures)

    def _check_partitions(self) -> dict[bytes, int]:
        """The author → partition memo, emptied when the topic's partitions changed (checked every 5 s)."""
        now = time.monotonic()
        if not self._partitions or now - self._partitions_checked >= PARTITIONS_CHECK_SECONDS:
            # Partitions can be added to a topic while it is in use: then every author moves, as with
            # kafka-python's own partitioner. Raises KafkaTimeoutError while the broker is away.
            partitions = sorted(self._producer.partitions_for(self.topic))
            self._partitions_checked = now
            if partitions != self._partitions:
                self._partitions = partitions
                self._partition_of.clear()
        return self._partition_of

    def _partition_of_new(self, key: bytes) -> int:
        if len(self._partition_of) >= MAX_REMEMBERED_AUTHORS:
            self._partition_of.clear()
        partitions = self._partitions
        partition = self._partition_of[key] = partitions[(murmur2(key) & 0x7FFFFFFF) % len(partitions)]
        return partition

    def collect(self) -> None:
        """Retires the batches at the front of the send order whose records are all done: counts them
        and moves the acknowledged prefix."""
        in_flight = self._in_flight
        counts = self.counts
        while in_flight:
            first_index, posts, futures = in_flight[0]
            # The last record is usually the last one done; only then is every record looked at.
            if not futures[-1].is_done or not all(map(_is_done, futures)):
                return
            in_flight.popleft()
            failed = [n for n, error in enumerate(map(_exception, futures)) if error is not None]
            counts.acknowledged += len(futures) - len(failed)
            for n in failed:
                error = futures[n].exception
                counts.failed += 1
                if counts.first_error is None:
                    counts.first_error = f"post {posts[n].id}: {error!r}"
                log.error("delivery failed for post %s: %r", posts[n].id, error)
            if self._prefix_stopped:
                continue
            self._prefix_stopped = bool(failed)
            end = failed[0] if failed else len(posts)  # posts[:end] are acknowledged
            if end:
                self.acked_position = first_index + end
                self.acked_last_id = posts[end - 1].id

    def flush(self, timeout: float | None = None) -> None:
        """Waits until every post handed over is acknowledged, or failed (after ``delivery_timeout_ms``);
        ``timeout``: at most that long, then KafkaTimeoutError. A broker that is away is waited for, with a
        line every ``FLUSH_REPORT_SECONDS`` saying how many posts wait for it."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = FLUSH_REPORT_SECONDS
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            try:
                self._producer.flush(timeout=wait)
                break
            except KafkaTimeoutError:
                self.collect()
                if deadline is not None and time.monotonic() >= deadline:
                    raise
                log.warning("waiting for the broker to acknowledge %d posts", self.unacknowledged)
        self.collect()

    @property
    def unacknowledged(self) -> int:
        """Posts handed over and neither acknowledged nor failed yet (as of the last :meth:`collect`)."""
        counts = self.counts
        return counts.sent - counts.acknowledged - counts.failed

    def send_end_of_feed(self, last_ts: float) -> int:
        """One end-of-feed marker (:mod:`feed.end_of_feed`) to every partition of the topic, by explicit
        partition, each waited for until the broker has acknowledged it (acks=all, like the posts).

        Call it once every post is acknowledged: the marker must come after the partition's last post.
        Returns how many partitions were marked; raises :class:`EndOfFeedError` when one was not. Sent
        once at the end of a replay, so it costs the send loop nothing."""
        client = self._producer
        topic = self.topic
        value = end_of_feed_value(last_ts)
        timestamp_ms = round(last_ts * 1000)
        headers = [(END_OF_FEED_HEADER, END_OF_FEED_HEADER_VALUE)]
        futures: list[tuple[int, FutureRecordMetadata]] = []
        partitions: list[int] | None = None
        while partitions is None or len(futures) < len(partitions):
            try:
                if partitions is None:
                    partitions = sorted(client.partitions_for(topic))
                partition = partitions[len(futures)]
                future = client.send(
                    topic,
                    value=value,
                    key=None,
                    partition=partition,
                    timestamp_ms=timestamp_ms,
                    headers=headers,
                )
                futures.append((partition, future))
            except KafkaTimeoutError as exc:  # the broker is away, as for the posts: wait and retry
                log.warning("broker unavailable (%s); retrying the end-of-feed marker", exc)
            except KafkaError as exc:
                raise EndOfFeedError(f"the end-of-feed marker for {topic}: {exc!r}") from exc
        client.flush()
        for partition, future in futures:
            if not future.is_done:
                raise EndOfFeedError(f"the end-of-feed marker for {topic}[{partition}] was not acknowledged")
            if future.exception is not None:
                raise EndOfFeedError(f"the end-of-feed marker for {topic}[{partition}]: {future.exception!r}")
        return len(futures)

    def close(self, timeout: float | None = None) -> None:
        self._producer.close(timeout=timeout)
        self.collect()
