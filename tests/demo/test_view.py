"""demo/view.py: what a person sees, rendered without a terminal (a rich Console into a string)."""

from __future__ import annotations

import io

from rich.console import Console

from demo.snapshot import ReplayState, Snapshot, WorkerState
from demo.view import bar, factor, plain_line, render

T = 1244822280.0  # 2009-06-12T15:58:00Z
CATEGORIES = {
    "protest": 4166, "violence": 2693, "arrest": 2307, "medical": 965, "censorship": 2750,
    "circumvention": 2570, "disinformation": 1549, "election": 4019, "solidarity": 3081, "other": 3285,
}  # fmt: skip
FILTERING = {
    "type": "filtering", "key": "term:democracy", "region": "IR", "start": "2009-06-12T02:40:00Z",
    "detected_at": "2009-06-12T02:47:00Z", "observed": 0, "expected": 19.2, "score": 9.0,
}  # fmt: skip
OUTAGE = {
    "type": "outage", "key": "*", "region": "IR", "start": "2009-06-12T01:35:00Z",
    "detected_at": "2009-06-12T01:47:00Z", "observed": 4, "expected": 85.0, "score": 30.0,
}  # fmt: skip


def snapshot(**changes) -> Snapshot:
    values = dict(
        title="iran2009 scenario, seed 1: 48 h, 254,662 posts in ~120 s",
        phase="replaying",
        elapsed=35.2,
        replay=ReplayState(
            sent=104_300, acknowledged=104_211, planned=254_662, speed=1440.0, event_time=T, rate=2120.4
        ),
        worker=WorkerState(
            consumed=103_900, published=103_850, consumed_rate=2101.0, published_rate=2099.6, lag=132,
            event_time=T - 60, watermark=T - 180, categories=CATEGORIES, alerts_raised=3,
        ),
        alerts=(OUTAGE, {**OUTAGE, "state": "ended", "detected_at": "2009-06-12T02:27:00Z"}, FILTERING),
        firing=("KeywordFilteringSuspected",),
        prometheus_url="http://127.0.0.1:9090",
        alertmanager_url="http://127.0.0.1:9094",
        alertmanager=1,
        notifications=2,
        delivered=("critical ← RegionOutage(IR) firing", "warning ← KeywordFilteringSuspected firing"),
        interactive=True,
    )  # fmt: skip
    values.update(changes)
    return Snapshot(**values)


def screen(snap: Snapshot, width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None, record=True, legacy_windows=False)
    console.print(render(snap))
    return console.export_text()


def test_the_screen_shows_flow_event_time_categories_episodes_and_alerts():
    text = screen(snapshot())
    assert "in 2,120/s replay → Kafka" in text
    assert "out 2,100/s classified" in text
    assert "lag 132" in text
    assert "2009-06-12 15:58 UTC  at 1,440x" in text
    assert "41% of 254,662 posts" in text
    lines = {line.split()[1]: line for line in text.splitlines() if line.startswith("│ ") and "█" in line}
    assert set(lines) == set(CATEGORIES)
    assert "4,166" in lines["protest"] and "965" in lines["medical"]
    # The bars are to scale: the largest category has the longest.
    assert lines["protest"].count("█") > lines["medical"].count("█") > 0
    assert "open episodes" in text and "filtering of 'democracy' in IR since 02:40  " in text
    assert "outage in IR\n" not in text  # ended: no longer open
    assert "Jun 12 02:47  filtering of 'democracy' in IR since 02:40 (observed 0, expected 19)" in text
    assert "Jun 12 02:27  outage in IR ended (since 01:35)" in text
    assert "last alerts (2 raised)" in text
    assert "Prometheus 1 firing" in text and "  KeywordFilteringSuspected" in text
    assert "Alertmanager 1 alert, 2 sent" in text and "warning ← KeywordFilteringSuspected firing" in text
    assert "+ faster  - slower  space pause/resume  q quit" in text


def test_it_fits_a_default_terminal():
    lines = screen(snapshot(notes=("speed 3,600x",)), width=80).rstrip("\n").splitlines()
    assert len(lines) <= 24, "\n".join(lines)
    assert all(len(line) <= 80 for line in lines)


def test_paused_max_speed_and_finished_replays():
    paused = screen(snapshot(replay=ReplayState(speed=3600.0, paused=True, event_time=T)))
    assert "paused (at 3,600x)" in paused
    assert "at max speed" in screen(snapshot(replay=ReplayState(speed=None, event_time=T)))
    assert "finished" in screen(snapshot(replay=ReplayState(finished=True, event_time=T), phase="draining"))


def test_before_anything_runs():
    nothing = dict(replay=None, worker=None, alerts=(), firing=(), notifications=0, delivered=())
    text = screen(
        snapshot(**nothing, alertmanager=None, prometheus_url=None, alertmanager_url=None, interactive=False)
    )
    assert "replay not started" in text and "worker not up yet" in text
    assert "no posts yet" in text and "no alert yet" in text
    assert "Prometheus not running" in text and "Alertmanager not running" in text
    assert "q quit" not in text  # no keys without a terminal


def test_the_last_key_pressed_is_said():
    assert "speed 3,600x" in screen(snapshot(notes=("paused: space resumes", "speed 3,600x")))


def test_the_plain_line_for_a_log():
    line = plain_line(snapshot())
    assert line.startswith("demo 0:35 replaying | replay 104,211/254,662 posts, in 2,120/s")
    assert "event time 2009-06-12 15:58 UTC at 1,440x" in line
    assert "worker 103,900 posts, out 2,100/s, lag 132" in line
    assert "protest=4,166 election=4,019 other=3,285" in line
    assert "2 alerts, 1 open" in line
    assert "Prometheus firing KeywordFilteringSuspected" in line
    assert "\n" not in line


def test_bars_in_eighths():
    assert bar(0, 100) == "" and bar(5, 0) == ""
    assert bar(100, 100, width=4) == "████"
    assert bar(50, 100, width=4) == "██"
    assert bar(1, 1000, width=4) == "▏"  # never invisible
    assert bar(3, 8, width=1) == "▍"


def test_speeds():
    assert [factor(s) for s in (None, 1440.0, 62_100.4, 20.0, 0.5)] == [
        "max speed", "1,440x", "62,100x", "20x", "0.5x",
    ]  # fmt: skip
