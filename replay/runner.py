"""The replay loop: planned slots → paced sends, with pause/resume, checkpoints, metrics and progress."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import dropwhile, islice

from replay.metrics import ReplayMetrics
from replay.producer import EndOfFeedError, PostProducer
from replay.schedule import Pacer, Slot

CHECKPOINT_EVERY_SECONDS = 0.2
PAUSE_POLL_SECONDS = 0.05
SLEEP_CHUNK_SECONDS = 0.1  # long sleeps are cut up so a pause or Ctrl-C takes effect at once
# Unpaced, posts go to the producer in batches of this many; metrics, progress, acknowledgements and
# pauses are looked at between batches.
UNPACED_BATCH_POSTS = 256


class PauseControl:
    """SIGUSR1 toggles a pause; Ctrl-Z (SIGTSTP) stops the process and ``fg`` (SIGCONT) resumes it.

    Either way the time spent paused is handed to the pacer, which moves its schedule by as much:
    the replay continues where it was, with no catch-up burst.
    """

    def __init__(self, notify: Callable[[str], None], clock: Callable[[], float] = time.monotonic) -> None:
        self.paused = False
        self._notify = notify
        self._clock = clock
        self._stopped_at: float | None = None
        self._pending = 0.0

    def install(self) -> None:
        signal.signal(signal.SIGUSR1, lambda *_: self.toggle())
        signal.signal(signal.SIGTSTP, self._on_stop)
        signal.signal(signal.SIGCONT, self._on_continue)

    def toggle(self) -> None:
        self.paused = not self.paused
        self._notify("paused (SIGUSR1 again to resume)" if self.paused else "resumed")

    def _on_stop(self, _signum: int, _frame: object) -> None:
        self._stopped_at = self._clock()
        self._notify("stopped (fg or SIGCONT to resume)")
        # Stop for real, as the shell expects of Ctrl-Z. SIGSTOP, not SIGTSTP again: the kernel discards
        # SIGTSTP in an orphaned process group (nohup, CI runners), and the process would run on.
        os.kill(os.getpid(), signal.SIGSTOP)

    def _on_continue(self, _signum: int, _frame: object) -> None:
        if self._stopped_at is not None:
            self._pending += self._clock() - self._stopped_at
            self._stopped_at = None
            self._notify("resumed")

    @property
    def wants_attention(self) -> bool:
        """True while paused or right after a stop: a sleep in progress should end early."""
        return self.paused or self._pending > 0

    def hold(self) -> float:
        """Wait out a pause; returns the seconds the replay was paused or stopped since the last call."""
        held, self._pending = self._pending, 0.0
        if self.paused:
            started = self._clock()
            while self.paused:
                time.sleep(PAUSE_POLL_SECONDS)
            held += self._clock() - started
        return held


@dataclass
class ReplayReport:
    planned: int
    start_position: int
    sent: int = 0
    acknowledged: int = 0
    failed: int = 0
    first_error: str | None = None
    elapsed: float = 0.0
    behind_max: float = 0.0
    behind: list[float] = field(default_factory=list)  # per paced post, for pacing error figures
    stalls: int = 0
    interrupted: bool = False
    end_markers: int = 0  # partitions given an end-of-feed marker the broker acknowledged
    end_marker_error: str | None = None

    @property
    def delivered(self) -> bool:
        """Every post sent was acknowledged, and the replay was not cut short."""
        return not self.interrupted and self.failed == 0 and self.acknowledged == self.sent

    @property
    def ok(self) -> bool:
        return self.delivered and self.end_marker_error is None


class Replay:
    def __init__(
        self,
        slots: Iterable[Slot],
        producer: PostProducer,
        *,
        planned: int,
        paced: bool,
        start_position: int = 0,
        save_checkpoint: Callable[[int, str | None], None] | None = None,
        metrics: ReplayMetrics | None = None,
        pause: PauseControl | None = None,
        progress=None,
        record_lateness: bool = False,
        end_of_feed_ts: float | None = None,
    ) -> None:
        self.slots = slots
        # The feed's last event time: once every post is acknowledged, each partition gets an end-of-feed
        # marker with it. None: no marker (a live topic that other producers go on feeding).
        self.end_of_feed_ts = end_of_feed_ts
        self.producer = producer
        self.paced = paced
        self.metrics = metrics
        self.pause = pause
        self.progress = progress
        self.record_lateness = record_lateness
        self.report = ReplayReport(planned=planned, start_position=start_position)
        self._save_checkpoint = save_checkpoint
        self._acks_reported = 0
        self._failures_reported = 0
        self._last_saved = (start_position, 0.0)
        self.pacer = Pacer(sleep=self._sleep)

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, SLEEP_CHUNK_SECONDS))
            if self.pause is not None and self.pause.wants_attention:
                return  # the pacer re-checks the (shifted) schedule

    def _hold(self) -> None:
        if self.pause is None:
            return
        if self.metrics and self.pause.paused:
            self.metrics.paused.set(1)
        held = self.pause.hold()
        if held:
            self.pacer.shift(held)
        if self.metrics:
            self.metrics.paused.set(0)

    def run(self) -> ReplayReport:
        report = self.report
        started = time.monotonic()
        slots: Iterator[Slot] = iter(self.slots)
        if report.start_position:
            slots = dropwhile(lambda slot: slot.index < report.start_position, slots)
        try:
            if self.paced:
                self._run_paced(slots)
            else:
                self._run_unpaced(slots)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            self.producer.flush(timeout=60)
            self._drain_acks(force_save=True)
            report.elapsed = time.monotonic() - started
            report.stalls = self.pacer.stalls
            counts = self.producer.counts
            report.sent, report.acknowledged, report.failed = counts.sent, counts.acknowledged, counts.failed
            report.first_error = counts.first_error
        if self.end_of_feed_ts is not None and report.delivered:
            self._mark_end_of_feed(self.end_of_feed_ts)
        return report

    def _mark_end_of_feed(self, last_ts: float) -> None:
        """Only after the whole feed was delivered: a replay cut short or failed did not end its feed."""
        report = self.report
        try:
            report.end_markers = self.producer.send_end_of_feed(last_ts)
        except KeyboardInterrupt:
            report.interrupted = True
        except EndOfFeedError as exc:
            report.end_marker_error = str(exc)
        if self.metrics and report.end_markers:
            self.metrics.end_markers.inc(report.end_markers)

    def _run_paced(self, slots: Iterator[Slot]) -> None:
        report = self.report
        for slot in slots:
            self._hold()
            while (delay := self.pacer.due_in(slot.at)) > 0:
                self.pacer.sleep(delay)
                self._hold()
            behind = self.pacer.wait_for(slot.at)
            report.behind_max = max(report.behind_max, behind)
            if self.record_lateness:
                report.behind.append(behind)
            if self.metrics:
                self.metrics.behind_schedule.set(behind)
            self.producer.send(slot.post, slot.index)
            self._report_sent(1, slot.post.ts)
            self._drain_acks()

    def _run_unpaced(self, slots: Iterator[Slot]) -> None:
        # Per batch, not per post: at max speed the bookkeeping would cost as much as the sends.
        while batch := list(islice(slots, UNPACED_BATCH_POSTS)):
            self._hold()
            self.producer.send_batch([slot.post for slot in batch], batch[0].index)
            self._report_sent(len(batch), batch[-1].post.ts)
            self._drain_acks()

    def _report_sent(self, count: int, latest_ts: float) -> None:
        if self.metrics:
            self.metrics.posts_sent.inc(count)
            self.metrics.event_time.set(latest_ts)
        if self.progress is not None:
            self.progress.update(count)

    def _drain_acks(self, *, force_save: bool = False) -> None:
        producer = self.producer
        producer.collect()
        counts = producer.counts
        if self.metrics:
            if counts.acknowledged > self._acks_reported:
                self.metrics.posts_acknowledged.inc(counts.acknowledged - self._acks_reported)
            if counts.failed > self._failures_reported:
                self.metrics.posts_failed.inc(counts.failed - self._failures_reported)
        self._acks_reported, self._failures_reported = counts.acknowledged, counts.failed
        position = producer.acked_position
        if self._save_checkpoint is None or position is None:
            return
        saved_position, saved_at = self._last_saved
        now = time.monotonic()
        if position != saved_position and (force_save or now - saved_at >= CHECKPOINT_EVERY_SECONDS):
            self._save_checkpoint(position, producer.acked_last_id)
            self._last_saved = (position, now)
