"""``make bench``: throughput and latency of the replay tool and the pipeline on a real broker, in one run.

    BENCH_POSTS=1000000 python -m bench.run [--posts N] [--sample S] [--faust-posts F] [--output PATH]

Starts its own broker (deploy/kafka/kafka.sh on free ports, data in a temp dir; stopped at the end, also
on failure, Ctrl-C or SIGTERM) and generates the ``stress`` scenario cut to N posts (``BENCH_POSTS``).
To fit in 15 minutes on two cores, the steady-state rates that do not need the whole feed are timed
over its first S posts (``BENCH_SAMPLE``, 300,000) and the slow Faust baseline over its first F
(``BENCH_FAUST_POSTS``, 100,000); the counts are in ``machine`` and in the table.

1. ``kafka_python_producer_posts_per_s`` — a bare kafka-python loop (``PostProducer``'s settings) sends
   the first S pre-encoded records into a fresh 4-partition topic, flushed and timed; then the other
   N − S. This topic is the pre-filled input of 3–6.
2. ``replay_max_posts_per_s`` — ``python -m replay send FEED --speed max --quiet`` with the same S posts
   into another fresh topic, the whole command timed.
3. ``aiokafka_consumer_posts_per_s`` — a bare aiokafka ``getmany`` loop with orjson decoding, N posts.
4. ``faust_passthrough_posts_per_s`` — a bare Faust agent forwarding each decoded record, F posts.
5. ``pipeline_posts_per_s`` — one real ``python -m pipeline worker``, classify and detect, over all N
   posts: until its classify group has committed everything and detection's watermark reached the end.
6. ``scaling`` — classify + detect posts/s over the first S posts with 1, 2 and 4 workers in one group,
   detection in 4 shards (``DETECT_PARTITIONS=4``, issue 20); ``scaling_classify_only`` the same runs
   until classification alone was done, and in the notes how much later detection was done and the
   cores each worker used, in all and in its event loop alone, and ``scaling_detect_cpu_share`` the
   share of the workers' CPU their detect loops spent detecting (``bench/scaling.py``, which also runs
   alone with any worker and partition count). Each worker count is timed first classifying only
   (``DETECT=0``): ``scaling_without_detection``, and ``scaling_of_without_detection_share`` the workers'
   CPU a post without detection over that with it, what classify + detect keeps of classification
   alone where classification fills every core (the issue's 0.9).
7. ``e2e_latency_p50_ms`` / ``_p99_ms`` — posts sent at 5,000/s for 30 s from this process into a fresh
   topic with a worker running; each id's send time against its arrival on posts.classified. A stage
   at 1,000/s for 10 s goes first, for reference (in the notes).
   ``pipeline_exactly_once_posts_per_s`` and ``e2e_latency_exactly_once_p50_ms`` / ``_p99_ms`` — the
   same over the first S posts and at the same load with ``EXACTLY_ONCE=1``, read as
   ``read_committed``; ``pipeline_at_least_once_sample_posts_per_s`` is its baseline (run 5, classified
   over the first S posts).
8. ``analyze_posts_per_s`` and ``classify_posts_per_s`` — in-process over S posts, after the broker stopped.
9. ``backlog_posts_per_s`` and ``backlog_peak_rss_mb`` — the first B posts of the iran2009 week
   (``BENCH_BACKLOG_POSTS``, default N; the week has 923,416) pre-filled into a fresh 16-partition topic,
   then one worker started on it, timed as in 5 until caught up; its peak RSS (VmHWM), and in the notes
   the most partitions its event-time alignment held paused (``ALIGN_SECONDS=0 make bench`` runs every
   worker without alignment). ``--backlog-only`` runs this case alone and prints it without writing the
   results file.

Each consumer run has its own group; clocks start at the first output record (see bench/stack.py).
Writes bench-results.json (bench/report.py) and prints a table; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import platform
import signal
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import orjson

from bench.baselines import bare_producer, run_aiokafka_consumer, start_faust_passthrough
from bench.broker import INTERRUPTED, KAFKA_VERSION, REPO, Broker, Offsets
from bench.classify_speed import classify_batch_seconds, engine_classify_seconds
from bench.replay_throughput import replay_max
from bench.report import MEASURES, build_results, format_number, format_table, percentile, rate
from bench.scaling import Layout, scaling_runs
from bench.stack import (
    CpuMeter,
    measure_latency,
    progress_bar,
    stop_all,
    stop_process,
    time_group,
    time_pipeline,
)
from bench.workload import (
    BACKLOG_PARTITIONS,
    BACKLOG_SCENARIO,
    SCENARIO,
    Message,
    load,
    make_backlog_feed,
    make_feed,
    partition_counts,
    partition_last_timestamps,
    write_prefix,
)
from feed.pseudonyms import IDENTIFYING_FIELDS

DEFAULT_POSTS = 1_000_000
DEFAULT_SAMPLE = 300_000
DEFAULT_FAUST_POSTS = 100_000
LATENCY_RATE = 5000.0
LATENCY_SECONDS = 30.0
# Before it, a gentler stage for reference (in the table's notes only): what latency is without a backlog.
REFERENCE_RATE = 1000.0
REFERENCE_SECONDS = 10.0
WARMUP_POSTS = 20_000
PARTITIONS = 4
SCALING_WORKERS = (1, 2, 4)


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


class Phases:
    """Wall time of each phase, reported at the end."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.started = time.monotonic()

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        say(f"{name} ...")
        started = time.monotonic()
        try:
            yield
        finally:
            self.seconds[name] = time.monotonic() - started
            say(f"{name}: {self.seconds[name]:.1f}s")

    def table(self) -> str:
        total = time.monotonic() - self.started
        width = max([len(name) for name in self.seconds] + [5])
        lines = [f"{name:<{width}}  {seconds:7.1f}s" for name, seconds in self.seconds.items()]
        lines.append(f"{'total':<{width}}  {total:7.1f}s")
        return "\n".join(lines)


