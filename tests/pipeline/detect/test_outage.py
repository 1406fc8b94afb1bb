"""The outage test (pipeline/detect/outage.py) on crafted streams."""

from __future__ import annotations

from tests.pipeline.detect.streams import MIN, T0, make_stream, onsets, run


def test_an_outage_raises_one_outage_alert_and_no_filtering_nor_surge():
    def cut(minute: int, region: str | None) -> float:
        return 0.03 if region == "IR" and 100 <= minute < 140 else 1.0

    _, alerts = run(make_stream(220, volume=cut))
    raised = onsets(alerts)
    assert [(a.type, a.key, a.region) for a in raised] == [("outage", "*", "IR")]
    assert raised[0].detected_at - (T0 + 100 * MIN) <= 15 * MIN
    assert raised[0].observed < 0.25 * raised[0].expected
    ended = [a for a in alerts if a.state == "ended"]
    assert [(a.type, a.region) for a in ended] == [("outage", "IR")]


def test_outage_state_is_visible_while_it_lasts():
    def cut(minute: int, region: str | None) -> float:
        return 0.0 if region == "IR" and minute >= 100 else 1.0

    detector, alerts = run(make_stream(130, volume=cut))
    assert [(a.type, a.region) for a in onsets(alerts)] == [("outage", "IR")]
    assert detector.outages() == {"GB": False, "IR": True, "US": False}


def test_outage_from_own_history_without_control():
    def cut(minute: int, region: str | None) -> float:
        return 0.02 if 100 <= minute < 140 else 1.0

    _, alerts = run(make_stream(200, rates={"IR": 90.0}, volume=cut))
    assert [(a.type, a.region) for a in onsets(alerts)] == [("outage", "IR")]


def test_a_gap_in_the_whole_feed_is_not_an_outage():
    def gap(minute: int, region: str | None) -> float:
        return 0.0 if 100 <= minute < 130 else 1.0

    _, alerts = run(make_stream(200, volume=gap))
    assert onsets(alerts) == []
