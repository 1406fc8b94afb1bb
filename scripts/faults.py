"""``make faults``: every fault test, many times, on one real broker; a table per case.

Runs the fault tests of tests/integration (kill -9, broker restart, one of three workers killed,
workers stopped mid-rebalance, a feed replayed twice, junk, a stalled worker, a backlog) ``--runs``
times each with pytest-repeat, in one pytest session (one broker), then reads the figures each run
wrote (``<case>.json`` in its tmp_path) and pytest's JUnit XML, and reports per case: runs, passed,
alerts equal to ``analyze``, posts lost, alert records duplicated, and the recovery time.
Writes ``faults-results.json``; exits 1 unless every run of every case passed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# case -> (test name, with its parameter id when it has one; the figure that says how long recovery took)
CASES: dict[str, tuple[str, str | None]] = {
    "kill_and_restart": (
        "test_a_worker_killed_mid_stream_and_restarted_loses_nothing[at-least-once]",
        "kill_to_caught_up_s",
    ),
    "kill_and_restart_exactly_once": (
        "test_a_worker_killed_mid_stream_and_restarted_loses_nothing[exactly-once]",
        "kill_to_caught_up_s",
    ),
    "broker_restart": (
        "test_a_broker_restart_during_a_replay_loses_nothing_and_counts_nothing_twice[brief]",
        "broker_back_to_caught_up_s",
    ),
    "broker_away": (  # 70 s: longer than aiokafka's producers waited (40 s) before BROKER_WAIT_SECONDS
        "test_a_broker_restart_during_a_replay_loses_nothing_and_counts_nothing_twice"
        "[longer-than-the-producers-wait]",
        "broker_back_to_caught_up_s",
    ),
    "one_of_three_killed": (
        "test_when_one_of_three_workers_is_killed_the_others_take_over[at-least-once]",
        "kill_to_caught_up_s",
    ),
    "one_of_three_killed_exactly_once": (
        "test_when_one_of_three_workers_is_killed_the_others_take_over[exactly-once]",
        "kill_to_caught_up_s",
    ),
    "stopped_mid_rebalance": (
        "test_workers_stopped_in_the_middle_of_a_rebalance_stop_in_time_and_lose_nothing",
        "stop_to_caught_up_s",
    ),
    "replayed_twice": ("test_a_feed_replayed_twice_raises_the_alerts_of_one_pass", None),
    "junk": ("test_junk_interleaved_with_a_replay_is_dead_lettered_and_the_alerts_hold", None),
    "stalled_worker": (
        "test_a_stalled_worker_is_reported_by_health_and_metrics",
        "replay_start_to_stall_reported_s",
    ),
    "backlog": (
        "test_a_worker_started_on_a_backlog_catches_up_with_the_alerts_of_analyze",
        "catch_up_seconds",
    ),
}
TEST_FILES = ["tests/integration/test_faults.py", "tests/integration/test_backlog.py"]


def run_pytest(runs: int, cases: list[str], work: Path) -> Path:
    junit = work / "junit.xml"
    selection = " or ".join(_keyword(CASES[case][0]) for case in cases)
    command = [
        sys.executable, "-m", "pytest", *TEST_FILES,
        "-k", selection,
        "--count", str(runs),
        "-p", "no:cacheprovider",
        "-o", "addopts=",
        "-q", "-rf",
        "--timeout", "900",
        "--basetemp", str(work / "tmp"),
        "--junitxml", str(junit),
    ]  # fmt: skip
    print("faults:", " ".join(command), flush=True)
    subprocess.run(command, cwd=REPO, check=False)
    return junit


def _keyword(test: str) -> str:
    """A ``-k`` expression for ``test_name`` or ``test_name[param]``."""
    name, _, param = test.partition("[")
    return f"({name} and {param.rstrip(']')})" if param else name


def test_key(name: str) -> str:
    """``test_x[exactly-once-3-10]`` (pytest-repeat's suffix) → ``test_x[exactly-once]``; ``test_x[3-10]``
    → ``test_x``."""
    base, _, param = name.partition("[")
    param = re.sub(r"-?\d+-\d+$", "", param.rstrip("]"))
    return f"{base}[{param}]" if param else base


def outcomes(junit: Path) -> dict[str, list[bool]]:
    """Passed or not, per test name (the repeat suffix dropped), in run order."""
    results: dict[str, list[bool]] = defaultdict(list)
    if not junit.exists():
        return results
    for case in ET.parse(junit).getroot().iter("testcase"):
        name = test_key(case.get("name", ""))
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        if not skipped:
            results[name].append(not failed)
    return results


def figures(tmp: Path) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(tmp.rglob("*.json")):
        if path.stem in CASES:
            found[path.stem].append(json.loads(path.read_text()))
    return found


def summarize(cases: list[str], passed: dict[str, list[bool]], reported: dict[str, list[dict]]) -> list[dict]:
    rows = []
    for case in cases:
        test, recovery_key = CASES[case]
        results = passed.get(test, [])
        runs = reported.get(case, [])
        recovery = [run[recovery_key] for run in runs if recovery_key and run.get(recovery_key) is not None]
        with_alerts = [run for run in runs if "alerts_equal_raw" in run]
        rows.append(
            {
                "case": case,
                "runs": len(results),
                "passed": sum(results),
                "alerts_equal": f"{sum(1 for r in with_alerts if r['alerts_equal_raw'])}/{len(with_alerts)}"
                if with_alerts
                else "–",
                "posts_lost": sum(run.get("posts_lost", 0) for run in runs),
                "alerts_duplicated": sum(run.get("alert_records_repeated", 0) for run in runs),
                "recovery_key": recovery_key,
                "recovery_median_s": round(statistics.median(recovery), 2) if recovery else None,
                "recovery_max_s": round(max(recovery), 2) if recovery else None,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| case | runs passed | alerts equal to analyze | posts lost | alerts duplicated "
        "| recovery (median / max) |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in rows:
        recovery = (
            f"{row['recovery_median_s']} / {row['recovery_max_s']} s ({row['recovery_key']})"
            if row["recovery_median_s"] is not None
            else "–"
        )
        lines.append(
            f"| {row['case']} | {row['passed']}/{row['runs']} | {row['alerts_equal']} | {row['posts_lost']} "
            f"| {row['alerts_duplicated']} | {recovery} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=int(os.environ.get("FAULTS_RUNS") or 10), help="(10)")
    parser.add_argument(
        "--cases",
        default=os.environ.get("FAULTS_CASES") or ",".join(CASES),
        help=f"comma-separated, of: {', '.join(CASES)} (all)",
    )
    parser.add_argument("--work", type=Path, default=REPO / ".faults", help="runs' files (.faults)")
    parser.add_argument(
        "--out", type=Path, default=REPO / "faults-results.json", help="(faults-results.json)"
    )
    args = parser.parse_args(argv)
    cases = [case.strip() for case in args.cases.split(",") if case.strip()]
    unknown = [case for case in cases if case not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.work.mkdir(parents=True, exist_ok=True)
    junit = run_pytest(args.runs, cases, args.work)
    rows = summarize(cases, outcomes(junit), figures(args.work / "tmp"))
    args.out.write_text(json.dumps({"runs_per_case": args.runs, "cases": rows}, indent=2) + "\n")
    print(table(rows))
    print(f"faults: written to {args.out}")
    return 0 if all(row["runs"] == args.runs and row["passed"] == row["runs"] for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
