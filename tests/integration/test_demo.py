"""``python -m demo`` (make demo) on the real broker, Prometheus and Alertmanager, as a person runs it.

Each test lets the demo start its own broker (a temporary KAFKA_DATA, free ports) and replays an 8-hour
iran2009 scenario in a few seconds; every port is a free one. At the end nothing the demo started may be
left: no process carries the run's DEMO_DIR in its environment (the demo passes its environment to all
it starts, and they to theirs), and the broker is down.

- Not on a terminal: plain lines, the score against the truth, everything stopped at once.
- In tmux, as a person would: the live view (flow, categories, alerts in words), ``+`` and space steering
  the replay, the report; Prometheus and Alertmanager stay up with what fired until Ctrl-C; the terminal
  is back in its normal mode afterwards.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.support import BASH, KAFKA_SH, REPO, free_port, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(420)]

SCORE = re.compile(r"found (\d+) of (\d+) episodes, missed (\d+), false alarms (\d+)")


def demo_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DEMO_", "KAFKA_"))}
    env.update(
        DEMO_DIR=str(tmp_path / "run"),
        DEMO_HOURS="8",  # an outage, two filterings and three surges (tests/integration/conftest.py)
        DEMO_SECONDS="15",
        DEMO_EVERY="2",
        KAFKA_DATA=str(tmp_path / "kafka"),
        KAFKA_PORT=str(free_port()),
        KAFKA_CONTROLLER_PORT=str(free_port()),
        METRICS_PORT=str(free_port()),
        REPLAY_METRICS_PORT=str(free_port()),
        PROMETHEUS_PORT=str(free_port()),
        ALERTMANAGER_PORT=str(free_port()),
    )
    env.update(extra)
    return env


def processes_of(run_dir: Path) -> list[str]:
    """Live processes whose environment names this run's DEMO_DIR: what the demo started."""
    wanted = f"DEMO_DIR={run_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except (OSError, IndexError):
            continue
        if wanted in environ and state != "Z":
            found.append(f"{entry.name}: {cmdline[:200]}")
    return found


def assert_nothing_left(env: dict[str, str], timeout: float = 10) -> None:
    run_dir = Path(env["DEMO_DIR"])
    wait_until(lambda: not processes_of(run_dir), timeout=timeout, what="the demo's processes to be gone")
    status = subprocess.run([BASH, str(KAFKA_SH), "status"], env=env, capture_output=True, text=True)
    assert status.returncode == 3, status.stdout  # down


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_not_on_a_terminal_it_prints_lines_scores_the_alerts_and_stops_everything(tmp_path):
    env = demo_env(tmp_path)
    started = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "demo"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=360,
    )
    took = time.monotonic() - started
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    # Plain periodic lines, and each alert in words as it comes.
    assert re.search(r"^demo 0:\d\d replaying \| replay [\d,]+/51,352 posts", run.stdout, re.M), output
    assert "demo: alert Jun 12 " in run.stdout
    assert "filtering of 'democracy' in IR since" in run.stdout
    assert "\x1b[" not in run.stdout  # no terminal codes in a log
    # The score against the truth file: streaming equals the offline oracle, which finds all six.
    score = SCORE.search(run.stdout)
    assert score, output
    found, episodes, missed, false = map(int, score.groups())
    assert (found, episodes, missed, false) == (6, 6, 0, 0), output
    assert f"Prometheus:    http://127.0.0.1:{env['PROMETHEUS_PORT']}/alerts" in run.stdout
    if shutil.which("prometheus-alertmanager"):
        assert f"Alertmanager:  http://127.0.0.1:{env['ALERTMANAGER_PORT']}" in run.stdout
        assert "notification" in run.stdout
    else:
        assert "Alertmanager (prometheus-alertmanager) is not installed: going on without it" in run.stderr
    # Not a terminal: it stops at once after the report (DEMO_KEEP defaults to 0).
    assert "stopped everything it started" in run.stderr
    assert "stopping Kafka" in run.stderr
    assert_nothing_left(env)
    print(f"demo, 8 h replayed in {env['DEMO_SECONDS']} s: {took:.0f} s from start to exit")


def test_ctrl_c_while_replaying_stops_everything_it_started(tmp_path):
    env = demo_env(tmp_path, DEMO_SECONDS="60")
    log = tmp_path / "demo.out"
    with log.open("w") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "demo"], cwd=REPO, env=env, stdin=subprocess.DEVNULL, stdout=out,
            stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        # Mid-replay: posts flowing through the worker.
        flowing = re.compile(
            r"^demo 0:\d\d replaying \| replay [\d,]+/51,352 posts.* worker [1-9][\d,]* posts", re.M
        )
        wait_until(lambda: flowing.search(log.read_text()), timeout=150, what="posts flowing", interval=0.5)
        assert processes_of(Path(env["DEMO_DIR"]))  # broker, worker, replay, ...
        demo.send_signal(signal.SIGINT)  # what Ctrl-C sends the demo (its children have their own groups)
        assert demo.wait(timeout=150) == 130
    finally:
        if demo.poll() is None:
            demo.kill()
            clean_up(env)
    output = log.read_text()
    assert "demo: interrupted" in output
    for part in ("Replay", "Worker", "Prometheus", "Kafka"):
        assert f"demo: stopping {part}" in output, output
    assert "stopped everything it started" in output
    assert "Alerts against the truth" not in output  # no report of a run cut short
    assert_nothing_left(env)


