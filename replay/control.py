"""Steering a running replay: speed, pause, resume, seek and status, over HTTP and from Python.

``python -m replay send --metrics-port P`` serves, on the metrics port (and address):

    GET  /metrics   Prometheus metrics
    GET  /status    the replay's state as JSON (see :meth:`ReplayControl.status`)
    POST /speed     body: a factor (``600``) or ``max``
    POST /faster    one step up :data:`replay.schedule.SPEED_STEPS` (past the last: max)
    POST /slower    one step down
    POST /pause, /resume, /toggle
    POST /seek      body: an event time (RFC 3339 or epoch seconds), ahead of the replay clock

A command answers with the status after it; a refused one with 400 (a bad value), 404, 405 or 409 (the
replay has finished) and ``{"error": "..."}``. A request carrying an ``Origin`` header (what a browser
adds to a cross-site request) is refused, so a web page cannot steer a replay on localhost.

:class:`ReplayControl` is the thread-safe side the server, the signal handlers (SIGUSR1 pause, Ctrl-Z)
and the replay loop share: the pacing itself is the pure :class:`replay.schedule.Timeline`, this only
locks it, reads the clock and wakes the loop. :class:`replay.ctl.ReplayClient` is the other end, for
``python -m replay ctl`` and for tools such as the demo's live view (``+``/``-``/space).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.exposition import choose_encoder

from feed import FeedError, format_ts, parse_ts
from replay.schedule import Timeline, format_speed, parse_speed, step_speed

MAX_BODY_BYTES = 1024


class CommandRefused(ValueError):
    """A command with a bad value, or one the replay cannot follow now: ``str()`` says why, in a line."""

    status = 400


class ReplayFinished(CommandRefused):
    status = 409


class ReplayControl:
    """The running replay's live settings, behind one lock, for the server, the signal handlers and the
    replay loop (:class:`replay.runner.Replay`).

    The loop holds :attr:`condition` while it reads the timeline and waits on it until the next post is
    due; every command changes the timeline under the same lock and notifies, so the loop re-reads the
    (re-anchored) schedule at once. Signal handlers must not take a lock the interrupted code may hold:
    they only queue their command (:meth:`apply_signals` applies it, in the loop)."""

    def __init__(
        self,
        timeline: Timeline,
        *,
        metrics=None,
        notify: Callable[[str], None] | None = None,
        planned: int | None = None,
        last_ts: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.timeline = timeline
        self.condition = threading.Condition()
        self.metrics = metrics
        self.planned = planned
        self.last_ts = last_ts  # the last event time the replay will reach; seeking past it is refused
        self.finished = False
        self.acknowledged = 0  # kept up to date by the replay loop, for the status
        self.failed = 0
        self.behind = 0.0
        self.notify = notify or (lambda _message: None)
        self._clock = clock
        self._wall_clock = wall_clock
        self._signals: queue.SimpleQueue[tuple[str, float]] = queue.SimpleQueue()
        self._stopped_at: float | None = None
        self._publish()

    # --- commands (any thread) -----------------------------------------------------------------------

    def set_speed(self, speed: float | None) -> dict[str, Any]:
        return self._command(lambda now: self._set_speed(speed, now))

    def faster(self) -> dict[str, Any]:
        return self._command(lambda now: self._set_speed(step_speed(self.timeline.speed, +1), now))

    def slower(self) -> dict[str, Any]:
        return self._command(lambda now: self._set_speed(step_speed(self.timeline.speed, -1), now))

    def pause(self) -> dict[str, Any]:
        return self._command(lambda now: "paused" if self.timeline.pause(now) else "paused already")

    def resume(self) -> dict[str, Any]:
        return self._command(lambda now: "resumed" if self.timeline.resume(now) else "not paused")

    def toggle_pause(self) -> dict[str, Any]:
        return self._command(self._toggle)

    def seek(self, ts: float) -> dict[str, Any]:
        return self._command(lambda now: self._seek(ts, now))

    def status(self) -> dict[str, Any]:
        with self.condition:
            return self._status(self._clock())

    def finish(self) -> None:
        """The replay loop is over: later commands are refused (409); the status says so."""
        with self.condition:
            self.finished = True
            self.condition.notify_all()

    # --- signals -------------------------------------------------------------------------------------

    def install_signals(self) -> None:
        """SIGUSR1 toggles a pause; Ctrl-Z (SIGTSTP) stops the process and ``fg`` (SIGCONT) resumes it,
        the schedule moved by as long as it was stopped: it continues where it was, with no burst."""
        signal.signal(signal.SIGUSR1, lambda *_: self._signals.put(("toggle", 0.0)))
        signal.signal(signal.SIGTSTP, self._on_stop)
        signal.signal(signal.SIGCONT, self._on_continue)

    def _on_stop(self, _signum: int, _frame: object) -> None:
        self._stopped_at = self._clock()
        self.notify("stopped (fg or SIGCONT to resume)")
        # Stop for real, as the shell expects of Ctrl-Z. SIGSTOP, not SIGTSTP again: the kernel discards
        # SIGTSTP in an orphaned process group (nohup, CI runners), and the process would run on.
        os.kill(os.getpid(), signal.SIGSTOP)

    def _on_continue(self, _signum: int, _frame: object) -> None:
        if self._stopped_at is not None:
            # SimpleQueue.put is safe in a signal handler (it takes no lock the main thread may hold).
            self._signals.put(("stopped", self._clock() - self._stopped_at))
            self._stopped_at = None
            self.notify("continued, still paused" if self.timeline.paused else "resumed")

    @property
    def signals_waiting(self) -> bool:
        return not self._signals.empty()

    def apply_signals(self) -> None:
        """Apply what signal handlers queued. Call it holding :attr:`condition` (the replay loop does)."""
        while True:
            try:
                what, seconds = self._signals.get_nowait()
            except queue.Empty:
                return
            now = self._clock()
            if what == "toggle":
                message = self._toggle(now)
                self.notify(f"{message} (SIGUSR1 again to {'resume' if self.timeline.paused else 'pause'})")
            else:
                self.timeline.stopped(seconds)
            self._publish()

    # --- internals -----------------------------------------------------------------------------------

    def _command(self, change: Callable[[float], str]) -> dict[str, Any]:
        with self.condition:
            if self.finished:
                raise ReplayFinished("the replay has finished")
            now = self._clock()
            message = change(now)
            self._publish()
            self.condition.notify_all()
            status = self._status(now)
        self.notify(message)
        return {**status, "message": message}

    def _set_speed(self, speed: float | None, now: float) -> str:
        if speed is not None and not (speed > 0 and speed != float("inf")):
            raise CommandRefused(f"speed must be a positive number or 'max', not {speed!r}")
        was = self.timeline.speed
        self.timeline.set_speed(speed, now)
        return f"speed {format_speed(speed)} (was {format_speed(was)})"

    def _toggle(self, now: float) -> str:
        timeline = self.timeline
        if timeline.paused:
            timeline.resume(now)
            return "resumed"
        timeline.pause(now)
        return "paused"

    def _seek(self, ts: float, now: float) -> str:
        timeline = self.timeline
        if self.last_ts is not None and ts > self.last_ts:
            raise CommandRefused(
                f"cannot seek to {format_ts(ts)}: after the replay's last post ({format_ts(self.last_ts)})"
            )
        current = timeline.event_time(now)
        try:
            timeline.seek(ts, now)
        except ValueError:
            raise CommandRefused(
                f"cannot seek to {format_ts(ts)}: seek goes forward only, and the replay is at "
                f"{format_ts(current) if current is not None else 'its start'}"
            ) from None
        return f"seeking to {format_ts(ts)}: the posts before it are skipped"

    def _publish(self) -> None:
        if self.metrics is not None:
            self.metrics.speed_factor.set(self.timeline.speed or 0)
            self.metrics.paused.set(1 if self.timeline.paused else 0)

    def _status(self, now: float) -> dict[str, Any]:
        timeline = self.timeline
        event_time = timeline.event_time(now)
        anchor = timeline.anchor
        if self.finished:
            state = "finished"
        elif timeline.paused:
            state = "paused"
        elif not timeline.started:
            state = "starting"
        else:
            state = "running"
        return {
            "state": state,
            "speed": "max" if timeline.speed is None else timeline.speed,
            "rate": timeline.rate,
            "paused": timeline.paused,
            "event_time": None if event_time is None else format_ts(event_time),
            "event_time_s": event_time,
            "last_sent_event_time_s": timeline.last_sent_ts,
            "seeking_to": None if timeline.seek_to is None else format_ts(timeline.seek_to),
            "planned": self.planned,
            "sent": timeline.sent_posts,
            "skipped": timeline.skipped,
            "acknowledged": self.acknowledged,
            "failed": self.failed,
            "behind_schedule_s": self.behind,
            "stalls": timeline.stalls,
            # Where the schedule is anchored now: the post of event time t is due at
            # wall_time_s + (t - event_time_s) / speed (Unix seconds; no --max-gap, no rate cap).
            "anchor": None
            if anchor is None or anchor.event_time is None
            else {
                "wall_time_s": self._wall_clock() - (now - anchor.wall),
                "event_time_s": anchor.event_time,
            },
        }


# --- the HTTP server ---------------------------------------------------------------------------------

GET_ROUTES = ("/metrics", "/status", "/")
POST_ROUTES = ("/speed", "/faster", "/slower", "/pause", "/resume", "/toggle", "/seek")
INDEX = (
    "iran2009 replay\n\n"
    "GET  /metrics   Prometheus metrics\n"
    "GET  /status    state as JSON\n"
    "POST /speed     body: FACTOR or max\n"
    "POST /faster    POST /slower\n"
    "POST /pause     POST /resume     POST /toggle\n"
    "POST /seek      body: an event time (RFC 3339 or epoch seconds)\n\n"
    "or: python -m replay ctl --url URL status|speed 600|pause|resume|seek 2009-06-13T12:00Z\n"
)


class ControlServer:
    """Serves the metrics of ``registry`` and, when a control is attached, the commands above."""

    def __init__(self, registry: CollectorRegistry, control: ReplayControl | None, host: str, port: int):
        handler = type("Handler", (_Handler,), {"registry": registry, "control": control})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self.host, self.port = self._server.server_address[:2]
        # Polls for shutdown this often: a replay's end waits at most this long for its server.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.1,), name="replay-http", daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """Where a client on this machine reaches it (a wildcard address is reached on localhost)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "", "::") else self.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    registry: CollectorRegistry
    control: ReplayControl | None
    server_version = "iran2009-replay"

    def log_message(self, format: str, *args: Any) -> None:
        pass  # no line per scrape on the replay's stderr

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            encoder, content_type = choose_encoder(self.headers.get("Accept"))
            self._reply(200, encoder(self.registry), content_type)
        elif path == "/status" and self.control is not None:
            self._json(200, self.control.status())
        elif path == "/":
            self._reply(200, INDEX.encode(), "text/plain; charset=utf-8")
        elif path in POST_ROUTES and self.control is not None:
            self._json(405, {"error": f"{path} takes POST"}, allow="POST")
        else:
            self._json(404, {"error": f"no such path: {path}"})

    def do_POST(self) -> None:
        path = self.path.split("?", 1)[0]
        if self.headers.get("Origin") is not None:
            self._json(403, {"error": "cross-origin requests are refused"})
            return
        if self.control is None or path not in POST_ROUTES:
            if path in GET_ROUTES:
                self._json(405, {"error": f"{path} takes GET"}, allow="GET")
            else:
                self._json(404, {"error": f"no such command: {path}"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._json(413, {"error": "the body is too long"})
            return
        body = self.rfile.read(length).decode("utf-8", "replace").strip() if length else ""
        try:
            self._json(200, self._run(path[1:], body))
        except CommandRefused as exc:
            self._json(exc.status, {"error": str(exc)})

    def _run(self, command: str, body: str) -> dict[str, Any]:
        control = self.control
        assert control is not None
        if command == "speed":
            try:
                return control.set_speed(parse_speed(body))
            except ValueError as exc:
                raise CommandRefused(str(exc)) from None
        if command == "seek":
            if not body:
                raise CommandRefused("seek needs an event time (RFC 3339 or epoch seconds) in the body")
            try:
                ts = parse_ts(_number_or_text(body), "seek time")
            except FeedError as exc:
                raise CommandRefused(exc.reason) from None
            return control.seek(ts)
        return {
            "faster": control.faster,
            "slower": control.slower,
            "pause": control.pause,
            "resume": control.resume,
            "toggle": control.toggle_pause,
        }[command]()

    def _json(self, code: int, payload: dict[str, Any], *, allow: str | None = None) -> None:
        self._reply(code, json.dumps(payload).encode() + b"\n", "application/json", allow=allow)

    def _reply(self, code: int, body: bytes, content_type: str, *, allow: str | None = None) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if allow:
            self.send_header("Allow", allow)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def _number_or_text(text: str) -> float | str:
    try:
        return float(text)
    except ValueError:
        return text
