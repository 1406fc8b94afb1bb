"""The plan of a run: its arguments, the ground truth and its file format, where episodes fall for any
run length, and the diurnal cycle."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import orjson
import pytest

from feed.model import parse_ts
from replay.generate import (
    CATEGORIES,
    SCENARIOS,
    TEHRAN_OFFSET_S,
    Truth,
    generate,
    plan_truth,
    write_scenario,
)

HOUR = 3600.0
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
KEY = re.compile(r"^(\*|term:\S+|category:(" + "|".join(CATEGORIES) + r"))$")


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        generate("nope", seed=1)
    with pytest.raises(ValueError, match="hours"):
        generate("iran2009", seed=1, hours=0)
    with pytest.raises(ValueError, match="rate"):
        plan_truth("iran2009", seed=1, rate=-1)


def test_truth_json_format(tmp_path: Path) -> None:
    path = tmp_path / "truth.json"
    _, truth = write_scenario("iran2009", seed=1, hours=6, rate=1, feed_path=tmp_path / "f", truth_path=path)
    raw = orjson.loads(path.read_bytes())
    assert raw["scenario"] == "iran2009" and raw["seed"] == 1
    assert isinstance(raw["episodes"], list) and raw["episodes"]
    for item in raw["episodes"]:
        assert set(item) == {"type", "key", "region", "start", "end"}
        assert item["type"] in ("filtering", "outage", "surge")
        assert KEY.match(item["key"]), item["key"]
        assert item["region"] is None or isinstance(item["region"], str)
        assert RFC3339_Z.match(item["start"]) and RFC3339_Z.match(item["end"])
        assert truth.start <= parse_ts(item["start"]) < parse_ts(item["end"]) <= truth.end
        if item["type"] in ("filtering", "outage"):
            assert item["region"] == "IR"
        else:
            assert item["region"] is None
    for item in raw["decoys"]:
        assert item["decoy"] is True and item["type"] in ("fade", "trend")
    assert Truth.from_json(path.read_bytes()) == truth


@pytest.mark.parametrize("hours", [6, 12, 24, 50, 168, 400])
def test_episodes_scale_with_the_run(hours: float) -> None:
    truth = plan_truth("iran2009", seed=3, hours=hours)
    assert {ep.type for ep in truth.episodes} == {"filtering", "outage", "surge"}
    assert len(truth.episodes) == len(SCENARIOS["iran2009"].episodes)
    previous_end = truth.start
    for ep in truth.episodes:
        assert ep.end - ep.start >= 10 * 60
        assert ep.start % 60 == 0 and ep.end % 60 == 0
        assert ep.start - previous_end >= 0.3 * (ep.end - ep.start)  # a clean stretch before each
        previous_end = ep.end
    assert previous_end <= truth.end


def test_diurnal_cycle_on_tehran_time(day) -> None:
    posts, _, truth = day
    jumps = [ep for ep in truth.episodes if ep.type != "filtering"]
    quiet = [p for p in posts if not any(ep.contains(p.ts) for ep in jumps)]
    by_hour = Counter(int((post.ts + TEHRAN_OFFSET_S) // HOUR) % 24 for post in quiet)
    night = sum(by_hour[h] for h in (3, 4, 5)) / 3
    evening = sum(by_hour[h] for h in (19, 20, 21)) / 3
    assert evening > 3 * night
