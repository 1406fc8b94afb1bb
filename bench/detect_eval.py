"""Score detection against generated scenarios with exact ground truth.

    python bench/detect_eval.py                       # iran2009 1-3 (a week each), quiet 1-2, stress 2 h
    python bench/detect_eval.py iran2009:1:24 quiet:1 # scenario[:seed[:hours]] ...
    python bench/detect_eval.py --set surge_p=1e-7    # override DetectorConfig fields
    python bench/detect_eval.py --seed-feed           # also the built-in seed feed (63 posts)

    python bench/detect_eval.py tactics:1            # the accounts scenario (issue 18), ~390k posts

Posts go through the real classifier (``pipeline.engine.Engine().classify``); the observations are cached
per (scenario, seed, hours) under $DETECT_EVAL_CACHE (default /tmp/detect_eval), so only the first run
pays for classification. An alert matches an episode when type and key (and region for filtering and
outage) agree and ``start <= detected_at <= end + 30 min``; an onset alert matching nothing is a false
alarm (decoys included). ``ended`` records are checked the same way and reported apart. The delay is
``detected_at - episode.start`` of the first matching alert, in event-time minutes. Also printed:
``push()`` throughput (observations/s, one core) and the largest ``snapshot()`` seen (orjson bytes).

A scenario with accounts (``tactics``: author_created, deletion notices) runs whole through the pure
engine instead, item by item (``Engine.process_item``: posts and deletion notices; throughput is then
classification and detection together, ``engine=``), and is scored with the rules of issue 18 too:

* ``deletion`` and ``relocation`` match by type, key and region; ``coordination`` by type and region
  with any ``cluster:`` key (the detector names its clusters); time as above.
* Decoys: a ``coordination`` onset whose span overlaps an ``rt_cascade`` or a ``hashtag_campaign``
  (to 30 min after it) is a false alarm, and so is an ``outage``, ``filtering`` or ``surge`` onset that
  starts or is raised during a platform-wide ``gap`` or within 1 h after it.
* A term or category surge raised inside an injected cluster (a coordination episode, a cascade, a
  hashtag campaign, to 30 min after it) is real, not a false alarm: the cluster's words do surge. So is
  a region's ``deletion *`` during a targeted deletion of a term there: those deletions are the
  region's too. Both are listed as ``EXPLAINED`` (the hashtag campaign's own tag is a truth episode).
* The quality bar is printed: every episode found, no false alarm on the decoys, deletion and
  coordination found within 15 minutes of event time, relocation within 30.
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
from feed.model import Deletion
from feed.taxonomy import ALERT_TYPES
from pipeline.detect import Alert, Detector, DetectorConfig, Observation
from replay.generate import SCENARIOS, Episode, Truth, generate

CACHE = Path(os.environ.get("DETECT_EVAL_CACHE", "/tmp/detect_eval"))
DEFAULT_RUNS = ("iran2009:1", "iran2009:2", "iran2009:3", "quiet:1", "quiet:2", "stress:1:2")
GRACE_S = 30 * 60
TYPES = ALERT_TYPES
REGIONAL = ("filtering", "outage", "deletion", "relocation")  # the region must match too
ACCOUNT_TYPES = ("deletion", "coordination", "relocation")  # issue 18
QUALITY_MINUTES = {"deletion": 15.0, "coordination": 15.0, "relocation": 30.0}  # the bar
CLUSTER_DECOYS = ("rt_cascade", "hashtag_campaign")  # many accounts alike that are no coordination
GAP_DECOY = "gap"
GAP_AFTER_S = 3600.0  # no outage, filtering or surge from a gap's start to this long after it ends
GAP_TYPES = ("outage", "filtering", "surge")
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
    rate_label: str = "push"  # what seconds timed: push() alone, or the whole engine per item
    notices: int = 0  # deletion notices (runs with accounts)
    note: str = ""


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


def has_accounts(name: str) -> bool:
    """Whether a scenario's feed has account fields and deletion notices (it then runs item by item)."""
    spec = SCENARIOS.get(name)
    return spec is not None and bool(spec.accounts or spec.deletion_share)


