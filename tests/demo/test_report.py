"""demo/report.py: the run's alerts against the truth, with bench/detect_eval.py's matching."""

from __future__ import annotations

from demo.report import against_truth, alert_from_record, without_truth
from feed import format_ts
from replay.generate import Episode, Truth

H = 3600.0
START = 1244764800.0  # 2009-06-12T00:00:00Z
TRUTH = Truth(
    scenario="iran2009",
    seed=1,
    start=START,
    end=START + 8 * H,
    rate=1.5,
    episodes=(
        Episode("outage", "*", "IR", START + 1.5 * H, START + 2 * H),
        Episode("filtering", "term:democracy", "IR", START + 2.5 * H, START + 3.5 * H),
        Episode("surge", "term:#neda", None, START + 6 * H, START + 7 * H),
    ),
)


def record(kind, key, region, start, detected, state=None, observed=0.0, expected=19.0):
    value = {
        "type": kind, "key": key, "region": region, "start": format_ts(start),
        "detected_at": format_ts(detected), "observed": observed, "expected": expected, "score": 9.0,
    }  # fmt: skip
    if state:
        value["state"] = state
    return value


def test_found_missed_and_false_alarms():
    records = [
        record("outage", "*", "IR", START + 1.5 * H, START + 1.5 * H + 600, observed=4, expected=85),
        record("outage", "*", "IR", START + 1.5 * H, START + 2.1 * H, state="ended"),
        record("filtering", "term:democracy", "IR", START + 2.5 * H, START + 2.5 * H + 420),
        record("surge", "*", None, START + 4 * H, START + 4 * H + 300, observed=400, expected=100),
    ]
    outcome = against_truth(records, TRUTH, "truth.json")
    assert (outcome.episodes, outcome.found, outcome.missed, outcome.false_alarms) == (3, 2, 1, 1)
    assert outcome.headline == "found 2 of 3 episodes, missed 1, false alarms 1"
    text = "\n".join(outcome.lines)
    assert "found 2 of 3 episodes, missed 1, false alarms 1" in text
    assert "found   outage in IR" in text and "raised 01:40, 10 min in" in text
    assert "found   filtering of 'democracy' in IR" in text and "raised 02:37, 7 min in" in text
    assert "MISSED  surge of '#neda'" in text and "Jun 12 06:00–07:00" in text
    assert "FALSE   surge of all posts since 04:00 (observed 400, expected 100)" in text


def test_an_alert_in_the_wrong_region_or_too_late_is_no_find():
    records = [
        record("filtering", "term:democracy", "US", START + 2.5 * H, START + 2.6 * H),
        record("outage", "*", "IR", START + 1.5 * H, START + 3 * H),  # more than 30 min after the end
    ]
    outcome = against_truth(records, TRUTH, "truth.json")
    assert (outcome.found, outcome.missed, outcome.false_alarms) == (0, 3, 2)


def test_records_round_trip_into_alerts():
    value = record("surge", "term:#neda", None, START, START + 60, observed=135, expected=0.36)
    value["terms"] = ["neda", "rip"]
    alert = alert_from_record(value)
    assert (alert.type, alert.key, alert.region, alert.start, alert.detected_at) == (
        "surge", "term:#neda", None, START, START + 60,
    )  # fmt: skip
    assert alert.terms == ("neda", "rip") and alert.state is None
    assert alert.to_record() == value


def test_a_feed_without_truth_lists_its_alerts():
    records = [
        record("surge", "*", None, START, START + 300, observed=40, expected=10),
        record("surge", "*", None, START, START + 900, state="ended"),
    ]
    lines = without_truth(records, "the built-in seed feed")
    assert (
        lines[0]
        == "1 alert raised on the built-in seed feed (no truth file for it: nothing to score against)"
    )
    assert lines[1] == "  Jun 12 00:05  surge of all posts since 00:00 (observed 40, expected 10)"
