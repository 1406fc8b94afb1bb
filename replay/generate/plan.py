"""The plan of one run: where the episodes fall (:func:`plan_truth`, the ground truth as
:class:`Truth` of :class:`Episode` windows), the diurnal cycle, and each minute's rate and effects
(:class:`Plan`). Nothing is drawn here but the layout jitter: the posts come from :mod:`.write`."""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from random import Random
from typing import Any

import orjson

from feed.model import format_ts, parse_ts
from feed.taxonomy import CATEGORIES
from replay.generate.scenarios import TEHRAN_OFFSET_S, EpisodeSpec, ScenarioSpec, scenario_spec
from replay.generate.templates import CATEGORY_WEIGHTS
from replay.generate.vocabulary import Accounts, Vocab

MIN_EPISODE_S = 10 * 60  # an episode squeezed below this by a short run is left out
VOLUME_TYPES = ("filtering", "outage", "surge")  # the episodes the per-minute plan makes

# ---------------------------------------------------------------------------------------------------
# Ground truth: what a run injected, as written to the truth file.


@dataclass(frozen=True, slots=True)
class Episode:
    """One window of ground truth, ``[start, end)`` in epoch seconds."""

    type: str
    key: str
    region: str | None
    start: float
    end: float

    def contains(self, ts: float) -> bool:
        return self.start <= ts < self.end

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.type,
            "key": self.key,
            "region": self.region,
            "start": format_ts(self.start),
            "end": format_ts(self.end),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Episode:
        return cls(
            type=data["type"],
            key=data["key"],
            region=data["region"],
            start=parse_ts(data["start"]),
            end=parse_ts(data["end"]),
        )


@dataclass(frozen=True)
class Truth:
    """What was injected: the episodes detectors must find, and the decoys that must raise nothing."""

    scenario: str
    seed: int
    start: float
    end: float
    rate: float
    episodes: tuple[Episode, ...] = ()
    decoys: tuple[Episode, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "seed": self.seed,
            "start": format_ts(self.start),
            "end": format_ts(self.end),
            "hours": (self.end - self.start) / 3600,
            "rate": self.rate,
            "episodes": [episode.to_dict() for episode in self.episodes],
            "decoys": [{**decoy.to_dict(), "decoy": True} for decoy in self.decoys],
        }

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict(), option=orjson.OPT_INDENT_2) + b"\n"

    @classmethod
    def from_json(cls, data: bytes | str) -> Truth:
        raw = orjson.loads(data)
        return cls(
            scenario=raw["scenario"],
            seed=raw["seed"],
            start=parse_ts(raw["start"]),
            end=parse_ts(raw["end"]),
            rate=raw["rate"],
            episodes=tuple(Episode.from_dict(item) for item in raw["episodes"]),
            decoys=tuple(Episode.from_dict(item) for item in raw.get("decoys", ())),
        )


# ---------------------------------------------------------------------------------------------------
# Layout: where the episodes fall for a given run length.


@dataclass(frozen=True, slots=True)
class _Placed:
    spec: EpisodeSpec
    episode: Episode


def _layout(spec: ScenarioSpec, seed: int, start: float, hours: float) -> tuple[list[_Placed], list[_Placed]]:
    if spec.layout == "fixed":
        return _fixed_layout(spec, seed, start, hours)
    return _chain_layout(spec, seed, start, hours)


def _fixed_layout(
    spec: ScenarioSpec, seed: int, start: float, hours: float
) -> tuple[list[_Placed], list[_Placed]]:
    """Episodes and decoys as designed: each at its nominal time (in proportion for another run length)
    with its nominal length, all shifted by one per-seed jitter of up to 30 minutes, so that what was
    designed to overlap (a relocation wave inside a filtering episode) still does. Starts land on whole
    UTC minutes; an item that would end after the run is left out."""
    end = start + hours * 3600.0
    scale = hours / spec.hours
    rng = Random(f"layout:{spec.name}:{seed}")
    jitter = int(30 * min(1.0, scale))
    shift = rng.randint(-jitter, jitter) * 60.0
    lead = min(3600.0, 0.1 * hours * 3600.0)
    placed: list[list[_Placed]] = [[], []]
    for group, items in enumerate((spec.episodes, spec.decoys)):
        for item in items:
            if item.type == "trend":
                placed[group].append(_Placed(item, Episode("trend", item.key, item.region, start, end)))
                continue
            begin = math.ceil(max(start + item.at * 3600.0 * scale + shift, start + lead) / 60.0) * 60.0
            finish = begin + math.floor(item.minutes) * 60.0
            if finish - begin >= 60.0 and finish <= end:
                placed[group].append(_Placed(item, Episode(item.type, item.key, item.region, begin, finish)))
    placed[0].sort(key=lambda p: (p.episode.start, p.episode.end, p.episode.type))
    return placed[0], placed[1]


