"""The one settings object of the pipeline: defaults, overridden by environment, overridden by flags."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

# Environment variable for each field.
ENVIRONMENT = {
    "bootstrap": "KAFKA_BOOTSTRAP",
    "posts_topic": "POSTS_TOPIC",
    "posts_partitions": "POSTS_PARTITIONS",
    "dead_letter_topic": "DEAD_LETTER_TOPIC",
    "classified_topic": "CLASSIFIED_TOPIC",
    "detect_topic": "DETECT_TOPIC",
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
    "stall_seconds": "STALL_SECONDS",
    "stop_seconds": "STOP_SECONDS",
}


@dataclass(frozen=True)
class Settings:
    bootstrap: str = "127.0.0.1:9092"
    posts_topic: str = "posts"
    posts_partitions: int = 4
    dead_letter_topic: str = "posts.dead-letter"
    classified_topic: str = "posts.classified"
    # One partition: detection compares regions and terms with each other, so it needs all posts in one place.
    detect_topic: str = "posts.detect"
    alerts_topic: str = "alerts"
    app_id: str = "iran2009-pipeline"
    metrics_host: str = "0.0.0.0"
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
    # The detector's state is saved (and the detect records before it acknowledged) at a window close,
    # at most this often: a restart resumes from the last save.
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
    # Fault injection for the tests: after this many records the classify stage stops fetching while
    # staying in its group (the stall of faust-streaming issue #175). 0 = never.
    fault_stall_after: int = 0
    # Fault injection for the tests: the engine raises on a post whose text contains this, as a bug
    # would (pipeline/stream/faults.py), in the classifier processes too. Empty = never.
    fault_engine_error: str = ""

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

    @property
    def broker_url(self) -> str:
        return ",".join(f"kafka://{server.strip()}" for server in self.bootstrap.split(","))


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
    return raw
