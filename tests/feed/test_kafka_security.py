"""feed/kafka_security.py: the environment → one client's security settings, and refusals in one line."""

from __future__ import annotations

import logging
import ssl
from pathlib import Path

import pytest

from feed.kafka_security import KafkaSecurity, RefusalWatch, is_refusal, read_password, refusal


@pytest.fixture
def secrets(tmp_path) -> Path:
    (tmp_path / "worker.password").write_text("s3cret-pw\n")
    (tmp_path / "ca.pem").write_text("not read until a TLS context is made\n")
    return tmp_path


def secure_env(secrets: Path, **extra: str) -> dict[str, str]:
    return {
        "KAFKA_SECURITY": "sasl_ssl",
        "KAFKA_USERNAME": "worker",
        "KAFKA_PASSWORD_FILE": str(secrets / "worker.password"),
        "KAFKA_CA": str(secrets / "ca.pem"),
        **extra,
    }


def test_the_default_is_plaintext_and_adds_nothing():
    security = KafkaSecurity.from_env({})
    assert security == KafkaSecurity()
    assert not security.secure
    assert security.kafka_python() == {}
    assert security.aiokafka() == {}
    assert security.faust_credentials() is None
    assert security.who == "no user (PLAINTEXT)"


def test_sasl_ssl_from_the_environment(secrets):
    security = KafkaSecurity.from_env(secure_env(secrets, KAFKA_SECURITY="SASL_SSL"))
    assert security.secure
    assert security.username == "worker"
    assert security.password == "s3cret-pw"  # without the file's line end
    assert security.ca == secrets / "ca.pem"
    assert security.who == "user worker (SASL_SSL)"
    assert "s3cret" not in repr(security)


def test_kafka_python_options(secrets):
    options = KafkaSecurity.from_env(secure_env(secrets)).kafka_python()
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "worker",
        "sasl_plain_password": "s3cret-pw",
        "ssl_cafile": str(secrets / "ca.pem"),
        "ssl_check_hostname": True,
    }


def test_aiokafka_options_and_faust_credentials_share_a_verifying_context(monkeypatch):
    contexts = []

    def fake_context(*, cafile=None):
        context = ssl.create_default_context()
        contexts.append(cafile)
        return context

    monkeypatch.setattr("aiokafka.helpers.create_ssl_context", fake_context)
    security = KafkaSecurity("sasl_ssl", "worker", "pw", Path("/etc/ca.pem"))
    options = security.aiokafka()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("worker", "pw")
    assert options["ssl_context"].verify_mode == ssl.CERT_REQUIRED
    assert options["ssl_context"].check_hostname

    from faust.transport.drivers.aiokafka import credentials_to_aiokafka_auth

    auth = credentials_to_aiokafka_auth(security.faust_credentials())
    assert auth["security_protocol"] == "SASL_SSL"
    assert auth["sasl_mechanism"] == "SCRAM-SHA-512"
    assert auth["sasl_plain_username"] == "worker"
    assert contexts == ["/etc/ca.pem", "/etc/ca.pem"]


def test_without_a_ca_the_system_cas_are_used():
    security = KafkaSecurity.from_env(
        {"KAFKA_SECURITY": "sasl_ssl", "KAFKA_USERNAME": "u", "KAFKA_PASSWORD": "p"}
    )
    assert security.ca is None
    assert security.kafka_python()["ssl_cafile"] is None
    assert security.ssl_context().verify_mode == ssl.CERT_REQUIRED


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KAFKA_SECURITY": "ssl"}, "KAFKA_SECURITY='ssl' is not one of plaintext, sasl_ssl"),
        (
            {"KAFKA_SECURITY": "sasl_ssl", "KAFKA_PASSWORD": "p"},
            "KAFKA_SECURITY=sasl_ssl needs KAFKA_USERNAME",
        ),
        (
            {"KAFKA_SECURITY": "sasl_ssl", "KAFKA_USERNAME": "u"},
            "needs the password of u: KAFKA_PASSWORD_FILE",
        ),
        ({"KAFKA_USERNAME": "u"}, "KAFKA_USERNAME set, but KAFKA_SECURITY is plaintext"),
        ({"KAFKA_PASSWORD": "p", "KAFKA_USERNAME": "u"}, "KAFKA_USERNAME and KAFKA_PASSWORD set, but"),
        (
            {
                "KAFKA_SECURITY": "sasl_ssl",
                "KAFKA_USERNAME": "u",
                "KAFKA_PASSWORD": "p",
                "KAFKA_PASSWORD_FILE": "f",
            },
            "set KAFKA_PASSWORD or KAFKA_PASSWORD_FILE, not both",
        ),
        (
            {"KAFKA_SECURITY": "sasl_ssl", "KAFKA_USERNAME": "u", "KAFKA_PASSWORD_FILE": "/no/such/file"},
            "KAFKA_PASSWORD_FILE=/no/such/file: cannot read it (No such file or directory)",
        ),
        (
            {
                "KAFKA_SECURITY": "sasl_ssl",
                "KAFKA_USERNAME": "u",
                "KAFKA_PASSWORD": "p",
                "KAFKA_CA": "/no/ca.pem",
            },
            "KAFKA_CA=/no/ca.pem: no such file",
        ),
    ],
)
def test_misconfigurations_are_one_line_naming_the_variable(env, message):
    with pytest.raises(ValueError) as raised:
        KafkaSecurity.from_env(env)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_an_empty_password_file_is_refused(tmp_path):
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(ValueError, match="is empty"):
        read_password(empty)


