"""The scoring of bench/detect_eval.py on synthetic alerts: the rules of issue 18 (deletion, coordination,
relocation, the decoys that forbid alerts, surges explained by an injected cluster, the quality bar) and
the existing rules, whose report must not change."""

from __future__ import annotations

import dataclasses
import itertools

import pytest

from bench.detect_eval import (
    Run,
    detect_items,
    has_accounts,
    matches,
    quality,
    report,
    score,
)
from pipeline.detect import Alert, DetectorConfig
from replay.generate import Episode, Truth

T0 = 1245000000.0  # a whole minute
MIN = 60.0
HOUR = 3600.0


def alert(
    kind: str, key: str, region: str | None, start: float, at: float, state: str | None = None
) -> Alert:
    return Alert(kind, key, region, start, at, observed=10.0, expected=1.0, score=9.0, state=state)


def ep(kind: str, key: str, region: str | None, start: float, minutes: float) -> Episode:
    return Episode(kind, key, region, start, start + minutes * MIN)


DELETION_WAVE = ep("deletion", "*", "IR", T0 + 10 * HOUR, 60)
TERM_DELETION = ep("deletion", "term:khamenei", "IR", T0 + 20 * HOUR, 60)
SOCKPUPPETS = ep("coordination", "cluster:*", "IR", T0 + 15 * HOUR, 10)
FILTERING = ep("filtering", "term:mousavi", "IR", T0 + 30 * HOUR, 150)
RELOCATION = ep("relocation", "*", "IR", T0 + 30 * HOUR + 15 * MIN, 45)
CASCADE = ep("rt_cascade", "*", None, T0 + 25 * HOUR, 40)
CAMPAIGN = ep("hashtag_campaign", "term:#cnnfail", None, T0 + 27 * HOUR, 60)
GAP = ep("gap", "*", None, T0 + 40 * HOUR, 60)
TRUTH = Truth(
    scenario="tactics",
    seed=1,
    start=T0,
    end=T0 + 48 * HOUR,
    rate=1.5,
    episodes=(DELETION_WAVE, SOCKPUPPETS, TERM_DELETION, FILTERING, RELOCATION),
    decoys=(CASCADE, CAMPAIGN, GAP),
)
PERFECT = [
    alert("deletion", "*", "IR", DELETION_WAVE.start, DELETION_WAVE.start + 9 * MIN),
    alert("coordination", "cluster:9f3a", "IR", SOCKPUPPETS.start, SOCKPUPPETS.start + 7 * MIN),
    alert("deletion", "term:khamenei", "IR", TERM_DELETION.start, TERM_DELETION.start + 12 * MIN),
    alert("filtering", "term:mousavi", "IR", FILTERING.start, FILTERING.start + 8 * MIN),
    alert("relocation", "*", "IR", RELOCATION.start, RELOCATION.start + 22 * MIN),
    alert("deletion", "*", "IR", DELETION_WAVE.start, DELETION_WAVE.end + 10 * MIN, state="ended"),
]


def run_of(alerts: list[Alert]) -> Run:
    return Run(alerts, 1.0, 1000, 0, 0, "engine", 20)


def test_matching_rules_of_the_new_types() -> None:
    at = DELETION_WAVE.start + 5 * MIN
    assert matches(alert("deletion", "*", "IR", at, at), DELETION_WAVE)
    assert not matches(alert("deletion", "*", "US", at, at), DELETION_WAVE)  # region counts
    assert not matches(alert("deletion", "term:khamenei", "IR", at, at), DELETION_WAVE)  # key counts
    assert not matches(alert("deletion", "*", "IR", at, DELETION_WAVE.end + 31 * MIN), DELETION_WAVE)
    at = SOCKPUPPETS.start + 5 * MIN
    assert matches(alert("coordination", "cluster:anything", "IR", at, at), SOCKPUPPETS)
    assert not matches(alert("coordination", "cluster:anything", None, at, at), SOCKPUPPETS)
    assert not matches(alert("coordination", "term:trust", "IR", at, at), SOCKPUPPETS)
    assert not matches(alert("coordination", "cluster:x", "IR", at, SOCKPUPPETS.start - MIN), SOCKPUPPETS)
    at = RELOCATION.start + 5 * MIN
    assert matches(alert("relocation", "*", "IR", at, at), RELOCATION)
    assert not matches(alert("relocation", "*", "US", at, at), RELOCATION)
    # The existing rules stand: surges match by type, key and time whatever the region.
    surge = ep("surge", "term:#neda", None, T0, 60)
    assert matches(alert("surge", "term:#neda", "IR", T0, T0 + 5 * MIN), surge)


