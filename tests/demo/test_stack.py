"""demo/stack.py without a broker: processes are found by the run's marker and stopped with their
process groups, grandchildren included; a taken port is swapped for a free one."""

from __future__ import annotations

import socket
import sys
import time

from demo.config import DemoConfig
from demo.stack import Stack, leftovers


def test_close_stops_every_process_and_what_it_started(tmp_path):
    said: list[str] = []
    stack = Stack(DemoConfig(), tmp_path, said.append)
    # A process that ignores SIGTERM and leaves a grandchild behind when it goes.
    script = "import signal, subprocess, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); " \
        "subprocess.Popen(['sleep', '300']); time.sleep(300)"  # fmt: skip
    stubborn = stack.start("Stubborn", [sys.executable, "-c", script], env=stack.env(), stop_timeout=0.5)
    stack.start("Sleeper", ["sleep", "300"], env=stack.env())
    deadline = time.monotonic() + 10
    while len(leftovers(stack.run_id)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(leftovers(stack.run_id)) == 3
    stack.close()
    assert leftovers(stack.run_id) == []
    assert stubborn.process.returncode is not None
    assert "stopping Stubborn" in said and "Stubborn did not stop within 0.5s: killing it" in said
    stack.close()  # twice is fine


def test_a_taken_port_is_swapped_for_a_free_one(tmp_path):
    said: list[str] = []
    stack = Stack(DemoConfig(), tmp_path, said.append)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        chosen = stack.port("Prometheus", busy)
    assert chosen != busy
    assert said == [f"port {busy} is taken: Prometheus on 127.0.0.1:{chosen} instead"]


def test_each_run_has_its_own_topics(tmp_path):
    one, two = Stack(DemoConfig(), tmp_path, print), Stack(DemoConfig(), tmp_path, print)
    assert one.topics.posts != two.topics.posts
    env = one.topics.env()
    assert env["POSTS_TOPIC"] == one.topics.posts and env["ALERTS_TOPIC"] == one.topics.alerts
    assert env["PIPELINE_APP_ID"] == one.topics.prefix and env["POSTS_PARTITIONS"] == "4"
