"""An alert record of the alerts topic in words, as an operator would say it. Pure.

    filtering of 'democracy' in IR since 02:40 (observed 0, expected 19)
    outage in IR since 09:49 (observed 3, expected 95)
    surge of all posts since 00:01 (observed 412, expected 98)
    surge of medical posts since 20:10 (observed 61, expected 12)
    filtering of 'democracy' in IR ended (since 15:58)

Times are event times in UTC, hours and minutes (the view puts the day in front of each alert).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feed import FeedError, parse_ts

Record = dict[str, Any]


def number(value: Any) -> str:
    """A count as people read it: 0, 19, 3.4 (expected values are means), 1,204."""
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "?"
    if abs(value - round(value)) < 0.05 or abs(value) >= 10:
        return f"{round(value):,}"
    return f"{value:.1f}"


def clock(value: Any) -> str:
    """HH:MM (UTC) of an RFC 3339 time or epoch seconds; ``?`` when it is neither."""
    seconds = to_seconds(value)
    if seconds is None:
        return "?"
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%H:%M")


def day_clock(value: Any) -> str:
    """``Jun 12 16:06`` (UTC)."""
    seconds = to_seconds(value)
    if seconds is None:
        return "?"
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%b %d %H:%M")


def to_seconds(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return parse_ts(value)
    except (FeedError, ValueError, OverflowError, OSError):
        return None


def subject(key: str) -> str:
    """What an alert is about, from its key: ``term:x`` → 'x', ``category:c`` → c posts, ``*`` → all posts."""
    kind, _, name = key.partition(":")
    if key == "*":
        return "all posts"
    if kind == "term" and name:
        return f"'{name}'"
    if kind == "category" and name:
        return f"{name} posts"
    if kind == "cluster" and name:
        return f"cluster {name}"
    return key


def what(record: Record) -> str:
    """The alert's type, key and region in words, without times or numbers."""
    kind = str(record.get("type", "alert"))
    key = str(record.get("key", "*"))
    region = record.get("region")
    where = f" in {region}" if region else ""
    if kind == "filtering":
        return f"filtering of {subject(key)}{where}"
    if kind == "outage":
        return f"outage{where}" if key == "*" else f"outage of {subject(key)}{where}"
    if kind == "surge":
        return f"surge of {subject(key)}{where}"
    if kind == "deletion":
        return f"mass deletion{where}" if key == "*" else f"deletion of {subject(key)} posts{where}"
    if kind == "coordination":
        return f"coordinated accounts{where}" + (f" ({subject(key)})" if key.startswith("cluster:") else "")
    if kind == "relocation":
        return f"authors relocating to {region}" if region else "authors relocating"
    return f"{kind} of {subject(key)}{where}"


def describe(record: Record) -> str:
    """One alert in words: ``filtering of 'democracy' in IR since 02:40 (observed 0, expected 19)``."""
    since = clock(record.get("start"))
    if record.get("state") == "ended":
        return f"{what(record)} ended (since {since})"
    numbers = f" (observed {number(record.get('observed'))}, expected {number(record.get('expected'))})"
    return f"{what(record)} since {since}{numbers}"


def episode_key(record: Record) -> tuple[str, str, str | None, str]:
    """What ties an ``ended`` record to its onset: type, key, region and start."""
    return (str(record.get("type")), str(record.get("key")), record.get("region"), str(record.get("start")))


def open_episodes(records: list[Record]) -> list[Record]:
    """The onsets among ``records`` (in order) that no later ``ended`` record closed, oldest first."""
    opened: dict[tuple[str, str, str | None, str], Record] = {}
    for record in records:
        key = episode_key(record)
        if record.get("state") == "ended":
            opened.pop(key, None)
        elif record.get("state") is None:
            opened[key] = record
    return list(opened.values())


def notification(payload: Record) -> list[str]:
    """An Alertmanager webhook (version 4) in words, one line per alert in it:
    ``critical ← RegionOutage(IR) firing``."""
    receiver = payload.get("receiver", "?")
    lines = []
    for alert in payload.get("alerts") or []:
        labels = alert.get("labels") or {}
        detail = labels.get("region") or labels.get("term")
        name = labels.get("alertname", "?")
        label = f"{name}({detail})" if detail else name
        lines.append(f"{receiver} ← {label} {alert.get('status') or payload.get('status', '?')}")
    return lines
