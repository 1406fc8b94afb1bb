from __future__ import annotations

import shutil

import pytest

from tests.support import free_port, kafka_env, kafka_sh


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory) -> str:
    """A real single-node Kafka on free ports, started and stopped with deploy/kafka/kafka.sh."""
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is not installed: the integration tests need a real Kafka broker")
    env = kafka_env(tmp_path_factory.mktemp("kafka"), free_port(), free_port())
    started = kafka_sh("start", env)
    assert started.returncode == 0, f"kafka.sh start failed:\n{started.stderr}"
    last_line = started.stdout.strip().splitlines()[-1]
    assert last_line.startswith("KAFKA_BOOTSTRAP="), started.stdout
    try:
        yield last_line.split("=", 1)[1]
    finally:
        stopped = kafka_sh("stop", env)
        assert stopped.returncode == 0, stopped.stderr
