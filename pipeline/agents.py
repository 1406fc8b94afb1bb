"""Faust agents: thin loops that decode records and hand them to the pure engine.

The classify stage (:mod:`pipeline.classify_service`) publishes, per batch and source partition of
``posts``, one record of compact observations to the single-partition ``posts.detect`` topic.
``detect`` consumes that one partition, so exactly one instance in the worker group holds the detector;
its watermark is the minimum over source partitions, so the alerts depend only on the posts, never on
how partitions interleave, how records were batched or how many workers there are. A detector restored
after a crash or a rebalance raises again the alerts after its snapshot; those already on the alerts topic
(found by the headers of its last record) are not sent again.

``probe_health`` asks the broker for end offsets every few seconds: consumer lag, stalls, /health.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable
from typing import NamedTuple

import faust
import orjson
from aiokafka import AIOKafkaConsumer, TopicPartition
from prometheus_client import Gauge

from pipeline.classify_service import ClassifyService
from pipeline.detect import Detector
from pipeline.engine import DedupedDetector, Engine, observations_from_json
from pipeline.health import HealthMonitor, HealthReport, PartitionOffsets
from pipeline.intake import region_label
from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings

log = logging.getLogger(__name__)

DETECTOR_STATE_KEY = "detector"
OFFSET_HEADER = "detect.offset"
INDEX_HEADER = "detect.index"


def register_agents(
    app: faust.App,
    settings: Settings,
    metrics: PipelineMetrics,
    engine: Engine,
    health: HealthMonitor,
    classify_stage: ClassifyService,
    topics: dict[str, faust.TopicT],
) -> None:
    detect_input = topics["detect"]
    alerts = topics["alerts"]
    # The detector's snapshot, saved as windows close; its changelog topic is compacted by Faust.
    # bytes, so Faust stores the snapshot raw: its JSON codec would encode the JSON again, escaping it.
    detector_state = app.Table("detector-state", partitions=1, key_type=str, value_type=bytes)

    @app.agent(detect_input, name="detect")
    async def detect(stream: faust.StreamT) -> None:
        # Acks are held until a snapshot containing the records is saved, so the committed offset
        # never runs ahead of the saved state: a restart resumes exactly where the snapshot stands.
        state: DedupedDetector | None = None
        pending: list[faust.EventT] = []
        counted = (0, 0, 0)  # late posts, redelivered, repeated ids already in the metrics
        last_snapshot = -float("inf")
        # The (detect offset, index) of the last alert on the alerts topic: a restored detector raises
        # again the alerts of the records between its snapshot and that point, and those are not sent.
        published: AlertPosition | None = None

        async def fold(offset: int, value: bytes) -> None:
            try:
                rows = observations_from_json(value)
            except (ValueError, KeyError, TypeError) as exc:
                # Not written by this version's classify stage (an older format, or junk): counted and
                # skipped, never a crash of the one agent that holds the detector.
                log.error("skipping %s[0]@%d: not a detect record (%r)", settings.detect_topic, offset, exc)
                metrics.posts_invalid.labels("bad_detect_record").inc()
                rows = []
            index = 0
            for source_offset, post_id, observation in rows:
                for alert in state.push(observation, source_offset, offset, post_id):
                    position = AlertPosition(offset, index)
                    index += 1
                    if published is not None and position <= published:
                        metrics.duplicates.labels("alert").inc()
                        continue
                    record = alert.to_record()
                    log.warning("alert %s", record)
                    metrics.alerts.labels(alert.type).inc()
                    await alerts.send(
                        key=alert.key.encode(), value=orjson.dumps(record), headers=position.headers()
                    )
            state.input_offset = offset  # also when every row was a repeat

        async for event in stream.noack().events():
            offset = event.message.offset
            if state is None or offset > state.input_offset + 1:
                # The first record, or records this worker did not see (another worker held the
                # partition for a while): start from the saved snapshot, which Faust has recovered
                # from the table's changelog by the time records flow.
                state = _restore(detector_state, engine)
                await app.producer.flush()  # this worker's own alerts in flight are on the topic, too
                published = await _last_alert_position(settings)
                counted = (state.detector.late_posts, state.redelivered, state.repeated_ids)
                # Records held for a state now thrown away: acknowledge them, or Faust would never commit
                # past them. Should the committed offset get ahead of the saved snapshot, the records in
                # between are read back from the topic after a restart (below).
                for held in pending:
                    held.ack()
                pending.clear()
                if offset > state.input_offset + 1:
                    # The stream starts past the snapshot (after a SIGKILL the committed offset can be
                    # ahead of the last snapshot that reached the changelog): read the records in
                    # between from the topic, so the detector still sees every record once, in order.
                    missing = await _read_detect_records(settings, state.input_offset + 1, offset)
                    for missed_offset, value in missing:
                        await fold(missed_offset, value)
                    if state.input_offset + 1 < offset:
                        log.error(
                            "detect records %d..%d are gone from %s; the detector goes on without them",
                            state.input_offset + 1,
                            offset - 1,
                            settings.detect_topic,
                        )
                    else:
                        log.warning(
                            "detect records %d..%d read again after a restore", missing[0][0], offset - 1
                        )
            if offset <= state.input_offset:
                event.ack()  # already folded into the restored snapshot
                continue
            detector = state.detector
            watermark_before = detector.watermark
            await fold(offset, event.value)
            pending.append(event)
            now_counted = (detector.late_posts, state.redelivered, state.repeated_ids)
            if now_counted != counted:
                metrics.late_posts.inc(now_counted[0] - counted[0])
                metrics.duplicates.labels("redelivered").inc(now_counted[1] - counted[1])
                metrics.duplicates.labels("repeated_id").inc(now_counted[2] - counted[2])
                counted = now_counted
            if detector.watermark is not None and detector.watermark != watermark_before:
                _export_detector_state(detector, metrics)
                # A snapshot costs milliseconds, so at replay speed (windows closing every few ms) it
                # is taken at most every SNAPSHOT_SECONDS; where it is taken never changes the alerts.
                due = time.monotonic() - last_snapshot >= settings.snapshot_seconds
                if _window_closed(detector, watermark_before) and due:
                    last_snapshot = time.monotonic()
                    detector_state[DETECTOR_STATE_KEY] = orjson.dumps(state.snapshot())
                    for held in pending:
                        held.ack()
                    pending.clear()

    @app.timer(interval=settings.health_interval)
    async def probe_health() -> None:
        await _probe(app, settings, classify_stage, metrics, health)


class AlertPosition(NamedTuple):
    """Where an alert comes from: the detect record that raised it and its index among that record's
    alerts. Detection is deterministic, so a restored detector raises the same alerts at the same places."""

    offset: int
    index: int

    def headers(self) -> list[tuple[str, bytes]]:
        return [(OFFSET_HEADER, str(self.offset).encode()), (INDEX_HEADER, str(self.index).encode())]

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]]) -> AlertPosition | None:
        found = dict(headers)
        try:
            return cls(int(found[OFFSET_HEADER]), int(found[INDEX_HEADER]))
        except (KeyError, ValueError):
            return None  # written by an older version: nothing to compare with


async def _last_alert_position(settings: Settings) -> AlertPosition | None:
    """The position in the headers of the last record of the (single-partition) alerts topic."""
    tp = TopicPartition(settings.alerts_topic, 0)
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign([tp])
        end = (await consumer.end_offsets([tp]))[tp]
        if end == 0:
            return None
        consumer.seek(tp, end - 1)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            records = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
            if records:
                position = AlertPosition.from_headers(records[-1].headers)
                log.warning("alerts up to %s are on %s already", position, settings.alerts_topic)
                return position
    finally:
        await consumer.stop()
    raise RuntimeError(f"could not read the last record of {settings.alerts_topic}")


async def _read_detect_records(settings: Settings, start: int, end: int) -> list[tuple[int, bytes]]:
    """Records [start, end) of the detect topic, read with a consumer of no group."""
    tp = TopicPartition(settings.detect_topic, 0)
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.bootstrap, enable_auto_commit=False, max_partition_fetch_bytes=8 << 20
    )
    await consumer.start()
    records: list[tuple[int, bytes]] = []
    try:
        consumer.assign([tp])
        consumer.seek(tp, start)
        deadline = time.monotonic() + 60
        while await consumer.position(tp) < end and time.monotonic() < deadline:
            fetched = await consumer.getmany(tp, timeout_ms=1000)
            records += [(r.offset, r.value) for r in fetched.get(tp, []) if r.offset < end]
    finally:
        await consumer.stop()
    return records


def _restore(table: faust.Table, engine: Engine) -> DedupedDetector:
    saved = table.get(DETECTOR_STATE_KEY)
    if saved is None:
        return engine.fresh_detection()  # never reuse a detector that saw records
    snapshot = orjson.loads(saved)
    if isinstance(snapshot, str):  # saved by an earlier version, as a JSON string holding the JSON
        snapshot = orjson.loads(snapshot)
    state = DedupedDetector.restore(snapshot, engine.detector.config)
    log.warning("detector restored from its snapshot at detect-topic offset %d", state.input_offset)
    return state


def _window_closed(detector: Detector, watermark_before: float | None) -> bool:
    if watermark_before is None:
        return True
    window = detector.config.window_seconds
    return detector.watermark // window != watermark_before // window


def _export_detector_state(detector: Detector, metrics: PipelineMetrics) -> None:
    metrics.watermark.set(detector.watermark)
    metrics.watermark_lag.set(time.time() - detector.watermark)
    for status in detector.watch_status():
        region = region_label(status.region)
        metrics.watch_observed.labels(status.term, region).set(status.observed)
        metrics.watch_expected.labels(status.term, region).set(status.expected)
        metrics.watch_suspicion.labels(status.term, region).set(status.suspicion)
    for region, down in detector.outages().items():
        metrics.outage.labels(region_label(region)).set(1 if down else 0)
    window = detector.window_status()
    if window is not None:
        for region, count in window.volume.items():
            metrics.window_posts.labels(region_label(region)).set(count)
        for region, expected in window.expected_volume.items():
            metrics.window_expected_posts.labels(region_label(region)).set(expected)
        for key, (observed, expected) in window.surge.items():
            metrics.surge_observed.labels(key).set(observed)
            metrics.surge_expected.labels(key).set(expected)
    episodes = Counter(episode["type"] for episode in detector.active_episodes())
    for kind in ("filtering", "outage", "surge"):
        metrics.active_episodes.labels(kind).set(episodes[kind])


async def _probe(
    app: faust.App,
    settings: Settings,
    classify_stage: ClassifyService,
    metrics: PipelineMetrics,
    health: HealthMonitor,
) -> None:
    """Asks the broker for the end offsets of every assigned partition: lag, stalls and health."""
    timeout = max(settings.health_interval, 5.0)
    # Only the topics agents read: Faust's consumer also holds the table's changelog partitions, which
    # it reads during recovery only, so their position never moves (they would look stalled).
    agent_topics = {settings.detect_topic}
    assignment = sorted(tp for tp in app.consumer.assignment() if tp.topic in agent_topics)
    error = None
    try:
        ends = await asyncio.wait_for(app.consumer.highwaters(*assignment), timeout) if assignment else {}
        offsets = await asyncio.wait_for(classify_stage.offsets(), timeout)
        connected = True
    except Exception as exc:  # any failure to reach the broker is the answer itself
        ends, offsets, connected, error = {}, {}, False, f"{type(exc).__name__}: {exc}"
    committed = app.monitor.tp_committed_offsets
    read = app.monitor.tp_read_offsets
    for tp in assignment:
        offsets[tp.topic, tp.partition] = PartitionOffsets(ends.get(tp), committed.get(tp), read.get(tp))
    report = health.observe(time.monotonic(), offsets, broker_connected=connected, error=error)
    _export_health(report, metrics)


def _export_health(report: HealthReport, metrics: PipelineMetrics) -> None:
    metrics.broker_connected.set(1 if report.broker_connected else 0)
    metrics.healthy.set(1 if report.healthy(report.checked_at, max_age=float("inf")) else 0)
    per_topic: Counter[str] = Counter()
    exported = set()
    for partition in report.partitions:
        labels = (partition.topic, str(partition.partition))
        exported.add(labels)
        per_topic[partition.topic] += 1
        if partition.end is not None:
            metrics.consumer_end_offset.labels(*labels).set(partition.end)
        if partition.committed is not None:
            metrics.consumer_committed_offset.labels(*labels).set(partition.committed)
        if partition.lag is not None:
            metrics.consumer_lag.labels(*labels).set(partition.lag)
        metrics.consumer_stalled.labels(*labels).set(1 if partition.stalled else 0)
    for gauge in (
        metrics.consumer_end_offset,
        metrics.consumer_committed_offset,
        metrics.consumer_lag,
        metrics.consumer_stalled,
    ):
        # Partitions moved to another worker stop being this worker's series.
        for labels in [labels for labels in _label_sets(gauge) if labels not in exported]:
            gauge.remove(*labels)
    for topic_name in {labels[0] for labels in _label_sets(metrics.assigned_partitions)} | set(per_topic):
        metrics.assigned_partitions.labels(topic_name).set(per_topic[topic_name])


def _label_sets(gauge: Gauge) -> list[tuple[str, ...]]:
    return [tuple(sample.labels.values()) for metric in gauge.collect() for sample in metric.samples]
