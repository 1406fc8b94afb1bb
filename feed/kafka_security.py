"""How every Kafka client of the project connects: PLAINTEXT, or SASL_SSL with SCRAM-SHA-512.

One place for the replayer (kafka-python), the worker (Faust and aiokafka), the bench and the tests.
Pure: parsing the environment needs no Kafka library; the methods that build a client's TLS context import
``ssl`` (and aiokafka's helper) only when called.

Environment:
  KAFKA_SECURITY       plaintext (default) or sasl_ssl
  KAFKA_USERNAME       the SCRAM user (sasl_ssl)
  KAFKA_PASSWORD       its password, or
  KAFKA_PASSWORD_FILE  a file holding it (what deploy/kafka/kafka.sh and `make secrets` write)
  KAFKA_CA             the PEM file of the CA that signed the broker's certificate (sasl_ssl; without it
                       the system's trusted CAs are used)

Credentials are never sent in the clear: a user, a password or a CA with KAFKA_SECURITY=plaintext is an
error, not ignored. :func:`refusal` turns the errors both Kafka libraries raise when the broker refuses a
client into one line naming the user, the topic and the operation.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PLAINTEXT = "plaintext"
SASL_SSL = "sasl_ssl"
PROTOCOLS = (PLAINTEXT, SASL_SSL)
MECHANISM = "SCRAM-SHA-512"

ENVIRONMENT = {
    "protocol": "KAFKA_SECURITY",
    "username": "KAFKA_USERNAME",
    "password": "KAFKA_PASSWORD",
    "password_file": "KAFKA_PASSWORD_FILE",
    "ca": "KAFKA_CA",
}


@dataclass(frozen=True)
class KafkaSecurity:
    """The security settings of one client. ``KafkaSecurity()`` is PLAINTEXT."""

    protocol: str = PLAINTEXT
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca: Path | None = None

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"KAFKA_SECURITY={self.protocol!r} is not one of {', '.join(PROTOCOLS)}")
        if self.protocol == PLAINTEXT:
            given = [
                ENVIRONMENT[name]
                for name, value in (("username", self.username), ("password", self.password), ("ca", self.ca))
                if value is not None
            ]
            if given:
                raise ValueError(
                    f"{' and '.join(given)} set, but KAFKA_SECURITY is plaintext: "
                    "set KAFKA_SECURITY=sasl_ssl (credentials are never sent in the clear)"
                )
            return
        if not self.username:
            raise ValueError("KAFKA_SECURITY=sasl_ssl needs KAFKA_USERNAME (replay, worker, viewer or admin)")
        if not self.password:
            raise ValueError(
                f"KAFKA_SECURITY=sasl_ssl needs the password of {self.username}: KAFKA_PASSWORD_FILE "
                "(or KAFKA_PASSWORD)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> KafkaSecurity:
        """Reads the environment (and the password file); raises ValueError with one line naming the
        variable when something is wrong."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(ENVIRONMENT[name], "").strip()
            return value or None

        protocol = (get("protocol") or PLAINTEXT).lower()
        if protocol not in PROTOCOLS:
            raise ValueError(
                f"KAFKA_SECURITY={env.get('KAFKA_SECURITY')!r} is not one of {', '.join(PROTOCOLS)}"
            )
        password, password_file = env.get("KAFKA_PASSWORD") or None, get("password_file")
        if password is not None and password_file is not None:
            raise ValueError("set KAFKA_PASSWORD or KAFKA_PASSWORD_FILE, not both")
        if password_file is not None:
            password = read_password(Path(password_file))
        ca = get("ca")
        ca_path = None
        if ca is not None:
            ca_path = Path(ca)
            if not ca_path.is_file():
                raise ValueError(
                    f"KAFKA_CA={ca}: no such file (the PEM certificate of the CA that signed the broker's)"
                )
        return cls(protocol=protocol, username=get("username"), password=password, ca=ca_path)

    @property
    def secure(self) -> bool:
        return self.protocol == SASL_SSL

    @property
    def who(self) -> str:
        """Who a client connects as, for messages: ``user replay (SASL_SSL)`` or ``no user (PLAINTEXT)``."""
        return f"user {self.username} (SASL_SSL)" if self.secure else "no user (PLAINTEXT)"

    def kafka_python(self) -> dict[str, Any]:
        """Keyword arguments for kafka-python's clients (KafkaProducer, KafkaConsumer, KafkaAdminClient)."""
        if not self.secure:
            return {}
        return {
            **self._sasl(),
            "ssl_cafile": str(self.ca) if self.ca else None,
            "ssl_check_hostname": True,
        }

    def _sasl(self) -> dict[str, Any]:
        """The login settings both Kafka libraries name alike."""
        return {
            "security_protocol": "SASL_SSL",
            "sasl_mechanism": MECHANISM,
            "sasl_plain_username": self.username,
            "sasl_plain_password": self.password,
        }

    def ssl_context(self) -> Any:
        """The TLS context aiokafka and Faust take: the broker's certificate is checked against KAFKA_CA
        (or the system's CAs), and its name against the bootstrap host."""
        from aiokafka.helpers import create_ssl_context

        return create_ssl_context(cafile=str(self.ca) if self.ca else None)

    def aiokafka(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka's AIOKafkaProducer and AIOKafkaConsumer."""
        if not self.secure:
            return {}
        return {**self._sasl(), "ssl_context": self.ssl_context()}

    def faust_credentials(self) -> Any:
        """Faust's ``broker_credentials`` (None for PLAINTEXT)."""
        if not self.secure:
            return None
        import faust

        return faust.SASLCredentials(
            username=self.username,
            password=self.password,
            ssl_context=self.ssl_context(),
            mechanism=MECHANISM,
        )


def read_password(path: Path) -> str:
    """The password in ``path`` (KAFKA_PASSWORD_FILE), without its line end."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValueError(f"KAFKA_PASSWORD_FILE={path}: cannot read it ({reason})") from None
    password = text.strip("\r\n")
    if not password.strip():
        raise ValueError(f"KAFKA_PASSWORD_FILE={path} is empty")
    return password


def _names(exc: BaseException) -> list[str]:
    """The class names of ``exc``, its causes and their bases (both libraries name their errors alike)."""
    names: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        names += [cls.__name__ for cls in type(current).__mro__]
        current = current.__cause__ or current.__context__
    return names


def _texts(exc: BaseException) -> str:
    parts: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        parts.append(f"{type(current).__name__}: {current}")
        current = current.__cause__ or current.__context__
    return " | ".join(parts)


def refusal_reason(exc: BaseException, security: KafkaSecurity) -> str:
    """Why the broker (or the TLS handshake) refused the client, in a few words."""
    names, text = _names(exc), _texts(exc)
    lowered = text.lower()
    if "CERTIFICATE_VERIFY_FAILED" in text or "SSLCertVerificationError" in names:
        where = f"KAFKA_CA={security.ca}" if security.ca else "the system's CAs (KAFKA_CA is not set)"
        return f"the broker's TLS certificate is not trusted by {where}"
    if any("Authentication" in name for name in names) or "authentication failed" in lowered:
        return f"authentication failed ({MECHANISM}): a wrong password for {security.username}?"
    for name, what in (
        ("TopicAuthorizationFailedError", "not authorized on the topic (ACL)"),
        ("GroupAuthorizationFailedError", "not authorized on its consumer group (ACL)"),
        ("ClusterAuthorizationFailedError", "not authorized on the cluster (ACL)"),
        ("TransactionalIdAuthorizationFailedError", "not authorized on its transactional id (ACL)"),
    ):
        if name in names:
            return what
    if "SSL" in text and security.secure:
        return f"the TLS handshake failed ({type(exc).__name__})"
    if not security.secure:
        return (
            "the broker did not answer a PLAINTEXT client; if it requires TLS and a login, set "
            "KAFKA_SECURITY=sasl_ssl, KAFKA_USERNAME, KAFKA_PASSWORD_FILE and KAFKA_CA"
        )
    return f"{type(exc).__name__}: {str(exc) or 'no answer'}"[:300]


def refusal(
    exc: BaseException,
    security: KafkaSecurity,
    *,
    program: str,
    operation: str,
    topic: str,
    bootstrap: str,
    resource: str = "topic",
) -> str:
    """One line for an error raised while a client connects or uses ``topic`` (or another ``resource``,
    e.g. a group), e.g. ``replay: cannot WRITE topic alerts as user replay (SASL_SSL) at
    127.0.0.1:9092: not authorized on the topic (ACL)``."""
    reason = refusal_reason(exc, security).replace("\n", " ")
    return f"{program}: cannot {operation} {resource} {topic} as {security.who} at {bootstrap}: {reason}"


def is_refusal(exc: BaseException) -> bool:
    """Whether ``exc`` is a refusal no retry will cure: authentication, TLS trust or an ACL."""
    names, text = _names(exc), _texts(exc)
    return (
        "CERTIFICATE_VERIFY_FAILED" in text
        or any("Authentication" in name or "AuthorizationFailed" in name for name in names)
        or "authentication failed" in text.lower()
    )


class RefusalWatch(logging.Handler):
    """Collects the errors a Kafka library logs while a client connects, and keeps those log lines off
    stderr meanwhile: kafka-python retries a refused login until its bootstrap times out and then says
    only "Unable to bootstrap", and aiokafka logs the reason before it raises.

    ``with RefusalWatch("kafka") as watch: ...`` then ``watch.refusal()``."""

    def __init__(self, *loggers: str) -> None:
        super().__init__(logging.DEBUG)
        self.loggers = [logging.getLogger(name) for name in loggers]
        self.errors: list[BaseException] = []
        self.disconnects = 0
        self._saved: list[tuple[logging.Logger, bool]] = []

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        for arg in args:
            if isinstance(arg, BaseException):
                self.errors.append(arg)
                if "disconnected" in str(arg) or "closed" in str(arg).lower():
                    self.disconnects += 1
        if record.exc_info and isinstance(record.exc_info[1], BaseException):
            self.errors.append(record.exc_info[1])

    def __enter__(self) -> RefusalWatch:
        for logger in self.loggers:
            self._saved.append((logger, logger.propagate))
            logger.addHandler(self)
            logger.propagate = False
        return self

    def __exit__(self, *exc_info: object) -> None:
        for logger, propagate in self._saved:
            logger.removeHandler(self)
            logger.propagate = propagate
        self._saved.clear()

    def refusal(self) -> BaseException | None:
        """The first logged error no retry will cure (a login, TLS trust or an ACL refused)."""
        return next((error for error in self.errors if is_refusal(error)), None)

    def decided(self, security: KafkaSecurity, hang_ups: int = 3) -> bool:
        """Whether waiting longer is pointless: a refusal was logged, or a PLAINTEXT client was hung up
        on ``hang_ups`` times after connecting (a TLS listener does that; a broker that is away refuses
        the connection instead)."""
        return self.refusal() is not None or (not security.secure and self.disconnects >= hang_ups)

    def explain(self, exc: BaseException) -> BaseException:
        """The error to report for ``exc``: the refusal behind a timeout, when one was logged."""
        return self.refusal() or exc
