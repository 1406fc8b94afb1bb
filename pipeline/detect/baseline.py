"""Baselines: volume levels per region and shares of terms/categories per group of posts. Pure.

A *share* baseline estimates, for each key (a term, ``category:<c>``, or ``~<term>`` for the posts that
reach a watchlist term only through an evasion spelling), the fraction of a group's posts that carry it,
as the ratio of two EWMAs over windows (count and volume, same weight): ``share = N / D``. Only keys
present in a window are touched: a common decay factor ``P`` multiplies every stored value (``share =
u * P``), so a window costs O(keys present), not O(keys tracked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_RENORMALIZE_BELOW = 1e-150


class Level:
    """A bias-corrected EWMA of a region's volume per window (tracks the diurnal cycle)."""

    __slots__ = ("raw", "weight")

    def __init__(self, raw: float = 0.0, weight: float = 0.0) -> None:
        self.raw = raw
        self.weight = weight

    @property
    def value(self) -> float:
        return self.raw / self.weight if self.weight > 0 else 0.0

    def update(self, volume: float, alpha: float) -> None:
        self.raw = (1.0 - alpha) * self.raw + alpha * volume
        self.weight = (1.0 - alpha) * self.weight + alpha

    def dump(self) -> list[float]:
        return [self.raw, self.weight]


class ShareGroup:
    """Shares of keys in one group of posts (a region, all located posts, posts without a region)."""

    __slots__ = ("born", "decay", "frequent", "posts", "u", "volume")

    def __init__(self, born: float) -> None:
        self.born = born  # start of the first window learned (the group's age gates its tests)
        self.posts = 0  # posts seen since (with born, the warm-up)
        self.volume = 0.0  # D: EWMA of the group's posts per window
        self.decay = 1.0  # P
        self.u: dict[str, float] = {}
        self.frequent: list[str] = []  # terms expected at least ~0.5 times a window (refreshed on prune)

    def share(self, key: str) -> float:
        return self.u.get(key, 0.0) * self.decay

    def expected_count(self, key: str) -> float:
        """The EWMA of the key's count per window (N)."""
        return self.u.get(key, 0.0) * self.decay * self.volume

    def update(
        self,
        volume: int,
        counts: Mapping[str, int],
        alpha: float,
        slow: Mapping[str, float] | None = None,
    ) -> None:
        """Learn one window: ``volume`` posts, ``counts`` per key; keys in ``slow`` learn at that factor."""
        self.posts += volume
        d_new = (1.0 - alpha) * self.volume + alpha * volume
        if d_new <= 0.0 or volume <= 0:
            self.volume = d_new
            return
        gain = alpha * volume / d_new
        u = self.u
        old = self.decay
        slow_before = [(key, factor, u.get(key, 0.0) * old) for key, factor in (slow or {}).items()]
        if gain >= 1.0:
            # The first window: the shares are this window's.
            self.u = u = {key: n / volume for key, n in counts.items()}
            self.decay = new = 1.0
        else:
            new = old * (1.0 - gain)
            if new < _RENORMALIZE_BELOW:
                for key in u:
                    u[key] *= old
                old, new = 1.0, 1.0 - gain
            step = gain / (volume * new)
            get = u.get
            for key, n in counts.items():
                u[key] = get(key, 0.0) + n * step
            self.decay = new
        for key, factor, before in slow_before:
            weight = gain * factor
            value = before * (1.0 - weight) + weight * counts.get(key, 0) / volume
            if value > 0.0:
                u[key] = value / new
            else:
                u.pop(key, None)
        self.volume = d_new

    def prune(self, minimum: float, keep: set[str], cap: int, frequent_minimum: float) -> None:
        """Forget keys expected less than ``minimum`` per window (and the rarest beyond ``cap``)."""
        scale = self.decay * self.volume
        if scale <= 0.0:
            return
        floor = minimum / scale
        u = self.u
        for key in [key for key, value in u.items() if value < floor and key not in keep]:
            del u[key]
        if len(u) > cap:
            ranked = sorted(u.items(), key=lambda item: (item[1], item[0]))
            for key, _ in ranked[: len(u) - cap]:
                if key not in keep:
                    del u[key]
        cut = frequent_minimum / scale
        self.frequent = sorted(
            key
            for key, value in u.items()
            if value >= cut and key[0] != "~" and not key.startswith("category:")
        )

    def dump(self) -> dict[str, Any]:
        return {
            "born": self.born,
            "posts": self.posts,
            "volume": self.volume,
            "decay": self.decay,
            "u": self.u,
            "frequent": self.frequent,
        }

    @classmethod
    def load(cls, data: Mapping[str, Any]) -> ShareGroup:
        group = cls(data["born"])
        group.posts = data["posts"]
        group.volume = data["volume"]
        group.decay = data["decay"]
        group.u = dict(data["u"])
        group.frequent = list(data["frequent"])
        return group