class Tmux:
    """A tmux server of its own (its own socket), so the demo gets this test's environment."""

    def __init__(self, width: int = 100, height: int = 30) -> None:
        self.socket = f"demo-test-{uuid.uuid4().hex[:8]}"
        self.size = (width, height)

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start(self, command: str) -> None:
        width, height = self.size
        self.run("new-session", "-d", "-s", "demo", "-x", str(width), "-y", str(height), command)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "demo", "-S", "-200")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "demo", *keys)

    def wait_for(self, *texts: str, timeout: float) -> str:
        return wait_until(
            lambda: (screen := self.screen()) and all(text in screen for text in texts) and screen,
            timeout=timeout,
            what=f"{texts} on the screen",
            interval=0.5,
        )

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True, timeout=10)


def tmux_command(env: dict[str, str]) -> str:
    """The demo with exactly ``env`` and the terminal type tmux gives its panes; then its exit status and
    the terminal's mode (icanon: back to normal, -icanon: left in cbreak)."""
    skip = ("TERM", "TMUX", "TMUX_PANE")
    assignments = " ".join(f"{key}={shlex.quote(value)}" for key, value in env.items() if key not in skip)
    demo = f'env -i TERM="$TERM" {assignments} {shlex.quote(sys.executable)} -m demo'
    return (
        f"cd {shlex.quote(str(REPO))} && {demo}; echo DEMO-EXIT=$?; "
        "stty -a | tr ' ;' '\\n\\n' | grep -x -- '-\\?icanon'; sleep 600"
    )


def clean_up(env: dict[str, str]) -> None:
    """After a failed test: what the demo left, ended by pid (only processes of this run's DEMO_DIR)."""
    for line in processes_of(Path(env["DEMO_DIR"])):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
    subprocess.run([BASH, str(KAFKA_SH), "stop"], env=env, capture_output=True, timeout=120)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_live_view_in_a_terminal_with_keys_and_ctrl_c(tmp_path):
    env = demo_env(tmp_path, DEMO_SECONDS="40", DEMO_KEEP="1")
    tmux = Tmux()
    tmux.start(tmux_command(env))
    try:
        # The live view, as a person looks at it.
        screen = tmux.wait_for("flow", "replay → Kafka", "categories", "protest", "█", timeout=150)
        assert "iran2009 scenario, seed 1: 8 h, 51,352 posts in ~40 s" in screen
        assert "keys: + faster  - slower  space pause/resume  q quit" in screen
        tmux.wait_for("out ", "classified", "lag ", "episodes and alerting", timeout=30)
        # The first filtering, in words, as it fires (about 14 s into the replay) and while it is open.
        words = re.compile(r"filtering of 'democracy' in IR since 02:40 \(observed \d+, expected \d+\)")
        wait_until(lambda: words.search(tmux.screen()), timeout=60, what="the filtering alert", interval=0.5)
        # + speeds the replay up one step (40 s for 8 h is 720x; the next step is 1,200x).
        tmux.keys("+")
        tmux.wait_for("speed 1,200x", "at 1,200x", timeout=15)
        # Space pauses and resumes it.
        tmux.keys(" ")
        tmux.wait_for("paused: space resumes", "paused (at 1,200x)", timeout=15)
        tmux.keys(" ")
        tmux.wait_for("resumed at 1,200x", timeout=15)
        # Alerts in words as they fire; then the report, and the URLs stay up.
        screen = tmux.wait_for("Ctrl-C (or q) stops it all", timeout=240)
        assert re.search(r"surge of medical posts since \d\d:\d\d \(observed \d+, expected \d+\)", screen)
        score = SCORE.search(screen)
        assert score and score.groups() == ("6", "6", "0", "0"), screen
        prometheus = f"http://127.0.0.1:{env['PROMETHEUS_PORT']}"
        assert f"Prometheus:    {prometheus}/alerts" in screen
        rules = get_json(f"{prometheus}/api/v1/rules")["data"]["groups"]
        names = {rule["name"] for group in rules for rule in group["rules"]}
        assert {"KeywordFilteringSuspected", "RegionOutage", "SurgeDetected"} <= names
        firing = get_json(f"{prometheus}/api/v1/alerts")["data"]["alerts"]
        assert {"KeywordFilteringSuspected", "SurgeDetected"} <= {a["labels"]["alertname"] for a in firing}
        if shutil.which("prometheus-alertmanager"):
            alertmanager = f"http://127.0.0.1:{env['ALERTMANAGER_PORT']}"
            assert f"Alertmanager:  {alertmanager}" in screen
            held = wait_until(
                lambda: get_json(f"{alertmanager}/api/v2/alerts"), timeout=30, what="alerts in Alertmanager"
            )
            assert "KeywordFilteringSuspected" in {alert["labels"]["alertname"] for alert in held}
        # Ctrl-C stops everything, and the terminal is back in its normal (canonical) mode.
        tmux.keys("C-c")
        screen = tmux.wait_for("DEMO-EXIT=", timeout=120)
        assert "DEMO-EXIT=0" in screen and "stopped everything it started" in screen
        tmux.wait_for("\nicanon", timeout=10)
        assert "-icanon" not in screen.split("DEMO-EXIT=")[1]
        assert_nothing_left(env)
    finally:
        tmux.kill()
        clean_up(env)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_closing_the_terminal_mid_replay_stops_everything_too(tmp_path):
    """The window closed (tmux killed): SIGHUP, then a terminal that fails every write."""
    env = demo_env(tmp_path, DEMO_SECONDS="60")
    tmux = Tmux()
    tmux.start(tmux_command(env))
    try:
        tmux.wait_for("flow", "replay → Kafka", "categories", "█", timeout=150)
        assert processes_of(Path(env["DEMO_DIR"]))
        tmux.kill()
        assert_nothing_left(env, timeout=120)
    finally:
        tmux.kill()
        clean_up(env)
