"""Shared by the generator's tests: one day of iran2009, generated once for the whole package."""

from __future__ import annotations

import pytest

from feed.model import Post
from replay.generate import Truth, labelled_posts, plan_truth


@pytest.fixture(scope="package")
def day() -> tuple[list[Post], list[str], Truth]:
    """A day of iran2009 at the default rate: every episode type, compressed into 24 hours."""
    rows = list(labelled_posts("iran2009", seed=1, hours=24))
    truth = plan_truth("iran2009", seed=1, hours=24)
    return [post for post, _ in rows], [category for _, category in rows], truth
