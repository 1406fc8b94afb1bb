"""The secure broker (KAFKA_SECURITY=sasl_ssl deploy/kafka/kafka.sh start): TLS, SCRAM-SHA-512 users and
ACLs, on a broker of its own (own ports, own data directory), stopped at the end.

A client without credentials, a wrong password, an untrusted certificate, a user without the ACL: each is
refused, and each refusal is one line naming the user, the topic (or group) and the operation, with a
non-zero exit and no traceback. And the whole stack under SASL_SSL (the replayer as replay, a worker as
worker, the alerts read as viewer) raises exactly `python -m pipeline analyze`'s alerts.

The ACLs are made for this test's topic names (kafka.sh reads POSTS_TOPIC ... PIPELINE_APP_ID), the names
tests/integration/conftest.py's start_worker gives a worker called NAME.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from feed.kafka_security import KafkaSecurity
from tests.integration.conftest import Scenario, build_scenario, start_worker
from tests.support import free_port, kafka_env, kafka_sh, python_module, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

NAME = "sec"
TOPICS = {
    "POSTS_TOPIC": f"{NAME}.posts",
    "CLASSIFIED_TOPIC": f"{NAME}.classified",
    "DETECT_TOPIC": f"{NAME}.detect",
    "ALERTS_TOPIC": f"{NAME}.alerts",
    "DEAD_LETTER_TOPIC": f"{NAME}.dead-letter",
    "PIPELINE_APP_ID": f"{NAME}-app",
}
SECURITY_VARIABLES = ("KAFKA_SECURITY", "KAFKA_USERNAME", "KAFKA_PASSWORD", "KAFKA_PASSWORD_FILE", "KAFKA_CA")
HOURS = 2  # about 12,000 posts of the iran2009 scenario: warm-up, filtering and surges


@dataclass(frozen=True)
class SecureBroker:
    bootstrap: str
    secrets: Path

    def env(self, user: str | None, **extra: str) -> dict[str, str]:
        """The environment of a client logging in as ``user`` (None: a PLAINTEXT client)."""
        env = {key: value for key, value in os.environ.items() if key not in SECURITY_VARIABLES}
        env.pop("POSTS_TOPIC", None)
        if user is not None:
            env.update(
                KAFKA_SECURITY="sasl_ssl",
                KAFKA_USERNAME=user,
                KAFKA_PASSWORD_FILE=str(self.secrets / f"{user}.password"),
                KAFKA_CA=str(self.secrets / "ca.pem"),
            )
        return {**env, **extra}

    def security(self, user: str) -> KafkaSecurity:
        return KafkaSecurity.from_env(self.env(user))


@pytest.fixture(scope="module")
def broker(tmp_path_factory) -> Iterator[SecureBroker]:
    data = tmp_path_factory.mktemp("secure-kafka")
    env = {**kafka_env(data, free_port(), free_port()), **TOPICS, "KAFKA_SECURITY": "sasl_ssl"}
    started = kafka_sh("start", env)
    try:
        assert started.returncode == 0, f"kafka.sh start failed:\n{started.stderr}"
        lines = dict(line.split("=", 1) for line in started.stdout.strip().splitlines())
        assert lines["KAFKA_SECURITY"] == "sasl_ssl"
        secrets = Path(lines["KAFKA_SECRETS"])
        assert lines["KAFKA_CA"] == str(secrets / "ca.pem")
        yield SecureBroker(started.stdout.strip().splitlines()[-1].split("=", 1)[1], secrets)
    finally:
        stopped = kafka_sh("stop", env)
        assert stopped.returncode == 0, stopped.stderr


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("secure-scenario"), HOURS)


def replay(broker: SecureBroker, env: dict[str, str], feed: Path | None, state: Path, *, topic: str):
    return subprocess.run(
        python_module("replay", "send", *([str(feed)] if feed else []), "--bootstrap", broker.bootstrap,
                      "--topic", topic, "--partitions", "2", "--speed", "max", "--quiet",
                      "--state", str(state)),
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    """The refusal: a non-zero exit and exactly one line on stderr, no traceback."""
    assert result.returncode not in (0, None), result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_the_secrets_are_private(broker):
    assert broker.secrets.stat().st_mode & 0o777 == 0o700
    for user in ("replay", "worker", "viewer", "admin"):
        assert (broker.secrets / f"{user}.password").stat().st_mode & 0o777 == 0o600
    assert (broker.secrets.parent / "server.properties").stat().st_mode & 0o777 == 0o600


def test_a_client_without_credentials_is_refused(broker, tmp_path):
    line = one_line(replay(broker, broker.env(None), None, tmp_path, topic=TOPICS["POSTS_TOPIC"]))
    assert line.startswith(
        f"replay: cannot WRITE topic {TOPICS['POSTS_TOPIC']} as no user (PLAINTEXT) at {broker.bootstrap}: "
        "the broker did not answer a PLAINTEXT client"
    ), line


def test_a_wrong_password_is_refused(broker, tmp_path):
    env = broker.env("replay", KAFKA_PASSWORD="not-the-password")
    del env["KAFKA_PASSWORD_FILE"]
    line = one_line(replay(broker, env, None, tmp_path, topic=TOPICS["POSTS_TOPIC"]))
    assert line == (
        f"replay: cannot WRITE topic {TOPICS['POSTS_TOPIC']} as user replay (SASL_SSL) at "
        f"{broker.bootstrap}: authentication failed (SCRAM-SHA-512): a wrong password for replay?"
    )


def test_a_client_without_the_ca_does_not_trust_the_broker(broker, tmp_path):
    env = broker.env("replay")
    del env["KAFKA_CA"]
    line = one_line(replay(broker, env, None, tmp_path, topic=TOPICS["POSTS_TOPIC"]))
    assert line.endswith(
        "the broker's TLS certificate is not trusted by the system's CAs (KAFKA_CA is not set)"
    )
    assert "as user replay (SASL_SSL)" in line


def test_replay_may_not_write_the_alerts(broker, tmp_path):
    line = one_line(replay(broker, broker.env("replay"), None, tmp_path, topic=TOPICS["ALERTS_TOPIC"]))
    assert line == (
        f"replay: cannot WRITE topic {TOPICS['ALERTS_TOPIC']} as user replay (SASL_SSL) at "
        f"{broker.bootstrap}: not authorized on the topic (ACL)"
    )


def test_a_worker_as_viewer_is_refused(broker, tmp_path):
    result = subprocess.run(
        python_module("pipeline", "worker", "--bootstrap", broker.bootstrap, "--topic", TOPICS["POSTS_TOPIC"],
                      "--app-id", TOPICS["PIPELINE_APP_ID"], "--metrics-port", "0",
                      "--data-dir", str(tmp_path / "faust")),
        env=broker.env("viewer", **TOPICS), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    line = one_line(result)
    assert line == (
        f"pipeline: cannot CREATE and READ topic {TOPICS['POSTS_TOPIC']} as user viewer (SASL_SSL) at "
        f"{broker.bootstrap}: not authorized on the topic (ACL)"
    )


def read_alerts(broker: SecureBroker, topic: str) -> list[dict]:
    """Every record of the alerts topic now, read as viewer (no consumer group)."""
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        enable_auto_commit=False,
        **broker.security("viewer").kafka_python(),
    )
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        records: list = []
        while consumer.position(tp) < end:
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return [orjson.loads(record.value) for record in records]
    finally:
        consumer.close()


def canonical(alerts: list[dict]) -> list[bytes]:
    return sorted(orjson.dumps(alert, option=orjson.OPT_SORT_KEYS) for alert in alerts)


def test_the_stack_under_sasl_ssl_raises_analyzes_alerts(broker, scenario, tmp_path, monkeypatch):
    for key, value in broker.env("worker", **TOPICS).items():
        if key in SECURITY_VARIABLES:
            monkeypatch.setenv(key, value)  # start_worker passes its own environment on
    worker = start_worker(broker.bootstrap, NAME, tmp_path, partitions=2)
    try:
        sent = replay(broker, broker.env("replay"), scenario.feed, tmp_path / "replay", topic=worker.topic)
        assert sent.returncode == 0, sent.stderr

        def caught_up() -> bool:
            metrics = worker.metrics()
            return (
                metrics.get("pipeline_posts_consumed_total", 0) >= scenario.posts
                and metrics.get("pipeline_watermark_seconds", 0) >= scenario.final_watermark
            )

        wait_until(caught_up, timeout=180, interval=0.5, what="the worker to process the feed under SASL_SSL")
        wait_until(
            lambda: len(read_alerts(broker, worker.alerts_topic)) >= len(scenario.alerts),
            timeout=60,
            what="the alerts to land",
        )
        streamed = read_alerts(broker, worker.alerts_topic)
        assert scenario.alerts
        assert canonical(streamed) == canonical(scenario.alerts)
        # viewer reads alerts and posts.classified, and nothing else
        with pytest.raises(Exception, match="TopicAuthorizationFailed"):
            read_alerts(broker, worker.topic)
    finally:
        assert worker.stop(timeout=60) == 0
