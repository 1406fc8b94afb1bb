"""Resuming a send: the checkpoint file, and whether ``--resume`` may continue with the options given."""

from __future__ import annotations

from pathlib import Path

import pytest

from replay.checkpoint import (
    FALLBACK_STATE_DIR,
    Checkpoint,
    ResumePoint,
    checkpoint_path,
    resume_point,
    slot_options,
)
from replay.schedule import ReplayOptions

UNREACHABLE = "127.0.0.1:1"  # nothing listens here; the tests stop before Kafka would be needed
WEEK = ReplayOptions(speed=60.0, from_ts=1244764800.0, until_ts=1245369600.0, loops=2, max_gap=300.0)


def saved(tmp_path: Path, options: dict, position: int = 2, last_id: str = "b") -> Path:
    path = tmp_path / "state.json"
    Checkpoint("feed.jsonl", "posts", options, position, last_id).save(path)
    return path


# -- the file ---------------------------------------------------------------------------------------


def test_a_checkpoint_round_trips_and_a_missing_one_is_none(tmp_path):
    checkpoint = Checkpoint("feed.jsonl", "posts", slot_options(WEEK, "jsonl"), 2, "b")
    path = tmp_path / "state" / "cp.json"
    checkpoint.save(path)
    assert Checkpoint.load(path) == checkpoint
    assert [p.name for p in path.parent.iterdir()] == ["cp.json"]  # no partial file left behind
    assert Checkpoint.load(tmp_path / "none.json") is None


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"feed": "f"}', ""])
def test_a_corrupt_checkpoint_is_a_one_line_error_naming_the_file(tmp_path, content):
    path = tmp_path / "cp.json"
    path.write_text(content)
    with pytest.raises(ValueError, match="not a replay checkpoint") as raised:
        Checkpoint.load(path)
    assert str(raised.value).startswith(f"{path}: ") and "\n" not in str(raised.value)


def test_the_file_is_named_by_feed_and_topic_and_kept_next_to_the_feed_or_in_state(tmp_path):
    feed = tmp_path / "feed.jsonl"
    feed.touch()
    here = checkpoint_path(feed, "posts", None)
    assert here.parent == tmp_path and here.name.startswith(".feed.jsonl.posts.")
    assert checkpoint_path(feed, "posts", None) == here
    assert checkpoint_path(feed, "other", None) != here  # another topic has its own checkpoint
    assert checkpoint_path(tmp_path / "copy.jsonl", "posts", None) != here  # so has another feed
    assert checkpoint_path(feed, "posts", tmp_path / "state") == tmp_path / "state" / here.name
    assert checkpoint_path(feed, "posts", None, packaged=True) == FALLBACK_STATE_DIR / here.name


# -- the decision -----------------------------------------------------------------------------------


def test_what_a_checkpoint_records_is_what_fixes_the_slots_not_the_pace():
    recorded = slot_options(WEEK, "jsonl")
    assert recorded == {
        "speed": None,
        "rate": None,
        "from_ts": 1244764800.0,
        "until_ts": 1245369600.0,
        "loops": 2,
        "max_gap": 300.0,
        "format": "jsonl",
    }
    assert slot_options(ReplayOptions(speed=None, rate=50.0, from_ts=1244764800.0), "csv")["format"] == "csv"


def test_same_options_resume_after_the_last_acknowledged_post(tmp_path):
    options = slot_options(WEEK, "jsonl")
    path = saved(tmp_path, options, position=2, last_id="b")
    assert resume_point(path, Checkpoint.load(path), options) == ResumePoint(
        2, "resuming after post b (2 already sent)"
    )


@pytest.mark.parametrize(
    "change", [{"speed": None}, {"speed": 1.0}, {"rate": 10.0}, {"speed": None, "rate": 500.0}]
)
def test_another_speed_or_rate_still_resumes(tmp_path, change):
    path = saved(tmp_path, slot_options(WEEK, "jsonl"))
    other = ReplayOptions(**{**WEEK.__dict__, **change})
    assert resume_point(path, Checkpoint.load(path), slot_options(other, "jsonl")).position == 2


@pytest.mark.parametrize(
    ("change", "fmt"),
    [
        ({"from_ts": 1244851200.0}, "jsonl"),
        ({"from_ts": None}, "jsonl"),
        ({"until_ts": 1245283200.0}, "jsonl"),
        ({"loops": 1}, "jsonl"),
        ({"max_gap": None}, "jsonl"),
        ({"max_gap": 60.0}, "jsonl"),
        ({}, "twitter-v1"),
    ],
)
def test_options_that_change_the_slots_are_refused(tmp_path, change, fmt):
    path = saved(tmp_path, slot_options(WEEK, "jsonl"))
    other = ReplayOptions(**{**WEEK.__dict__, **change})
    with pytest.raises(ValueError) as refused:
        resume_point(path, Checkpoint.load(path), slot_options(other, fmt))
    assert str(refused.value) == (
        f"{path} was written with other --from/--until/--loop/--format/--max-gap options; "
        "use the same ones to resume, or drop --resume"
    )


