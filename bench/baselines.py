"""Baselines that show what the libraries cost without the pipeline's work.

- :func:`bare_producer` — a kafka-python producer loop over pre-encoded records, with the settings of
  :class:`replay.producer.PostProducer` (acks=all, idempotent, linger 5 ms, 256 KiB batches).
- ``python -m bench.baselines aiokafka ...`` — an aiokafka ``getmany`` loop decoding each record with
  orjson, with the classify stage's fetch settings; prints ``{"posts": n, "seconds": s}`` as JSON.
- :func:`start_faust_passthrough` — ``python -m bench.faust_passthrough worker`` as a subprocess.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import orjson
from kafka import KafkaProducer

from bench.broker import check_interrupted
from bench.workload import Message

# replay.producer.PostProducer's settings.
PRODUCER_SETTINGS = {
    "acks": "all",
    "enable_idempotence": True,
    "linger_ms": 5,
    "batch_size": 256 * 1024,
    "delivery_timeout_ms": 600_000,
    "reconnect_backoff_max_ms": 2_000,
}
# pipeline.stream.classify_stage's consumer settings.
FETCH_SETTINGS = {"max_partition_fetch_bytes": 4 * 1024 * 1024, "fetch_max_bytes": 32 * 1024 * 1024}
BATCH_RECORDS = 1000  # pipeline.settings.Settings.batch_size


def bare_producer(bootstrap: str, topic: str, messages: Sequence[Message], progress=None) -> float:
    """Sends every message, flushes, and returns the seconds from the first send to the last ack."""
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, client_id="iran2009-bench-producer", **PRODUCER_SETTINGS
    )
    producer.partitions_for(topic)  # metadata first, so the clock measures sending only
    send = producer.send
    started = time.perf_counter()
    for n, message in enumerate(messages, 1):
        send(topic, value=message.value, key=message.key, timestamp_ms=message.timestamp_ms)
        if n % 10_000 == 0:
            check_interrupted()
            if progress is not None:
                progress.update(10_000)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    if progress is not None:
        progress.update(len(messages) % 10_000)
    return elapsed


async def aiokafka_consume(bootstrap: str, topic: str, total: int) -> tuple[int, float]:
    """Reads ``total`` records from the start of ``topic``; returns the records counted and the seconds,
    both from the first fetched batch on (the batch itself excluded), so start-up is not timed."""
    from aiokafka import AIOKafkaConsumer

    from feed.kafka_security import KafkaSecurity

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        **FETCH_SETTINGS,
        **KafkaSecurity.from_env().aiokafka(),  # KAFKA_SECURITY ...: bench.security compares the two
    )
    await consumer.start()
    try:
        seen = 0
        first_batch = 0
        started = 0.0
        while seen < total:
            fetched = await consumer.getmany(timeout_ms=50, max_records=BATCH_RECORDS)
            count = 0
            for records in fetched.values():
                for record in records:
                    orjson.loads(record.value)
                count += len(records)
            if count and not seen:
                started, first_batch = time.perf_counter(), count
            seen += count
        return seen - first_batch, time.perf_counter() - started
    finally:
        await consumer.stop()


def run_aiokafka_consumer(bootstrap: str, topic: str, total: int, timeout: float) -> tuple[int, float]:
    """The aiokafka baseline in its own process (like the worker), so it has a core to itself."""
    result = subprocess.run(
        [sys.executable, "-m", "bench.baselines", "aiokafka", "--bootstrap", bootstrap, "--topic", topic,
         "--total", str(total)],
        capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"the aiokafka baseline failed:\n{result.stderr}")
    answer = orjson.loads(result.stdout.strip().splitlines()[-1])
    return answer["posts"], answer["seconds"]


def start_faust_passthrough(
    bootstrap: str, app_id: str, source: str, sink: str, work_dir: Path
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "BENCH_BOOTSTRAP": bootstrap,
        "BENCH_APP_ID": app_id,
        "BENCH_SOURCE": source,
        "BENCH_SINK": sink,
        "BENCH_DATA_DIR": str(work_dir / f"{app_id}-data"),
    }
    from bench.stack import spawn

    with (work_dir / f"{app_id}.log").open("wb") as log:
        return spawn(
            [sys.executable, "-m", "bench.faust_passthrough", "worker", "-l", "warn", "--without-web"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    consume = commands.add_parser("aiokafka", help="time a bare aiokafka consumer over a topic")
    consume.add_argument("--bootstrap", required=True)
    consume.add_argument("--topic", required=True)
    consume.add_argument("--total", type=int, required=True, help="records to read")
    args = parser.parse_args(argv)
    posts, seconds = asyncio.run(aiokafka_consume(args.bootstrap, args.topic, args.total))
    print(orjson.dumps({"posts": posts, "seconds": seconds}).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
