"""What the detector's tests share while a window closes: the closing context (:class:`Closing`), the
episodes they open (:class:`Episode`), the filtering CUSUM runs (:class:`Run`) and the share-group
names. Pure."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from pipeline.detect.model import Alert, WatchStatus

LOCATED = "@located"  # the share group of every post with a region
NO_REGION = ""  # posts without a region
ALL_GROUPS = "@all"  # (learning) every share group
SUSPICIOUS_LOG_P = math.log(1e-3)  # unusual enough to date an onset one window early (raises nothing)
FREQUENT_PER_WINDOW = 2.0  # terms expected this often in a region are tested for filtering (an alarm
# needs about 18 expected over at most 6 windows)
RUN_START = 1.0  # a filtering run starts on at least this much evidence (log-likelihood ratio) in a window


@dataclass(slots=True)
class Run:
    """A filtering CUSUM run of one term in one region: per window (start, observed, expected, ...)."""

    s: float = 0.0
    windows: list[list[float]] = field(default_factory=list)  # [start, x, own, cx, ec, ev, ev_exp]


@dataclass(slots=True)
class Episode:
    type: str
    key: str  # alert key
    region: str | None
    start: float
    leader: str  # the internal key: "*", a term, or "category:<c>"
    members: set[str] = field(default_factory=set)
    normal: int = 0  # consecutive normal windows

    def ident(self) -> str:
        return f"{self.type}|{self.key}|{self.region or ''}"


def alert_key(key: str) -> str:
    if key == "*" or key.startswith("category:"):
        return key
    return "term:" + key


def upper_ratio(observed: float, expected: float) -> float:
    """A one-sigma upper bound of observed/expected for a Poisson count."""
    return (observed + 0.5 + math.sqrt(observed + 0.25)) / expected


@dataclass(slots=True)
class Closing:
    """One window being closed: its counts, and what the tests decide (alerts, what learns how fast)."""

    start: float
    at: float  # detected_at of anything raised now
    live: bool  # past the warm-up
    vol: dict[str, int]
    counts: dict[str, dict[str, int]]
    located: int
    located_counts: dict[str, int]
    levels: dict[str, float]
    disturbed: set[str] = field(default_factory=set)  # regions out or recovering: left out of tests
    alerts: list[Alert] = field(default_factory=list)
    status: list[WatchStatus] = field(default_factory=list)
    filter_candidates: bool = False
    volume_factor: float = 1.0  # how fast every volume level learns (1 normal, 0 frozen)
    group_factor: dict[str, float] = field(default_factory=dict)  # per share group / region level
    key_factor: dict[str, dict[str, float]] = field(default_factory=dict)  # group -> key -> factor

    def slow_group(self, group: str, factor: float) -> None:
        self.group_factor[group] = min(factor, self.group_factor.get(group, 1.0))

    def slow_key(self, group: str, key: str, factor: float) -> None:
        keys = self.key_factor.setdefault(group, {})
        keys[key] = min(factor, keys.get(key, 1.0))

    def slow_volume(self, factor: float) -> None:
        self.volume_factor = min(self.volume_factor, factor)
