"""The garbage-collector setting both long-running processes share (the worker and the replayer).

Collect young objects every 50,000 net allocations instead of CPython's 700. The worker holds
millions of long-lived objects (the detector, Faust, aiokafka); with the default, each batch of posts
promoted enough survivors to start full collections: 28-48 of ~100-200 ms each over 300k posts, 10-20%
of the event loop. The replayer keeps every checked post, and kafka-python makes a handful of container
objects per send: with the default the collector ran every ~100 posts, a third of the max-speed send
loop (300k posts: 13.0 s → 9.5 s). Cycles are still collected, only looked for less often.
"""

from __future__ import annotations

GC_THRESHOLDS: tuple[int, int, int] = (50_000, 20, 100)
