"""The scenario generator: determinism, the feed contract, and ground truth whose effects are exact.

Term checks use the watchlist spellings written out here, not the generator's own matcher.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter
from pathlib import Path

import orjson
import pytest

from feed.model import Post, parse_ts
from feed.reader import read_feed
from replay.generate import (
    CATEGORIES,
    SCENARIOS,
    TEHRAN_OFFSET_S,
    Truth,
    diurnal_factor,
    generate,
    labelled_posts,
    plan_truth,
    write_scenario,
)

HOUR = 3600.0
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$")
KEY = re.compile(r"^(\*|term:\S+|category:(" + "|".join(CATEGORIES) + r"))$")
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


@pytest.fixture(scope="module")
def day() -> tuple[list[Post], list[str], Truth]:
    """A day of iran2009 at the default rate: every episode type, compressed into 24 hours."""
    rows = list(labelled_posts("iran2009", seed=1, hours=24))
    truth = plan_truth("iran2009", seed=1, hours=24)
    return [post for post, _ in rows], [category for _, category in rows], truth


def episodes_of(truth: Truth, kind: str, key_prefix: str = ""):
    found = [ep for ep in truth.episodes if ep.type == kind and ep.key.startswith(key_prefix)]
    assert found, f"no {kind} {key_prefix} episode in {truth.episodes}"
    return found


# -- determinism and the feed contract ------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    runs = {}
    for label, seed in (("a", 7), ("b", 7), ("c", 8)):
        feed, truth = tmp_path / f"{label}.jsonl", tmp_path / f"{label}.json"
        count, _ = write_scenario("iran2009", seed=seed, hours=2, rate=5, feed_path=feed, truth_path=truth)
        assert count > 20000
        runs[label] = (feed.read_bytes(), truth.read_bytes())
    assert runs["a"] == runs["b"]
    assert runs["a"][0] != runs["c"][0]
    assert runs["a"][1] != runs["c"][1]  # the layout jitter depends on the seed too


def test_written_feed_is_exactly_the_generated_posts(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    count, truth = write_scenario("stress", seed=3, hours=1, rate=10, feed_path=feed, truth_path=None)
    posts, same_truth = generate("stress", seed=3, hours=1, rate=10)
    posts = list(posts)
    assert truth == same_truth
    assert count == len(posts)
    assert feed.read_bytes() == b"".join(post.to_json() + b"\n" for post in posts)
    assert list(read_feed(feed)) == posts  # validates every line against the contract


def test_ids_unique_times_ordered_and_inside_the_span(day) -> None:
    posts, _, truth = day
    assert len({post.id for post in posts}) == len(posts)
    assert posts[0].id == "gen-1-0"
    assert all(a.ts <= b.ts for a, b in itertools.pairwise(posts))
    assert truth.start <= posts[0].ts and posts[-1].ts < truth.end
    assert {post.ts * 1000 % 1 for post in posts[:1000]} == {0}  # whole milliseconds


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


def test_diurnal_cycle_on_tehran_time(day) -> None:
    posts, _, truth = day
    jumps = [ep for ep in truth.episodes if ep.type != "filtering"]
    quiet = [p for p in posts if not any(ep.contains(p.ts) for ep in jumps)]
    by_hour = Counter(int((post.ts + TEHRAN_OFFSET_S) // HOUR) % 24 for post in quiet)
    night = sum(by_hour[h] for h in (3, 4, 5)) / 3
    evening = sum(by_hour[h] for h in (19, 20, 21)) / 3
    assert evening > 3 * night


def test_mean_rate_is_the_requested_rate() -> None:
    posts, truth = generate("quiet", seed=5, hours=12, rate=2)
    count = sum(1 for _ in posts)
    assert abs(count - 2 * 12 * HOUR) < 0.03 * 2 * 12 * HOUR
    assert truth.episodes == () and {d.type for d in truth.decoys} == {"fade", "trend"}


def test_posts_are_streamed_not_built_up_front() -> None:
    started = time.perf_counter()
    posts, _ = generate("stress", seed=1)  # about five million posts
    first = list(itertools.islice(posts, 1000))
    assert len(first) == 1000 and time.perf_counter() - started < 3


def test_generation_rate_including_writing(tmp_path: Path) -> None:
    started = time.perf_counter()
    count, _ = write_scenario("stress", seed=2, hours=0.25, rate=200, feed_path=tmp_path / "f.jsonl")
    per_minute = count / (time.perf_counter() - started) * 60
    assert count > 150000
    assert per_minute > 1_000_000, f"{per_minute:,.0f} posts/min"


def test_stress_has_many_terms() -> None:
    posts, _ = generate("stress", seed=4, hours=0.25, rate=40)
    tags = Counter(tag for post in posts for tag in re.findall(r"#\w+", post.text))
    assert len(tags) >= 150
    assert len(plan_truth("stress", seed=4).episodes) >= 8


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unknown scenario"):
        generate("nope", seed=1)
    with pytest.raises(ValueError, match="hours"):
        generate("iran2009", seed=1, hours=0)
    with pytest.raises(ValueError, match="rate"):
        plan_truth("iran2009", seed=1, rate=-1)


# -- truth ----------------------------------------------------------------------------------------


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


def test_default_runs_and_their_episodes() -> None:
    week = plan_truth("iran2009", seed=1)
    assert week.to_dict()["start"] == "2009-06-12T00:00:00Z" and week.end - week.start == 168 * HOUR
    assert week.rate == 1.5
    keys = {(ep.type, ep.key) for ep in week.episodes}
    assert {("filtering", "term:democracy"), ("outage", "*"), ("surge", "*")} <= keys
    assert {("surge", "term:#neda"), ("surge", "category:medical")} <= keys
    assert plan_truth("stress", seed=1).rate == 200
    assert set(SCENARIOS) >= {"iran2009", "stress", "quiet"}
    assert plan_truth("quiet", seed=1).episodes == ()


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


# -- the effects are real and exact -----------------------------------------------------------------


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
