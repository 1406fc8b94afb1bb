"""Timing real consumers over a pre-filled topic, and end-to-end latency through a running worker.

Throughput is measured from the outside, the same way for the pipeline and the Faust baseline: the
clock starts at the first poll that sees a record on the output topic (so start-up, group join and
the first fetch are excluded; what was already out by then is not counted) and stops at the first poll
where the consumer group has committed every input partition up to its target (the end offset, or the
offsets the first N posts of the feed reach, see ``bench.workload.partition_counts``). For the pipeline
it also waits for the detect stage: its watermark (``pipeline_watermark_seconds``) must reach the last
event time minus the allowed lateness and a minute, as in the integration tests. The cores each
process used over the timed interval (``/proc``, children included) come with every timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from kafka import KafkaProducer, TopicPartition
from tqdm import tqdm

from bench.baselines import PRODUCER_SETTINGS
from bench.broker import Offsets, check_interrupted, free_port, wait_for
from bench.workload import Message
from pipeline.metrics import read_samples, sample_total, totals_by_name

POLL_SECONDS = 0.25


def progress_bar(total: int, desc: str) -> tqdm:
    return tqdm(
        total=total,
        desc=desc,
        unit="post",
        file=sys.stderr,
        dynamic_ncols=True,
        leave=False,
        mininterval=0.5 if sys.stderr.isatty() else 15,
        disable=None if sys.stderr.isatty() else False,
    )


def scrape(url: str) -> dict[str, float]:
    """Each sample name summed across labels."""
    return totals_by_name(read_samples(url))


@dataclass
class Worker:
    """A real ``python -m pipeline worker`` on the bench's topics."""

    process: subprocess.Popen[bytes]
    metrics_url: str
    log: Path

    def metrics(self) -> dict[str, float]:
        return scrape(self.metrics_url)

    def stop(self, timeout: float = 30) -> None:
        stop_process(self.process, timeout)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def cpu_seconds(pid: int | None, *, descendants: bool = True) -> float:
    """User + system CPU seconds so far of a process (all threads) and, unless told otherwise, its live
    descendants (the worker's classifier processes); 0 when it is gone."""
    if pid is None:
        return 0.0
    if not descendants:
        fields = _stat(pid)
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS if fields else 0.0
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) is not None:
            parents.setdefault(int(fields[1]), []).append(int(entry.name))  # field 4: ppid
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if (fields := _stat(current)) is not None:
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
        todo.extend(parents.get(current, ()))
    return total


class CpuMeter:
    """Cores each named process used between :meth:`start` and :meth:`stop` (1.0 = one core busy). A
    name may also give a reading of CPU seconds so far (a callable), e.g. a counter the workers export."""

    def __init__(
        self, pids: dict[str, int | Callable[[], float] | None], *, alone: Collection[str] = ()
    ) -> None:
        self.pids = pids
        self.alone = set(alone)  # names measured without their descendants (this process: the workers)
        self._start: dict[str, float] = {}
        self._wall = 0.0
        self.cores: dict[str, float] = {}

    def start(self) -> None:
        self._wall = time.monotonic()
        self._start = {name: self._seconds(name) for name in self.pids}

    def stop(self) -> dict[str, float]:
        wall = time.monotonic() - self._wall
        self.cores = {
            name: (self._seconds(name) - self._start[name]) / wall if wall > 0 else 0.0 for name in self.pids
        }
        return self.cores

    def _seconds(self, name: str) -> float:
        source = self.pids[name]
        if callable(source):
            return source()
        return cpu_seconds(source, descendants=name not in self.alone)

    def text(self) -> str:
        return ", ".join(f"{name} {cores:.2f}" for name, cores in self.cores.items())


_children: list[subprocess.Popen] = []


def spawn(args: list[str], **kwargs) -> subprocess.Popen:
    """Popen, remembered so that :func:`stop_all` can stop whatever a failed phase left running."""
    process = subprocess.Popen(args, **kwargs)
    _children.append(process)
    return process


def stop_all() -> None:
    for process in _children:
        stop_process(process, timeout=15)
    _children.clear()


