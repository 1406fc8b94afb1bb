"""The pure half of ``make bench``: percentiles, the result record and its table. No Kafka, no clocks."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

# The measured numbers, in the order the table shows them, with what each one is.
MEASURES: dict[str, str] = {
    "replay_max_posts_per_s": "python -m replay send FEED --speed max --quiet (whole command)",
    "replay_kept_ids_posts_per_s": "the same with --keep-authors --keep-ids: no pseudonyms (issue 17)",
    "kafka_python_producer_posts_per_s": "bare kafka-python producer loop, same settings, pre-encoded",
    "pipeline_posts_per_s": "one worker, classify + detect, pre-filled topic, until caught up",
    "faust_passthrough_posts_per_s": "bare Faust agent: orjson decode, forward to another topic",
    "aiokafka_consumer_posts_per_s": "bare aiokafka getmany loop with orjson decode",
    "analyze_posts_per_s": "pipeline.analyze.analyze() in-process (classify + detect, no Kafka)",
    "classify_posts_per_s": "Engine().classify(post) on one core (lexicon + learned model, the default)",
    "classify_lexicon_only_posts_per_s": "the same with Classifier(model=None): the lexicon alone",
    "classify_batch_posts_per_s": "the classify stage's pure batch step over raw-author posts, no pseudonyms",
    "classify_batch_pseudonymized_posts_per_s": "the same, pseudonymizing the raw authors and mentions",
    "e2e_latency_p50_ms": "produce → posts.classified arrival, median",
    "e2e_latency_p99_ms": "produce → posts.classified arrival, 99th percentile",
    "pipeline_at_least_once_sample_posts_per_s": "one worker, classified+committed, first S posts",
    "pipeline_exactly_once_posts_per_s": "the same with EXACTLY_ONCE=1: output and offsets in transactions",
    "e2e_latency_exactly_once_p50_ms": "EXACTLY_ONCE=1, produce → read_committed arrival, median",
    "e2e_latency_exactly_once_p99_ms": "EXACTLY_ONCE=1, produce → read_committed arrival, 99th percentile",
    "scaling": "classify + detect posts/s by worker count (one group, 4 partitions, DETECT_PARTITIONS=4)",
    "scaling_classify_only": "the same runs, classification alone (until the posts were committed)",
    "scaling_detect_cpu_share": "the same runs, the share of the workers' CPU spent detecting",
    "scaling_without_detection": "the same worker counts classifying only (DETECT=0), posts/s",
    "scaling_of_without_detection_share": "workers' CPU a post without detection / with it: "
    "classify + detect against classification alone where it fills every core",
    "scaling_detect_apart_posts_per_s": "one worker classifying only (DETECT=0) beside one detecting only "
    "(CLASSIFY=0), classify + detect posts/s",
    "scaling_detect_apart_of_without_detection_share": "that layout's workers' CPU a post against one "
    "worker classifying without detection (as scaling_of_without_detection_share)",
    "backlog_posts_per_s": "one worker started on a pre-filled 16-partition topic (iran2009), caught up",
    "backlog_peak_rss_mb": "that worker's peak resident memory (VmHWM), MiB",
}
# Ratio name → (numerator, denominator).
RATIOS: dict[str, tuple[str, str]] = {
    "replay_vs_producer": ("replay_max_posts_per_s", "kafka_python_producer_posts_per_s"),
    "pipeline_vs_faust_passthrough": ("pipeline_posts_per_s", "faust_passthrough_posts_per_s"),
    "replay_pseudonymized_vs_kept": ("replay_max_posts_per_s", "replay_kept_ids_posts_per_s"),
    "classify_pseudonymized_vs_plain": (
        "classify_batch_pseudonymized_posts_per_s",
        "classify_batch_posts_per_s",
    ),
    "classify_model_vs_lexicon_only": ("classify_posts_per_s", "classify_lexicon_only_posts_per_s"),
    "exactly_once_vs_at_least_once": (
        "pipeline_exactly_once_posts_per_s",
        "pipeline_at_least_once_sample_posts_per_s",
    ),
    "exactly_once_p99_vs_at_least_once": ("e2e_latency_exactly_once_p99_ms", "e2e_latency_p99_ms"),
}
RESULT_KEYS = frozenset(MEASURES) | frozenset(RATIOS) | {"machine"}
# Measures that are objects: worker count → posts/s (or, for a share, a fraction of 1).
BY_WORKERS = frozenset(
    {
        "scaling",
        "scaling_classify_only",
        "scaling_detect_cpu_share",
        "scaling_without_detection",
        "scaling_of_without_detection_share",
    }
)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is outside 0..100")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def rate(count: float, seconds: float) -> float:
    """Posts per second; 0 when nothing was timed."""
    return count / seconds if seconds > 0 else 0.0


def build_results(measured: Mapping[str, Any], machine: Mapping[str, Any]) -> dict[str, Any]:
    """The bench-results.json record: exactly the measures, ``machine`` and the ratios.

    Fails when a measure is missing or unexpected, so a half-finished run never writes a partial file.
    """
    missing = set(MEASURES) - set(measured)
    extra = set(measured) - set(MEASURES)
    if missing or extra:
        raise ValueError(f"measures missing {sorted(missing)}, unexpected {sorted(extra)}")
    results: dict[str, Any] = {}
    for key in MEASURES:
        value = measured[key]
        if key in BY_WORKERS:
            digits = 3 if key.endswith("_share") else 1
            results[key] = {str(workers): round(float(v), digits) for workers, v in sorted(value.items())}
        else:
            digits = 2 if key.endswith("_ms") else 3 if key.endswith("_share") else 1
            results[key] = round(float(value), digits)
    results["machine"] = dict(machine)
    for name, (numerator, denominator) in RATIOS.items():
        below = float(measured[denominator])
        results[name] = round(float(measured[numerator]) / below, 3) if below > 0 else 0.0
    check_results(results)
    return results


def check_results(results: Mapping[str, Any]) -> None:
    """Raises ValueError unless ``results`` has exactly the required keys with the required types."""
    keys = set(results)
    if keys != RESULT_KEYS:
        raise ValueError(
            f"keys missing {sorted(RESULT_KEYS - keys)}, unexpected {sorted(keys - RESULT_KEYS)}"
        )
    for key in RESULT_KEYS - {"machine"} - BY_WORKERS:
        if not _is_number(results[key]):
            raise ValueError(f"{key} is not a number: {results[key]!r}")
    for key in BY_WORKERS:
        by_workers = results[key]
        if not isinstance(by_workers, Mapping) or not by_workers:
            raise ValueError(f"{key} is not a non-empty object: {by_workers!r}")
        for workers, value in by_workers.items():
            if not isinstance(workers, str) or not workers.isdigit() or not _is_number(value):
                raise ValueError(f"{key}[{workers!r}] = {value!r} is not workers → a number")
    if not isinstance(results["machine"], Mapping):
        raise ValueError("machine is not an object")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def format_number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_table(results: Mapping[str, Any], notes: Mapping[str, str] | None = None) -> str:
    """A fixed-width table: one row per measure and ratio, then the machine facts.

    ``notes`` adds a remark after a row's description (e.g. the detect stage's rate).
    """
    notes = notes or {}
    rows: list[tuple[str, str, str]] = []
    for key, what in MEASURES.items():
        value = results[key]
        if key in BY_WORKERS:
            shown = "  ".join(
                f"{workers}w={v:.1%}" if key.endswith("_share") else f"{workers}w={format_number(v)}"
                for workers, v in value.items()
            )
        else:
            shown = format_number(value)
        rows.append((key, shown, what))
    for name, (numerator, denominator) in RATIOS.items():
        rows.append((name, f"{results[name]:.2f}", f"{numerator} / {denominator}"))
    name_width = max(len(row[0]) for row in rows)
    value_width = max(len(row[1]) for row in rows)
    lines = [
        f"{'measure':<{name_width}}  {'value':>{value_width}}  what",
        "-" * (name_width + value_width + 60),
    ]
    for key, shown, what in rows:
        note = notes.get(key)
        lines.append(f"{key:<{name_width}}  {shown:>{value_width}}  {what}" + (f"; {note}" if note else ""))
    machine = results["machine"]
    lines.append("")
    lines.append("machine: " + ", ".join(f"{key}={value}" for key, value in machine.items()))
    return "\n".join(lines)
