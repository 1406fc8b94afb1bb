"""Where an interrupted replay stopped: the acknowledged prefix, in a small JSON file written atomically."""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson

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
