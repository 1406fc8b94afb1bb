"""The replay loop: planned slots → paced sends, steered live, with checkpoints, metrics and progress."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import dropwhile, islice
from operator import attrgetter

from replay.control import ReplayControl
from replay.metrics import ReplayMetrics
from replay.producer import UNPACED_LINGER_MS, EndOfFeedError, PostProducer
from replay.schedule import Slot, Timeline

CHECKPOINT_EVERY_SECONDS = 0.2
PAUSE_POLL_SECONDS = 0.05  # while paused, queued signals (SIGUSR1) are looked at this often
SLEEP_CHUNK_SECONDS = 0.1  # likewise while waiting for a post; a command over HTTP wakes it at once
# Unpaced, posts go to the producer in batches of this many; metrics, progress, acknowledgements and
# commands are looked at between batches.
UNPACED_BATCH_POSTS = 256

_ts = attrgetter("post.ts")


@dataclass
class ReplayReport:
    planned: int
    start_position: int
    sent: int = 0
    skipped: int = 0  # passed over by a seek, not sent
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
    """Sends ``slots`` when the timeline says, while commands (:class:`ReplayControl`) change the pace.

    The timeline is ``control``'s, else ``timeline``, else the one of the options ``slots`` were planned
    with (:func:`replay.schedule.plan`); with none of these, ``paced=False`` sends at max speed."""

    def __init__(
        self,
        slots: Iterable[Slot],
        producer: PostProducer,
        *,
        planned: int,
        paced: bool | None = None,
        timeline: Timeline | None = None,
        control: ReplayControl | None = None,
        start_position: int = 0,
        save_checkpoint: Callable[[int, str | None], None] | None = None,
        metrics: ReplayMetrics | None = None,
        progress=None,
        record_lateness: bool = False,
        end_of_feed_ts: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.slots = slots
        # The feed's last event time: once every post is acknowledged, each partition gets an end-of-feed
        # marker with it. None: no marker (a live topic that other producers go on feeding).
        self.end_of_feed_ts = end_of_feed_ts
        self.producer = producer
        if control is None:
            if timeline is None:
                options = getattr(slots, "options", None)
                if options is not None:
                    timeline = Timeline.for_options(options)
                elif paced:
                    raise ValueError("a paced replay needs a timeline, or slots planned by schedule.plan")
                else:
                    timeline = Timeline(None)
            control = ReplayControl(timeline, metrics=metrics, planned=planned, clock=clock)
        self.control = control
        self.timeline = control.timeline
        self.metrics = metrics
        self.progress = progress
        self.record_lateness = record_lateness
        self.report = ReplayReport(planned=planned, start_position=start_position)
        self._clock = clock
        self._save_checkpoint = save_checkpoint
        self._acks_reported = 0
        self._failures_reported = 0
        self._skips_reported = 0
        self._last_saved = (start_position, 0.0)
        self._linger_unpaced: bool | None = None

    def run(self) -> ReplayReport:
        report = self.report
        started = self._clock()
        slots: Iterator[Slot] = iter(self.slots)
        if report.start_position:
            slots = dropwhile(lambda slot: slot.index < report.start_position, slots)
        try:
            # Before the schedule is anchored (at the first post): connected, with metadata and a
            # producer id, the first posts go when due instead of late and then in a burst.
            warm_up = getattr(self.producer, "warm_up", None)
            if warm_up is not None:
                warm_up()
            self._run(slots)
        except KeyboardInterrupt:
            report.interrupted = True
        finally:
            self.control.finish()
            try:
                # As long as the producer's delivery timeout (10 min) allows: a broker restart is waited
                # out. A second Ctrl-C stops waiting; what is not acknowledged is sent again on --resume.
                self.producer.flush()
            except KeyboardInterrupt:
                report.interrupted = True
            self._drain_acks(force_save=True)
            report.elapsed = self._clock() - started
            report.stalls = self.timeline.stalls
            report.skipped = self.timeline.skipped
            self._report_skips()
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

    def _run(self, slots: Iterator[Slot]) -> None:
        control, timeline = self.control, self.timeline
        while True:
            with control.condition:
                control.apply_signals()
                unpaced = timeline.unpaced and not timeline.paused
            self._set_linger(unpaced)
            if unpaced:
                batch = list(islice(slots, UNPACED_BATCH_POSTS))
                if not batch:
                    return
                self._send_unpaced(batch)
            else:
                slot = next(slots, None)
                if slot is None:
                    return
                self._send_paced(slot)
            self._report_skips()

    def _set_linger(self, unpaced: bool) -> None:
        if unpaced != self._linger_unpaced:
            self._linger_unpaced = unpaced
            set_linger = getattr(self.producer, "set_linger", None)
            if set_linger is not None:
                set_linger(UNPACED_LINGER_MS if unpaced else 0)

    def _send_paced(self, slot: Slot) -> None:
        control, timeline, clock = self.control, self.timeline, self._clock
        condition = control.condition
        with condition:
            if timeline.skip(slot.post.ts):
                return
            timeline.place(slot.post.ts)
            timeline.start(clock())  # the first post anchors the schedule; later ones do nothing here
            while True:
                control.apply_signals()
                if not timeline.has_pending:
                    return  # a seek passed over it
                due = timeline.due()
                if due is None:  # paused: a command wakes the wait at once
                    condition.wait(PAUSE_POLL_SECONDS)
                    continue
                now = clock()
                if due > now:
                    condition.wait(min(due - now, SLEEP_CHUNK_SECONDS))
                    continue
                if control.signals_waiting:  # e.g. back from Ctrl-Z just now: not late, moved
                    continue
                behind = timeline.sent(now)
                control.behind = behind
                break
        report = self.report
        report.behind_max = max(report.behind_max, behind)
        if self.record_lateness:
            report.behind.append(behind)
        if self.metrics:
            self.metrics.behind_schedule.set(behind)
        self.producer.send(slot.post, slot.index)
        self._report_sent(1, slot.post.ts)
        self._drain_acks()

    def _send_unpaced(self, batch: list[Slot]) -> None:
        # Per batch, not per post: at max speed the bookkeeping would cost as much as the sends.
        timeline = self.timeline
        with self.control.condition:
            timeline.start(self._clock())
            if timeline.seek_to is not None:
                # A seek skips a prefix of the batch: the rest keeps consecutive positions.
                batch = [slot for slot in batch if not timeline.skip(slot.post.ts)]
                if not batch:
                    return
            timeline.sent_unpaced(len(batch), batch[-1].post.ts, max(map(_ts, batch)))
        self.producer.send_batch([slot.post for slot in batch], batch[0].index)
        self._report_sent(len(batch), batch[-1].post.ts)
        self._drain_acks()

    def _report_skips(self) -> None:
        skipped = self.timeline.skipped
        if skipped > self._skips_reported:
            if self.metrics:
                self.metrics.posts_skipped.inc(skipped - self._skips_reported)
            if self.progress is not None:
                self.progress.update(skipped - self._skips_reported)
            self._skips_reported = skipped

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
        self.control.acknowledged, self.control.failed = counts.acknowledged, counts.failed
        position = producer.acked_position
        if self._save_checkpoint is None or position is None:
            return
        saved_position, saved_at = self._last_saved
        now = self._clock()
        if position != saved_position and (force_save or now - saved_at >= CHECKPOINT_EVERY_SECONDS):
            self._save_checkpoint(position, producer.acked_last_id)
            self._last_saved = (position, now)
