"""deploy/kafka/kafka.sh: a real broker that starts, answers, restarts idempotently and stops for good."""

from __future__ import annotations

import os
import stat

import pytest

from tests.support import KAFKA_SH, broker_pids, free_port, kafka_env, kafka_sh

pytestmark = pytest.mark.integration


def test_start_is_idempotent_and_stop_leaves_no_process(tmp_path):
    port = free_port()
    env = kafka_env(tmp_path / "data", port, free_port())
    config = tmp_path / "data" / "server.properties"
    try:
        first = kafka_sh("start", env)
        assert first.returncode == 0, first.stderr
        assert first.stdout.strip().splitlines()[-1] == f"KAFKA_BOOTSTRAP=127.0.0.1:{port}"
        pids = broker_pids(config)
        assert len(pids) == 1

        again = kafka_sh("start", env)
        assert again.returncode == 0, again.stderr
        assert again.stdout.strip().splitlines()[-1] == f"KAFKA_BOOTSTRAP=127.0.0.1:{port}"
        assert broker_pids(config) == pids, "a second start must not start a second broker"

        status = kafka_sh("status", env)
        assert status.returncode == 0
        assert status.stdout.startswith("up")
    finally:
        stopped = kafka_sh("stop", env)
    assert stopped.returncode == 0, stopped.stderr
    assert broker_pids(config) == []
    assert not (tmp_path / "data" / "kafka.pid").exists()
    status = kafka_sh("status", env)
    assert status.returncode == 3
    assert status.stdout.startswith("down")


def test_stop_when_nothing_runs_is_harmless(tmp_path):
    stopped = kafka_sh("stop", kafka_env(tmp_path, free_port(), free_port()))
    assert stopped.returncode == 0
    assert "not running" in stopped.stderr


def test_missing_java_is_one_clear_line(tmp_path):
    # A PATH with only what the script needs before it looks for java.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "cat"):
        (bin_dir / tool).symlink_to(f"/usr/bin/{tool}")
    env = {**kafka_env(tmp_path / "data", free_port(), free_port()), "PATH": str(bin_dir)}
    result = kafka_sh("start", env)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        "kafka.sh: java not found: install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)"
    )


def test_missing_mvn_is_one_clear_line(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    java = bin_dir / "java"
    java.write_text("#!/bin/sh\nexit 0\n")
    java.chmod(java.stat().st_mode | stat.S_IEXEC)
    (bin_dir / "dirname").symlink_to("/usr/bin/dirname")
    env = {
        **kafka_env(tmp_path / "data", free_port(), free_port()),
        "PATH": str(bin_dir),
        "KAFKA_LIBS": str(tmp_path / "libs"),
    }
    result = kafka_sh("start", env)
    assert result.returncode != 0
    assert result.stderr.strip() == "kafka.sh: mvn not found: install Maven (Debian: apt-get install maven)"


def test_port_taken_by_another_process_is_refused(tmp_path):
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        result = kafka_sh("start", kafka_env(tmp_path / "data", port, free_port()))
    assert result.returncode != 0
    assert f"port {port} is already in use" in result.stderr


def test_help_lists_the_commands():
    result = kafka_sh("--help", dict(os.environ))
    assert result.returncode == 0
    for command in ("install", "start", "stop", "status", "KAFKA_PORT", "KAFKA_DATA"):
        assert command in result.stdout
    assert os.access(KAFKA_SH, os.X_OK)
