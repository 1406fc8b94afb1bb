"""The replayer's command line, up to the point where it would need Kafka (resuming: test_checkpoint.py;
feeds and formats: test_source.py)."""

from pathlib import Path

import orjson
import pytest

from feed import parse_ts, read_feed
from replay.cli import build_parser, main

# Nothing listens here: any attempt to reach Kafka would fail loudly, not send.
UNREACHABLE = "127.0.0.1:1"


def test_bad_line_refuses_the_whole_run_before_sending(tmp_path, capsys):
    feed = tmp_path / "feed.jsonl"
    feed.write_text('{"id": "a", "ts": 1244901909, "text": "ok"}\n{"id": "b", "ts": "later", "text": "x"}\n')
    assert main(["send", str(feed), "--bootstrap", UNREACHABLE, "--speed", "max"]) == 1
    err = capsys.readouterr().err
    assert f"{feed}:2: unparseable ts 'later'" in err
    assert "nothing was sent" in err


def test_missing_feed_is_a_clear_error(tmp_path, capsys):
    assert main(["send", str(tmp_path / "nope.jsonl"), "--bootstrap", UNREACHABLE]) == 2
    assert "feed not found" in capsys.readouterr().err


def test_bad_speed_is_refused(capsys):
    assert main(["send", "--bootstrap", UNREACHABLE, "--speed", "warp"]) == 2
    assert "speed must be a positive number or 'max'" in capsys.readouterr().err


def test_speed_and_duration_are_exclusive(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["send", "--speed", "2", "--duration", "60"])


def test_defaults_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "10.0.0.1:9999")
    monkeypatch.setenv("POSTS_TOPIC", "iran-posts")
    args = build_parser().parse_args(["send"])
    assert (args.bootstrap, args.topic, args.feed) == ("10.0.0.1:9999", "iran-posts", None)


def test_numbers_come_from_the_environment_and_bad_ones_are_one_line_errors(monkeypatch, capsys):
    monkeypatch.setenv("POSTS_PARTITIONS", "8")
    monkeypatch.setenv("REPLAY_MEMORY_MB", "64")
    args = build_parser().parse_args(["send"])
    assert (args.partitions, args.memory_mb) == (8, 64)
    monkeypatch.setenv("REPLAY_MEMORY_MB", "lots")
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["send"])
    assert exited.value.code == 2
    assert "argument --memory-mb: invalid int value: 'lots'" in capsys.readouterr().err


def test_the_metrics_port_comes_from_the_environment(monkeypatch, capsys):
    monkeypatch.delenv("REPLAY_METRICS_PORT", raising=False)
    assert build_parser().parse_args(["send"]).metrics_port is None
    monkeypatch.setenv("REPLAY_METRICS_PORT", "9109")
    assert build_parser().parse_args(["send"]).metrics_port == 9109
    assert build_parser().parse_args(["send", "--metrics-port", "0"]).metrics_port == 0
    monkeypatch.setenv("REPLAY_METRICS_PORT", "70000")
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["send"])
    assert exited.value.code == 2
    assert "argument --metrics-port: must be a port number" in capsys.readouterr().err


def test_help_reads_like_a_manual(capsys):
    with pytest.raises(SystemExit):
        main(["send", "--help"])
    out = capsys.readouterr().out
    for words in ("--speed", "--duration", "--skip-bad", "KAFKA_BOOTSTRAP", "RFC 3339"):
        assert words in out


SAMPLES = Path(__file__).parent / "samples"


def test_convert_csv_with_a_column_map_writes_the_contract_in_event_time_order(tmp_path, capsys):
    out = tmp_path / "feed.jsonl"
    mapping = "id=Tweet Id,ts=Date,text=Content,author=Username,region=Location"
    assert (
        main(["convert", str(SAMPLES / "posts.csv"), "--format", "csv", "--map", mapping, "-o", str(out)])
        == 0
    )
    posts = list(read_feed(out))
    assert posts, "something was converted"
    assert [p.ts for p in posts] == sorted(p.ts for p in posts)
    assert all(p.id and p.text for p in posts)
    assert f"wrote {len(posts)} posts to {out}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("fmt", "sample"),
    [("twitter-v1", "statuses_v1.jsonl"), ("twitter-v2", "search_v2.json"), ("twitter-archive", "tweets.js")],
)
def test_convert_twitter_formats(tmp_path, fmt, sample):
    out = tmp_path / "feed.jsonl"
    assert main(["convert", str(SAMPLES / sample), "--format", fmt, "-o", str(out)]) == 0
    posts = list(read_feed(out))
    assert posts and all(p.platform == "twitter" for p in posts)


