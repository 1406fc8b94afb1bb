"""Scaling: classify + detect posts/s by worker count, on a topic pre-filled with the stress scenario.

    python -m bench.scaling --workers 1,2,4 --partitions 4 [--detect-partitions P] [--posts N]
                            [--without-detection] [--detect-workers K] [--merge-worker]
                            [--layout LAYOUT ...] [--output scaling-results.json]

Starts its own broker (as ``make bench`` does), pre-fills a ``--partitions`` topic with the first N posts
of the stress scenario (``BENCH_POSTS``, default 300,000), then for each worker count starts that many
``python -m pipeline worker`` in one group with ``DETECT_PARTITIONS`` shards (default: the partitions)
and times them over the whole topic, from the first classified record once the group has settled
(every worker holds posts partitions, every detect partition is held):

- ``classification alone``: until the classify group has committed every post;
- ``classify + detect``: until that, and until detection's watermark reached the end of the feed;
- where the time goes: the cores each worker used, in all and in its event loop alone (the detect
  shards, the merge and Kafka I/O; the rest is its classifier processes), the broker's, and the cores
  the detect loops spent detecting (``pipeline_detect_cpu_seconds``) as a share of the workers' CPU.
  Where classification fills every core, that share is about what detection costs classification:
  classify + detect / classification alone ≈ 1 − share. ``gc``: the cores the garbage collector took in
  the workers' event loops (``pipeline_gc_seconds_total``; ``gc_cores`` in the JSON), inside detect's
  figure where detection allocated.
- ``--detect-workers K``: the workers classify only (``DETECT=0``) and K more detect only
  (``CLASSIFY=0``), each in a process of its own; ``--merge-worker``: one more worker holds the merge
  alone (``DETECT_ROLES=merge``), the others the shards only. Their CPU counts among the workers'.
  ``--layout`` (repeatable) times several layouts over one pre-filled topic instead: ``default``,
  ``merge-worker``, ``detect-workers=K`` or ``detect-workers=K,merge-worker``.
- ``--without-detection``: before each worker count, the same workers classifying only (``DETECT=0``;
  once for all the layouts), so what detection costs is measured, not estimated: classify + detect as a
  share of classification with no detection beside it (``of_without_detection``). Where the workers
  fill every core, as on this 2-core machine with one worker and its two classifier processes, that is
  the issue's ratio.

The figures to beat (issue 20), measured on 16 cores with one partition of ``posts.detect`` (the single
detector), 1,000,000 posts in 16 partitions: classification alone 24,077 / 36,832 / 53,545 / 89,886
posts/s with 1 / 2 / 4 / 8 workers; classify + detect 24,077 / 36,099 / 51,557 / 55,483. With 8 workers
on 16 cores, classify + detect should reach at least 0.9 of classification alone. A bigger machine is
asked with, e.g., ``--workers 1,2,4,8 --partitions 16 --posts 1000000 --without-detection``, then
the same with ``--merge-worker`` (the merge off the classifying workers' event loops) and with
``--detect-workers 3 --merge-worker`` (all of detection apart).

``make bench`` runs :func:`scaling_runs` on its own pre-filled topic (1, 2 and 4 workers).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from bench.baselines import bare_producer
from bench.broker import Broker, Offsets
from bench.report import format_number, rate
from bench.stack import Timing, progress_bar, stop_all, time_pipeline
from bench.workload import Message, load, make_feed, partition_counts, partition_last_timestamps

DEFAULT_POSTS = 300_000


@dataclass
class ScalingRun:
    workers: int
    detect_partitions: int
    posts: int
    classify_only_posts_per_s: float
    classify_detect_posts_per_s: float
    detect_after_classify_s: float  # how much later detection caught up than classification finished
    cpu: str
    # Cores the workers' detect loops spent detecting (pipeline_detect_cpu_seconds), and that as a share
    # of all the workers' CPU (event loops and classifier processes): where the time goes.
    detect_cores: float = 0.0
    detect_share: float = 0.0
    # The workers' CPU (event loops and classifier processes) per post: steady where the rate is not,
    # since a core taken by another tenant of the machine slows the run but is not counted.
    cpu_us_per_post: float = 0.0
    # The same worker count with no detection at all (DETECT=0; --without-detection): classification on
    # every core the workers can have, and its CPU per post. None: not timed.
    without_detection_posts_per_s: float | None = None
    without_detection_cpu_us_per_post: float | None = None
    # Snapshots the detect loops saved during the run, and the seconds the saves took (all loops).
    snapshots: float = 0.0
    snapshot_seconds: float = 0.0
    # Workers that detect only (CLASSIFY=0; --detect-workers) beside the ``workers``, which then only
    # classify. 0: every worker classifies and detects.
    detect_workers: int = 0
    # One more worker held the merge alone (--merge-worker; DETECT_ROLES=merge), the others the shards.
    merge_worker: bool = False
    # Cores the garbage collector took in the workers' event loops (pipeline_gc_seconds_total).
    gc_cores: float = 0.0

    @property
    def of_without_detection(self) -> float | None:
        """classify + detect as a share of classification with no detection beside it: the issue's
        ratio where classification fills every core (0.9 or more with 8 workers on 16 cores)."""
        if not self.without_detection_posts_per_s:
            return None
        return self.classify_detect_posts_per_s / self.without_detection_posts_per_s

    @property
    def of_without_detection_by_cpu(self) -> float | None:
        """The same ratio from the CPU each post cost, with and without detection: what it will be where
        classification fills every core, less exposed to a noisy machine than the rates."""
        if not self.without_detection_cpu_us_per_post or not self.cpu_us_per_post:
            return None
        return self.without_detection_cpu_us_per_post / self.cpu_us_per_post

    @classmethod
    def from_timing(
        cls,
        workers: int,
        detect_partitions: int,
        timing: Timing,
        detect_workers: int = 0,
        merge_worker: bool = False,
    ) -> ScalingRun:
        worker_cores = whole_workers_cores(timing)
        detect = timing.cores.get("detect", 0.0)
        return cls(
            workers,
            detect_partitions,
            timing.posts,
            rate(timing.posts, timing.classified_seconds),
            rate(timing.posts, max(timing.classified_seconds, timing.detected_seconds)),
            max(0.0, timing.detected_seconds - timing.classified_seconds),
            timing.cpu,
            detect,
            detect / worker_cores if worker_cores > 0 else 0.0,
            cpu_us_per_post(worker_cores, timing),
            snapshots=timing.detect_snapshots,
            snapshot_seconds=timing.detect_snapshot_seconds,
            detect_workers=detect_workers,
            merge_worker=merge_worker,
            gc_cores=timing.cores.get("gc", 0.0),
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "workers": self.workers,
            "detect_partitions": self.detect_partitions,
            "posts": self.posts,
            "classify_only_posts_per_s": round(self.classify_only_posts_per_s, 1),
            "classify_detect_posts_per_s": round(self.classify_detect_posts_per_s, 1),
            "detect_after_classify_s": round(self.detect_after_classify_s, 2),
            "cores_used": self.cpu,
            "detect_cores": round(self.detect_cores, 3),
            "detect_share_of_workers_cpu": round(self.detect_share, 3),
            "without_detection_posts_per_s": _rounded(self.without_detection_posts_per_s, 1),
            "of_without_detection": _rounded(self.of_without_detection, 3),
            "cpu_us_per_post": round(self.cpu_us_per_post, 1),
            "without_detection_cpu_us_per_post": _rounded(self.without_detection_cpu_us_per_post, 1),
            "of_without_detection_by_cpu": _rounded(self.of_without_detection_by_cpu, 3),
            "snapshots": self.snapshots,
            "snapshot_seconds": round(self.snapshot_seconds, 2),
            "detect_workers": self.detect_workers,
            "merge_worker": self.merge_worker,
            "gc_cores": round(self.gc_cores, 3),
        }

    def line(self) -> str:
        without = ""
        if self.of_without_detection is not None:
            without = (
                f"; without detection {format_number(self.without_detection_posts_per_s)}/s, "
                f"so classify + detect = {self.of_without_detection:.2f} of it"
            )
        if self.of_without_detection_by_cpu is not None:
            without += (
                f"; workers' CPU a post {self.cpu_us_per_post:.0f} us, without detection "
                f"{self.without_detection_cpu_us_per_post:.0f} us: "
                f"{self.of_without_detection_by_cpu:.2f} by CPU"
            )
        apart = layout(self.detect_workers, self.merge_worker)
        return (
            f"{self.workers} worker{'s' if self.workers > 1 else ''}{apart}, {self.detect_partitions} detect "
            f"partition{'s' if self.detect_partitions > 1 else ''}: classify + detect "
            f"{format_number(self.classify_detect_posts_per_s)}/s, classification alone "
            f"{format_number(self.classify_only_posts_per_s)}/s, detection done "
            f"{self.detect_after_classify_s:.1f}s after classification; detection took "
            f"{self.detect_share:.1%} of the workers' CPU ({self.snapshots:.0f} snapshots saved in "
            f"{self.snapshot_seconds:.1f} s); cores used: {self.cpu}{without}"
        )


@dataclass(frozen=True)
class Layout:
    """Where detection runs beside the classifying workers: ``detect_workers`` workers that detect only
    (0: every worker classifies and detects), and ``merge_worker``: the merge in one worker of its own."""

    detect_workers: int = 0
    merge_worker: bool = False

    @classmethod
    def parse(cls, text: str) -> Layout:
        """``default``, ``merge-worker``, ``detect-workers=K`` or ``detect-workers=K,merge-worker``;
        ValueError names what is wrong."""
        detect_workers, merge_worker = 0, False
        for token in (t.strip() for t in text.split(",")):
            if token == "merge-worker":
                merge_worker = True
            elif token.startswith("detect-workers=") and token.partition("=")[2].isdigit():
                detect_workers = int(token.partition("=")[2])
            elif token != "default":
                raise ValueError(f"{token!r} is not default, merge-worker or detect-workers=K")
        return cls(detect_workers, merge_worker)


def layout(detect_workers: int, merge_worker: bool) -> str:
    """How detection was placed beside the classifying workers, for the lines ("" where every worker
    classifies and detects)."""
    text = f" classifying + {detect_workers} detecting only" if detect_workers else ""
    return text + (" + 1 holding the merge only" if merge_worker else "")


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def cpu_us_per_post(worker_cores: float, timing: Timing) -> float:
    """The workers' CPU over the timed run (cores × seconds) per post counted, in microseconds."""
    return worker_cores * timing.seconds / timing.posts * 1e6 if timing.posts else 0.0


