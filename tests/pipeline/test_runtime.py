"""pipeline.runtime: the tuning a worker applies to its own process."""

from __future__ import annotations

import gc
import subprocess
import sys


def test_tune_sets_the_collector_thresholds_and_reports_glibc():
    # In a child process: the thresholds are process-wide.
    code = "import gc; from pipeline import runtime; ok = runtime.tune(); print(ok, gc.get_threshold())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    glibc, thresholds = result.stdout.split(" ", 1)
    assert thresholds.strip() == "(50000, 20, 100)"
    assert glibc == "True"  # Debian: glibc's mallopt accepted both settings
    assert gc.get_threshold() != (50000, 20, 100)  # this process untouched


def test_the_collector_clock_adds_up_each_collection_by_generation():
    from pipeline.runtime import CollectorClock

    now = iter([10.0, 10.25, 20.0, 20.5, 30.0, 30.125])
    seconds = [0.0, 0.0, 0.0]
    clock = CollectorClock(seconds, now.__next__)
    clock("stop", {"generation": 2})  # installed mid-collection: that one is not timed
    for generation in (0, 2, 0):
        clock("start", {"generation": generation})
        clock("stop", {"generation": generation})
    assert seconds == [0.375, 0.0, 0.5]


def test_the_collector_clock_installed_times_real_collections_until_uninstalled():
    from pipeline.runtime import CollectorClock

    clock = CollectorClock().install()
    try:
        assert clock.install() is clock and gc.callbacks.count(clock) == 1  # installing twice: once
        gc.collect(0)
        gc.collect(2)
    finally:
        clock.uninstall()
    timed = list(clock.seconds)
    assert timed[0] > 0 and timed[2] > 0
    gc.collect()
    assert clock not in gc.callbacks and clock.seconds == timed
