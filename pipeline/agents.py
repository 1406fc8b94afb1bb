"""Faust agents: thin loops that decode records and hand posts to the pure engine."""

from __future__ import annotations

import logging
import time

import faust

from feed import FeedError
from pipeline.engine import Engine
from pipeline.intake import decode_post, lang_label, platform_label, region_label
from pipeline.metrics import PipelineMetrics
from pipeline.settings import Settings

log = logging.getLogger(__name__)


def register_agents(app: faust.App, settings: Settings, metrics: PipelineMetrics, engine: Engine) -> None:
    # internal=True makes Faust create the topics at start-up when they are missing.
    posts = app.topic(
        settings.posts_topic,
        internal=True,
        partitions=settings.posts_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
    classified = app.topic(
        settings.classified_topic,
        internal=True,
        partitions=settings.posts_partitions,
        key_serializer="raw",
        value_serializer="raw",
    )
    dead_letters = app.topic(
        settings.dead_letter_topic,
        internal=True,
        partitions=1,
        key_serializer="raw",
        value_serializer="raw",
    )
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
