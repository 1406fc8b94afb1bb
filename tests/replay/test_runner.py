"""The replay loop and the producer's delivery tracking, with a stand-in for the Kafka client (pure logic:
what is sent in which order, the acknowledged prefix a checkpoint may record, failures and retries)."""

from __future__ import annotations

import orjson
import pytest
from kafka.errors import KafkaTimeoutError
from kafka.partitioner.default import murmur2

from feed import END_OF_FEED_HEADER, Post, end_of_feed_ts
from replay.metrics import ReplayMetrics
from replay.producer import FLUSH_REPORT_SECONDS, PostProducer
from replay.runner import UNPACED_BATCH_POSTS, Replay
from replay.schedule import ReplayOptions, plan
from replay.wire import WirePost

T0 = 1244851200.0  # 2009-06-13T00:00:00Z


class StandInFuture:
    def __init__(self) -> None:
        self.is_done = False
        self.exception: BaseException | None = None


class StandInClient:
    """Records each send and leaves its future pending until the test completes it."""

    def __init__(self, partitions: int = 4, fail_on_send: dict[int, BaseException] | None = None) -> None:
        self.partitions = set(range(partitions))
        self.records: list[tuple[bytes | None, int | None, int, bytes]] = []
        self.headers: list[list[tuple[str, bytes]] | None] = []  # per record, in the same order
        self.futures: list[StandInFuture] = []
        self.fail_on_send = fail_on_send or {}  # the n-th call to send raises this (once)
        self.calls = 0

    def partitions_for(self, _topic: str) -> set[int]:
        return self.partitions

    def send(self, _topic, *, value, key, partition, timestamp_ms, headers=None):
        self.calls += 1
        if (error := self.fail_on_send.pop(self.calls, None)) is not None:
            raise error
        self.records.append((key, partition, timestamp_ms, value))
        self.headers.append(headers)
        future = StandInFuture()
        self.futures.append(future)
        return future

    def complete(self, numbers, error: BaseException | None = None) -> None:
        for number in numbers:
            future = self.futures[number]
            future.exception, future.is_done = error, True

    def flush(self, timeout=None) -> None:
        self.complete(n for n, future in enumerate(self.futures) if not future.is_done)

    def close(self, timeout=None) -> None:
        self.flush()


def wire_posts(count: int) -> list[WirePost]:
    return [
        WirePost.from_post(Post(id=f"p{n}", ts=T0 + n, text=f"post {n}", author=f"author{n % 7}"))
        for n in range(count)
    ]


def stand_in_producer(**client_options) -> tuple[PostProducer, StandInClient]:
    client = StandInClient(**client_options)
    return PostProducer("unused:9092", "posts", client=client), client


def test_the_acknowledged_prefix_moves_a_whole_batch_once_every_record_in_it_is_done():
    producer, client = stand_in_producer()
    posts = wire_posts(6)
    producer.send_batch(posts[:3], 10)
    producer.send_batch(posts[3:], 13)
    client.complete([2, 3, 4, 5])  # partitions answer out of order: the first batch is not done yet
    producer.collect()
    assert producer.acked_position is None
    assert producer.counts.acknowledged == 0
    client.complete([0, 1])
    producer.collect()
    assert (producer.acked_position, producer.acked_last_id) == (16, "p5")
    assert (producer.counts.sent, producer.counts.acknowledged, producer.counts.failed) == (6, 6, 0)


def test_a_failed_post_stops_the_acknowledged_prefix_for_good():
    producer, client = stand_in_producer()
    posts = wire_posts(9)
    for start in (0, 3, 6):
        producer.send_batch(posts[start : start + 3], start)
    client.complete([0, 1, 2, 3, 5, 6, 7, 8])
    client.complete([4], RuntimeError("record too large"))
    producer.collect()
    assert (producer.acked_position, producer.acked_last_id) == (4, "p3")
    assert (producer.counts.acknowledged, producer.counts.failed) == (8, 1)
    assert producer.counts.first_error == "post p4: RuntimeError('record too large')"


def test_a_failure_at_the_start_of_a_batch_leaves_the_prefix_where_it_was():
    producer, client = stand_in_producer()
    posts = wire_posts(4)
    producer.send_batch(posts[:2], 0)
    producer.send_batch(posts[2:], 2)
    client.complete([0, 1, 3])
    client.complete([2], RuntimeError("gone"))
    producer.collect()
    assert (producer.acked_position, producer.acked_last_id) == (2, "p1")


def test_a_timeout_from_the_client_is_retried_from_the_post_that_was_not_taken():
    producer, client = stand_in_producer(fail_on_send={3: KafkaTimeoutError("no metadata")})
    posts = wire_posts(5)
    producer.send_batch(posts, 0)
    assert [value for *_, value in client.records] == [post.value for post in posts]
    assert producer.counts.sent == 5


