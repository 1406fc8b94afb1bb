"""The pure schedule: what is sent (plan) and when (Timeline), on a fake clock, under live changes of
speed, pause, resume and seek."""

import math

import pytest

from feed import Post
from replay.schedule import (
    SPEED_STEPS,
    ReplayOptions,
    Timeline,
    loop_shift,
    parse_speed,
    plan,
    speed_to_fit,
    step_speed,
)

T0 = 1244851200.0  # 2009-06-13T00:00:00Z
START = 1000.0  # the fake monotonic clock when the replay starts


def posts_at(*offsets: float) -> list[Post]:
    return [Post(id=f"p{n}", ts=T0 + offset, text="x") for n, offset in enumerate(offsets)]


class Run:
    """Drives a Timeline the way the replay loop does, on a fake clock: each post is sent the moment it
    is due (or ``send_cost`` later). Commands are called on ``timeline`` between :meth:`until` calls,
    with ``run.now``, as they would come from another thread while the loop waits."""

    def __init__(self, posts, timeline: Timeline, *, send_cost: float = 0.0, now: float = START) -> None:
        self.posts = iter(posts)
        self.timeline = timeline
        self.now = now
        self.send_cost = send_cost
        self.sent: list[tuple[str, float]] = []  # post id, wall time offset from START
        self.behind: list[float] = []
        self._placed: Post | None = None

    def until(self, wall: float = math.inf) -> "Run":
        """Send what is due up to START + ``wall``; the clock then reads that (or the last send)."""
        timeline = self.timeline
        while True:
            if self._placed is None or not timeline.has_pending:
                self._placed = self._next()
                if self._placed is None:
                    return self
            due = timeline.due()
            if due is None or due > START + wall:
                self.now = max(self.now, START + wall) if wall != math.inf else self.now
                return self
            self.now = max(self.now, due)
            self.behind.append(timeline.sent(self.now))
            self.sent.append((self._placed.id, self.now - START))
            self._placed = None
            self.now += self.send_cost

    def _next(self) -> Post | None:
        for post in self.posts:
            if self.timeline.skip(post.ts):
                continue
            self.timeline.place(post.ts)
            self.timeline.start(self.now)
            return post
        return None

    @property
    def times(self) -> list[float]:
        return [at for _, at in self.sent]

    @property
    def ids(self) -> list[str]:
        return [post_id for post_id, _ in self.sent]


def due_times(posts, **options) -> list[float]:
    """When each post in the plan goes (wall seconds from the start), nothing changed live."""
    opts = ReplayOptions(**options)
    firsts = [p.ts for p in posts if opts.in_window(p.ts)]
    shift = loop_shift(min(firsts, default=None), max(firsts, default=None))
    slots = [slot.post for slot in plan(lambda: posts, opts, shift=shift)]
    return Run(slots, Timeline.for_options(opts)).until().times


def run_of(offsets, speed: float | None, **timeline_options) -> Run:
    return Run(posts_at(*offsets), Timeline(speed, **timeline_options))


# --- the plan and the pacing it starts with ----------------------------------------------------------


def test_gaps_are_divided_by_the_speed():
    assert due_times(posts_at(0, 10, 10, 40), speed=10.0) == pytest.approx([0, 1, 1, 4])


def test_max_speed_is_all_due_at_once():
    assert set(due_times(posts_at(0, 3600, 86400), speed=None)) == {0.0}
    assert Timeline(None).unpaced and not Timeline(None, rate=5).unpaced and not Timeline(1.0).unpaced


def test_rate_caps_posts_per_second_with_and_without_speed():
    assert due_times(posts_at(0, 0, 0, 0), speed=None, rate=2) == pytest.approx([0, 0.5, 1, 1.5])
    # Speed spaces them 10 s apart already; the rate cap only bites inside the burst at 100 s.
    capped = due_times(posts_at(0, 10, 20, 100, 100, 100), speed=1.0, rate=4)
    assert capped == pytest.approx([0, 10, 20, 100, 100.25, 100.5])


def test_window_keeps_from_inclusive_until_exclusive():
    posts = posts_at(0, 10, 20, 30)
    opts = ReplayOptions(speed=1.0, from_ts=T0 + 10, until_ts=T0 + 30)
    kept = list(plan(lambda: posts, opts, shift=30.0))
    assert [s.post.id for s in kept] == ["p1", "p2"]
    assert [s.index for s in kept] == [0, 1]
    assert due_times(posts, speed=1.0, from_ts=T0 + 10, until_ts=T0 + 30) == [0, 10]


