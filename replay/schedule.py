"""When to send each post: the original event-time gaps divided by the speed. Pure; the clock is injected.

Every post's due time is computed from the *first* post's event time and one monotonic origin,
never from the previous send, so rounding and slow sends do not accumulate into drift.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_SPEED = None  # "--speed max": no pacing at all


def parse_speed(text: str) -> float | None:
    """``"max"`` → None (unpaced); otherwise a positive factor such as ``20`` or ``0.5``."""
    if text.strip().lower() == "max":
        return MAX_SPEED
    try:
        speed = float(text)
    except ValueError:
        raise ValueError(f"speed must be a positive number or 'max', not {text!r}") from None
    if not speed > 0 or speed == float("inf"):
        raise ValueError(f"speed must be a positive number or 'max', not {text!r}")
    return speed


def speed_to_fit(span_seconds: float, duration_seconds: float) -> float | None:
    """The speed that replays an event-time span in about ``duration_seconds`` of wall time."""
    if duration_seconds <= 0:
        raise ValueError("duration must be positive")
    if span_seconds <= 0:
        return MAX_SPEED
    return span_seconds / duration_seconds


@dataclass
class Pacer:
    """Sleeps until each post is due; ``speed=None`` never sleeps."""

    speed: float | None
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _origin_event: float | None = field(default=None, init=False)
    _origin_wall: float = field(default=0.0, init=False)

    def due_in(self, event_ts: float) -> float:
        """Seconds until the post with this event time is due (negative when late)."""
        if self.speed is None:
            return 0.0
        if self._origin_event is None:
            self.rebase(event_ts)
        target = self._origin_wall + (event_ts - self._origin_event) / self.speed
        return target - self.clock()

    def wait_for(self, event_ts: float) -> float:
        """Block until the post is due; returns how far behind schedule it is (0 when on time)."""
        delay = self.due_in(event_ts)
        if delay > 0:
            self.sleep(delay)
            return 0.0
        return -delay

    def rebase(self, event_ts: float) -> None:
        """Make ``event_ts`` due now: the schedule restarts here (first post, or after a pause)."""
        self._origin_event = event_ts
        self._origin_wall = self.clock()
