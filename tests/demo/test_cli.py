"""demo/cli.py's pieces that need no stack: --help, the run directory, the feed's span, what keys do."""

from __future__ import annotations

import pytest

from demo.cli import Keys, feed_bounds, key_note, main, prepare_run_dir
from demo.config import ConfigError
from replay.ctl import ControlError
from replay.generate import write_scenario
from replay.seed import SEED_FEED_PATH


def test_help_and_arguments(capsys):
    assert main(["--help"]) == 0
    assert "DEMO_SECONDS" in capsys.readouterr().out
    assert main(["now"]) == 2
    assert "takes no arguments" in capsys.readouterr().err


def test_a_bad_setting_is_one_line_and_exit_2(monkeypatch, capsys):
    monkeypatch.setenv("DEMO_SECONDS", "soon")
    assert main([]) == 2
    assert capsys.readouterr().err.strip() == "demo: DEMO_SECONDS='soon': expected a positive number"


def test_the_run_directory_is_emptied_only_when_it_is_a_demos(tmp_path):
    run = prepare_run_dir(tmp_path / "run")
    (run / "old.log").write_text("x")
    assert prepare_run_dir(run) == run and not (run / "old.log").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "precious.txt").write_text("x")
    with pytest.raises(ConfigError, match="not empty and not a demo's directory"):
        prepare_run_dir(other)
    assert (other / "precious.txt").exists()


def test_feed_bounds(tmp_path):
    feed = tmp_path / "feed.jsonl"
    _, truth = write_scenario("iran2009", seed=1, hours=2, rate=None, feed_path=feed)
    first, last = feed_bounds(feed, sorted_feed=True)
    assert truth.start <= first < truth.start + 60 and truth.end - 60 < last <= truth.end
    assert feed_bounds(feed, sorted_feed=False) == (first, last)
    first, last = feed_bounds(SEED_FEED_PATH, sorted_feed=False)
    assert 6 * 86400 < last - first < 10 * 86400  # June 12-20, 2009


class FakeReplay:
    def __init__(self) -> None:
        self.speed, self.paused = 1440.0, False

    def faster(self):
        self.speed = 3600.0
        return {"speed": self.speed, "paused": self.paused}

    def slower(self):
        raise ControlError("no replay is listening at http://127.0.0.1:9109")

    def toggle_pause(self):
        self.paused = not self.paused
        return {"speed": self.speed, "paused": self.paused}


def test_keys_steer_the_replay_and_say_what_they_did():
    keys = Keys()
    keys("+")
    assert list(keys.notes) == ["the replay is not running"]
    keys.client = FakeReplay()
    keys("+")
    assert keys.notes[-1] == "speed 3,600x"
    keys(" ")
    assert keys.notes[-1] == "paused: space resumes"
    keys(" ")
    assert keys.notes[-1] == "resumed at 3,600x"
    keys("-")
    assert keys.notes[-1].startswith("no replay is listening")
    keys("x")  # not a key of the demo
    assert not keys.quit.is_set()
    keys("q")
    assert keys.quit.is_set()


def test_key_notes():
    assert key_note("faster", {"speed": "max", "paused": False}) == "speed max speed"
    assert key_note("slower", {"speed": 0.5, "paused": True}) == "speed 0.5x (paused)"