def test_every_episode_found_with_delays_and_the_bar_met() -> None:
    result = score(PERFECT, TRUTH)
    assert not result.missed and not result.false_alarms and not result.explained
    assert result.found == {
        "filtering": 1,
        "outage": 0,
        "surge": 0,
        "deletion": 2,
        "coordination": 1,
        "relocation": 1,
    }
    assert result.delays["deletion"] == [9.0, 12.0] and result.delays["relocation"] == [22.0]
    assert result.ends_ok == 1
    assert all(met for _, met, _ in quality(result, TRUTH))
    lines = report("tactics:1", run_of(PERFECT), result, TRUTH, verbose=False)
    text = "\n".join(lines)
    assert "notices=20" in text and "engine=" in text
    assert "   deletion   found 2/2  false 0  delay min [9 12] median 10" in lines
    assert "   quality    relocation within 30 min: yes (max 22 min)" in lines
    assert "   quality    no false alarm on the decoys: yes" in lines
    assert sum(line.startswith("   decoy") for line in lines) == 3


def test_late_or_missing_episodes_fail_the_bar() -> None:
    late = [a for a in PERFECT if a.type != "relocation" and a.type != "coordination"]
    late.append(alert("coordination", "cluster:1", "IR", SOCKPUPPETS.start, SOCKPUPPETS.start + 20 * MIN))
    result = score(late, TRUTH)
    checks = {check: (met, detail) for check, met, detail in quality(result, TRUTH)}
    assert checks["every episode found"] == (False, "1 missed")
    assert checks["coordination within 15 min"] == (False, "max 20 min")
    assert checks["relocation within 30 min"] == (False, "none found")
    assert checks["deletion within 15 min"] == (True, "max 12 min")


def test_coordination_on_a_cascade_or_a_campaign_is_a_false_alarm() -> None:
    on_cascade = alert("coordination", "cluster:a", None, CASCADE.start + 5 * MIN, CASCADE.start + 10 * MIN)
    after_campaign = alert("coordination", "cluster:b", "US", CAMPAIGN.end + 5 * MIN, CAMPAIGN.end + 10 * MIN)
    far = alert("coordination", "cluster:c", "IR", CAMPAIGN.end + 2 * HOUR, CAMPAIGN.end + 2 * HOUR)
    result = score([*PERFECT, on_cascade, after_campaign, far], TRUTH)
    assert result.false_alarms == [on_cascade, after_campaign, far]  # far: matches nothing
    caught = {decoy.type: alarms for decoy, alarms in result.decoy_alarms}
    assert caught == {"rt_cascade": [on_cascade], "hashtag_campaign": [after_campaign], "gap": []}
    checks = {check: met for check, met, _ in quality(result, TRUTH)}
    assert checks["no false alarm on the decoys"] is False


def test_nothing_of_words_or_volumes_during_a_gap_or_the_hour_after() -> None:
    outage = alert("outage", "*", "IR", GAP.start, GAP.start + 10 * MIN)
    surge = alert("surge", "*", None, GAP.end + 5 * MIN, GAP.end + 10 * MIN)
    filtering = alert("filtering", "term:democracy", "IR", GAP.end + 50 * MIN, GAP.end + 58 * MIN)
    later = alert("surge", "*", None, GAP.end + 2 * HOUR, GAP.end + 2 * HOUR + 5 * MIN)
    ended = alert("outage", "*", "IR", GAP.start, GAP.end + 5 * MIN, state="ended")
    deletion = alert("deletion", "*", "US", GAP.end + 5 * MIN, GAP.end + 10 * MIN)
    result = score([*PERFECT, outage, surge, filtering, later, ended, deletion], TRUTH)
    caught = {decoy.type: alarms for decoy, alarms in result.decoy_alarms}
    assert caught["gap"] == [outage, surge, filtering]
    assert set(map(id, result.false_alarms)) == set(map(id, [outage, surge, filtering, later, deletion]))
    assert result.ends_unmatched == [ended]


def test_surges_of_an_injected_clusters_words_are_explained() -> None:
    words = alert("surge", "term:trust", None, SOCKPUPPETS.start, SOCKPUPPETS.start + 8 * MIN)
    words_end = dataclasses.replace(words, detected_at=SOCKPUPPETS.end + 20 * MIN, state="ended")
    cascade = alert("surge", "category:protest", None, CASCADE.start, CASCADE.start + 6 * MIN)
    volume = alert("surge", "*", None, CASCADE.start, CASCADE.start + 6 * MIN)  # never explained
    result = score([*PERFECT, words, words_end, cascade, volume], TRUTH)
    assert [(a, c) for a, c in result.explained] == [(words, SOCKPUPPETS), (cascade, CASCADE)]
    assert result.false_alarms == [volume]
    assert result.ends_unmatched == []
    lines = report(
        "tactics:1", run_of([*PERFECT, words, words_end]), score([*PERFECT, words], TRUTH), TRUTH, False
    )
    assert any(line.startswith("   EXPLAINED surge term:trust") for line in lines)


