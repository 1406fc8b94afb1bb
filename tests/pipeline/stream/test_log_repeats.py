"""The Kafka clients' repeated complaints while the broker is away: the first of each, then one per
interval with the count of those left out."""

from __future__ import annotations

import logging

from pipeline.stream.log_repeats import KAFKA_CLIENT_LOGGERS, RepeatLimiter, limit_repeats


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def record(msg: str, *args: object, name: str = "aiokafka", level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord(name, level, "client.py", 1, msg, args, None)


def test_a_message_repeated_for_a_minute_is_let_through_once_per_interval_with_the_count():
    clock = Clock()
    limiter = RepeatLimiter(interval=10.0, clock=clock)
    passed = []
    for tick in range(600):  # every 0.1 s for a minute, about a different node each time
        clock.now = tick / 10
        line = record("Unable connect to node with id %s: %s", tick % 3, "refused")
        if limiter.filter(line):
            passed.append(line.getMessage())
    assert len(passed) == 6
    assert passed[0] == "Unable connect to node with id 0: refused"
    assert passed[1] == "Unable connect to node with id 1: refused [and 99 more like it in the last 10 s]"
    assert limiter.left_out_total == 594


def test_different_messages_levels_and_loggers_are_limited_apart():
    limiter = RepeatLimiter(interval=10.0, clock=Clock())
    lines = [
        record("Unable connect to node with id %s: %s", 1, "refused"),
        record("Unable to update metadata from %s", [1]),
        record("Unable to update metadata from %s", [1], level=logging.WARNING),
        record("Unable to update metadata from %s", [1], name="aiokafka.cluster"),
    ]
    assert all(limiter.filter(line) for line in lines)
    assert not any(limiter.filter(line) for line in lines)


def test_installed_on_the_kafka_clients_loggers_only():
    limiter = limit_repeats(interval=10.0)
    try:
        for name in KAFKA_CLIENT_LOGGERS:
            assert limiter in logging.getLogger(name).filters
        assert limiter not in logging.getLogger("pipeline.stream.classify_stage").filters
        assert limiter not in logging.getLogger().filters
    finally:
        for name in KAFKA_CLIENT_LOGGERS:
            logging.getLogger(name).removeFilter(limiter)
