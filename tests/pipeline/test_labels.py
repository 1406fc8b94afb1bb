"""Bounded metric labels (pipeline/labels.py): whatever a feed sends, a label takes one of few values."""

import pytest

from pipeline.labels import platform_label, region_label


@pytest.mark.parametrize(
    ("platform", "label"),
    [("twitter", "twitter"), ("Facebook", "facebook"), (None, "unknown"), ("myspace", "other")],
)
def test_platform_labels_are_bounded(platform, label):
    assert platform_label(platform) == label


@pytest.mark.parametrize(
    ("region", "label"),
    [
        ("IR", "IR"),
        ("us", "US"),
        (None, "unknown"),
        ("Tehran", "invalid"),
        ("ایران", "invalid"),
        ("I1", "invalid"),
    ],
)
def test_region_labels_are_bounded(region, label):
    assert region_label(region) == label
