"""Is this worker healthy? Consumer lag, stalled partitions and broker reachability. Pure.

A Faust timer (``pipeline.stream.health_probe``) feeds :class:`HealthMonitor` with what the consumer knows
every few seconds; the HTTP thread that serves ``/health`` only reads the last :class:`HealthReport`. A
stalled worker (faust-streaming issue #175: the committed offset stops while the end offset grows) is one
whose position does not move while records wait; a frozen event loop is one whose probe stops reporting.
Time here is the wall clock on purpose: health is about the process, not about the posts.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

TopicPartition = tuple[str, int]


@dataclass(frozen=True, slots=True)
class PartitionOffsets:
    """What the worker knows of one assigned partition. ``end`` is the next offset to be written,
    ``committed`` the next to be read after a restart, ``read`` the last offset handed to a stream."""

    end: int | None
    committed: int | None
    read: int | None
    # Held back on purpose (event-time alignment waits for a slower partition): not a stall.
    aligned_back: bool = False


@dataclass(frozen=True, slots=True)
class PartitionHealth:
    topic: str
    partition: int
    end: int | None
    committed: int | None
    lag: int | None  # end - what was read: records not read yet
    stalled: bool
    idle_seconds: float  # since the position last moved
    held: int | None = None  # read and processed, not committed yet: a restart reads them again


@dataclass(frozen=True, slots=True)
class HealthReport:
    checked_at: float | None  # when the last probe ran (None before the first)
    broker_connected: bool
    partitions: tuple[PartitionHealth, ...] = ()
    error: str | None = None

    @property
    def stalled(self) -> list[PartitionHealth]:
        return [p for p in self.partitions if p.stalled]

    def healthy(self, now: float | None, max_age: float) -> bool:
        fresh = self.checked_at is not None and now is not None and now - self.checked_at <= max_age
        return fresh and self.broker_connected and not self.stalled

    def to_record(self, now: float, max_age: float) -> dict[str, Any]:
        if self.checked_at is None:
            status = "starting"
        elif now - self.checked_at > max_age:
            status = "unresponsive"  # the event loop has not run the probe: blocked or dead
        elif not self.broker_connected:
            status = "broker_unreachable"
        elif self.stalled:
            status = "stalled"
        else:
            status = "ok"
        return {
            "status": status,
            "healthy": status == "ok",
            "broker_connected": self.broker_connected,
            "probe_age_seconds": None if self.checked_at is None else round(now - self.checked_at, 3),
            "assigned": [f"{p.topic}[{p.partition}]" for p in self.partitions],
            "stalled": [f"{p.topic}[{p.partition}]" for p in self.stalled],
            "lag": {f"{p.topic}[{p.partition}]": p.lag for p in self.partitions},
            "held": {f"{p.topic}[{p.partition}]": p.held for p in self.partitions},
            "error": self.error,
        }


@dataclass
class _Position:
    committed: int | None
    read: int | None
    since: float


@dataclass
class HealthMonitor:
    """Keeps each partition's last position change; ``observe`` returns (and keeps) a fresh report."""

    stall_seconds: float
    interval: float
    _positions: dict[TopicPartition, _Position] = field(default_factory=dict)
    _report: HealthReport = field(default_factory=lambda: HealthReport(None, False))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def max_age(self) -> float:
        """A report older than this means the probe stopped running."""
        return 3 * self.interval + 10.0

    def observe(
        self,
        now: float,
        offsets: Mapping[TopicPartition, PartitionOffsets],
        *,
        broker_connected: bool,
        error: str | None = None,
    ) -> HealthReport:
        partitions = []
        for tp in sorted(offsets):
            known = offsets[tp]
            position = self._positions.get(tp)
            moved = position is None or (position.committed, position.read) != (known.committed, known.read)
            if moved or known.aligned_back:  # held back on purpose: its clock starts when let through
                position = self._positions[tp] = _Position(known.committed, known.read, now)
            idle = now - position.since
            # Everything up to `consumed` was at least handed to the agent; records beyond it wait.
            consumed = max(known.committed or 0, (known.read + 1) if known.read is not None else 0)
            waiting = known.end is not None and known.end > consumed
            lag = held = None
            if known.end is not None and (known.committed is not None or known.read is not None):
                # Lag is what is not read yet. Records read but held for a snapshot are not lag: the
                # detect stage commits only when it saves, so a caught-up worker would never read 0.
                lag = max(known.end - consumed, 0)
                held = max(consumed - (known.committed or 0), 0) if known.committed is not None else None
            stalled = broker_connected and waiting and idle >= self.stall_seconds
            partitions.append(
                PartitionHealth(tp[0], tp[1], known.end, known.committed, lag, stalled, idle, held)
            )
        for tp in [tp for tp in self._positions if tp not in offsets]:
            del self._positions[tp]  # revoked: a later assignment starts its clock afresh
        report = HealthReport(now, broker_connected, tuple(partitions), error)
        with self._lock:
            self._report = report
        return report

    def report(self) -> HealthReport:
        with self._lock:
            return self._report