@dataclass
class Run:
    """Everything the phases share."""

    work: Path
    phases: Phases
    feed: Path
    sample_feed: Path
    messages: list[Message]
    sample: int
    faust_posts: int
    latency_rate: float
    latency_seconds: float
    measured: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)

    def counts(self, posts: int) -> list[int]:
        counts = partition_counts(self.messages[:posts], PARTITIONS)
        if counts is None:
            raise ValueError("a post without an author: its partition cannot be known in advance")
        return counts


def _interrupt(_signum: int, _frame: object) -> None:
    # Ctrl-C and SIGTERM unwind the same way: workers and the broker are stopped on the way out. A
    # second one while that happens is ignored, so the clean-up itself is never cut short.
    if INTERRUPTED.is_set():
        return
    INTERRUPTED.set()
    say("stopping: the workers and the broker are being stopped ...")
    raise KeyboardInterrupt


def run(args: argparse.Namespace) -> dict[str, Any]:
    if args.backlog_only:
        return run_backlog_only(args)
    phases = Phases()
    with tempfile.TemporaryDirectory(prefix="iran2009-bench-") as tmp:
        work = Path(tmp)
        broker = Broker(work / "kafka")
        try:
            with phases("start broker + generate feed"):
                broker.start()
                feed = work / "feed.jsonl"
                total = make_feed(feed, args.posts)
                sample = min(args.sample, total)
                sample_feed = work / "sample.jsonl"
                write_prefix(feed, sample_feed, sample)
                posts, messages = load(feed)
                del posts[sample:]  # only the sample is classified in-process
                gc.freeze()  # a million long-lived records: keep them out of every collection
                bootstrap = broker.wait()
            say(f"{total:,} posts of the {SCENARIO} scenario (sample {sample:,}); broker on {bootstrap}")
            state = Run(
                work, phases, feed, sample_feed, messages, sample, min(args.faust_posts, total),
                args.latency_rate, args.latency_seconds,
            )  # fmt: skip
            offsets = Offsets(bootstrap)
            try:
                _kafka_phases(bootstrap, offsets, state, broker.pid())
                backlog_posts = _backlog_phases(
                    bootstrap, offsets, state, broker.pid(), args.backlog_posts or total
                )
            finally:
                offsets.close()
        finally:
            with phases("stop broker"):
                stop_all()  # anything a failed phase left running
                broker.stop()
        _in_process_phases(state, posts)
    machine = {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION,
        "bench_posts": total,
        "sample_posts": sample,
        "faust_posts": state.faust_posts,
        "backlog_posts": backlog_posts,
        "scenario": SCENARIO,
        "kafka_python": version("kafka-python"),
        "aiokafka": version("aiokafka"),
        "faust_streaming": version("faust-streaming"),
    }
    results = build_results(state.measured, machine)
    args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    print(format_table(results, state.notes))
    print()
    print("phases (wall time):")
    print(phases.table())
    say(f"wrote {args.output}")
    return results


