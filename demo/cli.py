"""``python -m demo``: start the stack, replay, watch it live, score the alerts, stop everything.

Thin wiring: what is shown is :mod:`demo.view`'s, what is read :mod:`demo.monitor`'s, what runs
:mod:`demo.stack`'s. ``python -m demo --help`` lists the environment variables.
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from demo.config import ConfigError, DemoConfig, help_text
from demo.keys import KeyReader
from demo.monitor import AlertFollower, Monitor, WebhookReceiver, worker_done
from demo.snapshot import Snapshot
from demo.stack import Stack, StartError
from demo.view import factor, plain_line, render
from demo.wording import day_clock, describe
from feed import parse_ts

RUN_MARKER = ".iran2009-demo"  # in DEMO_DIR: a directory the demo may empty
LATENESS_SECONDS = 120.0  # pipeline.detect.DetectorConfig().lateness_seconds: windows close this far behind
TICK = 0.25


def say(message: str) -> None:
    """One line on stderr; never raises (the terminal may be gone: a closed window, a killed tmux)."""
    with contextlib.suppress(OSError, ValueError):
        print(f"demo: {message}", file=sys.stderr, flush=True)


@dataclass(frozen=True)
class FeedPlan:
    path: Path | None  # None: the built-in seed feed
    title: str
    first_ts: float
    last_ts: float
    truth_path: Path | None


def feed_bounds(path: Path, *, sorted_feed: bool) -> tuple[float, float]:
    """The first and last event times of a JSON Lines feed (a sorted one: its first and last lines)."""
    if sorted_feed:
        with path.open("rb") as handle:
            first = handle.readline()
            handle.seek(max(0, path.stat().st_size - 65536))
            last = handle.read().rstrip(b"\n").rsplit(b"\n", 1)[-1]
        return parse_ts(orjson.loads(first)["ts"]), parse_ts(orjson.loads(last)["ts"])
    times = [parse_ts(orjson.loads(line)["ts"]) for line in path.read_bytes().splitlines() if line.strip()]
    if not times:
        raise ConfigError(f"{path} has no posts")
    return min(times), max(times)


def prepare_run_dir(directory: Path) -> Path:
    if directory.exists():
        if (directory / RUN_MARKER).exists():
            shutil.rmtree(directory)
        elif any(directory.iterdir()):
            raise ConfigError(f"DEMO_DIR={directory} is not empty and not a demo's directory: pick another")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / RUN_MARKER).write_text("made by python -m demo; emptied by the next run\n")
    return directory


def prepare_feed(config: DemoConfig, run_dir: Path) -> FeedPlan:
    span = f"in ~{config.seconds:g} s"
    if config.feed == "iran2009":
        from replay.generate import write_scenario

        feed, truth = run_dir / "feed.jsonl", run_dir / "truth.json"
        count, _ = write_scenario(
            "iran2009", seed=config.seed, hours=config.hours, rate=None, feed_path=feed, truth_path=truth
        )
        first, last = feed_bounds(feed, sorted_feed=True)
        title = f"iran2009 scenario, seed {config.seed}: {config.hours:g} h, {count:,} posts {span}"
        return FeedPlan(feed, title, first, last, truth)
    if config.feed == "seed":
        from replay.seed import SEED_FEED_PATH

        first, last = feed_bounds(SEED_FEED_PATH, sorted_feed=False)
        count = sum(1 for line in SEED_FEED_PATH.read_bytes().splitlines() if line.strip())
        return FeedPlan(None, f"the built-in seed feed: {count} posts {span}", first, last, None)
    path = Path(config.feed)
    first, last = feed_bounds(path, sorted_feed=False)
    return FeedPlan(path.resolve(), f"{path.name} {span}", first, last, config.truth)


class Keys:
    """What the keys do: ``+``/``-`` speed, space pause, ``q`` quit; the replay is steered over HTTP."""

    def __init__(self) -> None:
        self.client: Any = None
        self.notes: collections.deque[str] = collections.deque(maxlen=3)
        self.quit = threading.Event()

    def __call__(self, key: str) -> None:
        if key in ("q", "Q"):
            self.quit.set()
            return
        command = {"+": "faster", "=": "faster", "-": "slower", "_": "slower", " ": "toggle_pause"}.get(key)
        if command is None:
            return
        if self.client is None:
            self.notes.append("the replay is not running")
            return
        from replay.ctl import ControlError

        try:
            status = getattr(self.client, command)()
        except ControlError as exc:
            self.notes.append(str(exc))
            return
        self.notes.append(key_note(command, status))


def key_note(command: str, status: dict[str, Any]) -> str:
    """What a key did, from the replay's status after it: ``speed 3,600x``, ``paused``, ``resumed``."""
    speed = status.get("speed")
    speed_text = factor(None if speed in ("max", None) else float(speed))
    if command == "toggle_pause":
        return "paused: space resumes" if status.get("paused") else f"resumed at {speed_text}"
    return f"speed {speed_text}" + (" (paused)" if status.get("paused") else "")