def test_a_regions_deletions_during_a_targeted_deletion_are_explained() -> None:
    region = alert("deletion", "*", "IR", TERM_DELETION.start, TERM_DELETION.start + 10 * MIN)
    other_region = alert("deletion", "*", "US", TERM_DELETION.start, TERM_DELETION.start + 10 * MIN)
    term = alert("deletion", "term:mousavi", "IR", DELETION_WAVE.start, DELETION_WAVE.start + 10 * MIN)
    result = score([*PERFECT, region, other_region, term], TRUTH)
    assert result.explained == [(region, TERM_DELETION)]
    assert result.false_alarms == [other_region, term]  # a wave is no term's targeted deletion
    lines = report("tactics:1", run_of([*PERFECT, region]), result, TRUTH, verbose=False)
    assert any(
        line.startswith("   EXPLAINED deletion * IR") and "by deletion term:khamenei" in line
        for line in lines
    )


def test_existing_scenarios_report_as_before() -> None:
    """No decoy, explained or quality line, and the same line per type, for a run of the old types."""
    truth = Truth(
        scenario="iran2009",
        seed=1,
        start=T0,
        end=T0 + 8 * HOUR,
        rate=1.5,
        episodes=(
            ep("filtering", "term:democracy", "IR", T0 + 2 * HOUR, 60),
            ep("surge", "*", None, T0 + 5 * HOUR, 60),
        ),
        decoys=(
            ep("fade", "term:unrest", None, T0 + 3 * HOUR, 60),
            Episode("trend", "*", None, T0, T0 + 8 * HOUR),
        ),
    )
    alerts = [
        alert("filtering", "term:democracy", "IR", T0 + 2 * HOUR, T0 + 2 * HOUR + 7 * MIN),
        alert("surge", "term:unrest", None, T0 + 3 * HOUR, T0 + 3 * HOUR + 5 * MIN),
    ]
    run = Run(alerts, 2.0, 51352, 0, 0)
    lines = report("iran2009:1:8h", run, score(alerts, truth), truth, verbose=False)
    assert lines == [
        "iran2009:1:8h      posts=   51,352 push=   25,676/s late=0 alerts=2 ended=0",
        "   filtering  found 1/1  false 0  delay min [7] median 7",
        "   surge      found 0/1  false 1  delay min []",
        "   MISSED surge * None 2009-06-14T22:20:00Z",
        "   FALSE  surge term:unrest None start=2009-06-14T20:20:00Z at=2009-06-14T20:25:00Z "
        "obs=10.0 exp=1.0 score=9.0",
    ]


def test_scenarios_with_accounts_run_item_by_item() -> None:
    assert has_accounts("tactics") and not has_accounts("iran2009") and not has_accounts("nope")


@pytest.mark.timeout(120)
def test_detect_items_runs_the_engine_over_posts_and_notices() -> None:
    run, truth = detect_items("tactics", 2, 3.0, DetectorConfig())
    assert truth.scenario == "tactics" and run.posts > 10000 and run.notices > 0
    assert run.rate_label == "engine" and run.seconds > 0
    result = score(run.alerts, truth)
    assert sum(result.episodes.values()) == len(truth.episodes)


@pytest.mark.timeout(120)
def test_detect_items_hands_every_item_to_process_item(monkeypatch: pytest.MonkeyPatch) -> None:
    """The contract with the engine: ``process_item(post or notice) -> (classified | None, alerts)``."""
    from feed.model import Deletion, Post
    from pipeline.engine import Engine

    seen: list[Post | Deletion] = []

    def process_item(self: Engine, item: Post | Deletion):
        seen.append(item)
        if isinstance(item, Deletion):
            return None, [alert("deletion", "*", "IR", item.ts, item.ts)]
        return self.process(item)

    monkeypatch.setattr(Engine, "process_item", process_item, raising=False)
    run, _ = detect_items("tactics", 2, 2.0, DetectorConfig())
    notices = [item for item in seen if isinstance(item, Deletion)]
    assert len(notices) == run.notices > 0 and len(seen) == run.posts + run.notices
    assert not run.note
    assert sum(a.type == "deletion" for a in run.alerts) == len(notices)
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(seen))  # in event-time order
