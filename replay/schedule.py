"""What to send and when. Pure: no Kafka, no threads, and every clock reading is passed in.

A replay is planned (:func:`plan`) as a sequence of :class:`Slot`: the post to send, with event time and
id shifted on later loop passes, and its position in the whole replay. When each one is due is decided
by a :class:`Timeline`, live: it reads event times off the posts as they come (silences capped by
``--max-gap``) and maps them to wall time through one *anchor*, a (wall time, replay clock) pair and the
speed. Due times come from the anchor, never from the previous send, so slow sends never add up to
drift. Whatever changes the pace (a new speed, a pause, a resume, a seek, a stall) re-anchors it where
the replay clock is at that moment: the clock goes on from there at the new pace, with no jump, no
catch-up burst and no drift.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from itertools import count
from typing import TYPE_CHECKING, Generic, NamedTuple, TypeVar

if TYPE_CHECKING:
    from feed import Post

P = TypeVar("P")

MAX_SPEED = None  # "--speed max": no pacing at all
# Falling further behind than this (a stall, a stopped process) shifts the schedule instead of bursting.
STALL_SECONDS = 1.0
# What the demo's +/- keys (and ``replay ctl faster|slower``) step through; past the last one is max.
SPEED_STEPS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 60, 120, 300, 600, 1200, 3600, 7200, 21600, 86400)


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


def format_speed(speed: float | None) -> str:
    return "max" if speed is None else f"{speed:g}x"


def step_speed(speed: float | None, steps: int) -> float | None:
    """The speed ``steps`` places up (positive) or down (negative) :data:`SPEED_STEPS`; above the last
    step is max, and max one step down is the last step. Never below the first step."""
    ladder: list[float | None] = [*SPEED_STEPS, MAX_SPEED]
    if speed is None:
        here = len(ladder) - 1
    elif steps > 0:  # from between two steps, one step up is the next step above
        here = sum(1 for step in SPEED_STEPS if step <= speed * (1 + 1e-9)) - 1
    else:
        here = sum(1 for step in SPEED_STEPS if step < speed * (1 - 1e-9))
    return ladder[min(max(here + steps, 0), len(ladder) - 1)]


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


class Plan(Generic[P]):
    """The slots of a replay (iterate once) and the options they were planned with, which give the
    :class:`Timeline` that paces them (:meth:`Timeline.for_options`)."""

    def __init__(self, slots: Iterator[Slot[P]], options: ReplayOptions) -> None:
        self._slots = slots
        self.options = options

    def __iter__(self) -> Iterator[Slot[P]]:
        return self._slots


def plan(
    read_posts: Callable[[], Iterable[P]],
    options: ReplayOptions,
    *,
    shift: float,
    relabel: Callable[[P, int, float], P] = loop_post,  # type: ignore[assignment]
) -> Plan[P]:
    """The replay as slots: the posts in the window, pass after pass. ``read_posts`` is called once per
    loop pass, so feeds are streamed; ``relabel`` makes a post's copy for a later pass
    (:func:`loop_post` for a :class:`Post`). Pacing is the :class:`Timeline`'s."""
    if options.loops == 1 and options.from_ts is None and options.until_ts is None:
        # The common replay: every post once. No per-post window arithmetic: at max speed a slot is sent
        # in a few microseconds.
        return Plan(map(Slot._make, zip(count(), read_posts())), options)
    return Plan(_slots(read_posts, options, shift=shift, relabel=relabel), options)


def _slots(
    read_posts: Callable[[], Iterable[P]],
    options: ReplayOptions,
    *,
    shift: float,
    relabel: Callable[[P, int, float], P],
) -> Iterator[Slot[P]]:
    index = 0
    for loop_pass in range(options.loops):
        for original in read_posts():
            if options.in_window(original.ts):
                yield Slot(index, relabel(original, loop_pass, shift))
                index += 1


class Anchor(NamedTuple):
    wall: float  # a monotonic clock reading
    virtual: float  # the replay clock (event seconds, silences capped) at that moment
    event_time: float | None  # the event time the replay clock showed then (None before any post)


