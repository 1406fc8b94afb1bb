"""A one-line reading of a worker's /metrics page, for the demo and for operators at a terminal. Pure."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from prometheus_client.parser import text_string_to_metric_families

from feed import format_ts


@dataclass
class MetricsSummary:
    consumed: int = 0
    invalid: int = 0
    by_platform: Counter[str] = field(default_factory=Counter)
    by_region: Counter[str] = field(default_factory=Counter)
    event_time: float | None = None

    def line(self) -> str:
        def top(counts: Counter[str]) -> str:
            return " ".join(f"{name}={count}" for name, count in counts.most_common(5)) or "-"

        when = format_ts(self.event_time) if self.event_time else "-"
        return (
            f"consumed {self.consumed} posts (invalid {self.invalid}) | platforms {top(self.by_platform)} "
            f"| regions {top(self.by_region)} | event time {when}"
        )


def summarize_metrics(text: str) -> MetricsSummary:
    summary = MetricsSummary()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "pipeline_posts_consumed_total":
                count = int(sample.value)
                summary.consumed += count
                summary.by_platform[sample.labels["platform"]] += count
                summary.by_region[sample.labels["region"]] += count
            elif sample.name == "pipeline_posts_invalid_total":
                summary.invalid += int(sample.value)
            elif sample.name == "pipeline_event_time_seconds" and sample.value > 0:
                summary.event_time = sample.value
    return summary
