"""The existing scenarios keep their bytes: a new scenario or feature (issue 18's accounts, deletion
notices) must change nothing of iran2009, quiet or stress for the same seed. The digests were taken
before the tactics scenario was added; change them only on purpose."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from replay.generate import write_scenario

GOLDEN = [
    # scenario, seed, hours, rate, sha256 of the feed and of the truth (first 16 hex digits)
    ("iran2009", 7, 2, 5, "103f02d65ee8a446", "bc6bd29074fb09d1"),
    ("quiet", 5, 12, 2, "e633bd20a9ef65c2", "7b4a8538d02fa6a7"),
    ("stress", 1, 0.1, 10, "2686ee20cb5c5185", "d21879080d996b00"),
]


@pytest.mark.parametrize(("name", "seed", "hours", "rate", "feed_digest", "truth_digest"), GOLDEN)
def test_existing_scenarios_keep_their_bytes(
    tmp_path: Path, name: str, seed: int, hours: float, rate: float, feed_digest: str, truth_digest: str
) -> None:
    feed, truth = tmp_path / "feed.jsonl", tmp_path / "truth.json"
    write_scenario(name, seed=seed, hours=hours, rate=rate, feed_path=feed, truth_path=truth)
    assert hashlib.sha256(feed.read_bytes()).hexdigest()[:16] == feed_digest
    assert hashlib.sha256(truth.read_bytes()).hexdigest()[:16] == truth_digest
