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


def test_alignment_defaults_to_a_few_detection_windows_and_zero_turns_it_off():
    from pipeline.detect import DetectorConfig

    config = DetectorConfig()
    default = Settings.from_env({}).align_seconds
    # Past the window and lateness the detector holds open anyway; a few windows, not hours.
    assert config.window_seconds + config.lateness_seconds <= default <= 6 * config.window_seconds
    assert Settings.from_env({"ALIGN_SECONDS": "0"}).align_seconds == 0.0
    assert Settings.from_env({"ALIGN_SECONDS": "3600"}).align_seconds == 3600.0
    with pytest.raises(ValueError, match="ALIGN_SECONDS='soon' is not a number"):
        Settings.from_env({"ALIGN_SECONDS": "soon"})