def _chain_layout(
    spec: ScenarioSpec, seed: int, start: float, hours: float
) -> tuple[list[_Placed], list[_Placed]]:
    """Episodes scaled to the run: starts in proportion, never overlapping, each with a clean lead-in.

    Each episode lasts its nominal length but at most 60% of the time to the next one (or to the end),
    so a quiet stretch always precedes the next; episodes that would last under 10 minutes are left out.
    Starts get a small per-seed jitter and land on whole UTC minutes.
    """
    span = hours * 3600.0
    end = start + span
    scale = hours / spec.hours
    rng = Random(f"layout:{spec.name}:{seed}")
    lead = min(3600.0, 0.1 * span)
    chain = sorted(spec.episodes, key=lambda item: item.at)
    jitter = int(min(30.0, 0.04 * span / 60.0 / max(1, len(chain))))
    starts = []
    for item in chain:
        moment = start + item.at * 3600.0 * scale + rng.randint(-jitter, jitter) * 60
        starts.append(math.ceil(max(moment, start + lead) / 60.0) * 60.0)
    placed = []
    for index, item in enumerate(chain):
        begin = starts[index]
        limit = (starts[index + 1] if index + 1 < len(chain) else end) - begin
        length = math.floor(min(item.minutes * 60.0, 0.6 * limit) / 60.0) * 60.0
        if length < MIN_EPISODE_S or begin + length > end:
            continue
        placed.append(_Placed(item, Episode(item.type, item.key, item.region, begin, begin + length)))
    decoys = []
    for item in spec.decoys:
        if item.type == "trend":
            decoys.append(_Placed(item, Episode("trend", item.key, item.region, start, end)))
            continue
        begin = math.ceil((start + item.at * 3600.0 * scale) / 60.0) * 60.0
        length = max(item.minutes * 60.0 * min(1.0, scale), 1800.0)
        finish = min(begin + math.floor(length / 60.0) * 60.0, math.floor(end / 60.0) * 60.0)
        if finish - begin >= MIN_EPISODE_S:
            decoys.append(_Placed(item, Episode(item.type, item.key, item.region, begin, finish)))
    return placed, decoys


# ---------------------------------------------------------------------------------------------------
# The diurnal cycle and the per-minute state.


def _diurnal_table() -> list[float]:
    """Activity by minute of the day in Tehran: low 3-6 am, peak in the evening; mean 1."""
    anchors = [
        (0, 0.95),
        (2, 0.55),
        (3, 0.28),
        (4.5, 0.18),
        (6, 0.25),
        (8, 0.6),
        (10, 0.9),
        (12, 1.0),
        (14, 1.05),
        (16, 1.2),
        (18, 1.45),
        (20, 1.7),
        (22, 1.5),
        (24, 0.95),
    ]
    values = []
    for minute in range(1440):
        hour = (minute + 0.5) / 60.0
        for (h0, v0), (h1, v1) in itertools.pairwise(anchors):
            if h0 <= hour <= h1:
                values.append(v0 + (v1 - v0) * (hour - h0) / (h1 - h0))
                break
    mean = sum(values) / len(values)
    return [v / mean for v in values]


_DIURNAL = _diurnal_table()