def test_records_carry_key_event_time_and_the_default_partitioners_choice():
    producer, client = stand_in_producer(partitions=3)
    posts = wire_posts(10)
    producer.send_batch(posts, 0)
    for post, (key, partition, timestamp_ms, value) in zip(posts, client.records, strict=True):
        assert key == post.key and value == post.value
        assert timestamp_ms == round(post.ts * 1000)
        assert partition == (murmur2(post.key) & 0x7FFFFFFF) % 3


def replay_of(
    posts: list[WirePost],
    producer: PostProducer,
    *,
    start: int = 0,
    saved: list | None = None,
    end_of_feed_ts: float | None = None,
    metrics: ReplayMetrics | None = None,
):
    slots = plan(lambda: posts, ReplayOptions(speed=None), shift=1.0)
    save = None if saved is None else (lambda position, last_id: saved.append((position, last_id)))
    return Replay(
        slots,
        producer,
        planned=len(posts),
        paced=False,
        start_position=start,
        save_checkpoint=save,
        end_of_feed_ts=end_of_feed_ts,
        metrics=metrics,
    )


def test_an_unpaced_replay_sends_every_post_once_in_order_in_batches():
    producer, client = stand_in_producer()
    posts = wire_posts(2 * UNPACED_BATCH_POSTS + 5)
    saved: list = []
    report = replay_of(posts, producer, saved=saved).run()
    assert [value for *_, value in client.records] == [post.value for post in posts]
    assert report.ok and report.sent == report.acknowledged == len(posts)
    assert saved[-1] == (len(posts), posts[-1].id)


def test_a_resumed_unpaced_replay_starts_after_the_checkpoint():
    producer, client = stand_in_producer()
    posts = wire_posts(300)
    saved: list = []
    report = replay_of(posts, producer, start=120, saved=saved).run()
    assert [value for *_, value in client.records] == [post.value for post in posts[120:]]
    assert report.sent == 180
    assert saved[-1] == (300, "p299")


def test_an_interrupt_mid_batch_keeps_track_of_what_was_handed_over():
    producer, _ = stand_in_producer(fail_on_send={40: KeyboardInterrupt()})
    posts = wire_posts(100)
    saved: list = []
    report = replay_of(posts, producer, saved=saved).run()
    assert report.interrupted and not report.ok
    assert report.sent == report.acknowledged == 39  # flushed on the way out
    assert saved[-1] == (39, "p38")


def broker_away_for(client: StandInClient, flushes: int, error: BaseException | None = None) -> list:
    """The client's flush times out ``flushes`` times (the broker away), then completes everything, or
    raises ``error`` instead (a second Ctrl-C); returns the timeouts each flush was given."""
    original_flush, timeouts = client.flush, []

    def flush(timeout=None):
        timeouts.append(timeout)
        if len(timeouts) <= flushes:
            raise KafkaTimeoutError("Timeout waiting for future")
        if error is not None:
            raise error
        original_flush(timeout)

    client.flush = flush
    return timeouts


def test_the_last_flush_waits_out_a_broker_away_longer_than_a_minute(caplog):
    producer, client = stand_in_producer()
    timeouts = broker_away_for(client, flushes=3)  # 3 x 30 s: longer than the 60 s it used to wait
    saved: list = []
    with caplog.at_level("WARNING", logger="replay.producer"):
        report = replay_of(wire_posts(50), producer, saved=saved).run()
    assert report.ok and report.acknowledged == 50
    assert saved[-1] == (50, "p49")
    assert timeouts == [FLUSH_REPORT_SECONDS] * 4
    assert [r.getMessage() for r in caplog.records] == ["waiting for the broker to acknowledge 50 posts"] * 3


def test_a_flush_with_a_timeout_still_gives_up_after_it():
    producer, client = stand_in_producer()
    timeouts = broker_away_for(client, flushes=100)
    producer.send_batch(wire_posts(3), 0)
    with pytest.raises(KafkaTimeoutError):
        producer.flush(timeout=0)
    assert timeouts == [0.0]


def test_ctrl_c_while_the_last_flush_waits_for_the_broker_stops_waiting_and_keeps_the_checkpoint():
    producer, client = stand_in_producer()
    broker_away_for(client, flushes=1, error=KeyboardInterrupt())
    batch = UNPACED_BATCH_POSTS
    posts = wire_posts(3 * batch)
    saved: list = []
    original_send = client.send

    def send_with_the_first_batch_acknowledged(*args, **kwargs):
        future = original_send(*args, **kwargs)
        future.is_done = client.calls <= batch  # the broker went away after the first batch
        return future

    client.send = send_with_the_first_batch_acknowledged
    report = replay_of(posts, producer, saved=saved).run()
    assert report.interrupted and not report.ok
    assert (report.sent, report.acknowledged) == (3 * batch, batch)
    assert saved[-1] == (batch, f"p{batch - 1}")  # --resume sends the other two batches again


