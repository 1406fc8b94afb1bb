"""demo/wording.py: alerts, episodes and Alertmanager notifications in words."""

from __future__ import annotations

import pytest

from demo.wording import clock, describe, notification, number, open_episodes, subject, what


def alert(**fields):
    record = {
        "type": "filtering",
        "key": "term:democracy",
        "region": "IR",
        "start": "2009-06-12T02:40:00Z",
        "detected_at": "2009-06-12T02:47:00Z",
        "observed": 0,
        "expected": 19.3,
        "score": 8.1,
    }
    record.update(fields)
    return record


def test_a_filtering_alert_reads_as_the_issue_words_it():
    assert describe(alert()) == "filtering of 'democracy' in IR since 02:40 (observed 0, expected 19)"


@pytest.mark.parametrize(
    ("kind", "key", "region", "words"),
    [
        ("outage", "*", "IR", "outage in IR"),
        ("surge", "*", None, "surge of all posts"),
        ("surge", "term:#neda", None, "surge of '#neda'"),
        ("surge", "category:medical", None, "surge of medical posts"),
        ("deletion", "*", "IR", "mass deletion in IR"),
        ("deletion", "term:khamenei", "IR", "deletion of 'khamenei' posts in IR"),
        ("coordination", "cluster:c7", "IR", "coordinated accounts in IR (cluster c7)"),
        ("relocation", "*", "IR", "authors relocating to IR"),
        ("novel", "term:x", None, "novel of 'x'"),  # a type the view does not know yet
    ],
)
def test_every_alert_type_in_words(kind, key, region, words):
    record = alert(type=kind, key=key, region=region)
    assert describe(record) == f"{words} since 02:40 (observed 0, expected 19)"


def test_observed_and_expected_as_counts_and_means():
    assert describe(alert(observed=412, expected=0.36)).endswith("(observed 412, expected 0.4)")


def test_an_ended_alert_says_it_ended_and_since_when():
    assert describe(alert(state="ended")) == "filtering of 'democracy' in IR ended (since 02:40)"


def test_numbers_and_times_as_people_read_them():
    assert [number(v) for v in (0, 19.0, 3.44, 19.4, 1204, None, "x")] == [
        "0",
        "19",
        "3.4",
        "19",
        "1,204",
        "?",
        "?",
    ]
    assert clock("2009-06-12T15:58:30Z") == "15:58"
    assert clock(1244822280.0) == "15:58"  # epoch seconds too
    assert clock("not a time") == "?"
    assert subject("cluster:c1") == "cluster c1"
    assert what({"type": "surge", "key": "*", "region": None}) == "surge of all posts"


def test_open_episodes_are_the_onsets_no_end_closed():
    democracy = alert()
    mousavi = alert(key="term:mousavi", start="2009-06-12T05:00:00Z")
    ended = alert(state="ended", detected_at="2009-06-12T03:40:00Z")
    assert open_episodes([democracy, mousavi]) == [democracy, mousavi]
    assert open_episodes([democracy, mousavi, ended]) == [mousavi]
    assert open_episodes([]) == []


def test_an_alertmanager_webhook_in_words():
    payload = {
        "receiver": "critical",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "RegionOutage", "region": "IR", "severity": "critical"},
            },
            {"status": "resolved", "labels": {"alertname": "PipelineWorkerDown"}},
        ],
    }
    assert notification(payload) == [
        "critical ← RegionOutage(IR) firing",
        "critical ← PipelineWorkerDown resolved",
    ]
    assert notification({}) == []
