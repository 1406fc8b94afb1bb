"""The surge test (pipeline/detect/surges.py) on crafted streams."""

from __future__ import annotations

from random import Random

from tests.pipeline.detect.streams import MIN, T0, Post, make_stream, onsets, run


def test_overall_surge_is_one_alert_not_one_per_term():
    def burst(minute: int, region: str | None) -> float:
        return 4.0 if 100 <= minute < 130 else 1.0

    _, alerts = run(make_stream(180, volume=burst))
    raised = onsets(alerts)
    assert [(a.type, a.key, a.region) for a in raised] == [("surge", "*", None)]
    assert raised[0].detected_at - (T0 + 100 * MIN) <= 10 * MIN
    assert [(a.type, a.key) for a in alerts if a.state == "ended"] == [("surge", "*")]


def test_co_trending_terms_of_one_event_are_one_alert():
    def tag(minute: int, region: str, post: Post, rng: Random) -> Post | None:
        terms, categories, evasions = post
        if 100 <= minute < 130 and rng.random() < 0.3:
            extra = ("#neda", "rip", "neda") if rng.random() < 0.7 else ("#neda", "world", "saw")
            terms = terms + extra
        return terms, categories, evasions

    _, alerts = run(make_stream(180, change=tag))
    raised = onsets(alerts)
    assert [(a.type, a.key) for a in raised] == [("surge", "term:#neda")]
    assert {"rip", "neda"} <= set(raised[0].terms)
    assert raised[0].detected_at - (T0 + 100 * MIN) <= 10 * MIN


def test_a_term_appearing_from_nothing_is_a_surge():
    def new(minute: int, rng: Random) -> list[tuple[str | None, Post]]:
        if 100 <= minute < 120:
            return [("US", (("flotilla",), ("other",), ())) for _ in range(6)]
        return []

    _, alerts = run(make_stream(150, extra=new))
    assert [(a.type, a.key) for a in onsets(alerts)] == [("surge", "term:flotilla")]


def test_a_category_burst_is_one_alert_keyed_by_the_category():
    def call(minute: int, rng: Random) -> list[tuple[str | None, Post]]:
        if not 100 <= minute < 130:
            return []
        posts = []
        for _ in range(20):
            words = tuple(w for w in ("hospital", "doctors", "urgent", "wounded") if rng.random() < 0.6)
            region = "IR" if rng.random() < 0.5 else "US"
            posts.append((region, (words, ("medical",), ())))
        return posts

    _, alerts = run(make_stream(180, extra=call))
    raised = onsets(alerts)
    assert [(a.type, a.key) for a in raised] == [("surge", "category:medical")]
    assert "hospital" in raised[0].terms
