"""The tactics scenario (issue 18): accounts, deletion notices, and what acts on accounts rather than words.

Checked on the whole three days at a third of the default rate (about 130k records, generated once).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import defaultdict
from pathlib import Path

import orjson
import pytest

from feed.model import Deletion, Post, parse_ts
from feed.reader import read_items
from replay.generate import (
    DECOY_TYPES,
    EPISODE_TYPES,
    SCENARIOS,
    Truth,
    diurnal_factor,
    generate,
    plan_truth,
    write_scenario,
)
from replay.generate.templates import CASCADE_ORIGINAL

HOUR = 3600.0
DAY = 86400.0
RATE = 0.5
KHAMENEI = ("khamenei", "khameneyi", "خامنه")
MOUSAVI = ("mousavi", "moussavi", "mossavi", "moosavi", "musavi", "موسوی")


class Run:
    def __init__(self, items: list[Post | Deletion], truth: Truth) -> None:
        self.items, self.truth = items, truth
        self.posts = [item for item in items if isinstance(item, Post)]
        self.deletions = [item for item in items if isinstance(item, Deletion)]
        self.by_id = {post.id: post for post in self.posts}
        self.by_author: dict[str, list[Post]] = defaultdict(list)
        for post in self.posts:
            self.by_author[post.author].append(post)

    def episode(self, kind: str, key: str | None = None):
        found = [ep for ep in self.truth.episodes if ep.type == kind and (key is None or ep.key == key)]
        assert len(found) == 1, (kind, key, self.truth.episodes)
        return found[0]

    def decoy(self, kind: str):
        found = [decoy for decoy in self.truth.decoys if decoy.type == kind]
        assert len(found) == 1, (kind, self.truth.decoys)
        return found[0]


@pytest.fixture(scope="module")
def run() -> Run:
    items, truth = generate("tactics", seed=1, rate=RATE)
    return Run(list(items), truth)


def has(post: Post, spellings: tuple[str, ...]) -> bool:
    text = post.text.lower()
    return any(spelling in text for spelling in spellings)


def test_truth_lists_every_episode_and_decoy(run: Run) -> None:
    truth = run.truth
    assert truth.scenario == "tactics" and truth.end - truth.start == 72 * HOUR
    assert truth.to_dict()["start"] == "2009-06-14T00:00:00Z"
    assert {(ep.type, ep.key, ep.region) for ep in truth.episodes} == {
        ("deletion", "*", "IR"),
        ("deletion", "term:khamenei", "IR"),
        ("coordination", "cluster:*", "IR"),
        ("surge", "term:#cnnfail", None),  # the hashtag campaign's tag does surge
        ("filtering", "term:mousavi", "IR"),
        ("relocation", "*", "IR"),
    }
    assert {decoy.type for decoy in truth.decoys} == {"rt_cascade", "hashtag_campaign", "gap"}
    assert {ep.type for ep in truth.episodes} <= set(EPISODE_TYPES)
    assert {decoy.type for decoy in truth.decoys} <= set(DECOY_TYPES)
    for window in (*truth.episodes, *truth.decoys):
        assert truth.start + DAY <= window.start < window.end <= truth.end  # a day of history first
        assert window.start % 60 == 0 and window.end % 60 == 0
    assert Truth.from_json(truth.to_json()) == truth
    assert plan_truth("tactics", seed=1, rate=RATE) == truth
    # The relocation wave runs inside the filtering episode in its destination.
    filtering, relocation = run.episode("filtering"), run.episode("relocation")
    assert filtering.start < relocation.start < relocation.end < filtering.end
    # Apart from each other otherwise: no two other windows overlap, and each has an hour before it clear.
    others = sorted(
        [ep for ep in (*truth.episodes, *truth.decoys) if ep.type not in ("relocation", "hashtag_campaign")],
        key=lambda ep: ep.start,
    )
    for before, after in itertools.pairwise(others):
        assert after.start - before.end >= 3 * HOUR, (before, after)
    assert run.decoy("gap").end <= truth.end - 1.5 * HOUR  # traffic comes back inside the run


def test_layout_shifts_with_the_seed_and_keeps_its_shape() -> None:
    one, other = plan_truth("tactics", seed=1), plan_truth("tactics", seed=2)
    assert one.episodes != other.episodes
    shifts = {
        b.start - a.start
        for a, b in zip(one.episodes + one.decoys, other.episodes + other.decoys, strict=True)
    }
    assert len(shifts) == 1 and abs(shifts.pop()) <= 60 * 60


def test_feed_is_sorted_by_event_time_and_inside_the_run(run: Run) -> None:
    times = [item.ts for item in run.items]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert run.truth.start <= times[0] and times[-1] < run.truth.end
    assert len({post.id for post in run.posts}) == len(run.posts)
    assert run.posts[0].id == "gen-1-0"


def test_deletions_name_earlier_posts_once_by_their_author(run: Run) -> None:
    assert len(run.deletions) > 0.015 * len(run.posts)
    seen: dict[str, float] = {}
    deleted = set()
    for item in run.items:
        if isinstance(item, Post):
            seen[item.id] = item.ts
            continue
        assert item.id in seen, f"deletion of {item.id} before the post"
        assert seen[item.id] < item.ts
        assert item.id not in deleted
        deleted.add(item.id)
        assert item.author == run.by_id[item.id].author
    delays = [item.ts - run.by_id[item.id].ts for item in run.deletions]
    assert min(delays) >= 60


def test_background_deletions_are_a_steady_few_per_cent(run: Run) -> None:
    truth = run.truth
    quiet_start, quiet_end = truth.start + 6 * HOUR, run.episode("deletion", "*").start - HOUR
    published = [p for p in run.posts if quiet_start <= p.ts < quiet_end - DAY / 2]
    ids = {p.id for p in published}
    gone = [d for d in run.deletions if d.id in ids and d.ts < quiet_end]  # before the wave
    assert 0.025 < len(gone) / len(published) < 0.035  # 3%
    delays = sorted(d.ts - run.by_id[d.id].ts for d in gone)
    assert delays[0] >= 120 and HOUR / 2 < delays[len(delays) // 2] < 3 * HOUR  # minutes to hours


def deletions_per_hour(run: Run, start: float, end: float, keep) -> float:
    found = [d for d in run.deletions if start <= d.ts < end and keep(run.by_id[d.id])]
    return len(found) / ((end - start) / HOUR)


def test_deletion_wave_in_ir(run: Run) -> None:
    wave = run.episode("deletion", "*")
    assert wave.region == "IR" and wave.end - wave.start == HOUR

    def in_ir(post: Post) -> bool:
        return post.region == "IR"

    inside = deletions_per_hour(run, wave.start, wave.end, in_ir)
    before = deletions_per_hour(run, wave.start - 6 * HOUR, wave.start, in_ir)
    after = deletions_per_hour(run, wave.end, wave.end + 6 * HOUR, in_ir)
    assert inside > 5 * before and after < 2 * before
    elsewhere = deletions_per_hour(run, wave.start, wave.end, lambda p: p.region != "IR")
    assert elsewhere < 2 * deletions_per_hour(
        run, wave.start - 6 * HOUR, wave.start, lambda p: p.region != "IR"
    )
    notices = [d for d in run.deletions if wave.start <= d.ts < wave.end and in_ir(run.by_id[d.id])]
    assert len({d.author for d in notices}) > 0.7 * len(notices)  # many distinct authors
    assert all(run.by_id[d.id].ts > wave.start - DAY for d in notices)  # their earlier posts


def test_term_targeted_deletion(run: Run) -> None:
    ep = run.episode("deletion", "term:khamenei")
    assert ep.region == "IR"

    def term_in_ir(post: Post) -> bool:
        return post.region == "IR" and has(post, KHAMENEI)

    inside = deletions_per_hour(run, ep.start, ep.end, term_in_ir)
    before = deletions_per_hour(run, ep.start - 12 * HOUR, ep.start, term_in_ir)
    assert inside >= 15 and inside > 15 * max(before, 0.25)
    # The term elsewhere is deleted as usual.
    outside = deletions_per_hour(run, ep.start, ep.end, lambda p: p.region != "IR" and has(p, KHAMENEI))
    assert outside <= 2


def claim_posts(run: Run) -> list[Post]:
    return [p for p in run.posts if "vanak" in p.text.lower() and "trust them" in p.text.lower()]


def test_sockpuppets_are_new_accounts_without_history(run: Run) -> None:
    ep = run.episode("coordination")
    assert ep.region == "IR" and ep.end - ep.start == 10 * 60
    posts = claim_posts(run)
    assert all(ep.start <= p.ts < ep.end for p in posts)
    accounts = {p.author for p in posts}
    assert 20 <= len(accounts) <= 40
    assert len(posts) >= len(accounts)
    for author in accounts:
        history = run.by_author[author]
        assert all(ep.start <= p.ts < ep.end for p in history), f"{author} posted outside the campaign"
        for post in history:
            assert post.region == "IR" and post.author_followers is not None and post.author_followers <= 12
            assert post.author_created is not None and 1 * DAY < ep.start - post.author_created < 7 * DAY
    # Near-identical: any two share most of their words.
    words = [set(re.findall(r"[\w#']+", p.text.lower())) for p in posts]
    similar = [len(a & b) / len(a | b) for a, b in itertools.combinations(words, 2)]
    assert sorted(similar)[len(similar) // 2] >= 0.6
    assert len({p.text for p in posts}) > 1  # small word changes, not one text


def test_retweet_cascade_comes_from_established_accounts(run: Run) -> None:
    cascade = run.decoy("rt_cascade")
    retweet = f"RT @persiankiwi: {CASCADE_ORIGINAL}"
    retweets = [p for p in run.posts if p.text == retweet]
    assert len(retweets) >= 60 and all(cascade.start <= p.ts < cascade.end for p in retweets)
    originals = [p for p in run.posts if p.text == CASCADE_ORIGINAL]
    assert len(originals) == 1 and originals[0].author == "persiankiwi"
    assert originals[0].ts < min(p.ts for p in retweets)
    assert len({p.author for p in retweets}) == len(retweets)
    for post in retweets:
        assert post.author_created is not None and cascade.start - post.author_created >= 365 * DAY
        assert run.by_author[post.author][0].ts < cascade.start  # history in the stream


def test_hashtag_campaign_many_accounts_in_different_words(run: Run) -> None:
    campaign = run.decoy("hashtag_campaign")
    surge = run.episode("surge", "term:#cnnfail")
    assert (campaign.start, campaign.end) == (surge.start, surge.end)
    inside = [p for p in run.posts if campaign.start <= p.ts < campaign.end]
    tagged = [p for p in inside if "#cnnfail" in p.text.lower()]
    before = [p for p in run.posts if campaign.start - 6 * HOUR <= p.ts < campaign.start]
    share_before = sum("#cnnfail" in p.text.lower() for p in before) / len(before)
    assert len(tagged) / len(inside) > 5 * share_before
    assert len({p.author for p in tagged}) > 0.8 * len(tagged)
    assert len({p.text for p in tagged}) > 0.7 * len(tagged)
    established = [p for p in tagged if run.by_author[p.author][0].ts < campaign.start]
    assert len(established) > 0.9 * len(tagged)


def test_relocated_authors_posted_from_their_old_region_before(run: Run) -> None:
    ep = run.episode("relocation")
    moved = {}
    for author, posts in run.by_author.items():
        regions = [p.region for p in posts]
        if len(set(regions)) > 1:
            moved[author] = posts
    assert len(moved) >= 60
    for author, posts in moved.items():
        home = posts[0].region
        assert home in ("US", "GB", "DE"), author
        switch = next(p for p in posts if p.region != home)
        assert ep.start <= switch.ts < ep.end, author  # every move inside the wave
        assert len([p for p in posts if p.ts < ep.start]) >= 5  # active there before
        assert all(p.region == home for p in posts if p.ts < switch.ts)
        assert all(p.region == "IR" for p in posts if p.ts >= switch.ts)  # they stay moved
        assert len({(p.author_created, p.author_followers) for p in posts}) == 1
    firsts = [next(p.ts for p in posts if p.region == "IR") for posts in moved.values()]
    halves = [
        sum(ts < (ep.start + ep.end) / 2 for ts in firsts),
        sum(ts >= (ep.start + ep.end) / 2 for ts in firsts),
    ]
    assert min(halves) > 0.2 * len(firsts)  # a wave over the window, not one instant


def test_filtering_in_ir_goes_on_under_the_relocation(run: Run) -> None:
    ep = run.episode("filtering")
    relocated = {a for a, posts in run.by_author.items() if len({p.region for p in posts}) > 1}
    inside = [p for p in run.posts if ep.start <= p.ts < ep.end and p.region == "IR" and has(p, MOUSAVI)]
    assert inside and all(p.author in relocated for p in inside)  # only moved outsiders carry the term
    before = [p for p in run.posts if ep.start - HOUR <= p.ts < ep.start and p.region == "IR"]
    assert sum(has(p, MOUSAVI) for p in before) > 0.1 * len(before)


def test_platform_wide_gap(run: Run) -> None:
    gap = run.decoy("gap")
    assert gap.end - gap.start == HOUR
    assert not [item for item in run.items if gap.start <= item.ts < gap.end]  # no line of any kind
    for start, end in ((gap.start - HOUR, gap.start), (gap.end, gap.end + HOUR)):
        regions = {p.region for p in run.posts if start <= p.ts < end}
        assert {"IR", "US", "GB"} <= regions

    def level(start: float, end: float) -> float:  # posts per diurnal unit
        cycle = sum(diurnal_factor(moment + 30) for moment in range(int(start), int(end), 60))
        return sum(1 for p in run.posts if start <= p.ts < end) / cycle

    before, after = level(gap.start - HOUR, gap.start), level(gap.end, gap.end + HOUR)
    assert 0.7 * before < after < 1.4 * before  # traffic comes back at its level, no burst


def test_every_post_has_a_consistent_account(run: Run) -> None:
    created: dict[str, float] = {}
    for post in run.posts:
        assert post.author_created is not None and post.author_followers is not None
        assert post.author_created < post.ts
        assert created.setdefault(post.author, post.author_created) == post.author_created
    old = sum(1 for c in created.values() if run.truth.start - c >= 365 * DAY)
    assert old > 0.6 * len(created)  # most accounts are years old


def test_written_feed_is_the_generated_items_and_valid(tmp_path: Path) -> None:
    feed, truth_path = tmp_path / "feed.jsonl", tmp_path / "truth.json"
    count, truth = write_scenario("tactics", seed=3, rate=0.2, feed_path=feed, truth_path=truth_path)
    items, same = generate("tactics", seed=3, rate=0.2)
    items = list(items)
    assert truth == same and count == len(items)
    assert feed.read_bytes() == b"".join(item.to_json() + b"\n" for item in items)
    lines = feed.read_bytes().splitlines()
    deletion = next(line for line in lines if b'"kind":"delete"' in line)
    assert set(orjson.loads(deletion)) == {"kind", "id", "ts", "author"}
    times = [parse_ts(orjson.loads(line)["ts"]) for line in lines]
    assert all(a <= b for a, b in itertools.pairwise(times))
    assert list(read_items(feed)) == items  # the feed contract, posts and deletion notices
    assert Truth.from_json(truth_path.read_bytes()) == truth


def test_same_seed_same_bytes(tmp_path: Path) -> None:
    digests = {}
    for label, seed in (("a", 4), ("b", 4), ("c", 5)):
        feed, truth = tmp_path / f"{label}.jsonl", tmp_path / f"{label}.json"
        write_scenario("tactics", seed=seed, rate=0.1, feed_path=feed, truth_path=truth)
        digests[label] = (hashlib.sha256(feed.read_bytes()).digest(), truth.read_bytes())
    assert digests["a"] == digests["b"]
    assert digests["a"][0] != digests["c"][0] and digests["a"][1] != digests["c"][1]


def test_scenario_is_listed() -> None:
    spec = SCENARIOS["tactics"]
    assert spec.accounts and spec.deletion_share > 0 and spec.description


@pytest.mark.parametrize("hours", [36, 60])
def test_shorter_runs_keep_every_episode_in_proportion(hours: float) -> None:
    truth = plan_truth("tactics", seed=1, hours=hours)
    assert len(truth.episodes) == len(SCENARIOS["tactics"].episodes)
    assert len(truth.decoys) == len(SCENARIOS["tactics"].decoys)
    filtering = next(ep for ep in truth.episodes if ep.type == "filtering")
    relocation = next(ep for ep in truth.episodes if ep.type == "relocation")
    assert filtering.start < relocation.start < relocation.end < filtering.end
    assert all(truth.start < ep.start < ep.end <= truth.end for ep in (*truth.episodes, *truth.decoys))
