"""The vocabulary of a run: languages, regions, platforms, authors, name spellings, many hashtags."""

from __future__ import annotations

import re
from collections import Counter

from replay.generate import generate, plan_truth


def test_languages_regions_platforms_authors(day) -> None:
    posts, _, _ = day
    ir = [post for post in posts if post.region == "IR"]
    elsewhere = [post for post in posts if post.region != "IR"]
    assert 0.4 <= len(ir) / len(posts) <= 0.6
    for group in (ir, elsewhere):
        langs = Counter(post.lang for post in group)
        assert set(langs) == {"en", "fa", "fa-Latn"}
        assert min(langs.values()) > 0.05 * len(group)
    assert len({post.region for post in elsewhere}) >= 6 and None not in {post.region for post in posts}
    platforms = Counter(post.platform for post in posts)
    assert platforms.most_common(1)[0][0] == "twitter" and {"facebook", "blog"} <= set(platforms)
    assert 1000 < len({post.author for post in posts}) < len(posts) / 5  # a pool, some busier than others
    persian = [post.text for post in posts if post.lang == "fa"][:200]
    assert all(re.search("[\u0600-\u06ff]", text) for text in persian)
    finglish = [post.text for post in posts if post.lang == "fa-Latn"][:200]
    assert not any(re.search("[\u0600-\u06ff]", text) for text in finglish)


def test_name_spelling_variants_appear(day) -> None:
    posts, _, _ = day
    text = "\n".join(post.text for post in posts[:20000])
    for spelling in (
        "Mousavi",
        "Moussavi",
        "Mossavi",
        "Moosavi",
        "Musavi",
        "موسوی",
        "Ahmadinejad",
        "احمدی‌نژاد",
    ):
        assert spelling in text, spelling


def test_stress_has_many_terms() -> None:
    posts, _ = generate("stress", seed=4, hours=0.25, rate=40)
    tags = Counter(tag for post in posts for tag in re.findall(r"#\w+", post.text))
    assert len(tags) >= 150
    assert len(plan_truth("stress", seed=4).episodes) >= 8