# Stand-ins named as kafka-python and aiokafka name their errors: the mapping goes by name, so it needs
# neither library.
class KafkaError(Exception):
    pass


class SaslAuthenticationFailedError(KafkaError):
    pass


class TopicAuthorizationFailedError(KafkaError):
    pass


class GroupAuthorizationFailedError(KafkaError):
    pass


class KafkaConnectionError(KafkaError):
    pass


SECURE = KafkaSecurity("sasl_ssl", "replay", "pw", Path("/s/ca.pem"))


@pytest.mark.parametrize(
    ("error", "security", "reason"),
    [
        (
            SaslAuthenticationFailedError("invalid credentials"),
            SECURE,
            "authentication failed (SCRAM-SHA-512)",
        ),
        (TopicAuthorizationFailedError("alerts"), SECURE, "not authorized on the topic (ACL)"),
        (GroupAuthorizationFailedError("g"), SECURE, "not authorized on its consumer group (ACL)"),
        (
            KafkaConnectionError(
                "Handshake failed: [SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"
            ),
            SECURE,
            "the broker's TLS certificate is not trusted by KAFKA_CA=/s/ca.pem",
        ),
        (KafkaConnectionError("socket disconnected"), KafkaSecurity(), "did not answer a PLAINTEXT client"),
    ],
)
def test_refusals_are_one_line_with_user_topic_and_operation(error, security, reason):
    line = refusal(error, security, program="replay", operation="WRITE", topic="alerts", bootstrap="h:1")
    assert line.startswith(f"replay: cannot WRITE topic alerts as {security.who} at h:1: ")
    assert reason in line
    assert "\n" not in line


def test_a_refusal_behind_a_cause_is_found():
    try:
        try:
            raise SaslAuthenticationFailedError("bad login")
        except KafkaError as inner:
            raise KafkaConnectionError("Unable to bootstrap") from inner
    except KafkaError as outer:
        assert is_refusal(outer)
    assert not is_refusal(KafkaConnectionError("Connection refused"))


def test_the_watch_keeps_library_logs_off_stderr_and_finds_the_refusal(capsys):
    logger = logging.getLogger("fake_kafka.net")
    with RefusalWatch("fake_kafka") as watch:
        logger.error("Connection lost: %s", KafkaConnectionError("socket disconnected"))
        logger.warning("Bootstrap failed: %s", SaslAuthenticationFailedError("invalid credentials"))
    assert capsys.readouterr().err == ""
    assert isinstance(watch.refusal(), SaslAuthenticationFailedError)
    assert watch.decided(SECURE)
    assert isinstance(watch.explain(KafkaError("Unable to bootstrap")), SaslAuthenticationFailedError)
    assert logging.getLogger("fake_kafka").propagate  # restored


def test_the_watch_decides_on_a_plaintext_client_hung_up_on():
    plaintext = KafkaSecurity()
    with RefusalWatch("fake_kafka") as watch:
        for _ in range(3):
            logging.getLogger("fake_kafka").error("lost: %s", KafkaConnectionError("socket disconnected"))
    assert watch.refusal() is None
    assert watch.decided(plaintext)
    assert not watch.decided(SECURE)  # a secure client waits for a refusal or its timeout