def detect_items(name: str, seed: int, hours: float | None, config: DetectorConfig, snapshots: int = 0):
    """Run a scenario with accounts through the pure engine, item by item (posts and deletion notices).

    ``Engine.process_item`` takes a post or a deletion notice. An engine without it gets the posts alone
    (``Engine.process``), and the notices are counted but unseen (the note says so)."""
    from pipeline.engine import Engine

    engine = Engine(detector=Detector(config))
    items, truth = generate(name, seed=seed, hours=hours)
    process_item = getattr(engine, "process_item", None)
    note = "" if process_item is not None else "Engine.process_item missing: deletion notices not seen"
    every = int(truth.rate * (truth.end - truth.start) / snapshots) if snapshots else 0
    alerts: list[Alert] = []
    posts = notices = 0
    largest = 0
    seconds = 0.0
    clock = time.perf_counter
    for item in items:
        if isinstance(item, Deletion):
            notices += 1
            if process_item is None:
                continue
        else:
            posts += 1
        started = clock()
        _, found = process_item(item) if process_item is not None else engine.process(item)
        seconds += clock() - started
        if found:
            alerts.extend(found)
        if every and posts % every == 0 and not isinstance(item, Deletion):
            largest = max(largest, len(orjson.dumps(engine.detector.snapshot())))
    run = Run(alerts, seconds, posts, engine.detector.late_posts, largest, "engine", notices, note)
    return run, truth


def matches(alert: Alert, episode: Episode) -> bool:
    if alert.type != episode.type:
        return False
    if alert.type == "coordination":
        # The detector names its clusters: any cluster in the episode's region.
        if not alert.key.startswith("cluster:") or alert.region != episode.region:
            return False
    elif alert.key != episode.key or (alert.type in REGIONAL and alert.region != episode.region):
        return False
    return episode.start <= alert.detected_at <= episode.end + GRACE_S


def violates(alert: Alert, decoy: Episode) -> bool:
    """An onset alert that a decoy of issue 18 forbids (see the module's doc)."""
    if alert.state is not None:
        return False
    if decoy.type in CLUSTER_DECOYS:
        return (
            alert.type == "coordination"
            and alert.start <= decoy.end + GRACE_S
            and alert.detected_at >= decoy.start
        )
    if decoy.type == GAP_DECOY:
        until = decoy.end + GAP_AFTER_S
        return alert.type in GAP_TYPES and (
            decoy.start <= alert.start <= until or decoy.start <= alert.detected_at <= until
        )
    return False


def explained_by(alert: Alert, truth: Truth) -> Episode | None:
    """The episode or decoy that makes an unmatched onset alert true all the same, if any: a term or
    category surge inside an injected cluster (its words do surge), or a region's deletions during a
    targeted deletion of a term there (its deletions count in the region too)."""
    if alert.state is not None:
        return None
    if alert.type == "surge" and alert.key != "*":
        causes = [ep for ep in truth.episodes if ep.type == "coordination"]
        causes += [decoy for decoy in truth.decoys if decoy.type in CLUSTER_DECOYS]
    elif alert.type == "deletion" and alert.key == "*":
        causes = [
            ep
            for ep in truth.episodes
            if ep.type == "deletion" and ep.key.startswith("term:") and ep.region in (None, alert.region)
        ]
    else:
        return None
    for cause in causes:
        if cause.start <= alert.detected_at <= cause.end + GRACE_S:
            return cause
    return None


