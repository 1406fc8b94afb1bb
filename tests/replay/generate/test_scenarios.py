"""The scenarios as designed, and the text data they draw on: both follow the one taxonomy."""

from __future__ import annotations

from feed.taxonomy import ALERT_TYPES, CATEGORIES
from replay.generate import DECOY_TYPES, EPISODE_TYPES, SCENARIOS, plan_truth
from replay.generate.templates import CATEGORY_WEIGHTS, LANGS, SUFFIXES, TEMPLATES

HOUR = 3600.0


def test_default_runs_and_their_episodes() -> None:
    week = plan_truth("iran2009", seed=1)
    assert week.to_dict()["start"] == "2009-06-12T00:00:00Z" and week.end - week.start == 168 * HOUR
    assert week.rate == 1.5
    keys = {(ep.type, ep.key) for ep in week.episodes}
    assert {("filtering", "term:democracy"), ("outage", "*"), ("surge", "*")} <= keys
    assert {("surge", "term:#neda"), ("surge", "category:medical")} <= keys
    assert plan_truth("stress", seed=1).rate == 200
    assert set(SCENARIOS) >= {"iran2009", "stress", "quiet"}
    assert plan_truth("quiet", seed=1).episodes == ()


def test_episodes_are_what_detection_raises_and_keys_name_known_categories() -> None:
    assert EPISODE_TYPES is ALERT_TYPES  # one definition, in feed/taxonomy.py
    for spec in SCENARIOS.values():
        assert {episode.type for episode in spec.episodes} <= set(EPISODE_TYPES)
        assert {decoy.type for decoy in spec.decoys} <= set(DECOY_TYPES)
        for item in (*spec.episodes, *spec.decoys):
            if item.key.startswith("category:"):
                assert item.key.removeprefix("category:") in CATEGORIES


def test_templates_cover_every_category_in_every_language() -> None:
    assert set(TEMPLATES) == set(CATEGORIES)
    assert all(len(per_lang) == len(LANGS) and all(per_lang) for per_lang in TEMPLATES.values())
    assert all(len(weights) == len(CATEGORIES) for weights in CATEGORY_WEIGHTS.values())
    assert len(SUFFIXES) == len(LANGS)
