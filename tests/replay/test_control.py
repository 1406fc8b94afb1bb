"""The live control of a replay without Kafka: the HTTP commands of a real server on a free port, the
Python client, ``python -m replay ctl`` and its errors, signals, and the replay loop under commands (with
a stand-in producer)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from feed import Post
from replay.cli import main
from replay.control import ControlServer, ReplayControl
from replay.ctl import ControlError, ReplayClient, default_url
from replay.metrics import ReplayMetrics
from replay.runner import Replay
from replay.schedule import SPEED_STEPS, ReplayOptions, Timeline, plan
from replay.wire import WirePost
from tests.replay.test_runner import stand_in_producer
from tests.support import free_port, scrape, wait_until

T0 = 1244851200.0  # 2009-06-13T00:00:00Z


@pytest.fixture
def served() -> Iterator[tuple[ReplayControl, ReplayMetrics, str]]:
    """A control (20x, 10 posts planned, the last at T0 + 100 s) served on a free port, no replay loop."""
    metrics = ReplayMetrics()
    control = ReplayControl(Timeline(20.0), metrics=metrics, planned=10, last_ts=T0 + 100)
    server = metrics.serve(0, "127.0.0.1", control=control)
    try:
        yield control, metrics, server.url
    finally:
        server.close()


def raw(url: str, method: str, path: str, body: str | None = None, headers: dict | None = None):
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Allow"), response.read()
    finally:
        connection.close()


# --- the server and the Python client ----------------------------------------------------------------


def test_status_says_what_the_replay_is_doing(served):
    _control, _metrics, url = served
    status = ReplayClient(url).status()
    assert status["state"] == "starting" and status["speed"] == 20 and status["paused"] is False
    assert (status["planned"], status["sent"], status["skipped"]) == (10, 0, 0)
    assert status["event_time"] is None and status["anchor"] is None


def test_speed_pause_resume_and_seek_change_the_timeline_and_the_metrics(served):
    control, _metrics, url = served
    client = ReplayClient(url)
    changed = client.set_speed(600)
    assert changed["speed"] == 600 and changed["message"] == "speed 600x (was 20x)"
    assert scrape(f"{url}/metrics")["replay_speed_factor"] == 600
    assert client.set_speed(None)["speed"] == "max" and control.timeline.speed is None
    assert scrape(f"{url}/metrics")["replay_speed_factor"] == 0
    assert client.set_speed("0.5")["speed"] == 0.5

    assert client.pause()["paused"] and control.timeline.paused
    assert scrape(f"{url}/metrics")["replay_paused"] == 1
    assert client.pause()["message"] == "paused already"
    assert client.resume()["message"] == "resumed" and not control.timeline.paused
    assert scrape(f"{url}/metrics")["replay_paused"] == 0
    assert client.toggle_pause()["paused"] and not client.toggle_pause()["paused"]

    sought = client.seek("2009-06-13T00:01:00Z")
    assert sought["seeking_to"] == "2009-06-13T00:01:00Z" and control.timeline.seek_to == T0 + 60
    assert client.seek(T0 + 70)["seeking_to"] == "2009-06-13T00:01:10Z"


def test_faster_and_slower_step_through_the_speeds_up_to_max(served):
    _control, _metrics, url = served
    client = ReplayClient(url)
    assert client.faster()["speed"] == 60
    assert client.slower()["speed"] == 20
    client.set_speed(SPEED_STEPS[-1])
    assert client.faster()["speed"] == "max"
    assert client.slower()["speed"] == SPEED_STEPS[-1]


def test_bad_values_are_refused_with_the_reason(served):
    _control, _metrics, url = served
    client = ReplayClient(url)
    with pytest.raises(ControlError, match="speed must be a positive number or 'max', not 'warp'"):
        client.set_speed("warp")
    with pytest.raises(ControlError, match="unparseable seek time 'noon'"):
        client.seek("noon")
    with pytest.raises(ControlError, match=r"after the replay's last post \(2009-06-13T00:01:40Z\)"):
        client.seek(T0 + 101)
    assert client.status()["speed"] == 20


def test_seek_goes_forward_only_and_says_where_the_replay_is(served):
    control, _metrics, url = served
    timeline = control.timeline
    with control.condition:  # as the replay loop does: the first post of T0 placed, the clock started
        timeline.place(T0)
        timeline.start(time.monotonic())
    with pytest.raises(ControlError, match="seek goes forward only, and the replay is at 2009-06-13T00:00"):
        ReplayClient(url).seek(T0 - 10)


def test_a_finished_replay_refuses_commands_but_still_answers_status(served):
    control, _metrics, url = served
    control.finish()
    with pytest.raises(ControlError, match="the replay has finished"):
        ReplayClient(url).pause()
    assert ReplayClient(url).status()["state"] == "finished"


def test_methods_paths_and_cross_site_requests(served):
    _control, _metrics, url = served
    assert raw(url, "GET", "/pause")[:2] == (405, "POST")
    assert raw(url, "POST", "/status")[:2] == (405, "GET")
    assert raw(url, "POST", "/warp")[0] == 404
    assert raw(url, "GET", "/")[0] == 200 and b"POST /speed" in raw(url, "GET", "/")[2]
    # What a browser adds to a cross-site request: a web page cannot steer a replay on localhost.
    status, _, body = raw(url, "POST", "/pause", headers={"Origin": "http://evil.example"})
    assert status == 403 and b"cross-origin" in body
    assert raw(url, "POST", "/speed", body="9" * 2000)[0] == 413
    metrics = raw(url, "GET", "/metrics")
    assert metrics[0] == 200 and b"replay_speed_factor 20.0" in metrics[2]


def test_metrics_alone_when_there_is_no_control():
    metrics = ReplayMetrics()
    server = ControlServer(metrics.registry, None, "127.0.0.1", 0)
    try:
        assert raw(server.url, "GET", "/metrics")[0] == 200
        assert raw(server.url, "GET", "/status")[0] == 404
        assert raw(server.url, "POST", "/pause")[0] == 404
    finally:
        server.close()


def test_the_client_says_what_is_wrong_in_one_line():
    port = free_port()  # nothing listens there
    with pytest.raises(ControlError) as refused:
        ReplayClient(f"http://127.0.0.1:{port}").status()
    assert str(refused.value).startswith(
        f"no replay is listening at http://127.0.0.1:{port} (connection refused)"
    )
    with pytest.raises(ValueError, match="not an http:// URL"):
        ReplayClient("127.0.0.1:9109")

    class NotAReplay(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(404)
            self.end_headers()
            self.wfile.write(b"<html>nope</html>")

        def log_message(self, *args):
            pass

    other = ThreadingHTTPServer(("127.0.0.1", 0), NotAReplay)
    threading.Thread(target=other.serve_forever, daemon=True).start()
    try:
        with pytest.raises(ControlError, match="is it a replay's metrics port"):
            ReplayClient(f"http://127.0.0.1:{other.server_address[1]}").status()
    finally:
        other.shutdown()
        other.server_close()


def test_the_default_url_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("REPLAY_URL", raising=False)
    monkeypatch.delenv("REPLAY_METRICS_PORT", raising=False)
    assert default_url() == "http://127.0.0.1:9109"
    monkeypatch.setenv("REPLAY_METRICS_PORT", "9200")
    assert default_url() == "http://127.0.0.1:9200"
    monkeypatch.setenv("REPLAY_URL", "http://10.0.0.5:9109")
    assert default_url() == "http://10.0.0.5:9109"


# --- python -m replay ctl ----------------------------------------------------------------------------


def test_ctl_sends_each_command_and_says_what_it_did(served, capsys):
    control, _metrics, url = served
    assert main(["ctl", "--url", url, "speed", "600"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("replay: speed 600x (was 20x); starting, 600x, 0/10 sent, 0 skipped")
    assert main(["ctl", "pause", "--url", url]) == 0  # --url after the command works too
    assert "replay: paused; paused" in capsys.readouterr().out
    assert main(["ctl", "--url", url, "resume"]) == 0 and not control.timeline.paused
    assert main(["ctl", "--url", url, "speed", "max"]) == 0 and control.timeline.speed is None
    assert main(["ctl", "--url", url, "faster"]) == 0 and main(["ctl", "--url", url, "slower"]) == 0
    assert main(["ctl", "--url", url, "toggle"]) == 0 and control.timeline.paused
    assert main(["ctl", "--url", url, "seek", "2009-06-13T00:01Z"]) == 0
    assert control.timeline.seek_to == T0 + 60
    capsys.readouterr()
    assert main(["ctl", "--url", url, "status"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["paused"] is True and status["seeking_to"] == "2009-06-13T00:01:00Z"
    assert main(["ctl", "--url", url, "--json", "resume"]) == 0
    assert json.loads(capsys.readouterr().out)["message"] == "resumed"


def test_ctl_takes_the_url_from_the_environment(served, capsys, monkeypatch):
    _control, _metrics, url = served
    monkeypatch.setenv("REPLAY_URL", url)
    assert main(["ctl", "status"]) == 0
    assert json.loads(capsys.readouterr().out)["speed"] == 20


def test_ctl_errors_are_one_line(served, capsys):
    _control, _metrics, url = served
    port = free_port()
    assert main(["ctl", "--url", f"http://127.0.0.1:{port}", "pause"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(
        f"replay ctl: no replay is listening at http://127.0.0.1:{port} (connection refused)"
    )
    assert main(["ctl", "--url", url, "seek", "2009-06-14T00:00Z"]) == 1
    assert "after the replay's last post" in capsys.readouterr().err
    assert main(["ctl", "--url", "ftp://x", "status"]) == 2
    assert "--url: not an http:// URL" in capsys.readouterr().err
    for bad in (["speed", "warp"], ["speed", "0"], ["seek", "noon"], ["warp"], []):
        with pytest.raises(SystemExit) as exited:
            main(["ctl", "--url", url, *bad])
        assert exited.value.code == 2, bad


def test_ctl_help_explains_the_commands(capsys):
    with pytest.raises(SystemExit):
        main(["ctl", "--help"])
    out = capsys.readouterr().out
    for text in ("speed", "max", "pause", "resume", "seek", "status", "REPLAY_URL", "--metrics-port", "curl"):
        assert text in out, text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "ctl" in capsys.readouterr().out


def test_ctl_starts_without_loading_kafka_or_the_feed_code():
    import subprocess
    import sys

    probe = (
        "import sys; from replay.cli import build_parser; build_parser(only_ctl=True); "
        "print(sorted(m for m in ('kafka', 'prometheus_client', 'orjson', 'feed') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


# --- signals ----------------------------------------------------------------------------------------


def test_sigusr1_toggles_the_pause_through_the_queue_the_loop_applies():
    control = ReplayControl(Timeline(1.0))
    said: list[str] = []
    control.notify = said.append
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGUSR1, signal.SIGTSTP, signal.SIGCONT)}
    try:
        control.install_signals()
        os.kill(os.getpid(), signal.SIGUSR1)
        wait_until(lambda: control.signals_waiting, timeout=5, what="the signal", interval=0.01)
        assert not control.timeline.paused  # a handler only queues: the loop applies it
        with control.condition:
            control.apply_signals()
        assert control.timeline.paused
        assert said == ["paused (SIGUSR1 again to resume)"]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- the replay loop under commands ------------------------------------------------------------------


def wire_posts(count: int, gap: float = 1.0) -> list[WirePost]:
    return [
        WirePost.from_post(Post(id=f"p{n}", ts=T0 + n * gap, text="x", author=f"a{n % 3}"))
        for n in range(count)
    ]


@pytest.mark.parametrize("speed", [None, 5000.0])
def test_a_seek_skips_posts_counts_them_and_the_checkpoint_passes_them(speed):
    producer, client = stand_in_producer()
    posts = wire_posts(600)
    metrics = ReplayMetrics()
    control = ReplayControl(Timeline(speed), metrics=metrics, planned=len(posts))
    control.seek(T0 + 400)  # before the replay starts: the first 400 are passed over
    saved: list = []
    report = Replay(
        plan(lambda: posts, ReplayOptions(speed=speed), shift=600.0),
        producer,
        planned=len(posts),
        control=control,
        metrics=metrics,
        save_checkpoint=lambda position, last_id: saved.append((position, last_id)),
    ).run()
    assert [value for *_, value in client.records] == [post.value for post in posts[400:]]
    assert report.ok and report.sent == 200 and report.skipped == 400
    assert metrics.posts_skipped._value.get() == 400
    assert saved[-1] == (600, "p599")  # resuming goes on after the end, not back into what was skipped
    assert control.status()["state"] == "finished"


def test_pause_speed_and_resume_from_another_thread_while_the_replay_runs():
    producer, client = stand_in_producer()
    posts = wire_posts(400)
    control = ReplayControl(Timeline(200.0), planned=len(posts))  # a post every 5 ms
    replay = Replay(posts_plan := plan(lambda: posts, ReplayOptions(speed=200.0), shift=400.0), producer,
                    planned=len(posts), control=control, record_lateness=True)  # fmt: skip
    assert posts_plan.options.speed == 200.0
    runner = threading.Thread(target=replay.run)
    runner.start()
    try:
        wait_until(lambda: len(client.records) >= 20, timeout=30, what="20 posts", interval=0.005)
        paused = control.pause()
        time.sleep(0.05)  # a post would be due every 5 ms: none may go while paused
        assert len(client.records) == paused["sent"]
        control.set_speed(None)  # max speed from the resume on
        control.resume()
        runner.join(timeout=30)
    finally:
        control.finish()
        runner.join(timeout=30)
    assert not runner.is_alive()
    assert replay.report.ok and len(client.records) == 400
    assert replay.report.stalls == 0