def test_max_gap_caps_silences_in_pacing_but_keeps_event_times():
    assert due_times(posts_at(0, 5, 3605, 3610), speed=1.0, max_gap=60) == pytest.approx([0, 5, 65, 70])


def test_loops_shift_time_by_the_span_and_keep_ids_unique():
    posts = posts_at(0, 30, 60)
    looped = list(plan(lambda: posts, ReplayOptions(speed=None, loops=3), shift=60.0))
    assert [s.index for s in looped] == list(range(9))
    assert [s.post.ts - T0 for s in looped] == [0, 30, 60, 60, 90, 120, 120, 150, 180]
    assert [s.post.id for s in looped][:4] == ["p0", "p1", "p2", "p0#2"]
    assert len({s.post.id for s in looped}) == 9


def test_out_of_order_posts_go_at_once_and_do_not_stretch_the_schedule():
    assert due_times(posts_at(0, 100, 50, 110), speed=1.0) == pytest.approx([0, 100, 100, 110])


def test_options_refuse_nonsense():
    for bad in ({"rate": 0}, {"loops": 0}, {"max_gap": -1}, {"from_ts": T0 + 5, "until_ts": T0}):
        with pytest.raises(ValueError):
            ReplayOptions(**bad)


def test_the_plan_carries_its_options_for_the_timeline():
    opts = ReplayOptions(speed=20.0, rate=5.0, max_gap=60.0)
    timeline = Timeline.for_options(plan(lambda: [], opts, shift=1.0).options)
    assert (timeline.speed, timeline.rate, timeline.max_gap) == (20.0, 5.0, 60.0)


# --- anchored to one origin: no drift, no burst ------------------------------------------------------


def test_due_times_come_from_the_anchor_so_slow_sends_do_not_drift():
    run = Run(posts_at(*range(101)), Timeline(1.0), send_cost=0.01).until()
    # A pacer that slept the full gap after each send would end 1 s late; this one is on time.
    assert run.times[-1] == pytest.approx(100.0)
    assert max(run.behind) == 0.0


def test_nothing_is_due_before_the_start_and_the_first_post_is_due_at_it():
    timeline = Timeline(10.0)
    timeline.place(T0)
    assert timeline.due() is None and timeline.anchor is None
    timeline.start(START + 7.0)  # e.g. after the producer's warm-up
    assert timeline.due() == START + 7.0
    assert timeline.anchor == (START + 7.0, 0.0, T0)


def test_small_lateness_is_caught_up_without_moving_the_schedule():
    timeline = Timeline(1.0)
    run = Run(posts_at(0, 1, 2), timeline).until(0)
    run.now = START + 1.5  # the next send was held up half a second
    assert timeline.sent(run.now) == pytest.approx(0.5)
    run._placed = None
    assert run.until().times[-1] == pytest.approx(2.0)
    assert timeline.stalls == 0


def test_after_a_stall_the_rest_keeps_its_spacing_instead_of_bursting():
    timeline = Timeline(1.0)
    run = Run(posts_at(0, 1, 2, 3), timeline).until(0)
    run.now = START + 31.0  # stalled; the next post was due after 1 s
    assert timeline.sent(run.now) == pytest.approx(30.0)
    assert timeline.stalls == 1
    run._placed = None
    assert run.until().times[-2:] == pytest.approx([32.0, 33.0])


# --- live speed changes re-anchor where the replay clock is ------------------------------------------


def test_a_speed_change_re_anchors_where_the_clock_is_no_jump_no_burst_no_drift():
    run = run_of(range(0, 400, 10), 1.0)  # a post every 10 s of event time
    timeline = run.timeline
    run.until(15)  # sent the posts of 0 and 10 s; the clock shows 15 s
    assert timeline.event_time(run.now) == pytest.approx(T0 + 15)
    timeline.set_speed(5.0, run.now)
    assert timeline.event_time(run.now) == pytest.approx(T0 + 15)  # the clock goes on from there
    assert timeline.anchor == pytest.approx((START + 15, 15.0, T0 + 15))
    run.until(15 + 37)
    # 20 s of event time was 5 s away at 1x; at 5x it is 1 s away, then every 2 s: no catch-up burst.
    assert run.times[:6] == pytest.approx([0, 10, 16, 18, 20, 22])
    assert run.times[-1] == pytest.approx(52.0)  # the post of 200 s; the one of 210 s is placed
    timeline.set_speed(0.5, run.now)  # and slower again
    run.until()
    assert run.times[-19:] == pytest.approx([72 + 20 * n for n in range(19)])
    assert max(run.behind) == 0.0