@dataclasses.dataclass
class Score:
    episodes: dict[str, int] = dataclasses.field(default_factory=dict)
    found: dict[str, int] = dataclasses.field(default_factory=dict)
    delays: dict[str, list[float]] = dataclasses.field(default_factory=dict)
    false_alarms: list[Alert] = dataclasses.field(default_factory=list)
    missed: list[Episode] = dataclasses.field(default_factory=list)
    ends_ok: int = 0
    ends_unmatched: list[Alert] = dataclasses.field(default_factory=list)
    # Issue 18: per decoy of the new kinds, the onset alerts it forbids (also in false_alarms).
    decoy_alarms: list[tuple[Episode, list[Alert]]] = dataclasses.field(default_factory=list)
    explained: list[tuple[Alert, Episode]] = dataclasses.field(default_factory=list)


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
    forbidden: list[Alert] = []
    for decoy in truth.decoys:
        if decoy.type in CLUSTER_DECOYS or decoy.type == GAP_DECOY:
            caught = [alert for alert in alerts if violates(alert, decoy)]
            result.decoy_alarms.append((decoy, caught))
            forbidden.extend(alert for alert in caught if alert not in forbidden)
    explained: set[tuple[str, str, str | None, float]] = set()
    for alert in alerts:
        matched = any(matches(alert, episode) for episode in truth.episodes)
        if alert.state is None and alert in forbidden:
            result.false_alarms.append(alert)
        elif alert.state is None and not matched:
            cluster = explained_by(alert, truth)
            if cluster is not None:
                result.explained.append((alert, cluster))
                explained.add((alert.type, alert.key, alert.region, alert.start))
            else:
                result.false_alarms.append(alert)
        elif alert.state is not None:
            if matched:
                result.ends_ok += 1
            elif (alert.type, alert.key, alert.region, alert.start) not in explained:
                result.ends_unmatched.append(alert)
    return result


def quality(result: Score, truth: Truth) -> list[tuple[str, bool, str]]:
    """The bar of issue 18, for a run whose truth has episodes of its types: (check, met, detail)."""
    if not any(ep.type in ACCOUNT_TYPES for ep in truth.episodes):
        return []
    missed = len(result.missed)
    checks = [("every episode found", not missed, f"{missed} missed" if missed else "")]
    decoy_false = sum(len(caught) for _, caught in result.decoy_alarms)
    checks.append(
        ("no false alarm on the decoys", not decoy_false, f"{decoy_false} alarms" if decoy_false else "")
    )
    for kind, limit in QUALITY_MINUTES.items():
        if not result.episodes[kind]:
            continue
        delays = result.delays[kind]
        lost = result.episodes[kind] - result.found[kind]
        met = not lost and all(delay <= limit for delay in delays)
        detail = f"max {max(delays):.0f} min" if delays else "none found"
        if lost and delays:
            detail += f", {lost} missed"
        checks.append((f"{kind} within {limit:.0f} min", met, detail))
    return checks


def describe(alert: Alert) -> str:
    extra = f" terms={list(alert.terms)}" if alert.terms else ""
    return (
        f"{alert.type} {alert.key} {alert.region} start={format_ts(alert.start)} "
        f"at={format_ts(alert.detected_at)} obs={alert.observed} exp={alert.expected} "
        f"score={alert.score}{extra}"
    )


def report(label: str, run: Run, result: Score, truth: Truth, verbose: bool) -> list[str]:
    lines = []
    rate = (run.posts + run.notices) / run.seconds if run.seconds else 0.0
    raised = sum(1 for a in run.alerts if a.state is None)
    lines.append(
        f"{label:<18} posts={run.posts:>9,} "
        + (f"notices={run.notices:,} " if run.notices else "")
        + f"{run.rate_label}={rate:>9,.0f}/s late={run.late} "
        f"alerts={raised} ended={len(run.alerts) - raised}"
        + (f" snapshot_max={run.snapshot_bytes / 1e6:.2f}MB" if run.snapshot_bytes else "")
    )
    if run.note:
        lines.append(f"   NOTE   {run.note}")
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
    for decoy, caught in result.decoy_alarms:
        span = f"{format_ts(decoy.start)} .. {format_ts(decoy.end)}"
        lines.append(f"   decoy      {decoy.type:<16} {span}  false {len(caught)}")
    for alert, cluster in result.explained:
        cause = f"{cluster.type} {cluster.key} {format_ts(cluster.start)}"
        lines.append(f"   EXPLAINED {describe(alert)} (by {cause})")
    for check, met, detail in quality(result, truth):
        lines.append(f"   quality    {check}: {'yes' if met else 'NO'}" + (f" ({detail})" if detail else ""))
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
        if has_accounts(name):
            # One ordered source through the engine, posts and deletion notices (--sources is ignored).
            run, truth = detect_items(name, seed, hours, config, args.snapshots)
        else:
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
