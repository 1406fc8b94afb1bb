"""Where detection's time goes when it is sharded (issue 20), in-process and on one core.

    python bench/detect_shards.py [--scenario stress] [--hours 1] [--shards 1,2,4,8] [--sources 16]

Classifies a generated feed once, then times, over the same observations:

* one :class:`~pipeline.detect.Detector` (today's single ``detect`` agent);
* each :class:`~pipeline.detect.sharded.ShardDetector` of ``N`` shards over its share of the sources
  (source = murmur2(author) mod sources, as the replayer partitions; shard = source mod N);
* the :class:`~pipeline.detect.sharded.MergeDetector` over the shards' parts, decoded from their bytes as
  in the stack (a shard's time includes encoding its parts).

Shards run in parallel in the stack, one per detect partition, so ``N`` shards sustain about ``N`` times
the rate of the slowest shard, and the merge caps them at its own rate, which depends on the windows and
their distinct keys, not on the posts. The report gives both, and checks that the sharded alerts equal
the single detector's. Writes nothing; prints JSON (``--json``) or a table.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from kafka.partitioner.default import murmur2  # noqa: E402

from feed.model import Deletion  # noqa: E402
from pipeline.detect import Detector, DetectorConfig, Observation  # noqa: E402
from pipeline.detect.sharded import MergeDetector, Part, ShardDetector  # noqa: E402
from pipeline.engine import Engine  # noqa: E402
from replay.generate import generate  # noqa: E402


def observations(scenario: str, hours: float, sources: int) -> list[tuple[Observation, str]]:
    engine = Engine()
    items, _ = generate(scenario, seed=1, hours=hours)
    partition_of: dict[str, int] = {}
    out = []
    for post in items:
        if isinstance(post, Deletion):
            continue  # not timed here
        author = post.author or ""
        source = partition_of.get(author)
        if source is None:
            source = partition_of[author] = (murmur2(author.encode()) & 0x7FFFFFFF) % sources
        out.append((engine.classify(post).observation()._replace(source=source), post.id))
    return out


def time_single(obs: list[tuple[Observation, str]], sources: int) -> tuple[float, list]:
    detector = Detector(DetectorConfig(min_sources=sources))
    alerts = []
    started = time.perf_counter()
    for observation, post_id in obs:
        alerts += detector.push(observation, post_id)
    return time.perf_counter() - started, alerts


def time_sharded(obs: list[tuple[Observation, str]], sources: int, shards: int) -> dict[str, Any]:
    owned = [sum(1 for s in range(sources) if s % shards == d) for d in range(shards)]
    detectors = [
        ShardDetector(DetectorConfig(min_sources=max(owned[d], 1)), shard=d, owns_sources=owned[d] > 0)
        for d in range(shards)
    ]
    per_shard: list[list[tuple[Observation, str]]] = [[] for _ in range(shards)]
    for observation, post_id in obs:
        per_shard[observation.source % shards].append((observation, post_id))
    parts: list[list[tuple[Part, bytes]]] = [[] for _ in range(shards)]
    shard_seconds = []
    for d, shard in enumerate(detectors):
        started = time.perf_counter()
        for n, (observation, post_id) in enumerate(per_shard[d]):
            shard.push(observation, post_id)
            if n % 1000 == 999:  # a part per fetched batch, as the stack would, encoded as it sends it
                part = shard.take()
                if part is not None:
                    parts[d].append((part, part.to_bytes()))
        part = shard.take()
        if part is not None:
            parts[d].append((part, part.to_bytes()))
        shard_seconds.append(time.perf_counter() - started)
    # The merge reads the parts in the order of their event time, as they would arrive, and decodes
    # them as the stack does (the posts of the coordination samples that cannot join its own left out).
    ordered = sorted(
        (p for queue in parts for p in queue),
        key=lambda p: (
            p[0].progress.live_min if p[0].progress.live_min is not None else float("inf"),
            p[0].shard,
        ),
    )
    merge = MergeDetector(DetectorConfig(min_sources=sources), shards=shards)
    alerts = []
    decoded = 0
    started = time.perf_counter()
    for _, raw in ordered:
        part = Part.from_bytes(raw, merge.signed_cuts(), merge.sample_cuts())
        decoded += sum(len(window.signed) for window in part.windows)
        alerts += merge.absorb(part)
    merge_seconds = time.perf_counter() - started
    return {
        "shard_seconds": shard_seconds,
        "merge_seconds": merge_seconds,
        "parts": len(ordered),
        "windows_handed_on": sum(len(p.windows) for p, _ in ordered),
        # What crosses posts.detect.parts: the largest part, and all of them together.
        "part_bytes": [len(raw) for _, raw in ordered],
        "signed_handed_on": sum(len(window.signed) for p, _ in ordered for window in p.windows),
        "signed_decoded": decoded,
        "alerts": alerts,
    }


def measure(obs: list[tuple[Observation, str]], sources: int, shard_counts: list[int]) -> dict[str, Any]:
    gc.collect()
    single_seconds, single_alerts = time_single(obs, sources)
    posts = len(obs)
    result: dict[str, Any] = {
        "posts": posts,
        "sources": sources,
        "single_posts_per_s": round(posts / single_seconds),
        "sharded": {},
    }
    for shards in shard_counts:
        gc.collect()
        measured = time_sharded(obs, sources, shards)
        slowest = max(measured["shard_seconds"])
        shard_rate = posts / slowest  # N shards in parallel: all posts once the slowest is done
        merge_rate = posts / max(measured["merge_seconds"], 1e-9)
        result["sharded"][str(shards)] = {
            "slowest_shard_seconds": round(slowest, 2),
            "shards_in_parallel_posts_per_s": round(shard_rate),
            "merge_seconds": round(measured["merge_seconds"], 3),
            "merge_posts_per_s": round(merge_rate),
            "parts": measured["parts"],
            "windows_handed_on": measured["windows_handed_on"],
            "part_bytes_max": max(measured["part_bytes"], default=0),
            "part_bytes_per_post": round(sum(measured["part_bytes"]) / posts, 1),
            # Posts of the coordination samples in the parts, and those the merge had to decode.
            "signed_handed_on": measured["signed_handed_on"],
            "signed_decoded": measured["signed_decoded"],
            # What N shards and one merge sustain, each on its own core (the smaller of the two).
            "detect_posts_per_s": round(min(shard_rate, merge_rate)),
            "alerts_equal_single": measured["alerts"] == single_alerts,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", default="stress")
    parser.add_argument("--hours", type=float, default=1.0, help="event-time hours of the feed (default 1)")
    parser.add_argument("--sources", type=int, default=16, help="source partitions (default 16)")
    parser.add_argument("--shards", default="1,2,4,8", help="shard counts to time (default 1,2,4,8)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    shard_counts = [int(n) for n in args.shards.split(",")]
    print(f"classifying {args.scenario}, {args.hours:g} h ...", file=sys.stderr)
    obs = observations(args.scenario, args.hours, args.sources)
    result = measure(obs, args.sources, shard_counts)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    print(f"{result['posts']:,} posts over {args.sources} sources; one detector: "
          f"{result['single_posts_per_s']:,} posts/s")  # fmt: skip
    print(f"{'shards':>6} {'shards ∥ posts/s':>17} {'merge posts/s':>14} {'detect posts/s':>15} {'equal':>6}"
          f" {'signed sent':>12} {'decoded':>8}")  # fmt: skip
    for shards, row in result["sharded"].items():
        print(f"{shards:>6} {row['shards_in_parallel_posts_per_s']:>17,} {row['merge_posts_per_s']:>14,} "
              f"{row['detect_posts_per_s']:>15,} {row['alerts_equal_single']!s:>6} "
              f"{row['signed_handed_on']:>12,} {row['signed_decoded']:>8,}")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