def _kafka_phases(bootstrap: str, offsets: Offsets, run: Run, broker_pid: int | None) -> None:
    messages, measured, notes, phases = run.messages, run.measured, run.notes, run.phases
    total, sample = len(messages), run.sample
    timeout = max(300.0, total / 1500)
    with phases("warm up the broker"):
        offsets.create({"bench-warmup": PARTITIONS})
        bare_producer(bootstrap, "bench-warmup", messages[:WARMUP_POSTS])

    source = "bench-posts"
    with phases("kafka-python producer"):
        offsets.create({source: PARTITIONS})
        bar = progress_bar(total, "kafka-python producer")
        seconds = bare_producer(bootstrap, source, messages[:sample], progress=bar)
        measured["kafka_python_producer_posts_per_s"] = rate(sample, seconds)
        rest = bare_producer(bootstrap, source, messages[sample:], progress=bar) if total > sample else 0.0
        bar.close()
        ends = offsets.end_offsets(source)
        if [ends[tp] for tp in sorted(ends)] != run.counts(total):
            raise RuntimeError(f"{source} holds {ends}, not what the partitioner predicts")
        notes["kafka_python_producer_posts_per_s"] = f"{sample:,} posts" + (
            f"; the other {total - sample:,} at {format_number(rate(total - sample, rest))}/s" if rest else ""
        )

    with phases("replay send --speed max"):
        seconds, loop_rate = replay_max(bootstrap, "bench-replay", run.sample_feed, run.work)
        if (found := offsets.end_total("bench-replay")) != sample:
            raise RuntimeError(f"bench-replay holds {found} records, not {sample}")
        measured["replay_max_posts_per_s"] = rate(sample, seconds)
        notes["replay_max_posts_per_s"] = f"{sample:,} posts" + (
            f"; its send loop alone {format_number(loop_rate)}/s" if loop_rate else ""
        )

    with phases("replay send --speed max --keep-authors --keep-ids"):
        kept = ("--keep-authors", "--keep-ids", *(f"--keep-field={name}" for name in IDENTIFYING_FIELDS))
        seconds, _ = replay_max(bootstrap, "bench-replay-kept", run.sample_feed, run.work, *kept)
        if (found := offsets.end_total("bench-replay-kept")) != sample:
            raise RuntimeError(f"bench-replay-kept holds {found} records, not {sample}")
        measured["replay_kept_ids_posts_per_s"] = rate(sample, seconds)
        notes["replay_kept_ids_posts_per_s"] = f"{sample:,} posts, sent as they are in the feed"

    with phases("aiokafka consumer"):
        counted, seconds = run_aiokafka_consumer(bootstrap, source, total, timeout)
        measured["aiokafka_consumer_posts_per_s"] = rate(counted, seconds)
        notes["aiokafka_consumer_posts_per_s"] = f"{counted:,} posts in {seconds:.1f}s"

    with phases("faust passthrough"):
        sink = "bench-passthrough.out"
        offsets.create({sink: PARTITIONS})
        process = start_faust_passthrough(bootstrap, "bench-passthrough", source, sink, run.work)
        try:
            timing = time_group(
                offsets, source=source, output=sink, group="bench-passthrough", desc="faust passthrough",
                timeout=timeout, alive=lambda: process.poll() is None, targets=run.counts(run.faust_posts),
                cpu=CpuMeter({"faust": process.pid, "broker": broker_pid}),
            )  # fmt: skip
        finally:
            stop_process(process)
        measured["faust_passthrough_posts_per_s"] = timing.rate
        notes["faust_passthrough_posts_per_s"] = (
            f"{timing.posts:,} posts in {timing.seconds:.1f}s; cores used: {timing.cpu}"
        )

    lateness = _lateness()
    # One worker over everything, the one detector (the default): pipeline_posts_per_s, and classified
    # over the sample, the baseline of exactly once.
    final_watermark = max(m.timestamp_ms for m in messages) / 1000 - lateness - 60
    with phases("pipeline, 1 worker"):
        timing = time_pipeline(
            bootstrap, offsets, source=source, name="bench-pipeline-1w", workers=1,
            final_watermark=final_watermark, work_dir=run.work, timeout=timeout,
            targets=run.counts(total), milestone=run.counts(sample), broker_pid=broker_pid,
        )  # fmt: skip
    measured["pipeline_posts_per_s"] = timing.rate
    notes["pipeline_posts_per_s"] = (
        f"{timing.posts:,} posts: classified+committed after {timing.classified_seconds:.1f}s "
        f"({format_number(rate(timing.posts, timing.classified_seconds))}/s), "
        f"detection caught up by {timing.detected_seconds:.1f}s; cores used: {timing.cpu}"
    )
    measured["pipeline_at_least_once_sample_posts_per_s"] = timing.milestone_rate
    notes["pipeline_at_least_once_sample_posts_per_s"] = (
        f"{timing.milestone_posts:,} posts in {timing.milestone_seconds:.1f}s (cores used: {timing.cpu})"
    )

    # Scaling: 1, 2 and 4 workers over the sample, detection in DETECT_PARTITIONS=4 shards (issue 20).
    with phases("scaling, 1/2/4 workers, 4 detect partitions, each also without detection"):
        runs = scaling_runs(
            bootstrap, offsets, source=source, messages=messages, partitions=PARTITIONS,
            worker_counts=list(SCALING_WORKERS), detect_partitions=PARTITIONS, work_dir=run.work,
            broker_pid=broker_pid, posts=sample, without_detection=True, say=say,
        )  # fmt: skip
    measured["scaling"] = {str(r.workers): r.classify_detect_posts_per_s for r in runs}
    measured["scaling_classify_only"] = {str(r.workers): r.classify_only_posts_per_s for r in runs}
    # Where the time goes: detection's share of the workers' CPU (pipeline_detect_cpu_seconds).
    measured["scaling_detect_cpu_share"] = {str(r.workers): round(r.detect_share, 3) for r in runs}
    # What detection costs, measured against the same workers classifying only (DETECT=0).
    measured["scaling_without_detection"] = {
        str(r.workers): r.without_detection_posts_per_s or 0.0 for r in runs
    }
    measured["scaling_of_without_detection_share"] = {
        str(r.workers): round(r.of_without_detection_by_cpu or 0.0, 3) for r in runs
    }
    # Detection in a worker of its own (CLASSIFY=0) beside one worker classifying only, against that
    # worker classifying alone (the 1-worker run without detection above).
    with phases("scaling, 1 worker classifying + 1 detecting only"):
        (apart,) = scaling_runs(
            bootstrap, offsets, source=source, messages=messages, partitions=PARTITIONS,
            worker_counts=[1], detect_partitions=PARTITIONS, work_dir=run.work,
            broker_pid=broker_pid, posts=sample, layouts=[Layout(detect_workers=1)], say=say,
        )  # fmt: skip
    alone = next(r for r in runs if r.workers == 1)
    apart.without_detection_posts_per_s = alone.without_detection_posts_per_s
    apart.without_detection_cpu_us_per_post = alone.without_detection_cpu_us_per_post
    measured["scaling_detect_apart_posts_per_s"] = apart.classify_detect_posts_per_s
    measured["scaling_detect_apart_of_without_detection_share"] = round(
        apart.of_without_detection_by_cpu or 0.0, 3
    )
    notes["scaling_detect_apart_posts_per_s"] = apart.line()
    notes["scaling"] = "; ".join(
        f"{r.workers}w detection done {r.detect_after_classify_s:.1f}s after classification, "
        f"{r.detect_share:.1%} of the workers' CPU, CPU a post {r.cpu_us_per_post:.0f} us "
        f"({r.without_detection_cpu_us_per_post or 0:.0f} us without detection; cores used: {r.cpu})"
        for r in runs
    )

    with phases("pipeline, 1 worker, EXACTLY_ONCE=1"):
        final_watermark = max(m.timestamp_ms for m in messages[:sample]) / 1000 - lateness - 60
        timing = time_pipeline(
            bootstrap, offsets, source=source, name="bench-pipeline-eos", workers=1,
            final_watermark=final_watermark, work_dir=run.work, timeout=timeout,
            targets=run.counts(sample), milestone=run.counts(sample), broker_pid=broker_pid,
            exactly_once=True,
        )  # fmt: skip
    measured["pipeline_exactly_once_posts_per_s"] = timing.milestone_rate
    notes["pipeline_exactly_once_posts_per_s"] = (
        f"{timing.milestone_posts:,} posts in {timing.milestone_seconds:.1f}s (cores used: {timing.cpu})"
    )

    stages = [(REFERENCE_RATE, REFERENCE_SECONDS), (run.latency_rate, run.latency_seconds)]
    with phases(f"latency at {REFERENCE_RATE:g}/s, then {run.latency_rate:g}/s for {run.latency_seconds:g}s"):
        reference, latency = measure_latency(
            bootstrap, offsets, messages, stages=stages, work_dir=run.work, broker_pid=broker_pid
        )
    for stage in (reference, latency):
        if not stage.latencies_ms:
            raise RuntimeError("no timed post reached posts.classified")
    values = latency.latencies_ms
    measured["e2e_latency_p50_ms"] = percentile(values, 50)
    measured["e2e_latency_p99_ms"] = percentile(values, 99)
    tenth = max(1, len(values) // 10)
    first, last = percentile(values[:tenth], 50), percentile(values[-tenth:], 50)
    notes["e2e_latency_p50_ms"] = (
        f"{latency.sent:,} posts sent at {rate(latency.sent, latency.seconds):,.0f}/s, "
        f"{latency.missing} missing; p50 of the first tenth sent {format_number(first)} ms, "
        f"of the last tenth {format_number(last)} ms; cores used: {latency.cpu}; the measuring consumer "
        f"was at most {latency.measuring_lag:,} records behind"
    )
    notes["e2e_latency_p99_ms"] = (
        f"max {format_number(max(values))} ms; at {REFERENCE_RATE:g}/s for {REFERENCE_SECONDS:g}s: "
        f"p50 {format_number(percentile(reference.latencies_ms, 50))} ms, "
        f"p99 {format_number(percentile(reference.latencies_ms, 99))} ms (cores used: {reference.cpu})"
    )

    # The same load with EXACTLY_ONCE=1, read as read_committed: a post is visible once its
    # transaction commits (every COMMIT_INTERVAL_SECONDS), so the latency grows by up to that interval.
    with phases(f"latency with EXACTLY_ONCE=1 at {run.latency_rate:g}/s for {run.latency_seconds:g}s"):
        (transactional,) = measure_latency(
            bootstrap, offsets, messages, stages=[(run.latency_rate, run.latency_seconds)],
            work_dir=run.work, broker_pid=broker_pid, name="bench-latency-eos", exactly_once=True,
        )  # fmt: skip
    if not transactional.latencies_ms:
        raise RuntimeError("no timed post reached posts.classified with EXACTLY_ONCE=1")
    values = transactional.latencies_ms
    measured["e2e_latency_exactly_once_p50_ms"] = percentile(values, 50)
    measured["e2e_latency_exactly_once_p99_ms"] = percentile(values, 99)
    notes["e2e_latency_exactly_once_p50_ms"] = (
        f"{transactional.sent:,} posts sent at {rate(transactional.sent, transactional.seconds):,.0f}/s, "
        f"{transactional.missing} missing; cores used: {transactional.cpu}"
    )
    notes["e2e_latency_exactly_once_p99_ms"] = f"max {format_number(max(values))} ms"


def _backlog_phases(bootstrap: str, offsets: Offsets, run: Run, broker_pid: int | None, posts: int) -> int:
    """A worker started on a pre-filled 16-partition topic of the iran2009 week (module doc, 9)."""
    source = "bench-backlog"
    with run.phases("backlog: generate the week, pre-fill 16 partitions"):
        feed = run.work / "backlog.jsonl"
        total = make_backlog_feed(feed, posts)
        _, messages = load(feed)
        offsets.create({source: BACKLOG_PARTITIONS})
        bare_producer(bootstrap, source, messages)
        ends = offsets.end_offsets(source)
        if [ends[tp] for tp in sorted(ends)] != partition_counts(messages, BACKLOG_PARTITIONS):
            raise RuntimeError(f"{source} holds {ends}, not what the partitioner predicts")
        last = partition_last_timestamps(messages, BACKLOG_PARTITIONS)
        if last is None:
            raise ValueError("a post without an author: its partition cannot be known in advance")
        final_watermark = min(last) / 1000 - _lateness()
        del messages
    with run.phases("backlog: one worker until caught up"):
        timing = time_pipeline(
            bootstrap, offsets, source=source, name="bench-backlog-1w", workers=1,
            final_watermark=final_watermark, work_dir=run.work, timeout=max(300.0, total / 1500),
            broker_pid=broker_pid, partitions=BACKLOG_PARTITIONS,
        )  # fmt: skip
    run.measured["backlog_posts_per_s"] = timing.rate
    run.measured["backlog_peak_rss_mb"] = timing.peak_rss_mb or 0.0
    align = os.environ.get("ALIGN_SECONDS") or "default"
    classifiers = ", ".join(f"{rss:.0f}" for rss in timing.classifier_peak_rss_mb) or "none"
    run.notes["backlog_posts_per_s"] = (
        f"{timing.posts:,} posts of the {BACKLOG_SCENARIO} week in {BACKLOG_PARTITIONS} partitions: "
        f"classified+committed after {timing.classified_seconds:.1f}s, detection caught up by "
        f"{timing.detected_seconds:.1f}s; at most {timing.max_partitions_paused:.0f} partitions paused "
        f"(ALIGN_SECONDS {align}); cores used: {timing.cpu}"
    )
    run.notes["backlog_peak_rss_mb"] = f"its classifier processes' peaks: {classifiers} MiB"
    return total


def run_backlog_only(args: argparse.Namespace) -> dict[str, Any]:
    """Only the backlog case, on its own broker; prints the figures, writes no results file."""
    phases = Phases()
    with tempfile.TemporaryDirectory(prefix="iran2009-bench-") as tmp:
        work = Path(tmp)
        broker = Broker(work / "kafka")
        state = Run(work, phases, work / "unused.jsonl", work / "unused.jsonl", [], 0, 0, 0.0, 0.0)
        try:
            with phases("start broker"):
                broker.start()
                bootstrap = broker.wait()
            offsets = Offsets(bootstrap)
            try:
                posts = _backlog_phases(
                    bootstrap, offsets, state, broker.pid(), args.backlog_posts or args.posts
                )
            finally:
                offsets.close()
        finally:
            with phases("stop broker"):
                stop_all()
                broker.stop()
    figures = {key: round(value, 1) for key, value in state.measured.items()}
    for key, value in figures.items():
        print(f"{key}  {format_number(value)}  {MEASURES[key]}; {state.notes[key]}")
    print(f"backlog_posts  {posts:,}")
    print()
    print("phases (wall time):")
    print(phases.table())
    return {**figures, "backlog_posts": posts}


def _in_process_phases(run: Run, posts: list) -> None:
    from pipeline.analyze import analyze
    from pipeline.engine import Engine

    with run.phases("analyze (in-process)"):
        report = analyze(run.sample_feed, engine=Engine())
        run.measured["analyze_posts_per_s"] = rate(report.posts, report.elapsed)
        alerts = ", ".join(f"{kind}={n}" for kind, n in sorted(report.alerts.items())) or "none"
        run.notes["analyze_posts_per_s"] = f"{report.posts:,} posts in {report.elapsed:.1f}s; alerts {alerts}"
    with run.phases("classify (in-process)"):
        seconds = engine_classify_seconds(posts)
        run.measured["classify_posts_per_s"] = rate(len(posts), seconds)
        run.notes["classify_posts_per_s"] = f"{len(posts):,} posts in {seconds:.1f}s"
    with run.phases("classify, the lexicon alone (in-process)"):
        from pipeline.classify import Classifier

        seconds = engine_classify_seconds(posts, classifier=Classifier(model=None))
        run.measured["classify_lexicon_only_posts_per_s"] = rate(len(posts), seconds)
        run.notes["classify_lexicon_only_posts_per_s"] = f"{len(posts):,} posts in {seconds:.1f}s"
    with run.phases("classify batches, with and without pseudonyms (in-process)"):
        from feed.pseudonyms import Pseudonymizer

        for name, pseudonymizer in (
            ("classify_batch_posts_per_s", None),
            ("classify_batch_pseudonymized_posts_per_s", Pseudonymizer(b"bench-key")),
        ):
            seconds = classify_batch_seconds(posts, pseudonymizer)
            run.measured[name] = rate(len(posts), seconds)
            run.notes[name] = f"{len(posts):,} posts with raw authors in {seconds:.1f}s"


def _lateness() -> float:
    from pipeline.detect import DetectorConfig

    return DetectorConfig().lateness_seconds


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--posts",
        type=int,
        default=_env_int("BENCH_POSTS", DEFAULT_POSTS),
        help="posts in the generated feed and the pre-filled topic (env BENCH_POSTS; default %(default)s)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=_env_int("BENCH_SAMPLE", DEFAULT_SAMPLE),
        help="posts for replay vs producer, scaling, analyze and classify (env BENCH_SAMPLE; %(default)s)",
    )
    parser.add_argument(
        "--faust-posts",
        type=int,
        default=_env_int("BENCH_FAUST_POSTS", DEFAULT_FAUST_POSTS),
        help="posts for the Faust passthrough (env BENCH_FAUST_POSTS; default %(default)s)",
    )
    parser.add_argument(
        "--backlog-posts",
        type=int,
        default=_env_int("BENCH_BACKLOG_POSTS", 0),
        help="posts of the iran2009 week for the backlog case (env BENCH_BACKLOG_POSTS; default: --posts)",
    )
    parser.add_argument(
        "--backlog-only", action="store_true", help="run only the backlog case and print it (no results file)"
    )
    parser.add_argument("--output", type=Path, default=REPO / "bench-results.json")
    parser.add_argument("--latency-seconds", type=float, default=LATENCY_SECONDS)
    parser.add_argument("--latency-rate", type=float, default=LATENCY_RATE)
    args = parser.parse_args(argv)
    if args.posts < WARMUP_POSTS:
        parser.error(f"--posts must be at least {WARMUP_POSTS}")
    if args.sample < 1 or args.faust_posts < 1:
        parser.error("--sample and --faust-posts must be positive")
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        run(args)
    except Exception:
        if not INTERRUPTED.is_set():
            raise
        say("interrupted; the workers and the broker were stopped")  # a phase failed on the way out
        return 130
    except KeyboardInterrupt:
        say("interrupted; the workers and the broker were stopped")
        return 130
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
