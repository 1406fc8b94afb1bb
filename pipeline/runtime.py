"""Process-wide tuning for a long-running worker: the garbage collector and glibc's malloc.

Both were found with the soak (``make soak``) and the profiler, and are measured in the issue notes.
"""

from __future__ import annotations

import ctypes
import gc

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