def test_a_speed_change_while_a_post_is_late_starts_from_that_post():
    timeline = Timeline(1.0)
    run = Run(posts_at(0, 10, 20), timeline).until(0)
    run.until(9.999)  # the post of 10 s is placed; the loop is held up past its due time
    run.now = START + 13.0
    timeline.set_speed(2.0, run.now)
    # The clock stood at the unsent post: it is due now, and the next 10 s of event time 5 s after it.
    assert timeline.due() == pytest.approx(START + 13.0)
    assert run.until().times == pytest.approx([0, 13, 18])


def test_from_max_speed_to_a_speed_and_back():
    timeline = Timeline(None)
    run = Run(posts_at(*range(0, 100, 10)), timeline)
    timeline.place(T0)
    timeline.start(START)
    timeline.sent_unpaced(3, T0 + 20, T0 + 20)  # a batch at max speed: the posts of 0, 10, 20 s
    run.now = START + 0.5
    timeline.set_speed(10.0, run.now)
    assert timeline.event_time(run.now) == pytest.approx(T0 + 20)
    run.posts = iter(posts_at(*range(30, 100, 10)))
    run.until(2.5)  # every 10 s of event time is 1 s now
    assert run.times == pytest.approx([1.5, 2.5])
    timeline.set_speed(None, run.now)
    assert run.until().times[2:] == pytest.approx([2.5] * 5)  # max: the rest at once


# --- pause and resume --------------------------------------------------------------------------------


def test_pause_stops_the_clock_and_resume_goes_on_where_it_paused():
    run = run_of(range(0, 100, 10), 2.0)  # a post every 5 s
    timeline = run.timeline
    run.until(7)  # sent 0 and 10 s (at 0 and 5); the clock shows 14 s
    assert timeline.pause(run.now) and not timeline.pause(run.now)
    assert timeline.due() is None and timeline.anchor is None
    run.until(500)
    assert len(run.sent) == 2  # nothing while paused, however long
    assert timeline.event_time(run.now) == pytest.approx(T0 + 14)
    assert timeline.resume(run.now) and not timeline.resume(run.now)
    assert timeline.anchor == pytest.approx((START + 500, 14.0, T0 + 14))
    run.until()
    # The post of 20 s was 3 s away when paused: 3 s after the resume, then every 5 s: no burst.
    assert run.times[2:5] == pytest.approx([503, 508, 513])
    assert max(run.behind) == 0.0


def test_a_pause_before_the_start_holds_the_first_post_until_resumed():
    timeline = Timeline(1.0)
    timeline.pause(START)
    run = Run(posts_at(0, 1), timeline).until(60)
    assert run.sent == [] and timeline.started
    timeline.resume(run.now)
    assert run.until().times == pytest.approx([60, 61])


def test_speed_changed_while_paused_applies_from_the_resume():
    run = run_of(range(0, 100, 10), 1.0)
    timeline = run.timeline
    run.until(15)
    timeline.pause(run.now)
    timeline.set_speed(10.0, run.now + 5)
    run.until(40)
    timeline.resume(run.now)
    assert run.until().times[2:4] == pytest.approx([40.5, 41.5])


def test_a_pause_does_not_let_the_rate_cap_burst_after_it():
    timeline = Timeline(None, rate=2.0)  # max speed, 2 posts/s
    run = Run(posts_at(*[0] * 8), timeline).until(0.7)  # sent at 0 and 0.5; the next is due at 1.0
    timeline.pause(run.now)
    run.until(100)
    timeline.resume(run.now)
    assert run.until().times[2:] == pytest.approx([100.3, 100.8, 101.3, 101.8, 102.3, 102.8])


def test_a_stopped_process_moves_the_schedule_unless_it_was_paused():
    run = run_of(range(0, 50, 10), 1.0)
    timeline = run.timeline
    run.until(12)
    timeline.stopped(30.0)  # Ctrl-Z, 30 s, fg
    run.now = START + 42
    assert run.until(50).times == pytest.approx([0, 10, 50])  # the post of 20 s, 30 s later
    timeline.pause(run.now)
    timeline.stopped(100.0)  # stopped while paused: the pause holds the clock already
    run.now += 100
    timeline.resume(run.now)
    assert run.until().times[3:] == pytest.approx([160, 170])


# --- seek ----------------------------------------------------------------------------------------------


