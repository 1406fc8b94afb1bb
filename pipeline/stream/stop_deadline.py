"""A stop that always ends: once a stop begins, the process exits within a deadline, whatever hangs.

Every step of a worker's stop is bounded where we own it (the stages commit what they delivered,
then close their clients with timeouts), but the clients' own shutdown can still wait on a broker
that does not answer: a worker stopped right after a two-worker run once logged
"GroupCoordinatorNotAvailableError" every 100 ms until it was killed. So the first stop signal arms a
daemon timer on its own thread (the event loop may be the thing that is stuck; a process that ends in
time ends with it), and a second signal exits at once, as an operator pressing Ctrl-C twice expects.
A stage that fails crashes the worker, whose stop arms the same deadline.
The exit and the timer are injected, for the tests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

EXIT_STOP_TIMED_OUT = 3
EXIT_SECOND_SIGNAL = 130


class StopDeadline:
    def __init__(
        self,
        seconds: float,
        exit_now: Callable[[int], None],
        say: Callable[[str], None],
        timer: Callable[[float, Callable[[], None]], threading.Timer] = threading.Timer,
    ) -> None:
        self.seconds = seconds
        self.exit_now = exit_now
        self.say = say
        self.timer = timer
        self.signals = 0
        self._armed = False

    def signalled(self) -> None:
        """A stop signal: the first arms the deadline, the second exits at once."""
        self.signals += 1
        if self.signals == 1:
            self.arm()
        else:
            self.say("pipeline: second stop signal: exiting now, without waiting for the stop to finish")
            self.exit_now(EXIT_SECOND_SIGNAL)

    def arm(self) -> None:
        """A stop began (a signal, or a stage that failed and crashed the worker): exit once the deadline
        has passed, unless the process ended before. Arms one timer, however often it is called."""
        if self._armed:
            return
        self._armed = True
        armed = self.timer(self.seconds, self._expired)
        armed.daemon = True
        armed.start()

    def _expired(self) -> None:
        self.say(
            f"pipeline: the stop did not finish within {self.seconds:.0f} s (STOP_SECONDS); exiting. "
            "What each stage had delivered was committed before its clients were closed."
        )
        self.exit_now(EXIT_STOP_TIMED_OUT)
