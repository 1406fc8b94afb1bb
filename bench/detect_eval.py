"""Score detection against generated scenarios with exact ground truth.

    python bench/detect_eval.py                       # iran2009 1-3 (a week each), quiet 1-2, stress 2 h
    python bench/detect_eval.py iran2009:1:24 quiet:1 # scenario[:seed[:hours]] ...
    python bench/detect_eval.py --set surge_p=1e-7    # override DetectorConfig fields
    python bench/detect_eval.py --seed-feed           # also the built-in seed feed (63 posts)

Posts go through the real classifier (``pipeline.engine.Engine().classify``); the observations are cached
per (scenario, seed, hours) under $DETECT_EVAL_CACHE (default /tmp/detect_eval), so only the first run
pays for classification. An alert matches an episode when type and key (and region for filtering and
outage) agree and ``start <= detected_at <= end + 30 min``; an onset alert matching nothing is a false
alarm (decoys included). ``ended`` records are checked the same way and reported apart. The delay is
``detected_at - episode.start`` of the first matching alert, in event-time minutes. Also printed:
``push()`` throughput (observations/s, one core) and the largest ``snapshot()`` seen (orjson bytes).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import pickle
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from feed import format_ts
from pipeline.detect import Alert, Detector, DetectorConfig, Observation
from replay.generate import Episode, Truth, generate

CACHE = Path(os.environ.get("DETECT_EVAL_CACHE", "/tmp/detect_eval"))
DEFAULT_RUNS = ("iran2009:1", "iran2009:2", "iran2009:3", "quiet:1", "quiet:2", "stress:1:2")
GRACE_S = 30 * 60
TYPES = ("filtering", "outage", "surge")
Row = tuple[float, Any, tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def classifier_fingerprint() -> str:
    """What the cached observations depend on besides the scenario: the classifier's code, lexicon, model
    and watchlist. A change to any of them is a new cache entry, never stale observations."""
    root = Path(__file__).resolve().parents[1] / "pipeline"
    digest = hashlib.sha256()
    for path in sorted([*(root / "classify").glob("*.py"), *(root / "data").glob("*.json")]):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def cache_path(name: str, seed: int, hours: float | None) -> Path:
    scenario = f"{name}-{seed}-{'full' if hours is None else format(hours, 'g')}"
    return CACHE / f"{scenario}-{classifier_fingerprint()}.pkl"


def load(name: str, seed: int, hours: float | None) -> tuple[list[Row], Truth]:
    """The scenario's observations as rows (ts, region, terms, categories, evasions) and its truth."""
    path = cache_path(name, seed, hours)
    if path.exists():
        with path.open("rb") as handle:
            data = pickle.load(handle)
        return data["rows"], Truth.from_json(data["truth"])
    from pipeline.engine import Engine

    engine = Engine()
    posts, truth = generate(name, seed=seed, hours=hours)
    interned: dict[Any, Any] = {}

    def intern(value: Any) -> Any:
        return interned.setdefault(value, value)

    rows: list[Row] = []
    started = time.perf_counter()
    for post in posts:
        label = engine.classify(post).classification
        terms = tuple(intern(term) for term in label.terms)
        rows.append((post.ts, intern(post.region), terms, intern(label.categories), intern(label.evasions)))
    print(f"  classified {len(rows):,} posts in {time.perf_counter() - started:.0f}s", file=sys.stderr)
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".tmp")
    with partial.open("wb") as handle:
        pickle.dump({"truth": truth.to_json(), "rows": rows}, handle, protocol=5)
    partial.rename(path)
    return rows, truth


def observations(rows: list[Row], sources: int = 1) -> list[Observation]:
    return [
        Observation(ts, region, terms, categories, evasions, number % sources)
        for number, (ts, region, terms, categories, evasions) in enumerate(rows)
    ]


@dataclasses.dataclass
class Run:
    alerts: list[Alert]
    seconds: float
    posts: int
    late: int
    snapshot_bytes: int


def detect(obs: list[Observation], config: DetectorConfig, snapshots: int = 0) -> Run:
    """Push every observation; ``snapshots`` > 0 measures that many snapshots along the way."""
    detector = Detector(config)
    push = detector.push
    alerts: list[Alert] = []
    largest = 0
    every = len(obs) // snapshots if snapshots else 0
    seconds = 0.0
    if every:
        for begin in range(0, len(obs), every):
            started = time.perf_counter()
            for item in obs[begin : begin + every]:
                found = push(item)
                if found:
                    alerts.extend(found)
            seconds += time.perf_counter() - started
            largest = max(largest, len(orjson.dumps(detector.snapshot())))
    else:
        started = time.perf_counter()
        for item in obs:
            found = push(item)
            if found:
                alerts.extend(found)
        seconds = time.perf_counter() - started
    return Run(alerts, seconds, len(obs), detector.late_posts, largest)


def matches(alert: Alert, episode: Episode) -> bool:
    if alert.type != episode.type or alert.key != episode.key:
        return False
    if alert.type in ("filtering", "outage") and alert.region != episode.region:
        return False
    return episode.start <= alert.detected_at <= episode.end + GRACE_S


@dataclasses.dataclass
class Score:
    episodes: dict[str, int] = dataclasses.field(default_factory=dict)
    found: dict[str, int] = dataclasses.field(default_factory=dict)
    delays: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    false_alarms: list[Alert] = dataclasses.field(default_factory=list)
    missed: list[Episode] = dataclasses.field(default_factory=list)
    ends_ok: int = 0
    ends_unmatched: list[Alert] = dataclasses.field(default_factory=list)


