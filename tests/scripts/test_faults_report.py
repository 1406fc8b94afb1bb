"""scripts/faults.py reads pytest's JUnit XML and the figures each run wrote into one table."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "faults.py"
spec = importlib.util.spec_from_file_location("faults", SCRIPT)
faults = importlib.util.module_from_spec(spec)
spec.loader.exec_module(faults)

KILL = faults.CASES["kill_and_restart"][0]  # test_...[at-least-once]


def repeat(test: str, run: int, runs: int) -> str:
    """The name pytest-repeat gives run ``run`` of ``runs`` of a parametrized test."""
    return f"{test[:-1]}-{run}-{runs}]"


def write_run(tmp: Path, index: int, case: str, figures: dict) -> None:
    folder = tmp / f"{case}{index}"
    folder.mkdir(parents=True)
    (folder / f"{case}.json").write_text(json.dumps(figures))


def test_runs_are_counted_from_the_junit_xml_and_figures_summed(tmp_path):
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest">'
        f'<testcase classname="t" name="{repeat(KILL, 1, 3)}" />'
        f'<testcase classname="t" name="{repeat(KILL, 2, 3)}"><failure message="boom" /></testcase>'
        f'<testcase classname="t" name="{repeat(KILL, 3, 3)}" />'
        # The exactly-once variant of the same test is another case.
        f'<testcase classname="t" name="{repeat(KILL.replace("at-least", "exactly"), 1, 3)}" />'
        "</testsuite></testsuites>"
    )
    for index, (equal, lost, repeated, recovery) in enumerate(
        [(True, 0, 0, 10.0), (False, 3, 1, 30.0), (True, 0, 0, 14.0)]
    ):
        write_run(
            tmp_path / "tmp",
            index,
            "kill_and_restart",
            {"alerts_equal_raw": equal, "posts_lost": lost, "alert_records_repeated": repeated,
             "kill_to_caught_up_s": recovery},
        )  # fmt: skip
    [row] = faults.summarize(["kill_and_restart"], faults.outcomes(junit), faults.figures(tmp_path / "tmp"))
    assert row["runs"] == 3 and row["passed"] == 2
    assert row["alerts_equal"] == "2/3" and row["posts_lost"] == 3 and row["alerts_duplicated"] == 1
    assert row["recovery_median_s"] == 14.0 and row["recovery_max_s"] == 30.0
    assert "| kill_and_restart | 2/3 | 2/3 | 3 | 1 | 14.0 / 30.0 s" in faults.table([row])


def test_a_case_without_alerts_reads_a_dash_and_an_unknown_case_is_refused(tmp_path, capsys):
    [row] = faults.summarize(
        ["stalled_worker"], {}, {"stalled_worker": [{"replay_start_to_stall_reported_s": 9}]}
    )
    assert row["alerts_equal"] == "–" and row["runs"] == 0 and row["recovery_max_s"] == 9
    with pytest.raises(SystemExit):
        faults.main(["--cases", "kill_and_restart,nope", "--work", str(tmp_path)])
    assert "unknown case(s) nope" in capsys.readouterr().err


def test_repeat_suffixes_are_dropped_and_parameters_kept():
    assert faults.test_key("test_x[exactly-once-3-10]") == "test_x[exactly-once]"
    assert faults.test_key("test_x[3-10]") == "test_x"
    assert faults.test_key("test_x") == "test_x"
    assert faults._keyword("test_x[exactly-once]") == "(test_x and exactly-once)"
    assert faults._keyword("test_y") == "test_y"
