"""``python -m pipeline analyze``: the engine over a feed file without Kafka, the streaming oracle."""

from __future__ import annotations

import sys
import time
from collections import Counter
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from feed import FeedStats, read_feed
from feed.model import item_from_record
from feed.pseudonyms import Pseudonymizer, load_key
from feed.taxonomy import ALERT_TYPES
from pipeline.classify import CATEGORIES, PRIORITIES
from pipeline.detect import Alert, Detector
from pipeline.engine import Engine, EngineError
from pipeline.records import ClassifiedPost
from pipeline.settings import Settings


@dataclass
class AnalyzeReport:
    posts: int = 0
    elapsed: float = 0.0
    stats: FeedStats = field(default_factory=FeedStats)
    categories: Counter[str] = field(default_factory=Counter)
    priorities: Counter[str] = field(default_factory=Counter)
    langs: Counter[str] = field(default_factory=Counter)
    alerts: Counter[str] = field(default_factory=Counter)
    late_posts: int = 0
    engine_errors: int = 0  # posts the engine raised on (among the bad lines skipped)
    deletions: int = 0  # deletion notices read
    unknown_deletions: int = 0  # ... whose post was never seen (or forgotten)

    def table(self) -> str:
        rate = self.posts / self.elapsed if self.elapsed > 0 else 0.0
        lines = [
            f"analyzed {self.posts} posts in {self.elapsed:.2f}s ({rate:,.0f} posts/s); "
            f"{self.stats.skipped} bad lines skipped ({self.engine_errors} the engine raised on); "
            f"{self.deletions} deletion notices ({self.unknown_deletions} of posts never seen)",
            "",
            f"{'category':<16}{'posts':>9}{'share':>8}",
        ]
        for name in CATEGORIES:
            count = self.categories[name]
            lines.append(f"{name:<16}{count:>9}{count / max(self.posts, 1):>8.1%}")
        lines.append("")
        lines.append("priority  " + "  ".join(f"{p}={self.priorities[p]}" for p in PRIORITIES))
        lines.append("lang      " + "  ".join(f"{lang}={n}" for lang, n in self.langs.most_common(6)))
        lines.append(
            "alerts    "
            + "  ".join(f"{kind}={self.alerts[kind]}" for kind in ALERT_TYPES)
            + f"  (late posts {self.late_posts})"
        )
        return "\n".join(lines)


def analyze(
    feed: Path,
    *,
    engine: Engine,
    classified_out: IO[bytes] | None = None,
    alerts_out: IO[bytes] | None = None,
    strict: bool = False,
    pseudonymizer: Pseudonymizer | None = None,
) -> AnalyzeReport:
    """Classify every post of ``feed`` in file order and run detection over them, as one source.

    Bad lines, and posts the engine raises on, are skipped and counted as ``file:line`` unless strict.
    Windows close only as the event-time watermark passes them, exactly as in the stream: nothing is
    flushed at the end of the file. ``pseudonymizer``: ids, authors and mentions as the stack sees them.
    """
    report = AnalyzeReport()
    started = time.perf_counter()

    def process(record: Any, _line: bytes) -> tuple[ClassifiedPost | None, list[Alert]]:
        if pseudonymizer is not None and isinstance(record, dict):
            pseudonymizer.record(record)  # as the replayer sends it
        item = item_from_record(record)
        try:
            return engine.process_item(item)
        except Exception as exc:  # reported as file:line like a bad line; the run goes on
            report.engine_errors += 1
            raise EngineError(exc) from exc

    for result, alerts in read_feed(feed, skip_bad=not strict, stats=report.stats, build=process):
        if result is None:
            report.deletions += 1
        else:
            label = result.classification
            report.posts += 1
            report.categories.update(label.categories)
            report.priorities[label.priority] += 1
            report.langs[label.lang] += 1
            if classified_out is not None:
                classified_out.write(result.to_json())
                classified_out.write(b"\n")
        for alert in alerts:
            report.alerts[alert.type] += 1
            if alerts_out is not None:
                alerts_out.write(orjson.dumps(alert.to_record()))
                alerts_out.write(b"\n")
    report.late_posts = engine.detector.late_posts
    report.unknown_deletions = engine.detector.unknown_deletions
    report.elapsed = time.perf_counter() - started
    return report


def run_analyze(
    feed: Path, *, classified: Path | None, alerts: Path | None, strict: bool, pseudonymize: bool = False
) -> int:
    from feed import FeedError

    if not feed.is_file():
        print(f"pipeline: feed not found: {feed}", file=sys.stderr)
        return 2
    try:  # the same detection settings as the worker's (ACCOUNT_RETENTION_SECONDS, ...): the same alerts
        engine = Engine(detector=Detector(Settings.from_env().detector_config()))
    except ValueError as exc:  # a bad setting in the environment, named
        print(f"pipeline: {exc}", file=sys.stderr)
        return 2
    try:
        pseudonymizer = Pseudonymizer(load_key()) if pseudonymize else None
    except ValueError as exc:  # the key file cannot be read or created
        print(f"pipeline: {exc}", file=sys.stderr)
        return 2
    try:
        with (
            classified.open("wb") if classified else nullcontext() as classified_out,
            alerts.open("wb") if alerts else nullcontext() as alerts_out,
        ):
            report = analyze(
                feed,
                engine=engine,
                classified_out=classified_out,
                alerts_out=alerts_out,
                strict=strict,
                pseudonymizer=pseudonymizer,
            )
    except FeedError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return 1
    for error in report.stats.errors:
        print(f"pipeline: skipped {error}", file=sys.stderr)
    print(report.table())
    return 0