class Screen:
    """A ``rich`` Live view on a terminal; plain lines every ``every`` seconds elsewhere."""

    def __init__(self, live: bool, every: float) -> None:
        self.every = every
        self.live = None
        self.console = None
        self._printed_at = 0.0
        self._alerts_printed = 0
        if live:
            from rich.console import Console
            from rich.live import Live

            self.console = Console()
            self.live = Live(console=self.console, refresh_per_second=4, transient=False)

    def __enter__(self) -> Screen:
        if self.live is not None:
            self.live.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def show(self, snapshot: Snapshot, *, force: bool = False) -> None:
        if self.live is not None:
            self.live.update(render(snapshot), refresh=force)
            return
        for record in snapshot.alerts[self._alerts_printed :]:
            print(f"demo: alert {day_clock(record.get('detected_at'))}  {describe(record)}", flush=True)
        self._alerts_printed = len(snapshot.alerts)
        now = time.monotonic()
        if force or now - self._printed_at >= self.every:
            print(plain_line(snapshot), flush=True)
            self._printed_at = now


def _raise_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _still_stopping(_signum: int, _frame: object) -> None:
    say("stopping everything the demo started; a moment")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["-h"], ["--help"]):
        print(help_text())
        return 0
    if argv:
        print(
            f"demo: takes no arguments (settings are environment variables)\n\n{help_text()}", file=sys.stderr
        )
        return 2
    try:
        config = DemoConfig.from_env()
        run_dir = prepare_run_dir(config.directory)
        feed = prepare_feed(config, run_dir)
    except ConfigError as exc:
        say(str(exc))
        return 2
    terminal = sys.stdout.isatty()
    interactive = terminal and sys.stdin.isatty()
    keep = config.keep if config.keep is not None else interactive
    speed = max((feed.last_ts - feed.first_ts) / config.seconds, 1e-3)
    # Ctrl-C always interrupts, also when the demo was started from a background job (SIGINT ignored).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    stack = Stack(config, run_dir, say)
    keys = Keys()
    reader = KeyReader(keys) if interactive else None
    follower: AlertFollower | None = None
    webhook: WebhookReceiver | None = None
    monitor: Monitor | None = None
    screen: Screen | None = None
    code = 0
    finished = False
    try:
        bootstrap = stack.start_kafka()
        worker_port = stack.port("the worker", config.worker_port)
        replay_port = stack.port("the replay", config.replay_port)
        say("starting Alertmanager and Prometheus ...")
        webhook = WebhookReceiver()
        stack.start_alertmanager(webhook.url)
        stack.start_prometheus(worker_port, replay_port)
        say(f"starting a worker on {stack.topics.posts} (log in {run_dir / 'worker.log'}) ...")
        stack.start_worker(worker_port)
        follower = AlertFollower(bootstrap, stack.topics.alerts).start()
        monitor = Monitor(
            worker_url=stack.worker_url or "",
            posts_topic=stack.topics.posts,
            prometheus_url=stack.prometheus_url,
            alertmanager_url=stack.alertmanager_url,
        ).start()
        say(f"replaying {feed.title}: {factor(speed)}")
        replay = stack.start_replay(feed.path, speed, replay_port)
        monitor.watch_replay(stack.replay_url or "")
        from replay.ctl import ReplayClient

        keys.client = ReplayClient(stack.replay_url, timeout=2.0)
        if reader is not None:
            reader.__enter__()
        screen = Screen(live=terminal, every=config.every).__enter__()
        started = time.monotonic()
        phase = "replaying"
        drain_started = 0.0
        drain_seconds = config.drain_seconds
        final_watermark = feed.last_ts - LATENESS_SECONDS

        def snapshot(phase: str) -> Snapshot:
            state = monitor.latest()
            notifications, delivered = webhook.latest() if webhook is not None else (0, ())
            return Snapshot(
                title=feed.title,
                phase=phase,
                elapsed=time.monotonic() - started,
                replay=state["replay"],
                worker=state["worker"],
                alerts=tuple(follower.records),
                firing=state["firing"],
                pending=state["pending"],
                alertmanager=state["alertmanager"],
                notifications=notifications,
                delivered=delivered,
                prometheus_url=stack.prometheus_url,
                alertmanager_url=stack.alertmanager_url,
                notes=tuple(keys.notes) + ((follower.error,) if follower.error else ()),
                interactive=reader is not None and reader.active,
            )

        while True:
            if keys.quit.is_set():
                raise KeyboardInterrupt
            if phase == "replaying" and replay.process.poll() is not None:
                monitor.replay_finished(complete=replay.process.returncode == 0, last_ts=feed.last_ts)
                keys.client = None
                if replay.process.returncode != 0:  # no end of feed coming: a few seconds for the rest
                    failed = f"the replay exited with {replay.process.returncode}: see {replay.log}"
                    keys.notes.append(failed)
                    say(failed)
                    code, drain_seconds = 1, 5.0
                phase, drain_started = "draining", time.monotonic()
            if phase == "draining":
                worker = monitor.latest()["worker"]
                if worker_done(worker, final_watermark=final_watermark, alerts_read=len(follower.records)):
                    break
                if time.monotonic() - drain_started > drain_seconds:
                    if code == 0:
                        late = f"the worker was not done {drain_seconds:g}s after the replay: scoring so far"
                        keys.notes.append(late)
                        say(late)
                    break
            screen.show(snapshot(phase))
            time.sleep(TICK)
        wall = time.monotonic() - started
        monitor.stop()
        monitor.poll()
        screen.show(snapshot("done"), force=True)
        screen.close()
        follower.stop()
        _report(follower.records, feed, wall)
        if webhook is not None and stack.alertmanager_url:
            _delivered(webhook)
        _where(stack, run_dir)
        finished = True
        if keep:
            say("everything stays up to look around: Ctrl-C (or q) stops it all")
            while not keys.quit.is_set():
                time.sleep(TICK)
        return code
    except KeyboardInterrupt:
        if screen is not None:
            screen.close()
        if finished:  # Ctrl-C after the report: the normal way out
            return code
        say("quitting" if keys.quit.is_set() else "interrupted")
        return code if keys.quit.is_set() else 130
    except (StartError, ConfigError) as exc:
        if screen is not None:
            screen.close()
        say(str(exc))
        return 1
    finally:
        # Nothing may cut the stopping short: not another Ctrl-C, not the terminal closing (SIGHUP, and
        # then every write to it failing).
        for number in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(number, _still_stopping)
        for part in (reader, screen, monitor, follower):
            if part is not None:
                with contextlib.suppress(Exception):
                    part.close()
        stack.close()
        if webhook is not None:
            with contextlib.suppress(Exception):
                webhook.close()
        say(f"stopped everything it started (logs in {run_dir})")


