"""How the worker's Kafka clients connect (feed/kafka_security.py), and its check before it starts.

Faust's own clients take :func:`security`'s ``broker_credentials`` (pipeline/stream/app.py); the stages'
aiokafka clients take :func:`client_options`. :func:`check_access` runs before Faust starts: a wrong
password, an untrusted certificate or a missing ACL is then one line naming the user, the topic (or group)
and the operation, and a non-zero exit, instead of a traceback from inside Faust.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from feed.kafka_security import KafkaSecurity, RefusalWatch, is_refusal, refusal
from pipeline.settings import Settings, snapshot_topics

CHECK_SECONDS = 30.0
TOPIC_AUTHORIZATION_FAILED = 29
GROUP_AUTHORIZATION_FAILED = 30


@functools.cache
def security() -> KafkaSecurity:
    """The worker's security settings, from the environment once (ValueError: one line)."""
    return KafkaSecurity.from_env()


def client_options(settings: Settings) -> dict[str, Any]:
    """``bootstrap_servers`` and the security keyword arguments of an aiokafka client."""
    return {"bootstrap_servers": settings.bootstrap, **security().aiokafka()}


def producer_options(settings: Settings) -> dict[str, Any]:
    """:func:`client_options` and how long a producer waits for a broker that is away
    (``BROKER_WAIT_SECONDS``): aiokafka fails a batch whose partition has had no leader that long."""
    return {**client_options(settings), "request_timeout_ms": round(settings.broker_wait_seconds * 1000)}


class WorkerRefused(RuntimeError):
    """The broker refused the worker; ``str()`` is the one line to print."""


def needs(settings: Settings) -> list[tuple[str, str]]:
    """(topic, what the worker does with it); it creates each of them when it is missing."""
    return [
        (settings.posts_topic, "READ"),
        (settings.classified_topic, "WRITE"),
        (settings.dead_letter_topic, "WRITE"),
        (settings.detect_topic, "READ and WRITE"),
        (settings.alerts_topic, "READ and WRITE"),
        *(
            [(snapshot_topics(settings)["single"], "READ and WRITE")]
            if settings.detect_partitions == 1
            else [
                (settings.parts_topic, "READ and WRITE"),
                (snapshot_topics(settings)["shards"], "READ and WRITE"),
                (snapshot_topics(settings)["merge"], "READ and WRITE"),
            ]
        ),
    ]


def groups(settings: Settings) -> list[str]:
    merge = [f"{settings.app_id}-merge"] if settings.detect_partitions > 1 else []
    return [settings.app_id, f"{settings.app_id}-classify", f"{settings.app_id}-detect", *merge]


def check_access(settings: Settings, kafka_security: KafkaSecurity | None = None) -> None:
    """Logs in as the worker's user and asks the broker whether it may create and use the worker's topics
    and groups (CreateTopics with validate_only, FindCoordinator; with SASL_SSL only: a PLAINTEXT listener
    has no logins or ACLs); raises :class:`WorkerRefused` when the broker refuses, or hangs up on a
    PLAINTEXT client (a TLS listener). A broker that is away is left to Faust, which waits for it.

    Runs on a loop of its own, before Faust makes its own."""
    kafka_security = kafka_security or security()
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(asyncio.wait_for(_check(settings, kafka_security), CHECK_SECONDS))
    except TimeoutError:
        raise WorkerRefused(
            f"pipeline: Kafka at {settings.bootstrap} did not answer within {CHECK_SECONDS:g}s"
        ) from None
    finally:
        loop.close()


async def _check(settings: Settings, kafka_security: KafkaSecurity) -> None:
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import KafkaError, for_code

    def refused(exc: BaseException, operation: str, name: str, resource: str = "topic") -> WorkerRefused:
        return WorkerRefused(
            refusal(exc, kafka_security, program="pipeline", operation=operation, topic=name,
                    bootstrap=settings.bootstrap, resource=resource)
        )  # fmt: skip

    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.bootstrap,
        client_id=f"{settings.app_id}-check",
        **kafka_security.aiokafka(),
    )
    with RefusalWatch("aiokafka") as watch:
        try:
            await admin.start()
        except (KafkaError, OSError) as exc:
            await admin.close()
            # aiokafka tries each bootstrap server once: one hang-up decides.
            if watch.decided(kafka_security, hang_ups=1):
                raise refused(watch.explain(exc), "READ", settings.posts_topic) from None
            return  # not a refusal, the broker is away: Faust waits for it as it always has
    try:
        await _check_detect_layout(admin, settings)
    except WorkerRefused:
        await admin.close()
        raise
    except KafkaError:
        pass  # not allowed to describe, or the broker went away: the stages will say so
    if not kafka_security.secure:  # no logins and no ACLs on a PLAINTEXT listener
        await admin.close()
        return
    try:
        wanted = needs(settings)
        response = await admin.create_topics(
            [NewTopic(topic, num_partitions=1, replication_factor=1) for topic, _ in wanted],
            validate_only=True,
        )
        denied = {error[0] for error in response.topic_errors if error[1] == TOPIC_AUTHORIZATION_FAILED}
        for topic, operation in wanted:
            if topic in denied:
                raise refused(for_code(TOPIC_AUTHORIZATION_FAILED)(), f"CREATE and {operation}", topic)
        for group in groups(settings):
            try:
                await admin.find_coordinator(group)
            except KafkaError as exc:  # e.g. no coordinator yet on a new broker: not a refusal
                if getattr(exc, "errno", None) == GROUP_AUTHORIZATION_FAILED:
                    raise refused(exc, "READ", group, "consumer group") from None
    except KafkaError as exc:
        if is_refusal(exc):
            raise refused(exc, "READ", settings.posts_topic) from None
    finally:
        await admin.close()


async def _check_detect_layout(admin: Any, settings: Settings) -> None:
    """Refuses a DETECT_PARTITIONS that differs from the partitions ``posts.detect`` already has: the
    classify stage would write to shards that do not exist, or leave some unread. (All topics are
    described: asking for one by name would create it on a broker that creates topics on demand.)"""
    for topic in await admin.describe_topics():
        name = topic.get("topic", topic.get("name"))
        if name != settings.detect_topic or topic.get("error_code", 0) != 0:
            continue
        found = len(topic["partitions"])
        if found != settings.detect_partitions:
            raise WorkerRefused(
                f"pipeline: {settings.detect_topic} has {found} partition{'s' if found != 1 else ''} but "
                f"DETECT_PARTITIONS={settings.detect_partitions}; set DETECT_PARTITIONS={found}, or change "
                "the layout as README 'Changing DETECT_PARTITIONS' says (stop every worker, delete "
                f"{settings.detect_topic}, {settings.parts_topic} and the detection snapshot topics)"
            )
