from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.settings import ENVIRONMENT, Settings


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


def test_the_producers_wait_ten_minutes_for_the_broker_and_transactions_outlive_the_wait():
    from pipeline.stream.kafka_clients import producer_options
    from pipeline.stream.transactions import transaction_timeout_ms

    settings = Settings.from_env({})
    assert producer_options(settings)["request_timeout_ms"] == 600_000  # aiokafka's 40 s stopped workers
    assert transaction_timeout_ms(settings.broker_wait_seconds) == 660_000
    waiting_long = Settings.from_env({"BROKER_WAIT_SECONDS": "1200"})
    assert producer_options(waiting_long)["request_timeout_ms"] == 1_200_000
    assert transaction_timeout_ms(waiting_long.broker_wait_seconds) == 900_000  # the broker's maximum


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BATCH_SIZE": "-5"}, "BATCH_SIZE=-5 must be a whole number of at least 1"),
        ({"METRICS_PORT": "70000"}, "METRICS_PORT (--metrics-port)=70000 is not a port (0-65535)"),
        ({"CLASSIFY_PROCESSES": "-1"}, "CLASSIFY_PROCESSES=-1 must be a whole number of at least 0"),
        ({"BATCH_SECONDS": "nan"}, "BATCH_SECONDS=nan must be a finite number of seconds above 0"),
        ({"STOP_SECONDS": "inf"}, "STOP_SECONDS=inf must be a finite number of seconds above 0"),
        ({"BROKER_WAIT_SECONDS": "0"}, "BROKER_WAIT_SECONDS=0.0 must be a finite number of seconds above 0"),
        ({"ALIGN_SECONDS": "-1"}, "ALIGN_SECONDS=-1.0 must be a finite number of seconds, 0 or more"),
        ({"POSTS_PARTITIONS": "0"}, "POSTS_PARTITIONS=0 must be a whole number of at least 1"),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL (--log-level)='loud' is not one of"),
        ({"ALERTS_TOPIC": "my alerts"}, "ALERTS_TOPIC='my alerts' is not a Kafka topic name"),
        ({"KAFKA_BOOTSTRAP": "localhost"}, "'localhost' is not host:port"),
        ({"KAFKA_BOOTSTRAP": "k1:9092,k2:99999"}, "'k2:99999' is not host:port"),
        ({"METRICS_HOST": " "}, "METRICS_HOST (--metrics-host) is empty"),
        ({"POST_INDEX_LIMIT": "0"}, "POST_INDEX_LIMIT=0 must be a whole number of at least 1"),
        ({"ACCOUNT_RETENTION_SECONDS": "0"}, "ACCOUNT_RETENTION_SECONDS=0.0 must be a finite"),
        ({"DETECT_PARTITIONS": "0"}, "DETECT_PARTITIONS=0 must be a whole number of at least 1"),
        (  # POSTS_PARTITIONS is 4 by default
            {"DETECT_PARTITIONS": "8"},
            "DETECT_PARTITIONS=8 is more than POSTS_PARTITIONS=4: a shard would own no posts partition",
        ),
        ({"PARTS_TOPIC": "parts?"}, "PARTS_TOPIC='parts?' is not a Kafka topic name"),
    ],
)
def test_nonsense_settings_are_refused_with_one_line_naming_the_setting(env, message, capsys):
    with pytest.raises(ValueError) as refused:
        Settings.from_env(env)
    assert message in str(refused.value) and "\n" not in str(refused.value)
    for name, value in env.items():
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv(name, value)
            assert main(["worker"]) == 2
        err = capsys.readouterr().err
        assert err.startswith("pipeline: ") and err.count("\n") == 1 and message in err


def test_a_flag_is_checked_like_its_variable():
    with pytest.raises(ValueError, match=r"METRICS_PORT \(--metrics-port\)=-2 must be a whole number"):
        Settings.from_env({}, metrics_port=-2)


def test_metrics_listen_on_loopback_unless_asked():
    assert Settings.from_env({}).metrics_host == "127.0.0.1"
    assert Settings.from_env({"METRICS_HOST": "0.0.0.0"}).metrics_host == "0.0.0.0"


def test_detection_retention_is_configured_once_for_the_worker_and_analyze():
    from pipeline.detect import DetectorConfig

    assert Settings.from_env({}).detector_config() == DetectorConfig()
    env = {"ACCOUNT_RETENTION_SECONDS": "86400", "POST_RETENTION_SECONDS": "3600", "POST_INDEX_LIMIT": "500"}
    config = Settings.from_env(env).detector_config(min_sources=4)
    assert (config.account_retention_seconds, config.post_retention_seconds) == (86400.0, 3600.0)
    assert (config.post_index_limit, config.min_sources) == (500, 4)


def test_analyze_reads_the_same_detection_settings(monkeypatch, tmp_path, capsys):
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": "1", "ts": "2009-06-13T10:00:00Z", "text": "hello"}\n')
    monkeypatch.setenv("POST_INDEX_LIMIT", "none")
    assert main(["analyze", str(feed)]) == 2
    assert "POST_INDEX_LIMIT='none' is not an integer" in capsys.readouterr().err


def test_detection_is_on_unless_a_worker_is_told_to_classify_only(monkeypatch):
    assert Settings.from_env({}).detect is True
    assert Settings.from_env({"DETECT": "0"}).detect is False
    assert Settings.from_env({"DETECT": "0"}, detect=True).detect is True  # the flag wins
    with pytest.raises(ValueError, match="DETECT='maybe'"):
        Settings.from_env({"DETECT": "maybe"})
    seen = []
    monkeypatch.setattr("pipeline.stream.worker.run", seen.append)
    main(["worker", "--no-detect"])
    main(["worker"])
    assert [settings.detect for settings in seen] == [False, True]


def test_a_worker_can_be_told_to_detect_only_but_not_to_do_nothing(monkeypatch):
    assert Settings.from_env({}).classify is True
    assert Settings.from_env({"CLASSIFY": "0"}).classify is False
    assert Settings.from_env({"CLASSIFY": "0"}, classify=True).classify is True  # the flag wins
    with pytest.raises(ValueError, match="CLASSIFY=0 and DETECT=0: this worker would do nothing"):
        Settings.from_env({"CLASSIFY": "0", "DETECT": "0"})
    seen = []
    monkeypatch.setattr("pipeline.stream.worker.run", seen.append)
    main(["worker", "--no-classify"])
    main(["worker"])
    assert [settings.classify for settings in seen] == [False, True]


def test_worker_help_lists_every_environment_variable_with_its_default(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["worker", "--help"])
    assert exited.value.code == 0
    lines = capsys.readouterr().out.splitlines()
    shown = {line.split()[0]: line.split()[1:] for line in lines if line.startswith("  ") and line.split()}
    assert set(ENVIRONMENT.values()) <= shown.keys()
    assert shown["BROKER_WAIT_SECONDS"] == ["600.0"]
    assert shown["EXACTLY_ONCE"] == ["1"] and shown["KEEP_AUTHORS"] == ["0"]
    assert shown["FAULT_ENGINE_ERROR"] == ["(empty)"]
