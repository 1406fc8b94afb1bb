"""The injected episodes and decoys: their effects are real inside their windows and absent outside.

Term checks use the watchlist spellings written out here, not the generator's own matcher.
"""

from __future__ import annotations

import re

from feed.model import Post
from replay.generate import Truth, diurnal_factor

HOUR = 3600.0
SPELLINGS = {
    "democracy": ("democracy", "دموکراسی", "demokrasi"),
    "mousavi": ("mousavi", "moussavi", "mossavi", "moosavi", "musavi", "موسوی"),
    "unrest": ("unrest", "ناآرامی", "naarami", "na-arami"),
}
EVASIONS = ("d3mocracy", "дemocracy", "de.mocracy", "d3mokrasi", "дemokrasi", "de.mokrasi", "دموک.راسی")
MEDICAL_WORDS = ("doctor", "hospital", "nurse", "blood", "بیمارستان", "پزشک", "زخمی", "bimarestan", "zakhmi")


def contains(post: Post, term: str) -> bool:
    text = post.text.lower()
    if term.startswith("#"):
        return re.search(re.escape(term) + r"(?!\w)", text) is not None
    return any(spelling in text for spelling in SPELLINGS[term])


def cycle(start: float, end: float) -> float:
    """The mean diurnal level over a window, to compare windows at different times of day."""
    minutes = range(int(start), int(end), 60)
    return sum(diurnal_factor(moment + 30) for moment in minutes) / len(minutes)


def between(posts: list[Post], start: float, end: float) -> list[Post]:
    return [post for post in posts if start <= post.ts < end]


def episodes_of(truth: Truth, kind: str, key_prefix: str = ""):
    found = [ep for ep in truth.episodes if ep.type == kind and ep.key.startswith(key_prefix)]
    assert found, f"no {kind} {key_prefix} episode in {truth.episodes}"
    return found


def test_filtering_suppresses_the_term_in_ir_only(day) -> None:
    posts, _, truth = day
    for ep in episodes_of(truth, "filtering"):
        term = ep.key.removeprefix("term:")
        inside = between(posts, ep.start, ep.end)
        ir = [post for post in inside if post.region == "IR"]
        assert not [post.text for post in ir if contains(post, term)]
        assert sum(contains(post, term) for post in inside if post.region != "IR") > 50
        assert len(ir) > 0.5 * len(inside) * 0.8  # the rest of IR goes on
        before = [post for post in between(posts, ep.start - HOUR, ep.start) if post.region == "IR"]
        share = sum(contains(post, term) for post in before) / len(before)
        assert share >= 0.08, f"{term} only in {share:.1%} of IR posts before the filtering"
        after = [post for post in between(posts, ep.end, ep.end + HOUR) if post.region == "IR"]
        assert sum(contains(post, term) for post in after) > 0.5 * share * len(after)
    democracy = next(ep for ep in truth.episodes if ep.key == "term:democracy")
    evading = [
        post
        for post in between(posts, democracy.start, democracy.end)
        if post.region == "IR" and any(e in post.text.lower() for e in EVASIONS)
    ]
    assert evading  # a few slip through with an evasion spelling
    outside = between(posts, truth.start, democracy.start)
    assert not any(e in post.text.lower() for post in outside for e in EVASIONS)


def test_outage_silences_ir(day) -> None:
    posts, _, truth = day
    for ep in episodes_of(truth, "outage"):
        length = ep.end - ep.start
        inside, before = between(posts, ep.start, ep.end), between(posts, ep.start - length, ep.start)
        ir_in = sum(post.region == "IR" for post in inside)
        ir_before = sum(post.region == "IR" for post in before)
        assert ir_before > 1000 and ir_in <= 0.10 * ir_before
        other_in = sum(post.region != "IR" for post in inside)
        other_before = sum(post.region != "IR" for post in before)
        assert other_in > 0.8 * other_before


def test_volume_surge(day) -> None:
    posts, _, truth = day
    for ep in episodes_of(truth, "surge", "*"):
        per_minute = len(between(posts, ep.start, ep.end)) / ((ep.end - ep.start) / 60)
        before = len(between(posts, ep.start - HOUR, ep.start)) / 60
        assert per_minute >= 2.5 * before
        after = len(between(posts, ep.end, ep.end + HOUR)) / 60
        assert after / cycle(ep.end, ep.end + HOUR) < 1.3 * before / cycle(ep.start - HOUR, ep.start)


def test_hashtag_surge(day) -> None:
    posts, _, truth = day
    for ep in episodes_of(truth, "surge", "term:#"):
        tag = ep.key.removeprefix("term:")
        inside, before = between(posts, ep.start, ep.end), between(posts, ep.start - HOUR, ep.start)
        share_in = sum(contains(post, tag) for post in inside) / len(inside)
        share_before = sum(contains(post, tag) for post in before) / len(before)
        assert share_in >= 0.2 and share_before < 0.01
        ir_share = sum(contains(p, tag) for p in inside if p.region == "IR") / sum(
            p.region == "IR" for p in inside
        )
        assert ir_share >= 0.2  # every region alike


def test_category_surge(day) -> None:
    posts, categories, truth = day
    for ep in episodes_of(truth, "surge", "category:"):
        category = ep.key.removeprefix("category:")
        minutes = (ep.end - ep.start) / 60

        def rate(start: float, end: float, *, labelled: bool, category: str = category) -> float:
            hits = 0
            for post, label in zip(posts, categories, strict=True):
                if start <= post.ts < end:
                    if labelled:
                        hits += label == category
                    else:
                        hits += any(word in post.text.lower() for word in MEDICAL_WORDS)
            return hits / ((end - start) / 60) / cycle(start, end)

        assert rate(ep.start, ep.end, labelled=True) >= 3 * rate(ep.start - HOUR, ep.start, labelled=True)
        if category == "medical":
            assert rate(ep.start, ep.end, labelled=False) >= 2.5 * rate(
                ep.start - HOUR, ep.start, labelled=False
            )
        assert minutes >= 30


def test_fading_term_fades_everywhere_alike(day) -> None:
    posts, _, truth = day
    fade = next(decoy for decoy in truth.decoys if decoy.type == "fade")
    term = fade.key.removeprefix("term:")
    assert all(ep.key != fade.key for ep in truth.episodes)
    drops = []
    for in_ir in (True, False):
        region = [post for post in posts if (post.region == "IR") == in_ir]
        before = between(region, fade.start - 3 * HOUR, fade.start)
        after = between(region, fade.end, fade.end + 3 * HOUR)
        share_before = sum(contains(post, term) for post in before) / len(before)
        share_after = sum(contains(post, term) for post in after) / len(after)
        assert share_before > 0.01
        drops.append(share_after / share_before)
    assert all(drop < 0.4 for drop in drops)
    assert 0.4 < drops[0] / drops[1] < 2.5
