"""The one settings object of the pipeline: defaults, overridden by environment, overridden by flags."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from pipeline.detect.model import DetectorConfig

_DETECTION = DetectorConfig()  # detection's defaults, which the settings below repeat as theirs

# Environment variable for each field.
ENVIRONMENT = {
    "bootstrap": "KAFKA_BOOTSTRAP",
    "posts_topic": "POSTS_TOPIC",
    "posts_partitions": "POSTS_PARTITIONS",
    "dead_letter_topic": "DEAD_LETTER_TOPIC",
    "classified_topic": "CLASSIFIED_TOPIC",
    "detect_topic": "DETECT_TOPIC",
    "detect_partitions": "DETECT_PARTITIONS",
    "parts_topic": "PARTS_TOPIC",
    "alerts_topic": "ALERTS_TOPIC",
    "app_id": "PIPELINE_APP_ID",
    "metrics_host": "METRICS_HOST",
    "metrics_port": "METRICS_PORT",
    "data_dir": "PIPELINE_DATA_DIR",
    "max_post_bytes": "MAX_POST_BYTES",
    "log_level": "LOG_LEVEL",
    "batch_size": "BATCH_SIZE",
    "batch_seconds": "BATCH_SECONDS",
    "snapshot_seconds": "SNAPSHOT_SECONDS",
    "align_seconds": "ALIGN_SECONDS",
    "classify_processes": "CLASSIFY_PROCESSES",
    "health_interval": "HEALTH_INTERVAL",
    "fault_stall_after": "FAULT_STALL_AFTER",
    "fault_engine_error": "FAULT_ENGINE_ERROR",
    "keep_authors": "KEEP_AUTHORS",
    "detect": "DETECT",
    "classify": "CLASSIFY",
    "detect_roles": "DETECT_ROLES",
    "exactly_once": "EXACTLY_ONCE",
    "stall_seconds": "STALL_SECONDS",
    "stop_seconds": "STOP_SECONDS",
    "broker_wait_seconds": "BROKER_WAIT_SECONDS",
    "account_retention_seconds": "ACCOUNT_RETENTION_SECONDS",
    "post_retention_seconds": "POST_RETENTION_SECONDS",
    "post_index_limit": "POST_INDEX_LIMIT",
}


@dataclass(frozen=True)
class Settings:
    bootstrap: str = "127.0.0.1:9092"
    posts_topic: str = "posts"
    posts_partitions: int = 4
    dead_letter_topic: str = "posts.dead-letter"
    classified_topic: str = "posts.classified"
    # Detection's input. With one partition (the default), one detector reads every post. With N, each
    # partition is a shard that owns the posts partitions p with p % N == its own, and hands its finished
    # windows on to one merge through parts_topic (pipeline.detect.sharded): detection scales with the
    # workers. At most posts_partitions (a shard without posts would hold the watermark back).
    detect_topic: str = "posts.detect"
    detect_partitions: int = 1
    parts_topic: str = "posts.detect.parts"
    alerts_topic: str = "alerts"
    app_id: str = "iran2009-pipeline"
    # Loopback only unless the operator asks: /metrics and /health tell who is being watched.
    metrics_host: str = "127.0.0.1"
    metrics_port: int = 9108
    data_dir: Path = Path(".pipeline-data")
    # A tweet is 140 characters; 64 KiB leaves room for any real post and refuses junk.
    max_post_bytes: int = 64 * 1024
    log_level: str = "warn"
    # The classify agent takes up to this many records at once, waiting at most batch_seconds for them:
    # one broker round trip per batch instead of one future per post.
    batch_size: int = 1000
    batch_seconds: float = 0.05
    # Processes that classify batches beside the worker's event loop (0: classify in the event loop).
    # Classifying is the worker's heaviest work: with one process it was busy all the time while the
    # loop (decode, send, detect) used half a core. On 2 cores, 2 processes classified 300k posts in
    # 0.74x the time of 1, and 3 were slower again than 2.
    classify_processes: int = 2
    # The detector's state is saved (and the detect records before it acknowledged) at most this often,
    # once folding has cost ten times the last save, and at the latest after twelve times this
    # (pipeline/stream/detect_loop.py SaveSchedule): a restart resumes from the last save.
    snapshot_seconds: float = 5.0
    # Event-time alignment of the classify stage (pipeline/stream/alignment.py): a partition more than
    # this many seconds of event time ahead of the slowest one with records waiting is paused, so the detector
    # does not hold windows open far ahead of its watermark. Three 5-minute windows (DetectorConfig):
    # more than a window plus the lateness, which the detector holds open anyway. 0 = off.
    align_seconds: float = 900.0
    # How often the worker probes the broker for end offsets (consumer lag, stall and health).
    health_interval: float = 5.0
    # A partition with records waiting whose consumer position has not moved this long is stalled.
    stall_seconds: float = 60.0
    # A stop (Ctrl-C, SIGTERM) exits within this long whatever hangs (pipeline/stream/stop_deadline.py); the
    # stages' own steps are bounded well within it (commit first, then close the clients).
    stop_seconds: float = 60.0
    # How long the stages' producers wait for a broker that is away (a restart, an upgrade, a slow log
    # recovery) before a delivery fails and the worker stops: aiokafka's request_timeout_ms, after which
    # a batch whose partition has no leader fails (its 40 s default stopped every worker when a broker
    # restart took longer). Ten minutes, as the replayer waits. Open transactions (EXACTLY_ONCE) time out
    # a minute after it (pipeline/stream/transactions.py), within the broker's 15-minute maximum.
    broker_wait_seconds: float = 600.0
    # Fault injection for the tests: after this many records the classify stage stops fetching while
    # staying in its group (the stall of faust-streaming issue #175). 0 = never.
    fault_stall_after: int = 0
    # Fault injection for the tests: the engine raises on a post whose text contains this, as a bug
    # would (pipeline/stream/faults.py), in the classifier processes too. Empty = never.
    fault_engine_error: str = ""
    # Authors and @mentions that reach posts raw (a producer other than the replayer) are pseudonymized
    # before posts.classified (feed/pseudonyms.py); KEEP_AUTHORS=1 keeps them, and the worker logs it.
    keep_authors: bool = False
    # DETECT=0: this worker classifies only (it still writes posts.detect) and holds no detect partition,
    # so classifying workers can be added without moving detection's state, or classification timed
    # without detection beside it (python -m bench.scaling --without-detection). At least one worker of
    # the group must detect, or no alert is raised.
    detect: bool = True
    # CLASSIFY=0: this worker detects only. It joins neither the posts' consumer group nor starts
    # classifier processes, and holds what the detect groups give it (shards, the merge), in an event
    # loop of its own: detection then takes no core from classification's loops, and the merge is not
    # the extra load of one classifying worker. Beside workers with DETECT=0, classifying and detecting
    # capacity are scaled apart, as Kafka Streams deploys sub-topologies apart.
    classify: bool = True
    # With DETECT_PARTITIONS above 1: which of sharded detection's groups this worker joins, "shards",
    # "merge" or both (the default). A worker holding the merge alone gives the merge, whose work grows
    # with the whole cluster's rate, an event loop of its own. Some worker must join each, or no alert
    # is raised. Ignored with one detect partition (one detector).
    detect_roles: str = "shards,merge"
    # Exactly once on posts.classified and posts.dead-letter (pipeline/stream/transactions.py): each source
    # partition's output and input offsets go into one Kafka transaction; readers use read_committed. On
    # by default: in make bench it cost no throughput, and read_committed readers see a post up to a
    # second later (the commit interval); 0 = at least once.
    exactly_once: bool = True
    # What detection remembers of accounts (issue 18), in event time: an author's home region for this
    # long after their last post, and each post (its region and terms, for its deletion) for this long,
    # at most post_index_limit of them. The worker and `python -m pipeline analyze` both read these, and
    # must agree for their alerts to be equal.
    account_retention_seconds: float = _DETECTION.account_retention_seconds
    post_retention_seconds: float = _DETECTION.post_retention_seconds
    post_index_limit: int = _DETECTION.post_index_limit

    def detector_config(self, min_sources: int = 1) -> DetectorConfig:
        """Detection's configuration from these settings (``min_sources``: the posts partitions the
        watermark waits for; 1 for a single ordered source such as ``analyze``)."""
        return DetectorConfig(
            min_sources=min_sources,
            account_retention_seconds=self.account_retention_seconds,
            post_retention_seconds=self.post_retention_seconds,
            post_index_limit=self.post_index_limit,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Defaults ← environment ← explicit overrides (flags); ``None`` overrides are ignored."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = env.get(ENVIRONMENT[spec.name])
            if raw not in (None, ""):
                values[spec.name] = _coerce(spec.name, spec.type, raw)
        values.update({name: value for name, value in overrides.items() if value is not None})
        return replace(cls(), **values)

    def __post_init__(self) -> None:
        for problem in _problems(self):
            raise ValueError(problem)

    @property
    def joins(self) -> frozenset[str]:
        """The groups of sharded detection this worker joins (DETECT_ROLES): "shards", "merge"."""
        return frozenset(_role_names(self.detect_roles))

    @property
    def broker_url(self) -> str:
        return ",".join(f"kafka://{server.strip()}" for server in self.bootstrap.split(","))


def snapshot_topics(settings: Settings) -> dict[str, str]:
    """The compacted topics of detection's snapshots, by role."""
    return {
        # The name Faust gave the table's changelog, so a snapshot saved before issue 14 is found.
        "single": f"{settings.app_id}-detector-state-changelog",
        "shards": f"{settings.app_id}-detect-shards-changelog",  # one partition per shard
        "merge": f"{settings.app_id}-detect-merge-changelog",
    }