def test_no_checkpoint_starts_from_the_beginning(tmp_path):
    path = tmp_path / "none.json"
    assert resume_point(path, None, slot_options(WEEK, "jsonl")) == ResumePoint(
        0, f"no checkpoint at {path}; starting from the beginning"
    )


# -- through the command line -----------------------------------------------------------------------


@pytest.fixture
def sends(monkeypatch):
    """``send`` stopped where it would reach Kafka: what it would have sent from, and its saver."""
    import replay.cli

    calls: list[tuple[int, object]] = []

    def fake_send(args, options, survey, slots, start_position, save_checkpoint, end_of_feed_ts=None):
        calls.append((start_position, save_checkpoint))
        return 0

    monkeypatch.setattr(replay.cli, "_send", fake_send)
    return calls


def send(feed: Path, state: Path, *flags: str) -> int:
    from replay.cli import main

    return main(["send", str(feed), "--bootstrap", UNREACHABLE, "--state", str(state), *flags])


@pytest.fixture
def interrupted(tmp_path, sends):
    """A three-post feed, interrupted after its first two posts were acknowledged."""
    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        "".join(
            f'{{"id": "{post_id}", "ts": "2009-06-13T10:0{minute}:00Z", "text": "x"}}\n'
            for minute, post_id in enumerate("abc")
        )
    )
    assert send(feed, tmp_path / "state", "--speed", "60", "--loop", "2", "--from", "2009-06-13T00:00Z") == 0
    _, save_checkpoint = sends.pop()
    save_checkpoint(2, "b")
    return feed


SAME = ("--loop", "2", "--from", "2009-06-13T00:00Z")


@pytest.mark.parametrize(
    "flags",
    [
        (*SAME, "--speed", "60"),
        (*SAME, "--speed", "max"),  # another pace
        (*SAME, "--duration", "10"),
        (*SAME, "--rate", "5"),
        (*SAME, "--speed", "60", "--partitions", "8"),  # only used when the topic is created
        (*SAME, "--speed", "60", "--no-end-marker", "--skip-bad", "--memory-mb", "0"),
    ],
)
def test_the_command_resumes_with_the_same_slot_options(interrupted, tmp_path, sends, capsys, flags):
    assert send(interrupted, tmp_path / "state", "--resume", *flags) == 0
    assert [start for start, _ in sends] == [2]
    assert "replay: resuming after post b (2 already sent)" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags",
    [
        ("--loop", "2"),
        ("--loop", "3", "--from", "2009-06-13T00:00Z"),
        (*SAME, "--until", "2009-06-14T00:00Z"),
        (*SAME, "--max-gap", "60"),
    ],
)
def test_the_command_refuses_to_resume_with_other_slot_options(interrupted, tmp_path, sends, capsys, flags):
    assert send(interrupted, tmp_path / "state", "--resume", *flags) == 2
    assert sends == []
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "was written with other --from/--until/--loop/--format/--max-gap options" in err


def test_another_feed_or_topic_has_no_checkpoint_and_starts_over(interrupted, tmp_path, sends, capsys):
    copy = tmp_path / "copy.jsonl"
    copy.write_bytes(interrupted.read_bytes())
    assert send(copy, tmp_path / "state", "--resume", *SAME) == 0
    assert send(interrupted, tmp_path / "state", "--resume", *SAME, "--topic", "other") == 0
    assert [start for start, _ in sends] == [0, 0]
    assert capsys.readouterr().err.count("; starting from the beginning") == 2


def test_without_resume_a_checkpoint_is_ignored(interrupted, tmp_path, sends):
    assert send(interrupted, tmp_path / "state", "--loop", "5") == 0
    assert [start for start, _ in sends] == [0]


def test_a_corrupt_checkpoint_is_a_one_line_usage_error(interrupted, tmp_path, sends, capsys):
    (state_file,) = (tmp_path / "state").iterdir()
    state_file.write_text("{not json")
    assert send(interrupted, tmp_path / "state", "--resume", *SAME) == 2
    assert sends == []
    err = capsys.readouterr().err
    assert err.startswith(f"replay: {state_file}: not a replay checkpoint (") and err.count("\n") == 1
