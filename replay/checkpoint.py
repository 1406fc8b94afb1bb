"""Where an interrupted replay stopped: the acknowledged prefix, in a small JSON file written atomically,
and whether ``send --resume`` may continue from it (:func:`resume_point`).

A checkpoint records the options that fix the slot sequence (:func:`slot_options`); resuming with other
ones is refused, since the saved position would then count other slots. The feed and the topic are not
compared: they name the checkpoint file (:func:`checkpoint_path`), so another feed or topic has none.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from replay.schedule import ReplayOptions

FALLBACK_STATE_DIR = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "iran2009" / "replay"


@dataclass(frozen=True)
class Checkpoint:
    feed: str
    topic: str
    options: dict[str, Any]  # what decides the slot sequence; resuming with other options is refused
    position: int  # slots [0, position) are acknowledged by the broker
    last_id: str | None

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".tmp")
        partial.write_bytes(orjson.dumps(asdict(self), option=orjson.OPT_INDENT_2))
        os.replace(partial, path)  # a kill mid-write leaves the previous checkpoint intact

    @classmethod
    def load(cls, path: Path) -> Checkpoint | None:
        try:
            return cls(**orjson.loads(path.read_bytes()))
        except FileNotFoundError:
            return None
        except (orjson.JSONDecodeError, TypeError) as exc:
            raise ValueError(f"{path}: not a replay checkpoint ({exc})") from None


def checkpoint_path(feed: Path, topic: str, state_dir: Path | None, *, packaged: bool = False) -> Path:
    """``--state DIR`` when given, else next to the feed; the user's cache for the packaged seed feed
    or a feed in a read-only directory."""
    digest = hashlib.sha1(f"{feed.resolve()}|{topic}".encode()).hexdigest()[:10]
    name = f".{feed.name}.{topic}.{digest}.replay-checkpoint.json"
    if state_dir is not None:
        return state_dir / name
    if not packaged and os.access(feed.resolve().parent, os.W_OK):
        return feed.resolve().parent / name
    return FALLBACK_STATE_DIR / name


def slot_options(options: ReplayOptions, source_format: str) -> dict[str, Any]:
    """What a checkpoint records of the run: the options that fix the slots. Speed and rate only pace
    them, so a run may resume faster or slower."""
    return {**asdict(options), "speed": None, "rate": None, "format": source_format}


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumed send starts, and the line that tells the user why."""

    position: int  # slots [0, position) were acknowledged before and are not sent again
    message: str


def resume_point(state_file: Path, previous: Checkpoint | None, options: dict[str, Any]) -> ResumePoint:
    """Continue after the last acknowledged post of ``previous`` (read from ``state_file``) when it was
    written with the same ``options`` (:func:`slot_options`); from the beginning when there is none.

    Raises ``ValueError`` (one line) when the options differ.
    """
    if previous is None:
        return ResumePoint(0, f"no checkpoint at {state_file}; starting from the beginning")
    if previous.options != options:
        raise ValueError(
            f"{state_file} was written with other --from/--until/--loop/--format/--max-gap options; "
            "use the same ones to resume, or drop --resume"
        )
    return ResumePoint(
        previous.position,
        f"resuming after post {previous.last_id} ({previous.position} already sent)",
    )
