"""Detection end to end: a generated scenario through the real classifier, the seed feed, the statistics."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from feed import read_feed
from pipeline.detect import Alert, Detector, Observation
from pipeline.detect.stats import log_poisson_cdf, log_poisson_sf, score
from pipeline.engine import Engine
from replay.generate import Episode, Truth, generate

GRACE_S = 30 * 60
SEED_FEED = Path(__file__).resolve().parents[3] / "replay" / "data" / "seed_feed.jsonl"


def matches(alert: Alert, episode: Episode) -> bool:
    """The evaluation's rule (bench/detect_eval.py): type, key, region (filtering/outage) and time."""
    if alert.type != episode.type or alert.key != episode.key:
        return False
    if alert.type in ("filtering", "outage") and alert.region != episode.region:
        return False
    return episode.start <= alert.detected_at <= episode.end + GRACE_S


@pytest.fixture(scope="module")
def scenario() -> tuple[Truth, list[Alert]]:
    """iran2009, seed 1, 8 hours at the default rate (~51k posts): every episode type, and the decoys."""
    engine = Engine()
    posts, truth = generate("iran2009", seed=1, hours=8)
    detector = Detector()
    alerts: list[Alert] = []
    for post in posts:
        alerts.extend(detector.push(engine.classify(post).observation()))
    return truth, alerts


def test_every_episode_is_found_in_time(scenario):
    truth, alerts = scenario
    assert {ep.type for ep in truth.episodes} == {"filtering", "outage", "surge"}
    limits = {"filtering": 15, "surge": 10, "outage": 15}
    for episode in truth.episodes:
        hits = [a for a in alerts if a.state is None and matches(a, episode)]
        assert hits, f"missed {episode}"
        delay = (min(a.detected_at for a in hits) - episode.start) / 60
        assert delay <= limits[episode.type], (episode, delay)


def test_at_most_one_false_alarm_and_each_episode_raised_once(scenario):
    truth, alerts = scenario
    raised = [a for a in alerts if a.state is None]
    false = [a for a in raised if not any(matches(a, ep) for ep in truth.episodes)]
    assert len(false) <= 1, false
    for episode in truth.episodes:
        assert sum(1 for a in raised if matches(a, episode)) == 1


def test_a_medical_call_comes_out_as_its_category(scenario):
    _, alerts = scenario
    (medical,) = [a for a in alerts if a.state is None and a.key == "category:medical"]
    assert medical.type == "surge" and medical.region is None
    assert any("hospital" in term for term in medical.terms)
    assert not any(a.key == "term:hospital" for a in alerts)


def test_the_seed_feed_raises_nothing():
    engine = Engine()
    alerts = []
    for post in read_feed(SEED_FEED):
        alerts.extend(engine.process(post)[1])
    assert alerts == []
    assert engine.detector.late_posts == 0


def test_an_observation_round_trips_through_the_engine():
    engine = Engine()
    post = next(iter(read_feed(SEED_FEED)))
    obs = engine.classify(post).observation(source=3)
    assert isinstance(obs, Observation) and obs.source == 3 and obs.ts == post.ts


def _brute_cdf(k: int, mu: float) -> float:
    terms = [-mu + i * math.log(mu) - math.lgamma(i + 1) for i in range(k + 1)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


def _brute_sf(k: int, mu: float) -> float:
    terms = [-mu + i * math.log(mu) - math.lgamma(i + 1) for i in range(k, k + 3000)]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


@pytest.mark.parametrize("mu", [0.3, 2.5, 20.0, 225.0, 1000.0])
@pytest.mark.parametrize("k", [0, 1, 5, 20, 100, 400, 1200])
def test_poisson_tails_match_brute_force(mu, k):
    assert log_poisson_cdf(k, mu) == pytest.approx(_brute_cdf(k, mu), rel=1e-9, abs=1e-12)
    if k > 0:
        assert log_poisson_sf(k, mu) == pytest.approx(_brute_sf(k, mu), rel=1e-9, abs=1e-12)


def test_tail_edge_cases_and_scores():
    assert log_poisson_cdf(-1, 5.0) == -math.inf
    assert log_poisson_cdf(3, 0.0) == 0.0
    assert log_poisson_sf(0, 5.0) == 0.0
    assert log_poisson_sf(3, 0.0) == -math.inf
    assert log_poisson_cdf(0, 20.0) == pytest.approx(-20.0)
    assert log_poisson_cdf(100, 30000.0) < -20000  # no underflow
    assert score(-math.inf) == 999.0
    assert score(math.log(1e-8)) == 8.0
