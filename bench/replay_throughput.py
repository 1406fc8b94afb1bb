"""Max-speed replay throughput vs a bare kafka-python producer sending the same messages, in one run.

    python -m bench.replay_throughput --bootstrap 127.0.0.1:9092 [--posts 200000]

Prints posts/s for both and their ratio. The feed is the generated ``stress`` scenario (bench.workload).
``make bench`` runs the same two measurements on its own broker (bench/run.py).
"""

from __future__ import annotations

import argparse
import gc
import re
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.baselines import bare_producer  # noqa: E402
from bench.workload import load, make_feed  # noqa: E402
from replay.producer import ensure_topic  # noqa: E402

SUMMARY = re.compile(r"replay: sent (\d+)/\d+ posts .* in ([\d.]+)s \(([\d,]+) posts/s\)")


def replay_max(
    bootstrap: str, topic: str, feed: Path, state_dir: Path, *extra: str
) -> tuple[float, float | None]:
    """Runs ``python -m replay send FEED --speed max --quiet --no-end-marker`` into ``topic`` (created
    with 4 partitions): no end-of-feed markers, so it sends what the bare producer sends.

    Returns the whole command's wall seconds (start-up, the validating pass, sending, the final flush)
    and replay's own send-loop posts/s from its summary line (None if it could not be read)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "replay", "send", str(feed), "--bootstrap", bootstrap, "--topic", topic,
         "--partitions", "4", "--speed", "max", "--quiet", "--no-end-marker", "--state", str(state_dir),
         *extra],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"replay send failed ({result.returncode}):\n{result.stderr}")
    match = SUMMARY.search(result.stderr)
    return elapsed, float(match.group(3).replace(",", "")) if match else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--posts", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        feed = Path(tmp) / "bench.jsonl"
        count = make_feed(feed, args.posts)
        _, messages = load(feed)
        gc.freeze()  # as bench.run does: the loaded records stay out of every collection
        suffix = uuid.uuid4().hex[:6]
        ensure_topic(args.bootstrap, f"bench-bare-{suffix}", 4)
        bare = count / bare_producer(args.bootstrap, f"bench-bare-{suffix}", messages)
        seconds, loop_rate = replay_max(args.bootstrap, f"bench-replay-{suffix}", feed, Path(tmp))
        replay = count / seconds
    print(f"kafka_python_producer_posts_per_s {bare:,.0f}")
    print(
        f"replay_max_posts_per_s            {replay:,.0f}  (whole command; send loop {loop_rate or 0:,.0f})"
    )
    print(f"ratio replay / bare               {replay / bare:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