def diurnal_factor(ts: float) -> float:
    """The activity level (mean 1 over a day) at an epoch time, by the minute of the day in Tehran."""
    return _DIURNAL[int((ts + TEHRAN_OFFSET_S) // 60) % 1440]


@dataclass(slots=True)
class _Minute:
    rate: float = 0.0  # posts per second, all components
    ir_keep: float = 1.0  # outage: fraction of IR posts kept
    filter_mask: int = 0  # filtering: IR posts with these terms are suppressed
    evasions: list[dict[int, int]] = field(default_factory=list)  # per filtered term
    extra_share: float = 0.0  # category surge: share of arrivals that are the forced category
    extra_category: int = 0
    hashtag_share: float = 0.0  # hashtag surge: share of posts given a surge suffix
    hashtag_tables: list[list[int]] | None = None
    fade_mask: int = 0
    fade_drop: float = 0.0  # probability that a post with the fading term is rewritten without it
    fade_pools: list[list[int]] | None = None


def _term_of(key: str) -> str:
    if not key.startswith("term:"):
        raise ValueError(f"expected a term key, got {key!r}")
    return key[5:]


class Plan:
    """Per-minute rates and effects of one run."""

    def __init__(
        self,
        spec: ScenarioSpec,
        seed: int,
        start: float,
        hours: float,
        rate: float,
        placed: list[_Placed],
        decoys: list[_Placed],
    ) -> None:
        terms = [_term_of(p.spec.key) for p in [*placed, *decoys] if p.spec.key.startswith("term:")]
        self.vocab = Vocab(spec, seed, terms)
        self.start, self.end = start, start + hours * 3600.0
        self.placed, self.decoys = placed, decoys
        self.spec = spec
        self.accounts = Accounts(self.vocab.authors, spec, seed, start) if spec.accounts else None
        self.gaps = [item.episode for item in decoys if item.spec.type == "gap"]
        self.evasion_rng = Random(f"evasion:{spec.name}:{seed}")
        ir, other = spec.ir_share, 1 - spec.ir_share
        weights = [CATEGORY_WEIGHTS["IR"], CATEGORY_WEIGHTS["other"]]
        self.category_share = [
            ir * weights[0][c] / sum(weights[0]) + other * weights[1][c] / sum(weights[1])
            for c in range(len(CATEGORIES))
        ]
        # Buckets: whole UTC minutes (the first and last may be partial).
        self.buckets: list[tuple[float, float]] = []
        moment = start
        while moment < self.end:
            stop = min(math.floor(moment / 60.0) * 60.0 + 60.0, self.end)
            self.buckets.append((moment, stop))
            moment = stop
        base = [self._base(lo, hi) for lo, hi in self.buckets]
        weighted = sum(b * (hi - lo) for b, (lo, hi) in zip(base, self.buckets, strict=True))
        self.norm = rate * (self.end - start) / weighted if weighted > 0 else 0.0
        self.base = base

    def _base(self, lo: float, hi: float) -> float:
        middle = (lo + hi) / 2
        level = diurnal_factor(middle)
        for item in self.decoys:
            if item.spec.type == "trend":
                ep = item.episode
                progress = min(1.0, max(0.0, (middle - ep.start) / (ep.end - ep.start)))
                level *= 1 + (item.spec.magnitude - 1) * progress
        return level

    def minute(self, index: int) -> _Minute:
        lo, hi = self.buckets[index]
        middle = (lo + hi) / 2
        state = _Minute(rate=self.base[index] * self.norm)
        vocab = self.vocab
        for item in self.placed:
            ep, sp = item.episode, item.spec
            if not ep.contains(middle) or sp.type not in VOLUME_TYPES:
                continue  # deletion, coordination and relocation act on accounts (write._Tactics)
            if sp.type == "outage":
                state.ir_keep = sp.magnitude
            elif sp.type == "filtering":
                bit = vocab.bit[_term_of(sp.key)]
                state.filter_mask |= bit
                state.evasions.append(vocab.evasions(bit, self.evasion_rng))
            elif sp.key == "*":
                state.rate *= sp.magnitude
            elif sp.key.startswith("category:"):
                category = CATEGORIES.index(sp.key.split(":", 1)[1])
                extra = (sp.magnitude - 1) * self.category_share[category]
                state.extra_share = extra / (1 + extra)
                state.extra_category = category
                state.rate *= 1 + extra
            else:
                state.hashtag_share = sp.magnitude
                state.hashtag_tables = vocab.surge_suffix_tables(_term_of(sp.key))
        for item in self.decoys:
            ep, sp = item.episode, item.spec
            if sp.type == "gap" and ep.contains(middle):
                state.rate = 0.0  # every region dark at once
                continue
            if sp.type != "fade" or middle < ep.start:
                continue
            progress = min(1.0, (middle - ep.start) / (ep.end - ep.start))
            bit = vocab.bit[_term_of(sp.key)]
            state.fade_mask |= bit
            state.fade_drop = (1 - sp.magnitude) * progress
            state.fade_pools = vocab.pools_without(bit)
        return state


# ---------------------------------------------------------------------------------------------------
# One run: its arguments checked, its layout, its truth and its plan.


def _resolve(
    name: str, seed: int, hours: float | None, rate: float | None, start: float | None
) -> tuple[ScenarioSpec, float, float, float]:
    spec = scenario_spec(name)
    hours = spec.hours if hours is None else float(hours)
    rate = spec.rate if rate is None else float(rate)
    start = spec.start if start is None else float(start)
    if not hours > 0 or not math.isfinite(hours):
        raise ValueError(f"hours must be positive, not {hours!r}")
    if not rate > 0 or not math.isfinite(rate):
        raise ValueError(f"rate must be positive, not {rate!r}")
    if not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, not {seed!r}")
    return spec, hours, rate, start


def plan_truth(
    name: str, *, seed: int, hours: float | None = None, rate: float | None = None, start: float | None = None
) -> Truth:
    """The ground truth of a run without generating it."""
    spec, hours, rate, start = _resolve(name, seed, hours, rate, start)
    placed, decoys = _layout(spec, seed, start, hours)
    return _truth(spec, seed, start, hours, rate, placed, decoys)


def _truth(
    spec: ScenarioSpec,
    seed: int,
    start: float,
    hours: float,
    rate: float,
    placed: list[_Placed],
    decoys: list[_Placed],
) -> Truth:
    return Truth(
        scenario=spec.name,
        seed=seed,
        start=start,
        end=start + hours * 3600.0,
        rate=rate,
        episodes=tuple(p.episode for p in placed),
        decoys=tuple(p.episode for p in decoys),
    )


def prepare(
    name: str,
    seed: int,
    hours: float | None,
    rate: float | None,
    start: float | None,
    authors: int | None = None,
) -> tuple[Plan, Truth]:
    spec, hours, rate, start = _resolve(name, seed, hours, rate, start)
    if authors is not None:  # a larger (or smaller) population, half of it in Iran; the episodes are the same
        if authors < 2:
            raise ValueError(f"authors must be at least 2, not {authors!r}")
        spec = replace(spec, ir_authors=authors // 2, other_authors=authors - authors // 2)
    placed, decoys = _layout(spec, seed, start, hours)
    plan = Plan(spec, seed, start, hours, rate, placed, decoys)
    return plan, _truth(spec, seed, start, hours, rate, placed, decoys)
