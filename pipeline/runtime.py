"""Process-wide tuning for a long-running worker: the garbage collector and glibc's malloc, and a clock
on the collector.

Both settings were found with the soak (``make soak``) and the profiler, and are measured in the issue
notes. The clock is there because the collector's time is charged to whatever line allocated when it ran:
a profile shows it nowhere, yet in a worker over the stress feed it was about a seventh of the event
loop's CPU (gen-0 collections scanning the posts' tuples as detection keeps them).
"""

from __future__ import annotations

import ctypes
import gc
import time
from collections.abc import Callable
from typing import Any

from feed.runtime import GC_THRESHOLDS  # why: see feed/runtime.py

# glibc raises its mmap threshold each time a large block is freed, after which the multi-megabyte
# detector snapshots (every SNAPSHOT_SECONDS) are carved out of the heap, which fragments. A fixed
# threshold keeps blocks over 1 MiB in mmap, returned to the system when freed; two arenas keep the
# threads (aiokafka, the metrics server) from each growing one. In a 3M-post soak RSS grew half as fast.
M_MMAP_THRESHOLD = -3  # mallopt parameters, from <malloc.h>
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 1 << 20
ARENAS = 2


def tune() -> bool:
    """Apply both; False when this is not glibc (the collector is tuned anyway)."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)) and bool(mallopt(M_ARENA_MAX, ARENAS))


class CollectorClock:
    """Adds up the seconds the garbage collector runs, by generation (``seconds[0..2]``), through
    ``gc.callbacks``.

    The callback only adds floats, under no lock: a collection starts in whichever thread allocated,
    inside whatever lock that thread holds (on Python 3.12 at any call), so taking one there (a
    Prometheus counter's) could wait on its own thread forever. The collector never runs in two threads
    at once, so one start time is enough; a reader (the metrics' scrape) reads the floats as they are."""

    def __init__(
        self, seconds: list[float] | None = None, clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.seconds = seconds if seconds is not None else [0.0, 0.0, 0.0]  # e.g. the metrics' own
        self.clock = clock
        self._started: float | None = None

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = self.clock()
        elif self._started is not None:  # "stop"; a clock installed mid-collection skips that one
            self.seconds[info["generation"]] += self.clock() - self._started
            self._started = None

    def install(self) -> CollectorClock:
        if self not in gc.callbacks:
            gc.callbacks.append(self)
        return self

    def uninstall(self) -> None:
        if self in gc.callbacks:
            gc.callbacks.remove(self)
