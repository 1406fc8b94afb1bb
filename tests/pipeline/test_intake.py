import orjson
import pytest

from feed import FeedError
from pipeline.intake import decode_post, platform_label, region_label

LIMIT = 64 * 1024


def test_decodes_a_valid_record():
    raw = orjson.dumps({"id": "a", "ts": "2009-06-13T14:05:09Z", "text": "hi", "platform": "twitter"})
    post = decode_post(raw, max_bytes=LIMIT)
    assert (post.id, post.platform, post.ts) == ("a", "twitter", 1244901909.0)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (None, "empty"),
        (b"\xff\xfe{}", "invalid_json"),
        (b"{not json", "invalid_json"),
        (b'"just a string"', "not_object"),
        (b'{"id": "a", "text": "x"}', "missing_field"),
        (b'{"id": "a", "ts": "noon", "text": "x"}', "bad_ts"),
        (orjson.dumps({"id": "a", "ts": 1, "text": "x" * LIMIT}), "oversized"),
    ],
)
def test_bad_records_are_refused_with_a_bounded_reason(raw, code):
    with pytest.raises(FeedError) as caught:
        decode_post(raw, max_bytes=LIMIT)
    assert caught.value.code == code


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
