"""Which detect services a worker runs, by its settings (DETECT_PARTITIONS, DETECT_ROLES). No broker."""

from __future__ import annotations

import pytest

from pipeline.settings import Settings
from pipeline.stream.detect_stage import detect_roles


def roles(**env: str) -> list[str]:
    settings = Settings.from_env(env)
    return [role.name for role in detect_roles(settings, settings.detector_config(4))]


def test_one_detect_partition_is_one_detector_whatever_the_roles():
    assert roles() == ["detect"]
    assert roles(DETECT_ROLES="merge") == ["detect"]


def test_shards_and_the_merge_by_default_or_the_one_named():
    assert roles(DETECT_PARTITIONS="4") == ["shards", "merge"]
    assert roles(DETECT_PARTITIONS="4", DETECT_ROLES="merge, shards") == ["shards", "merge"]
    assert roles(DETECT_PARTITIONS="4", DETECT_ROLES="shards") == ["shards"]
    assert roles(DETECT_PARTITIONS="4", DETECT_ROLES="merge") == ["merge"]


@pytest.mark.parametrize("value", ["", ",", "alerts", "shards,alerts", "Merge"])
def test_roles_other_than_shards_and_merge_are_refused_in_one_line(value):
    with pytest.raises(ValueError, match=r"^DETECT_ROLES=.* must be shards, merge or shards,merge$"):
        Settings(detect_roles=value)