def _coerce(name: str, type_name: Any, raw: str) -> Any:
    if type_name in (int, "int"):
        try:
            return int(raw)
        except ValueError:
            raise ValueError(f"{ENVIRONMENT[name]}={raw!r} is not an integer") from None
    if type_name in (float, "float"):
        try:
            return float(raw)
        except ValueError:
            raise ValueError(f"{ENVIRONMENT[name]}={raw!r} is not a number") from None
    if type_name in (Path, "Path"):
        return Path(raw)
    if type_name in (bool, "bool"):
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ValueError(f"{ENVIRONMENT[name]}={raw!r} is not one of 1/0, true/false, yes/no, on/off")
    return raw


DETECT_ROLES = ("shards", "merge")
LOG_LEVELS = ("debug", "info", "warn", "warning", "error", "critical")
_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")  # Kafka's rule for topic names
_HOST_PORT = re.compile(r"^\[?[A-Za-z0-9.:_-]+\]?:(\d{1,5})$")
# (field, smallest allowed): whole numbers, then numbers of seconds.
_AT_LEAST = {
    "posts_partitions": 1,
    "detect_partitions": 1,
    "max_post_bytes": 1,
    "batch_size": 1,
    "classify_processes": 0,
    "fault_stall_after": 0,
    "metrics_port": 0,  # 0: any free port, printed at start
    "post_index_limit": 1,
}
_POSITIVE_SECONDS = (
    "batch_seconds",
    "snapshot_seconds",
    "health_interval",
    "stall_seconds",
    "stop_seconds",
    "broker_wait_seconds",
    "account_retention_seconds",
    "post_retention_seconds",
)
_NON_NEGATIVE_SECONDS = ("align_seconds",)


