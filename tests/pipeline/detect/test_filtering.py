"""The filtering test (pipeline/detect/filtering.py) on crafted streams."""

from __future__ import annotations

from random import Random

from pipeline.detect import DetectorConfig
from tests.pipeline.detect.streams import MIN, T0, Post, filtered, make_stream, onsets, run


def test_filtering_in_one_region_against_the_control():
    stream = make_stream(180, change=filtered("democracy", "IR", 100, 140))
    _, alerts = run(stream)
    raised = onsets(alerts)
    assert [(a.type, a.key, a.region) for a in raised] == [("filtering", "term:democracy", "IR")]
    alert = raised[0]
    assert T0 + 95 * MIN <= alert.start <= T0 + 105 * MIN
    assert alert.detected_at - (T0 + 100 * MIN) <= 15 * MIN
    assert alert.observed == 0 and alert.expected > 20 and alert.score > 8
    assert alert.evidence["control"]["expected"] > 10
    ended = [a for a in alerts if a.state == "ended"]
    assert [(a.type, a.key) for a in ended] == [("filtering", "term:democracy")]
    assert ended[0].detected_at <= T0 + 160 * MIN


def test_filtering_falls_back_to_the_regions_own_history_without_control():
    stream = make_stream(180, rates={"IR": 90.0}, change=filtered("democracy", "IR", 100, 140))
    _, alerts = run(stream)
    raised = onsets(alerts)
    assert [(a.type, a.key, a.region) for a in raised] == [("filtering", "term:democracy", "IR")]
    assert raised[0].evidence["control"] is None


def test_filtering_of_a_term_not_on_the_watchlist():
    stream = make_stream(180, change=filtered("w25", "IR", 100, 140))
    _, alerts = run(stream)
    assert [(a.type, a.key, a.region) for a in onsets(alerts)] == [("filtering", "term:w25", "IR")]
    assert "w25" not in DetectorConfig().watchlist


def test_a_rise_of_evasion_spellings_is_reported_as_evidence():
    stream = make_stream(180, change=filtered("democracy", "IR", 100, 140, evasion=0.2))
    _, alerts = run(stream)
    (alert,) = onsets(alerts)
    evasions = alert.evidence["evasions"]
    assert evasions["observed"] >= 2 and evasions["rising"] is True
    assert evasions["expected"] < 1


def test_words_filtered_with_the_term_are_one_alert():
    # "w29" only ever appears with "democracy" (like a slogan's other words): both vanish together.
    def change(minute: int, region: str, post: Post, rng: Random) -> Post | None:
        terms, categories, evasions = post
        terms = tuple(t for t in terms if t != "w29")
        if "democracy" in terms and rng.random() < 0.6:
            terms = (*terms, "w29")
        return filtered("democracy", "IR", 100, 140)(minute, region, (terms, categories, evasions), rng)

    _, alerts = run(make_stream(180, change=change))
    raised = onsets(alerts)
    assert [(a.type, a.key) for a in raised] == [("filtering", "term:democracy")]
    assert "w29" in raised[0].terms


def test_a_term_fading_everywhere_alike_raises_nothing():
    def fade(minute: int, region: str, post: Post, rng: Random) -> Post | None:
        terms, categories, evasions = post
        level = 1.0 - 0.9 * min(1.0, max(0.0, (minute - 70) / 60))
        if "unrest" in terms and rng.random() > level:
            terms = tuple(t for t in terms if t != "unrest")
        return terms, categories, evasions

    _, alerts = run(make_stream(240, change=fade))
    assert onsets(alerts) == []


def test_small_number_noise_raises_nothing():
    # Many rare terms (about 0.3 to 2 a window each) and a small region: Poisson noise only.
    rare = {f"rare{i}": 0.0005 + 0.0002 * i for i in range(40)}

    def change(minute: int, region: str, post: Post, rng: Random) -> Post | None:
        terms = post[0] + tuple(t for t, share in rare.items() if rng.random() < share)
        return terms, post[1], post[2]

    rates = {"IR": 60.0, "US": 30.0, "GB": 30.0, "FR": 6.0}
    _, alerts = run(make_stream(300, rates=rates, change=change, seed=7))
    assert onsets(alerts) == []