def whole_workers_cores(timing: Timing) -> float:
    return sum(c for name, c in timing.cores.items() if _is_whole_worker(name))


def _is_whole_worker(name: str) -> bool:
    """A CpuMeter name of a whole worker (its event loop and classifier processes): worker1, worker2...,
    or of a worker that detects only: detector1, ..."""
    return any(name.startswith(kind) and name[len(kind) :].isdigit() for kind in ("worker", "detector"))


def final_watermark(messages: list[Message], partitions: int) -> float:
    """Detection's watermark once it has read the whole topic: the earliest partition's last post minus
    the lateness."""
    last = partition_last_timestamps(messages, partitions)
    if last is None:
        raise ValueError("a post without an author: its partition cannot be known in advance")
    return min(last) / 1000 - _lateness()


def _lateness() -> float:
    from pipeline.detect import DetectorConfig

    return DetectorConfig().lateness_seconds


def scaling_runs(
    bootstrap: str,
    offsets: Offsets,
    *,
    source: str,
    messages: list[Message],
    partitions: int,
    worker_counts: list[int],
    detect_partitions: int,
    work_dir: Path,
    broker_pid: int | None,
    posts: int | None = None,
    without_detection: bool = False,
    layouts: Sequence[Layout] = (Layout(),),
    say=lambda message: None,
) -> list[ScalingRun]:
    """For each worker count, one timed run per layout over the first ``posts`` posts (default: all) of
    ``source``; ``without_detection``: each worker count first timed with the workers classifying only
    (``DETECT=0``), once for all the layouts (it is the same for each)."""
    posts = len(messages) if posts is None else posts
    counts = partition_counts(messages[:posts], partitions)
    if counts is None:
        raise ValueError("a post without an author: its partition cannot be known in advance")
    if posts < len(messages):  # a prefix: the watermark passes the prefix's end while the rest is read
        target = max(m.timestamp_ms for m in messages[:posts]) / 1000 - _lateness() - 60
    else:
        target = final_watermark(messages, partitions)
    runs = []

    def timed(workers: int, name: str, detect: bool, placed: Layout = Layout()) -> Timing:
        timing = time_pipeline(
            bootstrap, offsets, source=source, name=name, workers=workers, final_watermark=target,
            work_dir=work_dir, timeout=max(300.0, posts / 1000), targets=counts, milestone=counts,
            broker_pid=broker_pid, partitions=partitions, detect_partitions=detect_partitions, settle=True,
            detect=detect, detect_workers=placed.detect_workers, merge_worker=placed.merge_worker,
        )  # fmt: skip
        if not timing.posts:
            say(
                f"{name}: no post was timed (the clock starts once the group has settled, and every post "
                "was classified before that): its rates read 0; give more --posts"
            )
        return timing

    for workers in worker_counts:
        if without_detection:
            say(f"scaling: {workers} worker(s) without detection (DETECT=0) ...")
            timing = timed(workers, f"scaling-{workers}w-nodetect", detect=False)
            alone = rate(timing.posts, timing.classified_seconds)
            alone_cpu = cpu_us_per_post(whole_workers_cores(timing), timing)
            say(f"without detection: {format_number(alone)}/s; cores used: {timing.cpu}")
        for placed in layouts:
            apart = layout(placed.detect_workers, placed.merge_worker)
            say(f"scaling: {workers} worker(s){apart}, {detect_partitions} detect partition(s) ...")
            placement = f"{placed.detect_workers}d{int(placed.merge_worker)}m"
            name = f"scaling-{workers}w{placement}-{detect_partitions}d"
            timing = timed(workers, name, detect=True, placed=placed)
            run = ScalingRun.from_timing(
                workers, detect_partitions, timing, placed.detect_workers, placed.merge_worker
            )
            if without_detection:
                run.without_detection_posts_per_s, run.without_detection_cpu_us_per_post = alone, alone_cpu
            say(run.line())
            runs.append(run)
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.scaling",
        description="Classify + detect posts/s by worker count on a real broker (its own, on free ports).",
    )
    parser.add_argument("--workers", default="1,2,4", help="worker counts to time, comma-separated (1,2,4)")
    parser.add_argument("--partitions", type=int, default=4, help="partitions of the posts topic (4)")
    parser.add_argument(
        "--detect-partitions", type=int, default=None, help="DETECT_PARTITIONS (default: --partitions)"
    )
    parser.add_argument(
        "--posts",
        type=int,
        default=int(os.environ.get("BENCH_POSTS", DEFAULT_POSTS)),
        help=f"posts of the stress scenario (BENCH_POSTS, {DEFAULT_POSTS:,})",
    )
    parser.add_argument(
        "--without-detection",
        action="store_true",
        help="also time each worker count classifying only (DETECT=0), and report classify + detect as "
        "a share of that: what detection costs where classification fills every core",
    )
    parser.add_argument(
        "--detect-workers",
        type=int,
        default=0,
        metavar="K",
        help="detect in K workers of their own (CLASSIFY=0) while the --workers only classify "
        "(DETECT=0); 0 (the default): every worker classifies and detects",
    )
    parser.add_argument(
        "--merge-worker",
        action="store_true",
        help="hold the merge in one more worker of its own (CLASSIFY=0 DETECT_ROLES=merge), the other "
        "workers holding the shards only (needs --detect-partitions above 1)",
    )
    parser.add_argument(
        "--layout",
        action="append",
        default=[],
        metavar="LAYOUT",
        help="time this layout too, on the same pre-filled topic (repeatable; instead of "
        "--detect-workers and --merge-worker): default, merge-worker, detect-workers=K or "
        "detect-workers=K,merge-worker; with --without-detection, the run without detection is made "
        "once per worker count for all of them",
    )
    parser.add_argument("--output", type=Path, default=Path("scaling-results.json"))
    args = parser.parse_args(argv)
    try:
        worker_counts = [int(n) for n in args.workers.split(",") if n.strip()]
    except ValueError:
        parser.error(f"--workers {args.workers!r}: whole numbers separated by commas, e.g. 1,2,4")
    if not worker_counts or min(worker_counts) < 1 or args.partitions < 1 or args.posts < 1:
        parser.error("--workers, --partitions and --posts must be at least 1")
    if args.detect_workers < 0:
        parser.error("--detect-workers must be 0 or more")
    layouts = []
    for text in args.layout:
        try:
            layouts.append(Layout.parse(text))
        except ValueError as exc:
            parser.error(f"--layout {text!r}: {exc}")
    if len(set(layouts)) < len(layouts):
        # Each layout's consumer groups are named after it: a second run of one would find its posts
        # committed already.
        parser.error(f"--layout: a layout is given twice ({', '.join(args.layout)})")
    if layouts and (args.detect_workers or args.merge_worker):
        parser.error("--layout replaces --detect-workers and --merge-worker: give the layouts alone")
    layouts = layouts or [Layout(args.detect_workers, args.merge_worker)]
    detect_partitions = args.detect_partitions or args.partitions
    if not 1 <= detect_partitions <= args.partitions:
        parser.error(f"--detect-partitions must be 1..{args.partitions} (at most the posts partitions)")
    if any(placed.merge_worker for placed in layouts) and detect_partitions == 1:
        parser.error("--merge-worker needs a merge: --detect-partitions (or --partitions) above 1")

    def say(message: str) -> None:
        print(f"bench: {message}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="iran2009-scaling-") as tmp:
        work = Path(tmp)
        broker = Broker(work / "kafka")
        try:
            broker.start()
            feed = work / "feed.jsonl"
            total = make_feed(feed, args.posts)
            _, messages = load(feed)
            bootstrap = broker.wait()
            say(f"{total:,} posts; broker on {bootstrap}")
            offsets = Offsets(bootstrap)
            try:
                source = "scaling-posts"
                offsets.create({source: args.partitions})
                bar = progress_bar(total, "pre-fill")
                bare_producer(bootstrap, source, messages, progress=bar)
                bar.close()
                runs = scaling_runs(
                    bootstrap, offsets, source=source, messages=messages, partitions=args.partitions,
                    worker_counts=worker_counts, detect_partitions=detect_partitions, work_dir=work,
                    broker_pid=broker.pid(), without_detection=args.without_detection,
                    layouts=layouts, say=say,
                )  # fmt: skip
            finally:
                offsets.close()
        finally:
            stop_all()
            broker.stop()
    results = {
        "cores": os.cpu_count(),
        "posts": total,
        "partitions": args.partitions,
        "runs": [run.to_record() for run in runs],
    }
    args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    for run in runs:
        print(run.line())
    say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
