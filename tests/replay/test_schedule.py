import pytest

from feed import Post
from replay.schedule import Pacer, ReplayOptions, loop_shift, parse_speed, plan, speed_to_fit

T0 = 1244851200.0  # 2009-06-13T00:00:00Z


class FakeClock:
    """A monotonic clock that only moves when the pacer sleeps or the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def posts_at(*offsets: float) -> list[Post]:
    return [Post(id=f"p{n}", ts=T0 + offset, text="x") for n, offset in enumerate(offsets)]


def slots(posts, **options):
    opts = ReplayOptions(**options)
    firsts = [p.ts for p in posts if opts.in_window(p.ts)]
    shift = loop_shift(min(firsts, default=None), max(firsts, default=None))
    return list(plan(lambda: posts, opts, shift=shift))


def test_gaps_are_divided_by_the_speed():
    assert [s.at for s in slots(posts_at(0, 10, 10, 40), speed=10.0)] == pytest.approx([0, 1, 1, 4])


def test_max_speed_is_all_due_at_once():
    assert {s.at for s in slots(posts_at(0, 3600, 86400), speed=None)} == {0.0}


def test_rate_caps_posts_per_second_with_and_without_speed():
    assert [s.at for s in slots(posts_at(0, 0, 0, 0), speed=None, rate=2)] == pytest.approx([0, 0.5, 1, 1.5])
    # Speed spaces them 10 s apart already; the rate cap only bites inside the burst at 100 s.
    capped = slots(posts_at(0, 10, 20, 100, 100, 100), speed=1.0, rate=4)
    assert [s.at for s in capped] == pytest.approx([0, 10, 20, 100, 100.25, 100.5])


def test_window_keeps_from_inclusive_until_exclusive():
    kept = slots(posts_at(0, 10, 20, 30), speed=1.0, from_ts=T0 + 10, until_ts=T0 + 30)
    assert [s.post.id for s in kept] == ["p1", "p2"]
    assert [s.at for s in kept] == [0, 10]


def test_max_gap_caps_silences_in_pacing_but_keeps_event_times():
    capped = slots(posts_at(0, 5, 3605, 3610), speed=1.0, max_gap=60)
    assert [s.at for s in capped] == pytest.approx([0, 5, 65, 70])
    assert [s.post.ts - T0 for s in capped] == [0, 5, 3605, 3610]


def test_loops_shift_time_by_the_span_and_keep_ids_unique():
    looped = slots(posts_at(0, 30, 60), speed=None, loops=3)
    assert [s.index for s in looped] == list(range(9))
    assert [s.post.ts - T0 for s in looped] == [0, 30, 60, 60, 90, 120, 120, 150, 180]
    assert [s.post.id for s in looped][:4] == ["p0", "p1", "p2", "p0#2"]
    assert len({s.post.id for s in looped}) == 9


def test_out_of_order_posts_go_at_once_and_do_not_stretch_the_schedule():
    assert [s.at for s in slots(posts_at(0, 100, 50, 110), speed=1.0)] == pytest.approx([0, 100, 100, 110])


def test_options_refuse_nonsense():
    for bad in ({"rate": 0}, {"loops": 0}, {"max_gap": -1}, {"from_ts": T0 + 5, "until_ts": T0}):
        with pytest.raises(ValueError):
            ReplayOptions(**bad)


def pacer():
    clock = FakeClock()
    return Pacer(clock=clock, sleep=clock.sleep), clock


def test_pacer_is_anchored_to_one_origin_so_slow_sends_do_not_drift():
    paced, clock = pacer()
    for second in range(101):
        paced.wait_for(float(second))
        clock.now += 0.01  # each send costs 10 ms of wall time
    # A pacer that slept the full gap after each send would end 1 s late; this one is on time.
    assert clock.now == pytest.approx(1100.01)


def test_small_lateness_is_caught_up_without_moving_the_schedule():
    paced, clock = pacer()
    paced.wait_for(0.0)
    clock.now += 1.5
    assert paced.wait_for(1.0) == pytest.approx(0.5)
    paced.wait_for(2.0)
    assert clock.now == pytest.approx(1002.0)


def test_after_a_stall_the_rest_keeps_its_spacing_instead_of_bursting():
    paced, clock = pacer()
    paced.wait_for(0.0)
    clock.now += 30.0  # stalled; the next post was due after 1 s
    assert paced.wait_for(1.0) == pytest.approx(29.0)
    assert paced.stalls == 1
    paced.wait_for(2.0)
    assert clock.sleeps == pytest.approx([1.0])


def test_shift_moves_the_schedule_by_a_pause():
    paced, clock = pacer()
    paced.wait_for(0.0)
    clock.now += 60.0
    paced.shift(60.0)
    assert paced.wait_for(1.0) == 0.0
    assert clock.sleeps == pytest.approx([1.0])


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


def test_the_plain_max_speed_plan_equals_the_general_one():
    posts = posts_at(0, 5, 3, 3600, 7200)
    fast = list(plan(lambda: posts, ReplayOptions(speed=None), shift=7200.0))
    # A window that keeps everything takes the general path.
    general = list(plan(lambda: posts, ReplayOptions(speed=None, from_ts=T0 - 1), shift=7200.0))
    assert fast == general
    assert [(slot.index, slot.post.id, slot.at) for slot in fast] == [
        (n, f"p{n}", 0.0) for n in range(len(posts))
    ]