def _report(records: list[dict], feed: FeedPlan, wall: float) -> None:
    from demo.report import against_truth, without_truth

    print(flush=True)
    print(f"Replay and processing took {wall:.0f}s.")
    if feed.truth_path is not None:
        from replay.generate import Truth

        truth = Truth.from_json(feed.truth_path.read_bytes())
        outcome = against_truth(records, truth, str(feed.truth_path))
        print("\n".join(outcome.lines), flush=True)
    else:
        print("\n".join(without_truth(records, feed.title.split(":")[0])), flush=True)


def _delivered(webhook: WebhookReceiver) -> None:
    count, lines = webhook.latest()
    print()
    if not count:
        print("Alertmanager sent no notification (nothing fired long enough to be sent).", flush=True)
        return
    print(f"Alertmanager sent {count} notification{'s' if count != 1 else ''} to the demo's webhook:")
    for line in lines[-10:]:
        print(f"  {line}")
    if len(lines) > 10:
        print(f"  ... and {len(lines) - 10} earlier")
    print(flush=True)


def _where(stack: Stack, run_dir: Path) -> None:
    print()
    if stack.prometheus_url:
        print(f"Prometheus:    {stack.prometheus_url}/alerts  (what fired; rules: /rules, targets: /targets)")
    else:
        print("Prometheus:    not running (not installed)")
    if stack.alertmanager_url:
        print(f"Alertmanager:  {stack.alertmanager_url}  (the alerts Prometheus sent)")
    else:
        print("Alertmanager:  not running (not installed)")
    print(f"Worker:        {stack.worker_url}")
    print(f"Logs, configs: {run_dir}")
    print(flush=True)
