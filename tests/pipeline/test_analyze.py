import io
import tempfile
from pathlib import Path

import orjson

from feed import read_feed
from pipeline.analyze import analyze
from pipeline.classify import CATEGORIES
from pipeline.cli import main
from pipeline.engine import Engine
from replay.generate import generate
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


def test_analyze_counts_a_post_replayed_twice_once_in_detection():
    posts, _ = generate("iran2009", seed=2, hours=4)
    posts = list(posts)
    once, twice = io.BytesIO(), io.BytesIO()
    write_feed_bytes(once, posts)
    # Every tenth post comes again a little later in the file (same id, same event time).
    doubled = []
    for i, post in enumerate(posts):
        doubled.append(post)
        if i % 10 == 0:
            doubled.append(post)
    write_feed_bytes(twice, doubled)
    alerts = []
    for buffer in (once, twice):
        engine, out = Engine(), io.BytesIO()
        report = analyze_bytes(buffer.getvalue(), engine, out)
        alerts.append(out.getvalue())
        assert engine.detector.posts == len(posts)
    assert alerts[0] == alerts[1] and report.posts == len(doubled)


def write_feed_bytes(buffer: io.BytesIO, posts) -> None:
    for post in posts:
        buffer.write(post.to_json() + b"\n")


def analyze_bytes(raw: bytes, engine: Engine, alerts_out: io.BytesIO):
    with tempfile.TemporaryDirectory() as folder:
        feed = Path(folder) / "feed.jsonl"
        feed.write_bytes(raw)
        return analyze(feed, engine=engine, alerts_out=alerts_out)


def test_a_post_the_engine_raises_on_is_reported_as_file_and_line_and_the_run_goes_on(
    tmp_path, capsys, monkeypatch
):
    from pipeline.classify import Classifier

    original = Classifier.classify

    def classify(self, text, lang=None):
        if "poison" in text:
            raise IndexError("string index out of range")
        return original(self, text, lang)

    monkeypatch.setattr(Classifier, "classify", classify)
    feed = tmp_path / "feed.jsonl"
    lines = [
        b'{"id": "1", "ts": "2009-06-13T10:00:00Z", "text": "Tehran protest"}',
        b'{"id": "2", "ts": "2009-06-13T10:00:01Z", "text": "a poison post"}',
        b'{"id": "3", "ts": "2009-06-13T10:00:02Z", "text": "Tehran protest again"}',
    ]
    feed.write_bytes(b"\n".join(lines) + b"\n")
    out = tmp_path / "classified.jsonl"
    assert main(["analyze", str(feed), "--classified", str(out)]) == 0
    assert [orjson.loads(line)["id"] for line in out.read_bytes().splitlines()] == ["1", "3"]
    captured = capsys.readouterr()
    assert f"{feed}:2: the engine raised IndexError: string index out of range" in captured.err
    assert "1 bad lines skipped (1 the engine raised on)" in captured.out
    assert main(["analyze", str(feed), "--strict"]) == 1  # --strict stops at it
    assert f"{feed}:2: the engine raised IndexError" in capsys.readouterr().err


def test_analyze_reads_deletion_notices_and_counts_those_of_posts_never_seen(tmp_path, capsys):
    from feed import Post
    from feed.model import Deletion

    feed = tmp_path / "feed.jsonl"
    ts = 1245000000.0
    lines = [
        Post(
            id="p1", ts=ts, text="Basij shooting at protesters in Tehran", author="a", region="IR"
        ).to_json(),
        Deletion(id="p1", ts=ts + 60, author="a").to_json(),
        Deletion(id="unknown", ts=ts + 61).to_json(),
        Post(id="p2", ts=ts + 900, text="Calm in Shiraz tonight", author="b", region="IR").to_json(),
    ]
    feed.write_bytes(b"\n".join(lines) + b"\n")
    assert main(["analyze", str(feed)]) == 0
    out = capsys.readouterr().out
    assert "analyzed 2 posts" in out
    assert "2 deletion notices (1 of posts never seen)" in out