def stop_process(process: subprocess.Popen, timeout: float = 30) -> None:
    """SIGINT (a clean Faust shutdown), then SIGKILL after ``timeout``."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class PipelineTopics:
    name: str
    posts: str
    partitions: int = 4  # of the posts topic, and so of the classified topic
    detect_partitions: int = 1  # DETECT_PARTITIONS: detection's shards (1: one detector)

    @property
    def app_id(self) -> str:
        return f"{self.name}-app"

    @property
    def classify_group(self) -> str:
        return f"{self.app_id}-classify"

    @property
    def outputs(self) -> dict[str, int]:
        return {
            f"{self.name}.classified": self.partitions,
            f"{self.name}.detect": self.detect_partitions,
            f"{self.name}.alerts": 1,
            f"{self.name}.dead-letter": 1,
        }

    @property
    def classified(self) -> str:
        return f"{self.name}.classified"


def start_worker(
    bootstrap: str,
    topics: PipelineTopics,
    work_dir: Path,
    *,
    exactly_once: bool = False,
    environment: dict[str, str] | None = None,
) -> Worker:
    port = free_port()
    env = {
        **os.environ,
        **(environment or {}),
        "EXACTLY_ONCE": "1" if exactly_once else "0",
        "CLASSIFIED_TOPIC": topics.classified,
        "DETECT_TOPIC": f"{topics.name}.detect",
        "PARTS_TOPIC": f"{topics.name}.parts",
        "DETECT_PARTITIONS": str(topics.detect_partitions),
        "ALERTS_TOPIC": f"{topics.name}.alerts",
        "DEAD_LETTER_TOPIC": f"{topics.name}.dead-letter",
        "POSTS_PARTITIONS": str(topics.partitions),
    }
    log = work_dir / f"worker-{topics.name}-{port}.log"
    with log.open("wb") as handle:
        process = spawn(
            [sys.executable, "-m", "pipeline", "worker", "--bootstrap", bootstrap, "--topic", topics.posts,
             "--app-id", topics.app_id, "--metrics-port", str(port), "--metrics-host", "127.0.0.1",
             "--data-dir", str(work_dir / f"faust-{topics.name}-{port}")],
            env=env, stdout=handle, stderr=subprocess.STDOUT,
        )  # fmt: skip
    return Worker(process, f"http://127.0.0.1:{port}/metrics", log)


@dataclass
class Timing:
    """What one consumer run over the pre-filled topic took."""

    posts: int  # counted in the timed interval
    seconds: float
    classified_seconds: float = 0.0  # until the group committed the target offsets
    detected_seconds: float = 0.0  # pipeline: until the watermark caught up (checked every few seconds)
    milestone_posts: int = 0  # counted until the group committed the milestone offsets
    milestone_seconds: float = 0.0
    cpu: str = ""  # cores used by each process over the timed interval
    cores: dict[str, float] = field(default_factory=dict)  # the same, by name
    # Pipeline runs: the first worker's peak resident memory (VmHWM, MiB) and its classifier processes',
    # and the most partitions its classify stage held paused in a metrics reading (event-time alignment).
    peak_rss_mb: float | None = None
    classifier_peak_rss_mb: list[float] = field(default_factory=list)
    max_partitions_paused: float = 0.0
    # Pipeline runs: snapshots the workers' detect loops saved, and the seconds those saves took, in all.
    detect_snapshots: float = 0.0
    detect_snapshot_seconds: float = 0.0

    @property
    def milestone_rate(self) -> float:
        return self.milestone_posts / self.milestone_seconds if self.milestone_seconds > 0 else 0.0

    @property
    def rate(self) -> float:
        return self.posts / self.seconds if self.seconds > 0 else 0.0


EXTRA_CHECK_SECONDS = 3.0
SETTLE_CHECK_SECONDS = 0.5  # scraping a worker's metrics costs it CPU: rarely, until classification is done


def time_group(
    offsets: Offsets,
    *,
    source: str,
    output: str,
    group: str,
    desc: str,
    timeout: float,
    alive: Callable[[], bool],
    targets: Sequence[int] | None = None,
    milestone: Sequence[int] | None = None,
    extra_done: Callable[[], bool] | None = None,
    cpu: CpuMeter | None = None,
    ready: Callable[[], bool] | None = None,
) -> Timing:
    """Polls until ``group`` committed ``source`` up to ``targets`` (per partition; default: the end
    offsets) and ``extra_done`` holds; see the module doc. When the committed offsets pass ``milestone``
    (per partition, below the targets) that time is noted too. ``ready``: the clock starts only once it
    holds (the workers' group has settled), counting the output from then."""
    topic_ends = offsets.end_offsets(source)
    ends = topic_ends if targets is None else _cap(topic_ends, targets)
    marks = _cap(ends, milestone if milestone is not None else [0] * len(ends))
    total = sum(ends.values())
    bar = progress_bar(total, desc)
    first_at = first_out = None
    classified_at = detected_at = milestone_at = None
    extra_checked = 0.0
    deadline = time.monotonic() + timeout
    try:
        while classified_at is None or detected_at is None:
            check_interrupted()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{desc}: not caught up after {timeout:.0f}s")
            if not alive():
                raise RuntimeError(f"{desc}: a consumer process exited")
            now = time.monotonic()
            if first_at is None and (ready is None or ready()):
                out = offsets.end_total(output)
                if out > 0:
                    first_at, first_out = now, out
                    if cpu is not None:
                        cpu.start()
            if first_at is not None and classified_at is None:
                committed = offsets.committed(group, source)
                bar.update(sum(min(committed.get(tp, 0), end) for tp, end in ends.items()) - bar.n)
                if milestone_at is None and _reached(committed, marks):
                    milestone_at = now
                if _reached(committed, ends):
                    classified_at = now
            if first_at is not None and detected_at is None:
                if extra_done is None:
                    detected_at = now
                elif classified_at is not None or now - extra_checked >= EXTRA_CHECK_SECONDS:
                    extra_checked = now
                    if extra_done():
                        detected_at = now
            time.sleep(POLL_SECONDS)
    finally:
        bar.close()
    assert first_at is not None and first_out is not None and milestone_at is not None
    if cpu is not None:
        cpu.stop()
    return Timing(
        posts=max(total - first_out, 0),
        seconds=max(classified_at, detected_at) - first_at,
        classified_seconds=classified_at - first_at,
        detected_seconds=detected_at - first_at,
        milestone_posts=max(sum(marks.values()) - first_out, 0),
        milestone_seconds=milestone_at - first_at,
        cpu=cpu.text() if cpu is not None else "",
        cores=dict(cpu.cores) if cpu is not None else {},
    )


def _cap(ends: dict[TopicPartition, int], limits: Sequence[int]) -> dict[TopicPartition, int]:
    return {tp: min(end, limits[tp.partition]) for tp, end in ends.items()}


def _reached(committed: dict[TopicPartition, int], targets: dict[TopicPartition, int]) -> bool:
    return all(committed.get(tp, 0) >= target for tp, target in targets.items())


def time_pipeline(
    bootstrap: str,
    offsets: Offsets,
    *,
    source: str,
    name: str,
    workers: int,
    final_watermark: float,
    work_dir: Path,
    timeout: float,
    targets: Sequence[int] | None = None,
    milestone: Sequence[int] | None = None,
    broker_pid: int | None = None,
    partitions: int = 4,
    exactly_once: bool = False,
    detect_partitions: int = 1,
    settle: bool = False,
    detect: bool = True,
    detect_workers: int = 0,
    merge_worker: bool = False,
) -> Timing:
    """``workers`` pipeline workers in one group over the pre-filled ``source`` (``partitions``
    partitions); stopped at the end. ``settle``: the clock starts once every classifying worker holds
    posts partitions and every detect partition is held (workers that join one after another rebalance
    the group a few times first). ``detect=False``: the workers classify only (``DETECT=0``), and the run
    ends when classification is done. ``detect_workers``: with detection, the ``workers`` classify only
    and this many more detect only (``CLASSIFY=0``), each in a process of its own. ``merge_worker``:
    with detection, one more worker holds the merge alone (``CLASSIFY=0 DETECT_ROLES=merge``), and the
    others hold the shards only."""
    topics = PipelineTopics(name, source, partitions, detect_partitions)
    offsets.create(topics.outputs)
    detect_apart = detect and detect_workers > 0
    merge_apart = detect and merge_worker
    environment = {"DETECT": "1" if detect and not detect_apart else "0"}
    if settle:  # settling is read from the assignment gauges, which the health probe refreshes this often
        environment["HEALTH_INTERVAL"] = "1"
    if merge_apart:
        environment["DETECT_ROLES"] = "shards"
    layout = [environment] * workers
    layout += [{**environment, "DETECT": "1", "CLASSIFY": "0"}] * (detect_workers if detect_apart else 0)
    if merge_apart:
        layout.append({**environment, "DETECT": "1", "CLASSIFY": "0", "DETECT_ROLES": "merge"})
    running = [
        start_worker(bootstrap, topics, work_dir, exactly_once=exactly_once, environment=settings)
        for settings in layout
    ]
    classifying = running[:workers]
    max_paused = 0.0
    settle_checked = 0.0

    def settled() -> bool:
        nonlocal settle_checked
        if time.monotonic() - settle_checked < SETTLE_CHECK_SECONDS:
            return False
        settle_checked = time.monotonic()
        held_posts, held_detect = [], 0.0
        for worker in running:
            try:
                samples = read_samples(worker.metrics_url)
            except OSError:
                return False
            if worker in classifying:
                held_posts.append(sample_total(samples, "pipeline_assigned_partitions", topic=source))
            held_detect += sample_total(samples, "pipeline_assigned_partitions", topic=f"{name}.detect")
        expected_detect = detect_partitions if detect else 0
        return min(held_posts) > 0 and sum(held_posts) == partitions and held_detect == expected_detect

    def detected() -> bool:
        nonlocal max_paused
        readings = []
        for worker in running:
            try:
                metrics = worker.metrics()
            except OSError:
                readings.append(0.0)
                continue
            readings.append(metrics.get("pipeline_watermark_seconds", 0.0))
            max_paused = max(max_paused, metrics.get("pipeline_partitions_paused", 0.0))
        return max(readings) >= final_watermark

    try:
        timing = time_group(
            offsets,
            source=source,
            output=topics.classified,
            group=topics.classify_group,
            desc=f"pipeline x{workers}",
            timeout=timeout,
            alive=lambda: all(worker.process.poll() is None for worker in running),
            targets=targets,
            milestone=milestone,
            extra_done=detected if detect else None,
            ready=settled if settle else None,
            cpu=CpuMeter(
                {
                    **{f"worker{n + 1}": w.process.pid for n, w in enumerate(classifying)},
                    # The event loop alone (the detect loops, Kafka I/O), without its classifier processes.
                    **{f"worker{n + 1}-loop": w.process.pid for n, w in enumerate(classifying)},
                    # Workers that detect only: one process, an event loop without classifier processes.
                    **{f"detector{n + 1}": w.process.pid for n, w in enumerate(running[workers:])},
                    # Detection proper in all the workers' detect loops (pipeline_detect_cpu_seconds):
                    # part of the loops' figures above.
                    "detect": lambda: _summed(running, "pipeline_detect_cpu_seconds_total"),
                    # The collector in the workers' event loops (pipeline_gc_seconds_total): part of the
                    # loops' figures (and of detect's, where it ran inside detection).
                    "gc": lambda: _summed(running, "pipeline_gc_seconds_total"),
                    "broker": broker_pid,
                    "bench": os.getpid(),
                },
                alone={"bench", *(f"worker{n + 1}-loop" for n in range(workers))},
            ),
        )
        # Before the workers stop: VmHWM is the most the process ever held.
        first = running[0].process.pid
        timing.peak_rss_mb = peak_rss_mb(first)
        timing.classifier_peak_rss_mb = [rss for pid in _children_of(first) if (rss := peak_rss_mb(pid))]
        timing.max_partitions_paused = max_paused
        timing.detect_snapshots, timing.detect_snapshot_seconds = _snapshots_saved(running)
        return timing
    except Exception:
        for worker in running:
            print(f"bench: last lines of {worker.log}:", file=sys.stderr)
            print(_tail(worker.log), file=sys.stderr)
        raise
    finally:
        for worker in running:
            worker.stop()


def _summed(workers: Sequence[Worker], counter: str) -> float:
    """A counter of seconds summed over the workers so far, e.g. the CPU their detect loops spent
    detecting (NaN when one cannot be read)."""
    total = 0.0
    for worker in workers:
        try:
            total += sample_total(read_samples(worker.metrics_url), counter)
        except OSError:
            return math.nan
    return total


def _snapshots_saved(workers: Sequence[Worker]) -> tuple[float, float]:
    """Snapshots the workers' detect loops saved so far and the seconds the saves took, summed (NaN when
    a worker cannot be read)."""
    count = seconds = 0.0
    for worker in workers:
        try:
            samples = read_samples(worker.metrics_url)
        except OSError:
            return math.nan, math.nan
        count += sample_total(samples, "pipeline_detect_snapshots_total")
        seconds += sample_total(samples, "pipeline_detect_snapshot_seconds_sum")
    return count, seconds


def peak_rss_mb(pid: int) -> float | None:
    """The most resident memory the process ever had (VmHWM), in MiB; None when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children_of(pid: int) -> list[int]:
    try:
        return [
            int(child)
            for task in Path(f"/proc/{pid}/task").iterdir()
            for child in (task / "children").read_text().split()
        ]
    except OSError:
        return []


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# ---------------------------------------------------------------------------------------------------
# End-to-end latency: our own producer at a fixed rate, a consumer thread on posts.classified.


class _Arrivals(threading.Thread):
    """Consumes the classified topic from its current end and notes when each post id arrives.

    aiokafka on its own event loop in a thread: its record parsing is compiled, so the measuring side
    keeps up at several thousand posts/s while this process also sends them (kafka-python's pure-Python
    consumer fell thousands of records behind, which would have been measured as pipeline latency)."""

    def __init__(
        self, bootstrap: str, topic: str, partitions: Sequence[int], *, committed_only: bool = False
    ) -> None:
        super().__init__(name="bench-arrivals", daemon=True)
        self.committed_only = committed_only  # read_committed: what a reader of an EXACTLY_ONCE stack sees
        self.bootstrap = bootstrap
        self.topic = topic
        self.partitions = list(partitions)
        self.arrived: dict[str, float] = {}
        # Records on the topic this consumer had not read yet, at most, since the last reset: a large
        # value would mean the measurement, not the pipeline, lagged.
        self.max_lag = 0
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None

    def start_and_wait(self, timeout: float = 60) -> None:
        self.start()
        if not self.ready.wait(timeout):
            raise TimeoutError("the measuring consumer did not start")
        if self.error is not None:
            raise RuntimeError(f"the measuring consumer failed: {self.error!r}")

    def run(self) -> None:
        try:
            asyncio.run(self._consume())
        except BaseException as exc:
            self.error = exc
            self.ready.set()

    async def _consume(self) -> None:
        from aiokafka import AIOKafkaConsumer
        from aiokafka.structs import TopicPartition as Partition

        self._loop = asyncio.get_running_loop()
        self._stopping = asyncio.Event()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.bootstrap,
            group_id=None,
            enable_auto_commit=False,
            fetch_max_wait_ms=20,
            client_id="iran2009-bench-latency",
            isolation_level="read_committed" if self.committed_only else "read_uncommitted",
        )
        await consumer.start()
        try:
            assignment = [Partition(self.topic, p) for p in self.partitions]
            consumer.assign(assignment)
            await consumer.seek_to_end(*assignment)
            for tp in assignment:
                await consumer.position(tp)  # resolve "end" now, before anything is sent
            self.ready.set()
            clock, arrived = time.perf_counter, self.arrived
            while not self._stopping.is_set():
                batches = await consumer.getmany(timeout_ms=100)
                now = clock()
                for records in batches.values():
                    for record in records:
                        arrived.setdefault(_post_id(record.value), now)
                if batches:
                    lag = 0
                    for tp in assignment:
                        lag += max(0, (consumer.highwater(tp) or 0) - await consumer.position(tp))
                    self.max_lag = max(self.max_lag, lag)
        finally:
            await consumer.stop()

    def stop(self) -> None:
        if self.is_alive() and self._loop is not None and self._stopping is not None:
            with contextlib.suppress(RuntimeError):  # the loop ended meanwhile
                self._loop.call_soon_threadsafe(self._stopping.set)
        self.join(timeout=10)


ID_PREFIX = b'{"id":"'


def _post_id(value: bytes) -> str:
    """The post id of a classified record; cheap, since the id is its first field."""
    if value.startswith(ID_PREFIX):
        end = value.find(b'"', len(ID_PREFIX))
        if end > 0 and b"\\" not in value[len(ID_PREFIX) : end]:
            return value[len(ID_PREFIX) : end].decode()
    return orjson.loads(value)["id"]


@dataclass
class Latency:
    latencies_ms: list[float]
    sent: int
    seconds: float
    missing: int
    cpu: str = ""  # cores used by each process while sending and until the last arrival
    measuring_lag: int = 0  # records the measuring consumer had not read yet, at most


def measure_latency(
    bootstrap: str,
    offsets: Offsets,
    messages: Sequence[Message],
    *,
    stages: Sequence[tuple[float, float]],
    work_dir: Path,
    name: str = "bench-latency",
    broker_pid: int | None = None,
    exactly_once: bool = False,
) -> list[Latency]:
    """A worker on a fresh topic; for each stage, ``rate`` posts/s for ``seconds`` sent from this process
    (other posts each stage), each id's send time against its arrival on posts.classified (both on this
    process's perf_counter). Each stage waits for its last post before the next one starts."""
    topics = PipelineTopics(name, f"{name}.posts")
    offsets.create({topics.posts: 4, **topics.outputs})
    warmup, start = messages[:500], 500
    with contextlib.ExitStack() as cleanup:
        worker = start_worker(bootstrap, topics, work_dir, exactly_once=exactly_once)
        cleanup.callback(worker.stop)
        producer = KafkaProducer(
            bootstrap_servers=bootstrap, client_id="iran2009-bench-latency", **PRODUCER_SETTINGS
        )
        cleanup.callback(producer.close)
        partitions = [tp.partition for tp in offsets.partitions(topics.classified)]
        arrivals = _Arrivals(bootstrap, topics.classified, partitions, committed_only=exactly_once)
        cleanup.callback(arrivals.stop)
        arrivals.start_and_wait()
        # Warm up: the worker has joined its group and classified posts once before the clock matters.
        for m in warmup:
            producer.send(topics.posts, value=m.value, key=m.key, timestamp_ms=m.timestamp_ms)
        producer.flush()
        wait_for(
            lambda: all(m.id in arrivals.arrived for m in warmup),
            timeout=120,
            what="the worker to classify the warm-up posts",
        )
        results = []
        for rate, seconds in stages:
            timed = _take(messages, start, int(rate * seconds))
            start += len(timed)
            cpu = CpuMeter(
                {"worker": worker.process.pid, "broker": broker_pid, "bench": os.getpid()}, alone={"bench"}
            )
            cpu.start()
            arrivals.max_lag = 0
            result = _timed_sends(producer, arrivals, topics.posts, timed, rate)
            cpu.stop()
            result.cpu = cpu.text()
            result.measuring_lag = arrivals.max_lag
            results.append(result)
        return results


def _take(messages: Sequence[Message], start: int, count: int) -> list[Message]:
    """``count`` messages from ``start`` on, starting over with ids ``<id>#2``, ``#3``... past the end."""
    taken = []
    for index in range(start, start + count):
        lap, position = divmod(index, len(messages))
        message = messages[position]
        if lap:
            new_id = f"{message.id}#{lap + 1}"
            old_field, new_field = ID_PREFIX + message.id.encode(), ID_PREFIX + new_id.encode()
            if not message.value.startswith(old_field + b'"'):
                raise ValueError(f"cannot give post {message.id} a new id")
            value = new_field + message.value[len(old_field) :]
            message = Message(new_id, value, message.key, message.timestamp_ms)
        taken.append(message)
    return taken


def _timed_sends(
    producer: KafkaProducer, arrivals: _Arrivals, topic: str, timed: Sequence[Message], rate: float
) -> Latency:
    sent_at: dict[str, float] = {}
    clock = time.perf_counter
    send = producer.send
    bar = progress_bar(len(timed), f"latency at {rate:g}/s")
    started = clock()
    index = 0
    try:
        while index < len(timed):
            due = min(len(timed), int((clock() - started) * rate) + 1)
            while index < due:
                message = timed[index]
                sent_at[message.id] = clock()
                send(topic, value=message.value, key=message.key, timestamp_ms=message.timestamp_ms)
                index += 1
            bar.update(index - bar.n)
            check_interrupted()
            time.sleep(0.001)
        producer.flush()
        elapsed = clock() - started
    finally:
        bar.close()
    try:
        wait_for(
            lambda: len(sent_at.keys() - arrivals.arrived.keys()) == 0,
            timeout=60,
            what="every timed post on the classified topic",
            interval=0.5,
        )
    except TimeoutError as exc:
        print(f"bench: {exc}", file=sys.stderr)
    arrived = arrivals.arrived
    latencies = [(arrived[i] - sent) * 1000 for i, sent in sent_at.items() if i in arrived]
    return Latency(latencies, len(sent_at), elapsed, len(sent_at) - len(latencies))
