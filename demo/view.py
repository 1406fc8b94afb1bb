"""The live view: a :class:`~demo.snapshot.Snapshot` → a ``rich`` renderable (a terminal) or one plain
line (anything else). Pure: no I/O, no clock; tests render it into a string console.

Laid out to fit 80x24: a header (what runs, the keys), the flow (replay → Kafka → worker, lag), event
times and speed, categories as bars beside the open episodes and Prometheus/Alertmanager, and the last
alerts in words.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from demo.snapshot import ReplayState, Snapshot, WorkerState
from demo.wording import clock, day_clock, describe, open_episodes, what

Record = dict[str, Any]

KEYS_HELP = "+ faster  - slower  space pause/resume  q quit"
LAST_ALERTS = 5
OPEN_EPISODES = 3
CATEGORY_WIDTH = 15  # "disinformation" and a space
BAR_WIDTH = 14
COUNT_WIDTH = 7  # "254,662"
BAR = "█"
PARTIAL = " ▏▎▍▌▋▊▉"


def event_time(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def factor(speed: float | None) -> str:
    """A replay speed: ``1,440x``, ``62,100x``, ``0.5x``; None is max speed."""
    if speed is None:
        return "max speed"
    return f"{speed:,.0f}x" if speed >= 100 else f"{speed:.3g}x"


def speed_text(replay: ReplayState | None) -> str:
    if replay is None:
        return "—"
    if replay.finished:
        return "finished"
    speed = factor(replay.speed)
    return f"paused (at {speed})" if replay.paused else f"at {speed}"


def rate(value: float) -> str:
    return f"{value:,.0f}/s"


def bar(value: int, largest: int, width: int = BAR_WIDTH) -> str:
    """``value`` as a bar of ``width`` cells at most (eighths of a cell), scaled to ``largest``."""
    if largest <= 0 or value <= 0:
        return ""
    eighths = max(1, round(value / largest * width * 8))
    full, rest = divmod(eighths, 8)
    return BAR * full + (PARTIAL[rest] if rest else "")


def duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}:{secs:02d}"


# --- the plain line ----------------------------------------------------------------------------------


def plain_line(snapshot: Snapshot) -> str:
    """One line for a log: ``demo 0:35 replaying | in 2,120/s out 2,101/s lag 132 | ...``."""
    parts = [f"demo {duration(snapshot.elapsed)} {snapshot.phase}"]
    replay, worker = snapshot.replay, snapshot.worker
    if replay is not None:
        done = f"{replay.acknowledged:,}/{replay.planned:,}" if replay.planned else f"{replay.acknowledged:,}"
        parts.append(
            f"replay {done} posts, in {rate(replay.rate)}, event time {event_time(replay.event_time)} "
            f"{speed_text(replay)}"
        )
    if worker is not None:
        lag = "?" if worker.lag is None else f"{worker.lag:,}"
        parts.append(f"worker {worker.consumed:,} posts, out {rate(worker.published_rate)}, lag {lag}")
        top = sorted(worker.categories.items(), key=lambda item: -item[1])[:3]
        if any(count for _, count in top):
            parts.append(" ".join(f"{name}={count:,}" for name, count in top if count))
    onsets = sum(1 for alert in snapshot.alerts if alert.get("state") is None)
    opened = open_episodes(list(snapshot.alerts))
    parts.append(f"{onsets} alerts, {len(opened)} open")
    if snapshot.firing:
        parts.append("Prometheus firing " + ", ".join(snapshot.firing))
    if snapshot.notifications:
        parts.append(f"Alertmanager sent {snapshot.notifications} notifications")
    return " | ".join(parts)


# --- the rich view -----------------------------------------------------------------------------------


def render(snapshot: Snapshot) -> RenderableType:
    """The whole screen for ``snapshot``."""
    return Group(_status(snapshot), _middle(snapshot), _alerts(snapshot), _footer(snapshot))


def _status(snapshot: Snapshot) -> Panel:
    replay, worker = snapshot.replay, snapshot.worker
    grid = Table.grid(padding=(0, 1))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    flow = Text()
    if replay is not None:
        flow.append(f"in {rate(replay.rate)}", style="green")
        flow.append(" replay → Kafka")
    else:
        flow.append("replay not started", style="dim")
    flow.append("   ")
    if worker is not None:
        flow.append(f"out {rate(worker.published_rate)}", style="green")
        flow.append(" classified")
        lag_style = "yellow" if (worker.lag or 0) > 1000 else ""
        flow.append("   lag ")
        flow.append("?" if worker.lag is None else f"{worker.lag:,}", style=lag_style)
        if worker.invalid:
            flow.append(f"   dead letters {worker.invalid:,}", style="red")
    else:
        flow.append("worker not up yet", style="dim")
    grid.add_row("flow", flow)

    clock = Text(event_time(replay.event_time if replay else None))
    clock.append("  ")
    clock.append(speed_text(replay), style="yellow" if replay is not None and replay.paused else "cyan")
    if replay is not None and replay.planned:
        share = replay.acknowledged / replay.planned
        clock.append(f"   {share:.0%} of {replay.planned:,} posts")
    grid.add_row("event time", clock)
    if worker is not None:
        seen = Text(f"{worker.consumed:,} posts, event time {event_time(worker.event_time)[11:16]}")
        if worker.watermark is not None:
            seen.append(f", windows closed to {event_time(worker.watermark)[11:16]}", style="dim")
        grid.add_row("worker", seen)
    title = Text(f" {snapshot.title} ", style="bold")
    subtitle = f"{snapshot.phase} {duration(snapshot.elapsed)}"
    return Panel(grid, title=title, title_align="left", subtitle=subtitle, subtitle_align="right")


def _categories(worker: WorkerState | None) -> RenderableType:
    table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
    table.add_column(no_wrap=True, width=CATEGORY_WIDTH)
    table.add_column(no_wrap=True, style="magenta", width=BAR_WIDTH)
    table.add_column(justify="right", no_wrap=True, width=COUNT_WIDTH)
    counts = worker.categories if worker is not None else {}
    largest = max(counts.values(), default=0)
    for name, count in counts.items():
        table.add_row(name, bar(count, largest), f"{count:,}")
    if not counts:
        table.add_row(Text("no posts yet", style="dim"), "", "")
    return table


def _line(*parts: tuple[str, str]) -> Text:
    """One line that never wraps (too long: cut with an ellipsis)."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for words, style in parts:
        text.append(words, style=style)
    return text


