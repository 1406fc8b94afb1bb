"""Event-time alignment of the partitions one consumer reads: which to pause, which to resume. Pure.

Detection's watermark is the minimum over source partitions of their latest event time, so every window a
partition opens ahead of the slowest one stays open in the detector's state until the slowest catches up.
A worker started on a backlog reads whatever the broker returned first, a whole fetch of one partition
at a time, and partitions drift hours or days apart: a week replayed into 16 partitions grew the
detector's snapshot to 34-46 MB. As Flink's watermark alignment and Kafka Streams' timestamp-ordered
choice of the next record do, :class:`Alignment` holds back the partitions that run ahead: a partition
more than ``max_ahead`` seconds of event time ahead of the slowest partition that still has records
waiting is paused until that one is back within ``resume_ahead`` of it (hysteresis, so a partition does
not flap at every batch). The state held ahead of the watermark is then bounded by ``max_ahead`` plus
what one fetched batch of a partition spans, whatever the skew on the broker.

- Partitions with nothing waiting (caught up, or empty) hold nobody back: a live stream is never paused
  for a partition that simply has no posts.
- A partition not read yet (its event time unknown) is never paused, so it is always fetched: no
  deadlock. While one with records waiting is unknown, the others are held within ``max_ahead`` of the
  earliest event time read since they were assigned, so the first partitions to answer a fetch do not
  run ahead before the rest have been read at all (16 partitions, a first fetch returning 3).
- The slowest partition with records waiting is never paused, so some partition can always be read.
- Time is event time only, never the wall clock: the same reads give the same decisions.

Only one consumer's own partitions can be aligned: each worker sees only its assignment, so with several
workers in a group the partitions of different workers are not held back for each other (the detector
then holds open what lies between the workers).
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from typing import Generic, TypeVar

P = TypeVar("P", bound=Hashable)


@dataclass(frozen=True, slots=True)
class Changes(Generic[P]):
    """What to tell the consumer: partitions to pause and partitions to resume (both possibly empty)."""

    pause: frozenset[P]
    resume: frozenset[P]

    def __bool__(self) -> bool:
        return bool(self.pause or self.resume)


class Alignment(Generic[P]):
    """Which of a consumer's partitions to pause so that none runs far ahead in event time (module doc).

    Feed it the event time of the last record read from each partition (:meth:`read`), and after each
    fetch ask :meth:`decide` with every assigned partition and whether records wait on it; hold back the
    partitions in :attr:`paused` (``consumer.pause``, or leaving them out of the next fetch), the returned
    :class:`Changes` say what changed. :meth:`forget` the partitions a rebalance revokes."""

    def __init__(self, max_ahead: float, resume_ahead: float | None = None) -> None:
        if max_ahead <= 0:
            raise ValueError(f"max_ahead must be positive, not {max_ahead}")
        resume_ahead = max_ahead / 2 if resume_ahead is None else resume_ahead
        if not 0 <= resume_ahead <= max_ahead:
            raise ValueError(f"resume_ahead must be within 0..max_ahead ({max_ahead}), not {resume_ahead}")
        self.max_ahead = float(max_ahead)
        self.resume_ahead = float(resume_ahead)
        self._latest: dict[P, float] = {}  # event time of the last record read
        self._first: dict[P, float] = {}  # event time of the first record read since assigned
        self._paused: set[P] = set()

    @property
    def paused(self) -> frozenset[P]:
        return frozenset(self._paused)

    def event_time(self, partition: P) -> float | None:
        return self._latest.get(partition)

    def read(self, partition: P, event_time: float) -> None:
        """The event time (seconds) of the last record just read from ``partition``."""
        self._latest[partition] = event_time
        self._first.setdefault(partition, event_time)

    def forget(self, partitions: Iterable[P]) -> None:
        """Revoked partitions: their times and pause flags are dropped; if assigned again, they start
        unknown and not paused."""
        for partition in partitions:
            self._latest.pop(partition, None)
            self._first.pop(partition, None)
            self._paused.discard(partition)

    def floor(self, waiting: Mapping[P, bool]) -> float | None:
        """The event time the partitions are held near: the slowest partition with records waiting, or
        while one of those is not read yet, the earliest event time read since assignment. None when
        nothing waits (or nothing is known): then nobody is held back."""
        latest, candidates = self._latest, []
        unknown_waiting = False
        for partition, has_records in waiting.items():
            if not has_records:
                continue
            if partition in latest:
                candidates.append(latest[partition])
            else:
                unknown_waiting = True
        if unknown_waiting:
            starts = [self._first[p] for p in waiting if p in self._first]
            if starts:
                candidates.append(min(starts))
        return min(candidates) if candidates else None

    def decide(self, waiting: Mapping[P, bool]) -> Changes[P]:
        """``waiting``: every assigned partition → whether records wait on it (True when not known yet).
        Returns the pause and resume calls that bring the consumer to the new decision, and remembers it;
        partitions not in ``waiting`` are forgotten."""
        self.forget([p for p in set(self._latest) | self._paused if p not in waiting])
        floor = self.floor(waiting)
        pause: set[P] = set()
        resume: set[P] = set()
        for partition in waiting:
            time = self._latest.get(partition)
            was_paused = partition in self._paused
            if floor is None or time is None:
                hold = False  # nothing to wait for, or never read: must be fetched
            elif was_paused:
                hold = time - floor > self.resume_ahead
            else:
                hold = time - floor > self.max_ahead
            if hold and not was_paused:
                pause.add(partition)
            elif was_paused and not hold:
                resume.add(partition)
        self._paused = (self._paused | pause) - resume
        return Changes(frozenset(pause), frozenset(resume))