class Timeline:
    """When each post is due, as the replay goes, under live changes of speed, pause and seek.

    The *replay clock* counts event seconds from the first post, with silences longer than ``max_gap``
    counted as ``max_gap`` and out-of-order posts not moving it. While running, replay-clock position
    ``v`` is due at ``anchor.wall + (v - anchor.virtual) / speed``; ``rate`` also keeps successive posts
    at least ``1 / rate`` apart. Before :meth:`start` and while paused the clock stands still.

    The caller's loop, per post: :meth:`skip` (a seek passes over it), else :meth:`place`, then wait
    until :meth:`due`, re-reading it after every change, then :meth:`sent`. Commands (:meth:`set_speed`,
    :meth:`pause`, :meth:`resume`, :meth:`seek`, :meth:`stopped`) may come at any point in between.
    ``now`` is always a monotonic clock reading, passed in.
    """

    def __init__(
        self,
        speed: float | None,
        *,
        rate: float | None = None,
        max_gap: float | None = None,
        stall_seconds: float = STALL_SECONDS,
    ) -> None:
        self.speed = speed
        self.rate = rate
        self.max_gap = max_gap
        self.stall_seconds = stall_seconds
        self.started = False
        self.paused = False
        self.sent_posts = 0
        self.skipped = 0  # posts a seek passed over
        self.stalls = 0
        self.seek_to: float | None = None  # event time a seek is skipping towards
        self.last_sent_ts: float | None = None  # the event time of the post sent last
        self._virtual = 0.0  # replay clock of the post placed last (or where a seek landed)
        self._high_water: float | None = None  # latest event time placed (or sought)
        self._pending: float | None = None  # replay clock of the post placed and not yet sent
        self._pending_ts: float | None = None
        self._anchor: Anchor | None = None  # set while the clock runs (started, not paused)
        self._held = 0.0  # where the clock stands while it does not run
        self._not_before: float | None = None  # the rate cap: earliest wall time of the next send
        self._rate_wait: float | None = None  # what was left of that when the clock stopped

    @classmethod
    def for_options(cls, options: ReplayOptions) -> Timeline:
        return cls(options.speed, rate=options.rate, max_gap=options.max_gap)

    # --- what the pacing is --------------------------------------------------------------------------

    @property
    def unpaced(self) -> bool:
        """Max speed without a rate cap: every post is due at once (and may be sent in batches)."""
        return self.speed is None and self.rate is None

    @property
    def has_pending(self) -> bool:
        return self._pending is not None

    @property
    def anchor(self) -> Anchor | None:
        """Where the running schedule is anchored; None while the clock stands still."""
        return self._anchor

    def position(self, now: float) -> float:
        """The replay clock now. It never passes a placed post that was not sent yet: a late post holds
        it, so a change made meanwhile re-anchors from that post, not from where it should have been."""
        if self._anchor is None:
            return self._held
        if self.speed is None:
            position = self._virtual
        else:
            position = self._anchor.virtual + (now - self._anchor.wall) * self.speed
        if self._pending is not None:
            position = min(position, self._pending)
        return position

    def event_time(self, now: float) -> float | None:
        """The event time the replay clock shows now (None before the first post is placed)."""
        return self._event_time_at(self.position(now))

    def _event_time_at(self, position: float) -> float | None:
        if self._high_water is None:
            return None
        return self._high_water + (position - self._virtual)

    # --- the replay's loop ---------------------------------------------------------------------------

    def skip(self, ts: float) -> bool:
        """True (and counted) when a seek passes over a post of event time ``ts``."""
        if self.seek_to is None:
            return False
        if ts < self.seek_to:
            self.skipped += 1
            return True
        self.seek_to = None  # landed
        return False

    def place(self, ts: float) -> None:
        """The next post to send has event time ``ts``: move the replay clock's target to it."""
        if self._high_water is None:
            self._high_water = ts
        else:
            gap = max(0.0, ts - self._high_water)
            if self.max_gap is not None:
                gap = min(gap, self.max_gap)
            self._virtual += gap
            self._high_water = max(self._high_water, ts)
        self._pending, self._pending_ts = self._virtual, ts

    def start(self, now: float) -> None:
        """Anchor the schedule: the post placed first is due now. Call it once the sender is ready."""
        if not self.started:
            self.started = True
            if not self.paused:
                self._run(now)

    def due(self) -> float | None:
        """The wall time the placed post is due; -inf: at once; None: not while the clock stands still
        (not started, or paused) or when no post is placed (a seek passed over it)."""
        if self._pending is None or self._anchor is None:
            return None
        if self.speed is None:
            due = -math.inf
        else:
            due = self._anchor.wall + (self._pending - self._anchor.virtual) / self.speed
        if self._not_before is not None:
            due = max(due, self._not_before)
        return due

    def sent(self, now: float) -> float:
        """The placed post goes now; returns how late it is (0 when on time). After a stall (later than
        ``stall_seconds``) the schedule moves by as much: the rest keeps its spacing instead of bursting."""
        due = self.due()
        if due is None:
            raise RuntimeError("no post is due: place one and wait while the clock runs")
        if due == -math.inf:
            due = now
        behind = max(0.0, now - due)
        if behind > self.stall_seconds:
            self._shift(behind)
            self.stalls += 1
            due = now
        if self.rate is not None:
            # From when it was due, not when it went: a little late, the next one catches up.
            self._not_before = due + 1.0 / self.rate
        self.last_sent_ts = self._pending_ts
        self._pending = self._pending_ts = None
        self.sent_posts += 1
        return behind

    def sent_unpaced(self, count: int, last_ts: float, latest_ts: float) -> None:
        """A batch of ``count`` posts went at max speed; ``latest_ts`` is the latest event time in it.
        The replay clock follows, so a change to a finite speed later goes on from there."""
        self._high_water = latest_ts if self._high_water is None else max(self._high_water, latest_ts)
        self.last_sent_ts = last_ts
        self.sent_posts += count

    # --- commands ------------------------------------------------------------------------------------

    def set_speed(self, speed: float | None, now: float) -> None:
        """From now on, at ``speed`` (None: max), on from where the replay clock is."""
        if self._anchor is not None:
            self._anchor = self._anchor_at(now)
        self.speed = speed

    def pause(self, now: float) -> bool:
        """Stop the replay clock where it is; False when it was paused already."""
        if self.paused:
            return False
        self.paused = True
        if self._anchor is not None:
            self._hold(now)
        return True

    def resume(self, now: float) -> bool:
        """Run the replay clock again from where it stopped; False when it was not paused."""
        if not self.paused:
            return False
        self.paused = False
        if self.started:
            self._run(now)
        return True

    def stopped(self, seconds: float) -> None:
        """The whole process was stopped (Ctrl-Z) this long: the schedule moves by as much, unless it was
        paused anyway."""
        if self._anchor is not None and seconds > 0:
            self._shift(seconds)

    def seek(self, ts: float, now: float) -> None:
        """Go forward to event time ``ts``: the posts before it are skipped (counted by :meth:`skip`, and
        here for the placed one), and the replay clock shows ``ts`` now. Raises ValueError for a time not
        ahead of the replay clock."""
        current = self.event_time(now)
        if current is not None and ts <= current:
            raise ValueError("seek goes forward only")
        position = self.position(now)
        self._virtual, self._high_water = position, ts
        if self._pending is not None:
            assert self._pending_ts is not None
            if self._pending_ts < ts:  # passed over, like the ones to come before ts
                self._pending = self._pending_ts = None
                self.skipped += 1
                self.seek_to = ts
            else:  # landed on the post already placed: it keeps its distance from ts
                pending_ts = self._pending_ts
                self.seek_to = None
                self.place(pending_ts)
        else:
            self.seek_to = ts
        if self._anchor is not None:
            self._anchor = Anchor(now, position, ts)
        else:
            self._held = position

    # --- anchoring -----------------------------------------------------------------------------------

    def _anchor_at(self, now: float) -> Anchor:
        position = self.position(now)
        return Anchor(now, position, self._event_time_at(position))

    def _run(self, now: float) -> None:
        self._anchor = Anchor(now, self._held, self._event_time_at(self._held))
        if self._rate_wait is not None:
            self._not_before, self._rate_wait = now + self._rate_wait, None

    def _hold(self, now: float) -> None:
        self._held = self.position(now)
        if self._not_before is not None:
            self._rate_wait, self._not_before = max(0.0, self._not_before - now), None
        self._anchor = None

    def _shift(self, seconds: float) -> None:
        if self._anchor is not None:
            self._anchor = self._anchor._replace(wall=self._anchor.wall + seconds)
        if self._not_before is not None:
            self._not_before += seconds
