import orjson

from feed import read_feed
from pipeline.classify import CATEGORIES
from pipeline.cli import main
from pipeline.engine import Engine
from replay.seed import SEED_FEED_PATH


def test_analyze_the_seed_feed_writes_one_classified_post_per_line(tmp_path, capsys):
    out = tmp_path / "classified.jsonl"
    alerts = tmp_path / "alerts.jsonl"
    assert main(["analyze", str(SEED_FEED_PATH), "--classified", str(out), "--alerts", str(alerts)]) == 0
    posts = list(read_feed(SEED_FEED_PATH))
    records = [orjson.loads(line) for line in out.read_bytes().splitlines()]
    engine = Engine()
    assert records == [engine.classify(post).to_record() for post in posts]
    for record in records:
        assert set(record["categories"]) <= set(CATEGORIES)
        assert record["priority"] in {"critical", "high", "medium", "low"}
    assert alerts.exists()
    table = capsys.readouterr().out
    assert f"analyzed {len(posts)} posts" in table
    assert "posts/s" in table
    for name in CATEGORIES:
        assert name in table


def test_bad_lines_are_named_counted_and_skipped_unless_strict(tmp_path, capsys):
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        '{"id": "1", "ts": "2009-06-13T14:00:00Z", "text": "tear gas at Enghelab square"}\n'
        "{broken\n"
        '{"id": "3", "ts": "2009-06-13T14:01:00Z", "text": "need doctors at Rasoul Akram hospital"}\n'
    )
    out = tmp_path / "classified.jsonl"
    assert main(["analyze", str(feed), "--classified", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"{feed}:2: not valid JSON" in captured.err
    assert "1 bad lines skipped" in captured.out
    assert [orjson.loads(line)["id"] for line in out.read_bytes().splitlines()] == ["1", "3"]

    assert main(["analyze", str(feed), "--strict"]) == 1
    assert f"{feed}:2: not valid JSON" in capsys.readouterr().err


def test_missing_feed(tmp_path, capsys):
    assert main(["analyze", str(tmp_path / "none.jsonl")]) == 2
    assert "feed not found" in capsys.readouterr().err