@pytest.mark.parametrize("failed_post", [0, 130, 299])
def test_a_failed_delivery_is_reported_and_the_checkpoint_stays_before_it(failed_post):
    producer, client = stand_in_producer()
    posts = wire_posts(300)
    original_flush = client.flush

    def flush_with_one_failure(timeout=None):
        client.complete([failed_post], RuntimeError("rejected"))
        original_flush(timeout)

    client.flush = flush_with_one_failure
    saved: list = []
    report = replay_of(posts, producer, saved=saved).run()
    assert (report.acknowledged, report.failed) == (299, 1)
    assert not report.ok
    assert report.first_error == f"post p{failed_post}: RuntimeError('rejected')"
    assert all(position <= failed_post for position, _ in saved)
    if failed_post:
        assert saved[-1] == (failed_post, f"p{failed_post - 1}")


# ---------------------------------------------------------------------------------------------------
# The end-of-feed marker.


def markers(client: StandInClient) -> list[tuple[tuple, list | None]]:
    """The records sent that are not posts, with their headers."""
    return [
        (record, headers)
        for record, headers in zip(client.records, client.headers, strict=True)
        if end_of_feed_ts(orjson.loads(record[3])) is not None
    ]


def test_after_the_whole_feed_is_acknowledged_every_partition_gets_one_marker_last():
    producer, client = stand_in_producer(partitions=4)
    posts = wire_posts(UNPACED_BATCH_POSTS + 10)
    last_ts = posts[-1].ts
    metrics = ReplayMetrics()
    report = replay_of(posts, producer, end_of_feed_ts=last_ts, metrics=metrics).run()
    assert report.ok and report.end_markers == 4
    assert [value for *_, value in client.records[: len(posts)]] == [post.value for post in posts]
    sent = client.records[len(posts) :]
    assert [partition for _, partition, _, _ in sent] == [0, 1, 2, 3]  # explicit, each once, after the posts
    for key, _, timestamp_ms, value in sent:
        assert key is None and timestamp_ms == round(last_ts * 1000)
        assert end_of_feed_ts(orjson.loads(value)) == last_ts
    assert client.headers[len(posts) :] == [[(END_OF_FEED_HEADER, b"1")]] * 4
    assert all(headers is None for headers in client.headers[: len(posts)])  # posts carry none
    assert report.sent == report.acknowledged == len(posts)  # markers are not posts
    assert metrics.registry.get_sample_value("replay_end_markers_total") == 4


def test_no_marker_when_turned_off():
    producer, client = stand_in_producer()
    report = replay_of(wire_posts(20), producer, end_of_feed_ts=None).run()
    assert report.ok and report.end_markers == 0 and markers(client) == []


def test_no_marker_after_an_interrupt():
    producer, client = stand_in_producer(fail_on_send={40: KeyboardInterrupt()})
    report = replay_of(wire_posts(100), producer, end_of_feed_ts=T0 + 99).run()
    assert report.interrupted and report.end_markers == 0 and markers(client) == []


def test_no_marker_after_a_failed_post():
    producer, client = stand_in_producer()
    original_flush = client.flush

    def flush_with_one_failure(timeout=None):
        client.complete([7], RuntimeError("rejected"))
        original_flush(timeout)

    client.flush = flush_with_one_failure
    report = replay_of(wire_posts(20), producer, end_of_feed_ts=T0 + 19).run()
    assert report.failed == 1 and not report.ok
    assert markers(client) == []


def test_a_marker_the_broker_refuses_fails_the_replay_but_not_its_posts():
    producer, client = stand_in_producer(partitions=3)
    posts = wire_posts(10)
    original_flush = client.flush

    def refuse_the_second_marker(timeout=None):
        if len(client.futures) > len(posts):
            client.complete([len(posts) + 1], RuntimeError("not leader"))
        original_flush(timeout)

    client.flush = refuse_the_second_marker
    report = replay_of(posts, producer, end_of_feed_ts=T0 + 9).run()
    assert report.acknowledged == len(posts) and report.failed == 0
    assert not report.ok
    assert report.end_marker_error == "the end-of-feed marker for posts[1]: RuntimeError('not leader')"


def test_a_broker_away_while_marking_is_waited_for():
    producer, client = stand_in_producer(partitions=2, fail_on_send={12: KafkaTimeoutError("no metadata")})
    report = replay_of(wire_posts(10), producer, end_of_feed_ts=T0 + 9).run()
    assert report.ok and report.end_markers == 2
    assert [partition for _, partition, _, _ in client.records[10:]] == [0, 1]
