import threading
from typing import ClassVar

from pipeline.stream.stop_deadline import EXIT_SECOND_SIGNAL, EXIT_STOP_TIMED_OUT, StopDeadline


class ManualTimer:
    """A timer that fires when the test says so."""

    made: ClassVar[list["ManualTimer"]] = []

    def __init__(self, seconds: float, action) -> None:
        self.seconds, self.action = seconds, action
        self.started = self.cancelled = False
        self.daemon = False
        ManualTimer.made.append(self)

    def start(self) -> None:
        self.started = True

    def cancel(self) -> None:
        self.cancelled = True

    def fire(self) -> None:
        if not self.cancelled:
            self.action()


def deadline() -> tuple[StopDeadline, list[int], list[str]]:
    ManualTimer.made.clear()
    exits: list[int] = []
    said: list[str] = []
    return StopDeadline(30.0, exits.append, said.append, timer=ManualTimer), exits, said


def test_a_stop_that_hangs_exits_when_the_deadline_passes():
    stop, exits, said = deadline()
    stop.signalled()
    [timer] = ManualTimer.made
    assert timer.started and timer.daemon and timer.seconds == 30.0 and exits == []
    timer.fire()
    assert exits == [EXIT_STOP_TIMED_OUT] and "30 s" in said[0]


def test_a_second_signal_exits_at_once():
    stop, exits, said = deadline()
    stop.signalled()
    stop.signalled()
    assert exits == [EXIT_SECOND_SIGNAL] and len(ManualTimer.made) == 1 and "second" in said[0]


def test_the_real_timer_runs_on_its_own_thread():
    fired = threading.Event()
    stop = StopDeadline(0.01, lambda code: fired.set(), lambda text: None)
    stop.signalled()
    assert fired.wait(timeout=10)


def test_a_crash_arms_the_deadline_once_and_a_signal_then_arms_nothing_more():
    stop, exits, _ = deadline()
    stop.arm()  # a stage failed: the worker's stop began
    stop.arm()
    stop.signalled()  # the operator's Ctrl-C meanwhile
    [timer] = ManualTimer.made
    assert timer.started and exits == []
    timer.fire()
    assert exits == [EXIT_STOP_TIMED_OUT]
    stop.signalled()  # a second Ctrl-C still exits at once
    assert exits == [EXIT_STOP_TIMED_OUT, EXIT_SECOND_SIGNAL]