def test_seek_skips_the_posts_before_it_counts_them_and_lands_where_the_clock_shows_it():
    run = run_of(range(0, 1000, 10), 1.0)  # a post every 10 s
    timeline = run.timeline
    run.until(25)  # sent 0, 10, 20; the post of 30 s is placed
    timeline.seek(T0 + 605, run.now)
    assert timeline.event_time(run.now) == pytest.approx(T0 + 605)
    assert timeline.anchor == pytest.approx((START + 25, 25.0, T0 + 605))
    run.until()
    # 30 ... 600 skipped (58 posts, the placed one too); 610 goes 5 s after the seek, then every 10 s.
    assert timeline.skipped == 58
    assert run.ids[:5] == ["p0", "p1", "p2", "p61", "p62"]
    assert run.times[3:5] == pytest.approx([30, 40])
    assert timeline.sent_posts == 100 - 58
    assert max(run.behind) == 0.0


def test_seek_to_a_time_between_the_last_post_sent_and_the_placed_one_skips_nothing():
    run = run_of([0, 100, 200], 1.0)
    timeline = run.timeline
    run.until(10)
    timeline.seek(T0 + 90, run.now)  # the clock showed 10 s: 90 s is ahead, and before the post of 100
    assert timeline.skipped == 0 and timeline.seek_to is None
    assert run.until().times == pytest.approx([0, 20, 120])


def test_seek_goes_forward_only():
    run = run_of(range(0, 100, 10), 1.0)
    run.until(25)
    with pytest.raises(ValueError, match="forward only"):
        run.timeline.seek(T0 + 25, run.now)
    with pytest.raises(ValueError, match="forward only"):
        run.timeline.seek(T0 + 5, run.now)
    assert run.timeline.skipped == 0


def test_seek_while_paused_stays_paused_and_lands_at_the_resume():
    run = run_of(range(0, 100, 10), 1.0)
    timeline = run.timeline
    run.until(5)
    timeline.pause(run.now)
    timeline.seek(T0 + 48, run.now + 3)
    assert timeline.paused and timeline.event_time(run.now + 50) == pytest.approx(T0 + 48)
    run.until(70)
    assert timeline.skipped == 4 and len(run.sent) == 1  # 10 ... 40 skipped, nothing sent yet
    timeline.resume(run.now)
    assert run.until().times[1:3] == pytest.approx([72, 82])


def test_seek_before_the_start_skips_from_the_first_post():
    timeline = Timeline(1.0)
    timeline.seek(T0 + 25, START)
    run = Run(posts_at(0, 10, 20, 30, 40), timeline).until()
    assert run.ids == ["p3", "p4"] and timeline.skipped == 3
    assert run.times == pytest.approx([5, 15])


def test_skip_counts_only_while_seeking():
    timeline = Timeline(None)
    assert not timeline.skip(T0)
    timeline.seek(T0 + 10, START)
    assert [timeline.skip(T0 + s) for s in (1, 2, 10, 3)] == [True, True, False, False]
    assert timeline.skipped == 2 and timeline.seek_to is None


# --- speed steps (the demo's +/- keys, ctl faster/slower) ---------------------------------------------


def test_speed_steps_go_up_to_max_and_down_from_it():
    assert step_speed(20.0, +1) == 60
    assert step_speed(20.0, -1) == 10
    assert step_speed(25.0, +1) == 60 and step_speed(25.0, -1) == 20  # from between two steps
    assert step_speed(SPEED_STEPS[-1], +1) is None
    assert step_speed(None, +1) is None
    assert step_speed(None, -1) == SPEED_STEPS[-1]
    assert step_speed(SPEED_STEPS[0], -1) == SPEED_STEPS[0]
    assert step_speed(0.01, -1) == SPEED_STEPS[0]


@pytest.mark.parametrize(
    ("text", "speed"), [("max", None), ("MAX", None), ("1", 1.0), ("0.5", 0.5), ("600", 600.0)]
)
def test_parse_speed(text, speed):
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0", "-1", "fast", "inf", "nan"])
def test_parse_speed_refuses_nonsense(text):
    with pytest.raises(ValueError, match="positive number or 'max'"):
        parse_speed(text)


def test_speed_to_fit_a_week_into_a_minute():
    assert speed_to_fit(7 * 86400, 60) == pytest.approx(10080.0)
    assert speed_to_fit(0, 60) is None
    with pytest.raises(ValueError):
        speed_to_fit(100, 0)


def test_the_plain_plan_equals_the_general_one():
    posts = posts_at(0, 5, 3, 3600, 7200)
    fast = list(plan(lambda: posts, ReplayOptions(speed=None), shift=7200.0))
    # A window that keeps everything takes the general path.
    general = list(plan(lambda: posts, ReplayOptions(speed=None, from_ts=T0 - 1), shift=7200.0))
    assert fast == general
    assert [(slot.index, slot.post.id) for slot in fast] == [(n, f"p{n}") for n in range(len(posts))]
