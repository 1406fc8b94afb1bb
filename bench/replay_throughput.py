"""Max-speed replay throughput vs a bare kafka-python producer sending the same messages, in one run.

    python bench/replay_throughput.py --bootstrap 127.0.0.1:9092 [--posts 200000]

Prints posts/s for both and their ratio; the feed is generated synthetically (no broker needed for that).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from kafka import KafkaProducer

from feed import Post, read_feed, write_feed
from replay.producer import ensure_topic

T0 = 1244851200.0


def make_feed(path: Path, count: int) -> None:
    authors = [f"user{n}" for n in range(500)]
    write_feed(
        (
            Post(
                id=f"b{n}",
                ts=T0 + n * 0.5,
                text=f"Huge crowds on Vali Asr street, police with batons near Vanak #iranelection {n}",
                author=authors[n % len(authors)],
                platform="twitter",
                lang="en",
                region="IR" if n % 2 else "US",
            )
            for n in range(count)
        ),
        path,
    )


def bare_producer(bootstrap: str, topic: str, feed: Path) -> float:
    messages = [(p.to_json(), p.author.encode(), p.ts_ms) for p in read_feed(feed)]  # pre-encoded
    producer = KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5, batch_size=256 * 1024
    )
    started = time.perf_counter()
    for value, key, ts_ms in messages:
        producer.send(topic, value=value, key=key, timestamp_ms=ts_ms)
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return len(messages) / elapsed


def replay_max(bootstrap: str, topic: str, feed: Path, count: int) -> float:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "replay", "send", str(feed), "--bootstrap", bootstrap, "--topic", topic,
         "--speed", "max", "--quiet", "--state", str(feed.parent)],
        check=True,
    )  # fmt: skip
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--posts", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "bench.jsonl"
        make_feed(feed, args.posts)
        results = {}
        for name in ("bare", "replay"):
            topic = f"bench-{name}-{uuid.uuid4().hex[:6]}"
            ensure_topic(args.bootstrap, topic, 4)
            if name == "bare":
                results[name] = bare_producer(args.bootstrap, topic, feed)
            else:
                results[name] = replay_max(args.bootstrap, topic, feed, args.posts)
    print(f"kafka_python_producer_posts_per_s {results['bare']:,.0f}")
    print(f"replay_max_posts_per_s            {results['replay']:,.0f}  (whole command)")
    print(f"ratio replay / bare               {results['replay'] / results['bare']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