def _side(snapshot: Snapshot) -> RenderableType:
    lines = [_line(("open episodes", "bold"))]
    opened = open_episodes(list(snapshot.alerts))
    if not opened:
        lines.append(_line(("none", "dim")))
    shown = opened[-OPEN_EPISODES:]
    for record in shown:
        style = "red" if record.get("type") == "filtering" else "yellow"
        lines.append(_line((what(record), style), (f" since {clock(record.get('start'))}", "dim")))
    if len(opened) > len(shown):
        lines.append(_line((f"and {len(opened) - len(shown)} more", "dim")))
    if snapshot.prometheus_url is None:
        lines.append(_line(("Prometheus ", "bold"), ("not running", "dim")))
    elif snapshot.firing:
        lines.append(_line(("Prometheus ", "bold"), (f"{len(snapshot.firing)} firing", "red")))
        lines.append(_line(("  " + ", ".join(snapshot.firing), "")))
    else:
        pending = f", {snapshot.pending} pending" if snapshot.pending else ""
        lines.append(_line(("Prometheus ", "bold"), (f"nothing firing{pending}", "")))
    if snapshot.alertmanager_url is None:
        lines.append(_line(("Alertmanager ", "bold"), ("not running", "dim")))
        return Group(*lines)
    count, sent = snapshot.alertmanager, snapshot.notifications
    held = "?" if count is None else f"{count} alert{'s' if count != 1 else ''}"
    lines.append(_line(("Alertmanager ", "bold"), (f"{held}, {sent} sent", "")))
    if snapshot.delivered:
        lines.append(_line(("  " + snapshot.delivered[-1], "dim")))
    return Group(*lines)


def _middle(snapshot: Snapshot) -> Table:
    grid = Table.grid(expand=True, padding=(0, 1))
    grid.add_column(width=CATEGORY_WIDTH + BAR_WIDTH + COUNT_WIDTH + 6)
    grid.add_column(ratio=1)
    grid.add_row(
        Panel(_categories(snapshot.worker), title="categories", title_align="left", box=box.ROUNDED),
        Panel(_side(snapshot), title="episodes and alerting", title_align="left", box=box.ROUNDED),
    )
    return grid


class _AlertLines:
    """The last alerts, one line each: with the day in front where the width allows, else the time."""

    def __init__(self, records: list[Record]) -> None:
        self.records = records

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if not self.records:
            yield Text("no alert yet", style="dim")
        for record in self.records:
            words = describe(record)
            when = day_clock(record.get("detected_at"))
            if len(when) + 2 + len(words) > options.max_width:
                when = when[-5:]
            ended = record.get("state") == "ended"
            yield _line((when + "  ", "dim"), (words, "green" if ended else "bold red"))


def _alerts(snapshot: Snapshot) -> Panel:
    onsets = sum(1 for alert in snapshot.alerts if alert.get("state") is None)
    title = f"last alerts ({onsets} raised)" if snapshot.alerts else "last alerts"
    return Panel(_AlertLines(list(snapshot.alerts)[-LAST_ALERTS:]), title=title, title_align="left")


def _footer(snapshot: Snapshot) -> Text:
    text = Text()
    if snapshot.interactive:
        text.append("keys: ", style="bold")
        text.append(KEYS_HELP)
    if snapshot.notes:
        text.append(("   " if snapshot.interactive else "") + snapshot.notes[-1], style="cyan")
    return text
