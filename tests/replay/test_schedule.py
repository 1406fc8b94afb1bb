import pytest

from replay.schedule import Pacer, parse_speed, speed_to_fit


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


def pacer(speed):
    clock = FakeClock()
    return Pacer(speed, clock=clock, sleep=clock.sleep), clock


def test_gaps_are_divided_by_the_speed():
    paced, clock = pacer(10.0)
    for event_ts in (0.0, 10.0, 10.0, 40.0):
        assert paced.wait_for(event_ts) == 0.0
    assert clock.sleeps == pytest.approx([1.0, 3.0])
    assert clock.now == pytest.approx(1004.0)


def test_schedule_is_anchored_to_the_first_post_so_slow_sends_do_not_drift():
    paced, clock = pacer(1.0)
    paced.wait_for(0.0)
    for second in range(1, 101):
        clock.now += 0.01  # each send costs 10 ms of wall time
        paced.wait_for(float(second))
    # A pacer that slept the gap after each send would end 1 s late; this one is on time.
    assert clock.now == pytest.approx(1100.0)


def test_late_posts_report_how_far_behind_they_are_and_do_not_sleep():
    paced, clock = pacer(2.0)
    paced.wait_for(0.0)
    clock.now += 5.0  # stalled for 5 s; the next post was due after 1 s
    assert paced.wait_for(2.0) == pytest.approx(4.0)
    assert clock.sleeps == []


def test_rebase_restarts_the_schedule_without_a_catch_up_burst():
    paced, clock = pacer(1.0)
    paced.wait_for(0.0)
    clock.now += 60.0  # paused for a minute
    paced.rebase(1.0)
    assert paced.wait_for(1.0) == 0.0
    paced.wait_for(3.0)
    assert clock.sleeps == pytest.approx([2.0])


def test_max_speed_never_sleeps():
    paced, clock = pacer(None)
    for event_ts in (0.0, 3600.0, 86400.0):
        assert paced.wait_for(event_ts) == 0.0
    assert clock.sleeps == []


def test_out_of_order_posts_go_at_once():
    paced, clock = pacer(1.0)
    paced.wait_for(100.0)
    assert paced.wait_for(50.0) == pytest.approx(50.0)
    assert clock.sleeps == []


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
