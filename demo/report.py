"""The alerts of the run against the scenario's truth file: found, missed, false alarms. Pure.

The matching is bench/detect_eval.py's (:func:`~bench.detect_eval.score`, :func:`~bench.detect_eval.matches`):
an alert matches an episode of the same type and key (and region, where it counts) raised between the
episode's start and 30 minutes after its end; an onset that matches nothing is a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.detect_eval import matches, score
from demo.wording import day_clock, describe, what
from feed import parse_ts
from pipeline.detect import Alert
from replay.generate import Episode, Truth

Record = dict[str, Any]


def alert_from_record(record: Record) -> Alert:
    """An alerts-topic record (``Alert.to_record``) back into an :class:`Alert`."""
    return Alert(
        type=record["type"],
        key=record["key"],
        region=record.get("region"),
        start=parse_ts(record["start"]),
        detected_at=parse_ts(record["detected_at"]),
        observed=float(record.get("observed", 0.0)),
        expected=float(record.get("expected", 0.0)),
        score=float(record.get("score", 0.0)),
        terms=tuple(record.get("terms", ())),
        evidence=record.get("evidence"),
        state=record.get("state"),
    )


@dataclass(frozen=True)
class Outcome:
    episodes: int
    found: int
    missed: int
    false_alarms: int
    lines: tuple[str, ...]

    @property
    def headline(self) -> str:
        return (
            f"found {self.found} of {self.episodes} episodes, missed {self.missed}, "
            f"false alarms {self.false_alarms}"
        )


def _episode(episode: Episode) -> str:
    label = what({"type": episode.type, "key": episode.key, "region": episode.region})
    return f"{label:<34} {day_clock(episode.start)}–{day_clock(episode.end)[-5:]}"


def against_truth(records: list[Record], truth: Truth, source: str) -> Outcome:
    """Score ``records`` (the alerts topic, in order) against ``truth``; ``source`` names the truth."""
    alerts = [alert_from_record(record) for record in records]
    result = score(alerts, truth)
    found = sum(result.found.values())
    episodes = sum(result.episodes.values())
    false = len(result.false_alarms)
    hours = (truth.end - truth.start) / 3600
    lines = [
        f"Alerts against the truth ({truth.scenario}, seed {truth.seed}, {hours:g} h; {source}):",
        f"  found {found} of {episodes} episodes, missed {len(result.missed)}, false alarms {false}",
    ]
    for episode in sorted(truth.episodes, key=lambda ep: ep.start):
        hits = [a for a in alerts if a.state is None and matches(a, episode)]
        if hits:
            first = min(hits, key=lambda a: a.detected_at)
            delay = (first.detected_at - episode.start) / 60
            raised = day_clock(first.detected_at)[-5:]
            lines.append(f"  found   {_episode(episode)}  raised {raised}, {delay:.0f} min in")
        else:
            lines.append(f"  MISSED  {_episode(episode)}")
    for alert in result.false_alarms:
        lines.append(f"  FALSE   {describe(alert.to_record())} (raised {day_clock(alert.detected_at)})")
    for alert, cause in result.explained:
        lines.append(
            f"  (not counted: {describe(alert.to_record())}, explained by the {cause.type} at "
            f"{day_clock(cause.start)})"
        )
    return Outcome(episodes, found, len(result.missed), false, tuple(lines))


def without_truth(records: list[Record], feed: str) -> list[str]:
    """The alerts of a feed that has no truth file: listed, not scored."""
    onsets = [record for record in records if record.get("state") is None]
    raised = f"{len(onsets)} alert{'' if len(onsets) == 1 else 's'} raised"
    lines = [f"{raised} on {feed} (no truth file for it: nothing to score against)"]
    lines += [f"  {day_clock(record.get('detected_at'))}  {describe(record)}" for record in onsets]
    return lines
