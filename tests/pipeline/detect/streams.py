"""Crafted observation streams for the detector's tests: regions, a daily cycle, terms and categories at
fixed shares, and changes injected per minute (a term filtered in one region, an outage, a burst)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from random import Random

import orjson

from pipeline.detect import Alert, Detector, DetectorConfig, Observation

T0 = 1244764800.0  # 2009-06-12T00:00:00Z
MIN = 60.0
WORDS = tuple(f"w{i}" for i in range(30))
# Share of posts carrying each term, per region group.
SHARES = {
    "democracy": 0.15,
    "mousavi": 0.2,
    "unrest": 0.08,
    "#iranelection": 0.2,
    **{word: 0.04 + 0.003 * i for i, word in enumerate(WORDS)},
}
CATEGORY_SHARES = {"protest": 0.3, "violence": 0.1, "medical": 0.04}
RATES = {"IR": 60.0, "US": 30.0, "GB": 30.0}  # posts per minute

Post = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # terms, categories, evasions
Change = Callable[[int, str, Post, Random], Post | None]


def base_post(rng: Random, shares: dict[str, float] = SHARES) -> Post:
    terms = tuple(term for term, share in shares.items() if rng.random() < share)
    categories = tuple(c for c, share in CATEGORY_SHARES.items() if rng.random() < share) or ("other",)
    return terms, categories, ()


def make_stream(
    minutes: int,
    *,
    rates: dict[str | None, float] | None = None,
    volume: Callable[[int, str | None], float] | None = None,
    change: Change | None = None,
    extra: Callable[[int, Random], Iterable[tuple[str | None, Post]]] | None = None,
    seed: int = 1,
) -> list[Observation]:
    """Poisson arrivals per region and minute; ``volume`` scales rates, ``change`` edits or drops posts,
    ``extra`` adds posts (region, post) in a minute. Sorted by event time."""
    rng = Random(seed)
    rates = dict(RATES) if rates is None else rates
    out: list[Observation] = []
    for minute in range(minutes):
        begin = T0 + minute * MIN
        for region, rate in rates.items():
            per_second = rate * (volume(minute, region) if volume else 1.0) / MIN
            if per_second <= 0:
                continue
            moment = begin
            while True:
                moment += rng.expovariate(per_second)
                if moment >= begin + MIN:
                    break
                post: Post | None = base_post(rng)
                if change is not None:
                    post = change(minute, region or "", post, rng)
                if post is not None:
                    out.append(Observation(round(moment, 3), region, *post))
        if extra is not None:
            for region, post in extra(minute, rng):
                out.append(Observation(round(begin + rng.random() * MIN, 3), region, *post))
    out.sort(key=lambda obs: obs.ts)
    return out


def run(
    observations: Iterable[Observation], config: DetectorConfig | None = None
) -> tuple[Detector, list[Alert]]:
    detector = Detector(config)
    alerts: list[Alert] = []
    for obs in observations:
        alerts.extend(detector.push(obs))
    return detector, alerts


def onsets(alerts: list[Alert]) -> list[Alert]:
    return [alert for alert in alerts if alert.state is None]


def records(alerts: list[Alert]) -> list[bytes]:
    return [orjson.dumps(alert.to_record()) for alert in alerts]


def filtered(term: str, region: str, start: int, end: int, evasion: float = 0.0) -> Change:
    """Posts of ``region`` containing ``term`` vanish in [start, end) minutes; a share ``evasion`` of them
    slips through spelled to evade (the term is then reached only through an evasion)."""

    def change(minute: int, where: str, post: Post, rng: Random) -> Post | None:
        terms, categories, evasions = post
        if where != region or not start <= minute < end or term not in terms:
            return post
        if rng.random() < evasion:
            return terms, categories, (*evasions, term)
        return None

    return change