# The worker's flags for the settings that have one (python -m pipeline worker --help).
FLAGS = {
    "bootstrap": "--bootstrap",
    "posts_topic": "--topic",
    "metrics_port": "--metrics-port",
    "metrics_host": "--metrics-host",
    "app_id": "--app-id",
    "log_level": "--log-level",
}


def _role_names(value: str) -> list[str]:
    """DETECT_ROLES as names, blanks kept: "shards, merge" -> ["shards", "merge"]; "" -> [""]."""
    return [role.strip() for role in value.split(",")]


def _name(field: str) -> str:
    flag = FLAGS.get(field)
    return f"{ENVIRONMENT[field]} ({flag})" if flag else ENVIRONMENT[field]


def _problems(settings: Settings) -> Iterator[str]:
    """Every setting is checked; each problem is one line naming the setting (its environment variable)."""
    for field, low in _AT_LEAST.items():
        value = getattr(settings, field)
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            yield f"{_name(field)}={value!r} must be a whole number of at least {low}"
    if settings.metrics_port > 65535:
        yield f"{_name('metrics_port')}={settings.metrics_port!r} is not a port (0-65535)"
    for field in _POSITIVE_SECONDS:
        value = getattr(settings, field)
        if not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
            yield f"{_name(field)}={value!r} must be a finite number of seconds above 0"
    for field in _NON_NEGATIVE_SECONDS:
        value = getattr(settings, field)
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            yield f"{_name(field)}={value!r} must be a finite number of seconds, 0 or more"
    if not set(_role_names(settings.detect_roles)) <= set(DETECT_ROLES):
        yield f"{_name('detect_roles')}={settings.detect_roles!r} must be shards, merge or shards,merge"
    if not settings.classify and not settings.detect:
        yield f"{_name('classify')}=0 and {_name('detect')}=0: this worker would do nothing"
    if settings.detect_partitions > settings.posts_partitions:
        yield (
            f"{_name('detect_partitions')}={settings.detect_partitions} is more than "
            f"{_name('posts_partitions')}={settings.posts_partitions}: a shard would own no posts partition"
        )
    topics = (
        "posts_topic",
        "dead_letter_topic",
        "classified_topic",
        "detect_topic",
        "parts_topic",
        "alerts_topic",
    )
    for field in topics:
        value = getattr(settings, field)
        if not _TOPIC.match(value) or value in (".", ".."):
            yield f"{_name(field)}={value!r} is not a Kafka topic name (letters, digits, '.', '_', '-')"
    servers = [server.strip() for server in settings.bootstrap.split(",")]
    for server in servers:
        found = _HOST_PORT.match(server)
        if found is None or not 0 < int(found.group(1)) <= 65535:
            yield f"{_name('bootstrap')}={settings.bootstrap!r}: {server!r} is not host:port"
            break
    if not settings.app_id.strip() or not _TOPIC.match(settings.app_id):
        yield f"{_name('app_id')}={settings.app_id!r} must be letters, digits, '.', '_' or '-'"
    if not settings.metrics_host.strip():
        yield f"{_name('metrics_host')} is empty: give an address, e.g. 127.0.0.1"
    if settings.log_level.lower() not in LOG_LEVELS:
        yield f"{_name('log_level')}={settings.log_level!r} is not one of {', '.join(LOG_LEVELS)}"
