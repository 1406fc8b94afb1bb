"""Kafka clients' repeated log lines, at most one per message every few seconds.

While the broker is away, aiokafka logs each failed reconnection and metadata refresh of each of the
worker's clients: 10,642 lines in a 12-second broker restart, up to 3,000 a second, and an operator's
hour-long outage would write millions. :class:`RepeatLimiter` lets the first line of each message through
(logger, level and format string: the same complaint about any node or error) and then one per
``interval`` seconds, which says how many like it were left out meanwhile. Nothing of the pipeline's own
logging passes through it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable

REPEAT_INTERVAL_SECONDS = 10.0
# The aiokafka modules that log per retry (each logs under its module name).
KAFKA_CLIENT_LOGGERS = (
    "aiokafka",  # the client's (aiokafka/client.py)
    "aiokafka.cluster",
    "aiokafka.conn",
    "aiokafka.consumer.consumer",
    "aiokafka.consumer.fetcher",
    "aiokafka.consumer.group_coordinator",
    "aiokafka.producer.producer",
    "aiokafka.producer.sender",
)


class RepeatLimiter(logging.Filter):
    """A logging filter: each message at most once per ``interval`` seconds, with the count left out."""

    def __init__(
        self, interval: float = REPEAT_INTERVAL_SECONDS, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._last: dict[tuple[str, int, str], float] = {}  # when each message was last let through
        self._left_out: dict[tuple[str, int, str], int] = {}
        self.left_out_total = 0

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._left_out[key] = self._left_out.get(key, 0) + 1
            self.left_out_total += 1
            return False
        self._last[key] = now
        left_out = self._left_out.pop(key, 0)
        if left_out:
            # Appended to the format string, so that the arguments still fill it as before.
            record.msg = f"{record.msg} [and {left_out} more like it in the last {now - last:.0f} s]"
        return True


def limit_repeats(
    logger_names: Iterable[str] = KAFKA_CLIENT_LOGGERS, interval: float = REPEAT_INTERVAL_SECONDS
) -> RepeatLimiter:
    """Installs one :class:`RepeatLimiter` on each of ``logger_names``; returns it."""
    limiter = RepeatLimiter(interval)
    for name in logger_names:
        logging.getLogger(name).addFilter(limiter)
    return limiter
