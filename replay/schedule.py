"""When to send each post. Pure: no Kafka, and the clock is injected.

A replay is planned as a sequence of :class:`Slot` — the post to send (with event time and id shifted
on later loop passes) and ``at``, its due time in wall seconds from the start of the replay. The
:class:`Pacer` then turns ``at`` into sleeps against one monotonic origin, so rounding and slow sends
never accumulate into drift, while a stall or a pause moves the origin instead of causing a burst.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import count, repeat
from typing import Generic, NamedTuple, TypeVar

from feed import Post

P = TypeVar("P")

MAX_SPEED = None  # "--speed max": no pacing at all
# Falling further behind than this (a stall, a stopped process) shifts the schedule instead of bursting.
STALL_SECONDS = 1.0


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


@dataclass(frozen=True)
class ReplayOptions:
    """Everything that decides *what* is sent and *when*, independent of where it goes."""

    speed: float | None = 1.0
    rate: float | None = None  # posts/s cap, combinable with speed
    from_ts: float | None = None  # event-time window, inclusive start
    until_ts: float | None = None  # event-time window, exclusive end
    loops: int = 1
    max_gap: float | None = None  # event-time seconds: longer silences are paced as this long

    def __post_init__(self) -> None:
        if self.rate is not None and not self.rate > 0:
            raise ValueError("rate must be a positive number of posts per second")
        if self.loops < 1:
            raise ValueError("loop count must be at least 1")
        if self.max_gap is not None and self.max_gap < 0:
            raise ValueError("max gap must be zero or more seconds")
        if self.from_ts is not None and self.until_ts is not None and self.until_ts <= self.from_ts:
            raise ValueError("--until must be after --from")

    def in_window(self, event_ts: float) -> bool:
        return (self.from_ts is None or event_ts >= self.from_ts) and (
            self.until_ts is None or event_ts < self.until_ts
        )


class Slot(NamedTuple, Generic[P]):
    index: int  # position in the whole replay (all loop passes), used to resume
    post: P  # a Post, or what the replayer sends (replay.wire.WirePost): anything with .id and .ts
    at: float  # due time, wall seconds after the replay started


def loop_shift(first_ts: float | None, last_ts: float | None) -> float:
    """How far each loop pass moves event times: the feed's span, so time keeps increasing."""
    if first_ts is None or last_ts is None or last_ts <= first_ts:
        return 1.0  # a feed of one instant still needs distinct times per pass
    return last_ts - first_ts


def loop_post(post: Post, loop_pass: int, shift: float) -> Post:
    """The post as sent on ``loop_pass`` (0-based): later passes get shifted times and unique ids."""
    if loop_pass == 0:
        return post
    return replace(post, id=f"{post.id}#{loop_pass + 1}", ts=post.ts + loop_pass * shift)


def plan(
    read_posts: Callable[[], Iterable[P]],
    options: ReplayOptions,
    *,
    shift: float,
    relabel: Callable[[P, int, float], P] = loop_post,  # type: ignore[assignment]
) -> Iterator[Slot[P]]:
    """The replay as slots. ``read_posts`` is called once per loop pass, so feeds are streamed;
    ``relabel`` makes a post's copy for a later pass (:func:`loop_post` for a :class:`Post`)."""
    unpaced = options.speed is None and options.rate is None
    if unpaced and options.loops == 1 and options.from_ts is None and options.until_ts is None:
        # The common max-speed replay: every post once, all due at once. No window, gap or rate
        # arithmetic per post: at max speed a slot is sent in a few microseconds.
        return map(Slot._make, zip(count(), read_posts(), repeat(0.0)))
    return _slots(read_posts, options, shift=shift, relabel=relabel)


def _slots(
    read_posts: Callable[[], Iterable[P]],
    options: ReplayOptions,
    *,
    shift: float,
    relabel: Callable[[P, int, float], P],
) -> Iterator[Slot[P]]:
    index = 0
    virtual = 0.0  # event seconds elapsed on the (gap-capped) replay clock
    high_water: float | None = None
    previous_at: float | None = None
    for loop_pass in range(options.loops):
        for original in read_posts():
            if not options.in_window(original.ts):
                continue
            post = relabel(original, loop_pass, shift)
            if high_water is not None:
                # Out-of-order posts go at once; gaps are measured from the latest time seen.
                gap = max(0.0, post.ts - high_water)
                if options.max_gap is not None:
                    gap = min(gap, options.max_gap)
                virtual += gap
            high_water = post.ts if high_water is None else max(high_water, post.ts)
            at = 0.0 if options.speed is None else virtual / options.speed
            if options.rate is not None and previous_at is not None:
                at = max(at, previous_at + 1.0 / options.rate)
            previous_at = at
            yield Slot(index, post, at)
            index += 1


@dataclass
class Pacer:
    """Sleeps until each slot is due; unpaced slots (all ``at`` = 0) never sleep."""

    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    stall_seconds: float = STALL_SECONDS
    _origin: float | None = field(default=None, init=False)
    stalls: int = field(default=0, init=False)

    def due_in(self, at: float) -> float:
        """Seconds until a slot due ``at`` is due (negative when late)."""
        if self._origin is None:
            self._origin = self.clock() - at
        return self._origin + at - self.clock()

    def wait_for(self, at: float) -> float:
        """Block until due; returns how far behind schedule the slot is (0 when on time)."""
        delay = self.due_in(at)
        if delay > 0:
            self.sleep(delay)
            return 0.0
        behind = -delay
        if behind > self.stall_seconds:
            # After a stall the rest keeps its spacing instead of arriving in a burst.
            self._origin += behind
            self.stalls += 1
        return behind

    def shift(self, seconds: float) -> None:
        """Move the schedule later, e.g. by the length of a pause."""
        if self._origin is not None:
            self._origin += seconds
