from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.settings import Settings


def test_defaults():
    settings = Settings.from_env({})
    assert settings.bootstrap == "127.0.0.1:9092"
    assert settings.posts_topic == "posts"
    assert settings.broker_url == "kafka://127.0.0.1:9092"


def test_environment_then_flags_win():
    env = {"KAFKA_BOOTSTRAP": "k1:9092,k2:9092", "METRICS_PORT": "9200", "PIPELINE_DATA_DIR": "/var/lib/x"}
    settings = Settings.from_env(env, metrics_port=9300, posts_topic=None)
    assert settings.broker_url == "kafka://k1:9092,kafka://k2:9092"
    assert settings.metrics_port == 9300
    assert settings.posts_topic == "posts"
    assert settings.data_dir == Path("/var/lib/x")


def test_bad_environment_value_is_a_clear_error():
    with pytest.raises(ValueError, match="METRICS_PORT='http' is not an integer"):
        Settings.from_env({"METRICS_PORT": "http"})


def test_cli_reports_bad_environment(monkeypatch, capsys):
    monkeypatch.setenv("METRICS_PORT", "nine")
    assert main(["worker"]) == 2
    assert "METRICS_PORT='nine' is not an integer" in capsys.readouterr().err