def score(alerts: list[Alert], truth: Truth) -> Score:
    result = Score()
    for kind in TYPES:
        result.episodes[kind] = sum(1 for ep in truth.episodes if ep.type == kind)
        result.found[kind] = 0
        result.delays[kind] = []
    for episode in truth.episodes:
        hits = [a for a in alerts if a.state is None and matches(a, episode)]
        if hits:
            result.found[episode.type] += 1
            result.delays[episode.type].append((min(a.detected_at for a in hits) - episode.start) / 60)
        else:
            result.missed.append(episode)
    for alert in alerts:
        matched = any(matches(alert, episode) for episode in truth.episodes)
        if alert.state is None and not matched:
            result.false_alarms.append(alert)
        elif alert.state is not None:
            if matched:
                result.ends_ok += 1
            else:
                result.ends_unmatched.append(alert)
    return result


def describe(alert: Alert) -> str:
    extra = f" terms={list(alert.terms)}" if alert.terms else ""
    return (
        f"{alert.type} {alert.key} {alert.region} start={format_ts(alert.start)} "
        f"at={format_ts(alert.detected_at)} obs={alert.observed} exp={alert.expected} "
        f"score={alert.score}{extra}"
    )


def report(label: str, run: Run, result: Score, truth: Truth, verbose: bool) -> list[str]:
    lines = []
    rate = run.posts / run.seconds if run.seconds else 0.0
    raised = sum(1 for a in run.alerts if a.state is None)
    lines.append(
        f"{label:<18} posts={run.posts:>9,} push={rate:>9,.0f}/s late={run.late} "
        f"alerts={raised} ended={len(run.alerts) - raised}"
        + (f" snapshot_max={run.snapshot_bytes / 1e6:.2f}MB" if run.snapshot_bytes else "")
    )
    for kind in TYPES:
        delays = result.delays[kind]
        false = sum(1 for a in result.false_alarms if a.type == kind)
        if not result.episodes[kind] and not false:
            continue
        shown = " ".join(f"{d:.0f}" for d in delays)
        lines.append(
            f"   {kind:<10} found {result.found[kind]}/{result.episodes[kind]}  false {false}  "
            f"delay min [{shown}]" + (f" median {statistics.median(delays):.0f}" if delays else "")
        )
    for episode in result.missed:
        lines.append(f"   MISSED {episode.type} {episode.key} {episode.region} {format_ts(episode.start)}")
    for alert in result.false_alarms:
        lines.append(f"   FALSE  {describe(alert)}")
    for alert in result.ends_unmatched:
        lines.append(f"   END?   {describe(alert)}")
    if verbose:
        for alert in run.alerts:
            lines.append(f"   alert  {describe(alert)}" + (f" [{alert.state}]" if alert.state else ""))
    return lines


def parse_run(text: str) -> tuple[str, int, float | None]:
    parts = text.split(":")
    name = parts[0]
    seed = int(parts[1]) if len(parts) > 1 else 1
    hours = float(parts[2]) if len(parts) > 2 and parts[2] else None
    return name, seed, hours


def parse_overrides(items: list[str]) -> dict[str, Any]:
    fields = {f.name: f for f in dataclasses.fields(DetectorConfig)}
    values: dict[str, Any] = {}
    for item in items:
        name, _, raw = item.partition("=")
        if name not in fields:
            raise SystemExit(f"unknown DetectorConfig field {name!r}")
        default = getattr(DetectorConfig(), name)
        if isinstance(default, bool):
            values[name] = raw.lower() in ("1", "true", "yes")
        elif isinstance(default, int):
            values[name] = int(raw)
        else:
            values[name] = float(raw)
    return values


def seed_feed(config: DetectorConfig) -> list[str]:
    from feed import read_feed
    from pipeline.engine import Engine

    engine = Engine(detector=Detector(config))
    path = Path(__file__).resolve().parent.parent / "replay" / "data" / "seed_feed.jsonl"
    alerts = []
    posts = 0
    for post in read_feed(path):
        _, found = engine.process(post)
        alerts.extend(found)
        posts += 1
    lines = [f"seed feed: {posts} posts, {len(alerts)} alerts, late {engine.detector.late_posts}"]
    lines.extend(f"   alert  {describe(alert)}" for alert in alerts)
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("runs", nargs="*", help="scenario[:seed[:hours]] (default: the standard set)")
    parser.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--seed-feed", action="store_true", help="also run the built-in seed feed")
    parser.add_argument("--sources", type=int, default=1, help="spread posts round-robin over N sources")
    parser.add_argument("--snapshots", type=int, default=0, help="measure N snapshots per run (size)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every alert")
    args = parser.parse_args(argv)
    config = DetectorConfig(**parse_overrides(args.set))
    if args.sources > 1:
        config = dataclasses.replace(config, min_sources=args.sources)
    total_false = 0
    total_missed = 0
    for text in args.runs or DEFAULT_RUNS:
        name, seed, hours = parse_run(text)
        rows, truth = load(name, seed, hours)
        obs = observations(rows, args.sources)
        run = detect(obs, config, args.snapshots)
        result = score(run.alerts, truth)
        label = f"{name}:{seed}" + (f":{hours:g}h" if hours is not None else "")
        print("\n".join(report(label, run, result, truth, args.verbose)), flush=True)
        total_false += len(result.false_alarms)
        total_missed += len(result.missed)
    if args.seed_feed:
        print("\n".join(seed_feed(config)))
    print(f"total: missed {total_missed}, false alarms {total_false}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