def test_convert_reports_the_bad_record_position_or_skips_it(tmp_path, capsys):
    statuses = tmp_path / "statuses.jsonl"
    good = (
        '{"id_str": "1", "created_at": "Sat Jun 13 14:05:09 +0000 2009", "text": "hi", '
        '"user": {"screen_name": "a"}}'
    )
    statuses.write_text(good + "\n" + '{"id_str": "2", "created_at": "someday", "text": "x"}\n')
    out = tmp_path / "feed.jsonl"
    assert main(["convert", str(statuses), "--format", "twitter-v1", "-o", str(out)]) == 1
    assert f"{statuses}:2:" in capsys.readouterr().err
    assert main(["convert", str(statuses), "--format", "twitter-v1", "-o", str(out), "--skip-bad"]) == 0
    assert "1 bad records skipped" in capsys.readouterr().err
    assert [p.id for p in read_feed(out)] == ["1"]


def test_map_is_only_for_csv(capsys):
    assert main(["send", "--map", "id=a,ts=b,text=c", "--bootstrap", UNREACHABLE]) == 2
    assert "--map applies to --format csv only" in capsys.readouterr().err


def test_generate_writes_a_feed_and_its_truth_deterministically(tmp_path, capsys):
    runs = []
    for name in ("a", "b"):
        feed, truth = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.truth.json"
        args = ["generate", "--scenario", "iran2009", "--seed", "7", "--hours", "6", "-o", str(feed)]
        assert main([*args, "--truth", str(truth)]) == 0
        runs.append((feed.read_bytes(), truth.read_bytes()))
    assert runs[0] == runs[1]
    episodes = orjson.loads(runs[0][1])["episodes"]
    assert {e["type"] for e in episodes} == {"filtering", "outage", "surge"}
    assert all(set(e) == {"type", "key", "region", "start", "end"} for e in episodes)
    assert sum(1 for _ in read_feed(tmp_path / "a.jsonl")) > 6 * 3600


def test_generate_refuses_an_unknown_scenario(capsys):
    with pytest.raises(SystemExit):
        main(["generate", "--scenario", "nope", "-o", "x", "--truth", "y"])
    assert "invalid choice: 'nope'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ((), "last"),  # on by default: the feed's last event time
        (("--loop", "3"), "last pass"),  # once, after the last pass, with that pass's times
        (("--no-end-marker",), None),
    ],
)
def test_the_end_of_feed_marker_carries_the_last_event_time_sent(monkeypatch, tmp_path, flags, expected):
    import replay.cli

    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "a", "ts": "2009-06-13T10:00:00Z", "text": "x"}\n'
        '{"id": "c", "ts": "2009-06-13T10:30:00Z", "text": "z"}\n'
        '{"id": "b", "ts": "2009-06-13T10:10:00Z", "text": "y"}\n'  # the last line is not the latest
    )
    handed: list = []
    monkeypatch.setattr(replay.cli, "_send", lambda *args: handed.append(args[-1]) or 0)
    assert (
        main(
            [
                "send",
                str(feed),
                "--bootstrap",
                UNREACHABLE,
                "--speed",
                "max",
                "--state",
                str(tmp_path),
                *flags,
            ]
        )
        == 0
    )
    latest = parse_ts("2009-06-13T10:30:00Z")
    assert handed == [{"last": latest, "last pass": latest + 2 * 1800.0, None: None}[expected]]


def test_help_explains_the_end_of_feed_marker(capsys):
    with pytest.raises(SystemExit):
        main(["send", "--help"])
    out = capsys.readouterr().out
    assert "--no-end-marker" in out and '{"kind": "end"' in out and "iran2009.end" in out


def test_an_until_before_from_is_a_one_line_usage_error(capsys):
    window = ["--from", "2009-06-14T00:00Z", "--until", "2009-06-13T00:00Z"]
    assert main(["send", *window, "--bootstrap", UNREACHABLE]) == 2
    err = capsys.readouterr().err
    assert err == "replay: --until must be after --from\n"
