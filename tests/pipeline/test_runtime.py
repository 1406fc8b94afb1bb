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
