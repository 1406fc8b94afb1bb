"""Faust agents: thin loops that decode records and hand them to the pure engine.

``classify`` runs in parallel, one stream per partition of ``posts``; it publishes classified posts
and a compact observation per post to the single-partition ``posts.detect`` topic, tagged with the
source partition. ``detect`` consumes that one partition, so exactly one instance in the worker group
holds the detector; its watermark is the minimum over source partitions, so the alerts depend only on
the posts, never on how partitions interleave or how many workers there are.
"""

from __future__ import annotations

import logging
import time

import faust
import orjson

from feed import FeedError
from pipeline.detect import Detector
from pipeline.engine import DedupedDetector, Engine, observation_from_json, observation_to_json
from pipeline.intake import decode_post, lang_label, platform_label, region_label
from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings

log = logging.getLogger(__name__)

DETECTOR_STATE_KEY = "detector"


def register_agents(app: faust.App, settings: Settings, metrics: PipelineMetrics, engine: Engine) -> None:
    def topic(name: str, partitions: int) -> faust.TopicT:
        # internal=True makes Faust create the topic at start-up when it is missing.
        return app.topic(
            name, internal=True, partitions=partitions, key_serializer="raw", value_serializer="raw"
        )

    posts = topic(settings.posts_topic, settings.posts_partitions)
    classified = topic(settings.classified_topic, settings.posts_partitions)
    detect_input = topic(settings.detect_topic, 1)
    alerts = topic(settings.alerts_topic, 1)
    dead_letters = topic(settings.dead_letter_topic, 1)
    # The detector's snapshot, saved as windows close; its changelog topic is compacted by Faust.
    detector_state = app.Table("detector-state", partitions=1, key_type=str, value_type=str)
    latest_event_time = 0.0

    @app.agent(posts, name="classify")
    async def classify(stream: faust.StreamT) -> None:
        nonlocal latest_event_time
        async for event in stream.events():
            message = event.message
            try:
                post = decode_post(message.value, max_bytes=settings.max_post_bytes)
            except FeedError as error:
                place = f"{message.topic}[{message.partition}]@{message.offset}"
                log.warning("dead-lettering %s: %s", place, error)
                metrics.posts_invalid.labels(error.code).inc()
                await dead_letters.send(
                    key=message.key,
                    value=message.value,
                    headers=[
                        ("error.reason", error.code.encode()),
                        ("error.message", str(error).encode()),
                        ("source.topic", message.topic.encode()),
                        ("source.partition", str(message.partition).encode()),
                        ("source.offset", str(message.offset).encode()),
                    ],
                )
                continue
            result = engine.classify(post)
            await classified.send(key=message.key, value=result.to_json(), timestamp=post.ts)
            await detect_input.send(
                value=observation_to_json(result.observation(message.partition), message.offset),
                timestamp=post.ts,
            )
            label = result.classification
            metrics.posts_consumed.labels(platform_label(post.platform), region_label(post.region)).inc()
            for category in label.categories:
                metrics.posts_by_category.labels(category).inc()
            metrics.posts_by_priority.labels(label.priority).inc()
            metrics.posts_by_lang.labels(lang_label(label.lang)).inc()
            if message.time_in is not None:
                # Faust's monitor stamps time_in with the monotonic clock on arrival.
                metrics.processing_latency.observe(time.monotonic() - message.time_in)
            if post.ts > latest_event_time:
                latest_event_time = post.ts
                metrics.event_time.set(post.ts)

    @app.agent(detect_input, name="detect")
    async def detect(stream: faust.StreamT) -> None:
        # Acks are held until a snapshot containing the records is saved, so the committed offset
        # never runs ahead of the saved state: a restart resumes exactly where the snapshot stands.
        state: DedupedDetector | None = None
        pending: list[faust.EventT] = []
        late_reported = 0
        async for event in stream.noack().events():
            offset = event.message.offset
            if state is None or offset > state.input_offset + 1:
                # The first record, or records this worker did not see (another worker held the
                # partition for a while): start from the saved snapshot, which Faust has recovered
                # from the table's changelog by the time records flow.
                state = _restore(detector_state, engine.detector)
                late_reported = state.detector.late_posts
                pending.clear()
                if offset > state.input_offset + 1 and state.input_offset >= 0:
                    log.error(
                        "detect records %d..%d are missing from the detector",
                        state.input_offset + 1,
                        offset - 1,
                    )
            if offset <= state.input_offset:
                event.ack()  # already folded into the restored snapshot
                continue
            detector = state.detector
            watermark_before = detector.watermark
            observation, source_offset = observation_from_json(event.value)
            for alert in state.push(observation, source_offset, offset):
                record = alert.to_record()
                log.warning("alert %s", record)
                metrics.alerts.labels(alert.type).inc()
                await alerts.send(key=alert.key.encode(), value=orjson.dumps(record))
            pending.append(event)
            if detector.late_posts > late_reported:
                metrics.late_posts.inc(detector.late_posts - late_reported)
                late_reported = detector.late_posts
            if detector.watermark is not None and detector.watermark != watermark_before:
                _export_detector_state(detector, metrics)
                if _window_closed(detector, watermark_before):
                    detector_state[DETECTOR_STATE_KEY] = orjson.dumps(state.snapshot()).decode()
                    for held in pending:
                        held.ack()
                    pending.clear()


def _restore(table: faust.Table, template: Detector) -> DedupedDetector:
    saved = table.get(DETECTOR_STATE_KEY)
    if saved is None:
        return DedupedDetector(Detector(template.config))  # never reuse a detector that saw records
    state = DedupedDetector.restore(orjson.loads(saved), template.config)
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
