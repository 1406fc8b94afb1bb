"""Issue 18: deletions, relocations and coordination, over crafted streams of posts with authors."""

from __future__ import annotations

import gc
from collections import OrderedDict
from random import Random

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.classify.signature import text_signature
from pipeline.detect import Alert, Detector, DetectorConfig, Observation, Removal
from pipeline.detect.accounts import AuthorBook, PostIndex
from pipeline.detect.columns import from_term_sets
from pipeline.detect.model import band_keys, signature_from_keys
from pipeline.detect.window import signed_from_columns

T0 = 1244764800.0  # 2009-06-12T00:00:00Z
HOUR = 3600.0
YEARS_AGO = T0 - 3 * 365 * 86400.0
WORDS = [f"w{i}" for i in range(40)]
AUTHORS = {"IR": [f"ir{i}" for i in range(300)], "US": [f"us{i}" for i in range(150)]}
RATES = {"IR": 1.0, "US": 0.5}  # posts per second


Event = tuple[float, int, object]  # (ts, order, Observation+id | Removal)


def stream(
    hours: float,
    *,
    seed: int = 1,
    background_deletions: float = 0.02,
    region_of=None,
    delete=None,
    extra=None,
) -> list[tuple[str, object, str | None]]:
    """Posts of established authors with fixed home regions, a background of deletions 10 minutes after
    posting; ``region_of(author, home, ts)`` may move an author, ``delete(post, rng)`` returns a deletion
    time for a post (or None), ``extra(ts)`` adds (post id, Observation) pairs. Sorted by event time."""
    rng = Random(seed)
    events: list[tuple[float, int, str, object, str | None]] = []
    n = 0
    for region, rate in RATES.items():
        ts = T0
        while True:
            ts += rng.expovariate(rate)
            if ts >= T0 + hours * HOUR:
                break
            author = rng.choice(AUTHORS[region])
            terms = tuple(w for w in WORDS if rng.random() < 0.05)
            if rng.random() < 0.1:
                terms += ("democracy",)
            posted = region_of(author, region, ts) if region_of else region
            obs = Observation(round(ts, 3), posted, terms, ("other",), (), 0, author, YEARS_AGO)
            n += 1
            post_id = f"p{n}"
            events.append((obs.ts, n, "post", obs, post_id))
            when = delete(obs, rng) if delete else None
            if when is None and rng.random() < background_deletions:
                when = obs.ts + 600.0
            if when is not None:
                events.append((round(when, 3), n, "delete", Removal(round(when, 3), post_id, author), None))
    if extra is not None:
        for post_id, obs in extra():
            n += 1
            events.append((obs.ts, n, "post", obs, post_id))
    events.sort(key=lambda e: (e[0], e[1]))
    return [(kind, item, post_id) for _, _, kind, item, post_id in events]


def run(events, config: DetectorConfig | None = None, detector: Detector | None = None) -> list[Alert]:
    detector = detector or Detector(config)
    alerts: list[Alert] = []
    for kind, item, post_id in events:
        if kind == "post":
            alerts += detector.push(item, post_id)
        else:
            alerts += detector.delete(item)
    return alerts


def onsets(alerts: list[Alert], kind: str) -> list[Alert]:
    return [a for a in alerts if a.type == kind and a.state is None]


# -- the pure state -------------------------------------------------------------------------------------


def test_an_author_keeps_their_first_region_and_a_move_is_counted_once():
    book = AuthorBook(retention=HOUR)
    assert book.sight("a", None, T0).region is None  # no region yet: no home
    assert book.sight("a", "US", T0 + 1).region == "US"  # the first region seen is home
    moved = book.sight("a", "IR", T0 + 2)
    assert (moved.region, moved.relocated_to, moved.moved_from) == ("US", "IR", "US")
    again = book.sight("a", "IR", T0 + 3)
    assert (again.region, again.relocated_to) == ("US", None)  # counted at home, not a second move
    assert book.sight("a", "US", T0 + 4).relocated_to is None
    assert book.sight("a", "IR", T0 + 5).relocated_to == "IR"  # back home, then away again: a new move
    stranger = book.sight("a", "IR", T0 + 5 + 2 * HOUR)  # not seen for longer than the retention
    assert (stranger.region, stranger.relocated_to) == ("IR", None)
    book.expire(T0 + 10 * HOUR)
    assert len(book) == 0


def test_expiry_is_decided_by_the_asking_post_not_by_when_entries_are_dropped():
    kept, dropped = AuthorBook(retention=HOUR), AuthorBook(retention=HOUR)
    for book in (kept, dropped):
        book.sight("a", "US", T0)
    dropped.expire(T0 + 2 * HOUR)
    late = T0 + 1.5 * HOUR
    assert kept.sight("a", "IR", late) == dropped.sight("a", "IR", late)


def test_the_post_index_is_bounded_and_forgets_old_posts():
    index = PostIndex(retention=HOUR, limit=3)
    for i in range(4):
        index.add(f"p{i}", T0 + i, "IR", ("t",))
    assert len(index) == 3 and index.evicted == 1
    assert index.take("p0", T0 + 10) is None  # evicted
    assert index.take("p1", T0 + 2 * HOUR) is None  # too old for a deletion at that time
    found = index.take("p2", T0 + 10)
    assert found is not None and found.region == "IR"
    assert index.take("p2", T0 + 11) is None  # a post is deleted once


def test_the_post_index_expires_and_evicts_oldest_first_across_a_snapshot():
    index = PostIndex(retention=HOUR, limit=4)
    for i in range(6):  # p0 and p1 evicted for the limit
        index.add(f"p{i}", T0 + i * 60, "IR", (f"t{i}",))
    columns = orjson.loads(orjson.dumps(index.dump()))
    assert columns["id"] == ["p2", "p3", "p4", "p5"]
    restored = PostIndex.load(HOUR, 4, columns)
    for each in (index, restored):
        each.expire(T0 + HOUR + 4 * 60)  # older than T0 + 240 s goes: p2 and p3
        assert len(each) == 2
        each.add("p6", T0 + HOUR + 300, "IR", ("t6",))
        each.add("p7", T0 + HOUR + 301, "IR", ("t7",))
        each.add("p8", T0 + HOUR + 302, "IR", ("t8",))  # over the limit: p4 goes
        assert each.take("p4", T0 + HOUR + 200) is None  # evicted, though within the retention
        found = each.take("p5", T0 + HOUR + 300)  # within the retention of its post
        assert found is not None and found.terms == ("t5",)
    assert index.dump() == restored.dump()


class OrderedPostIndex:
    """The post index as it was, on an OrderedDict: the reference its faster form must equal."""

    def __init__(self, retention: float, limit: int) -> None:
        self.retention, self.limit, self.evicted = retention, limit, 0
        self.posts: OrderedDict[str, tuple] = OrderedDict()

    def add(self, post_id, ts, region, terms):
        self.posts[post_id] = (ts, region, terms)
        if len(self.posts) > self.limit:
            self.posts.popitem(last=False)
            self.evicted += 1

    def take(self, post_id, ts):
        found = self.posts.pop(post_id, None)
        return None if found is None or ts - found[0] > self.retention else found

    def expire(self, now):
        while self.posts and next(iter(self.posts.values()))[0] < now - self.retention:
            self.posts.popitem(last=False)


post_index_steps = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from("abcdefgh"), st.integers(0, 100)),
        st.tuples(st.just("take"), st.sampled_from("abcdefgh"), st.integers(0, 100)),
        st.tuples(st.just("expire"), st.just(""), st.integers(0, 100)),
        st.tuples(st.just("restore"), st.just(""), st.just(0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(post_index_steps, st.integers(1, 5))
def test_the_post_index_does_what_its_ordered_dict_did(steps, limit):
    """Ids added again (kept in their place), taken and added again, expired, evicted, and restored from
    a snapshot in between: each answer, the size and the snapshot equal the OrderedDict's."""
    index, reference = PostIndex(retention=30.0, limit=limit), OrderedPostIndex(30.0, limit)
    for n, (step, post_id, at) in enumerate(steps):
        ts = T0 + at
        if step == "add":
            index.add(post_id, ts, "IR", (f"t{n}",))
            reference.add(post_id, ts, "IR", (f"t{n}",))
        elif step == "take":
            assert index.take(post_id, ts) == reference.take(post_id, ts)
        elif step == "expire":
            index.expire(ts)
            reference.expire(ts)
        else:
            evicted = index.evicted
            index = PostIndex.load(30.0, limit, orjson.loads(orjson.dumps(index.dump())))
            index.evicted = evicted
        assert len(index) == len(reference.posts) and index.evicted == reference.evicted
        dumped = index.dump()
        assert dumped["id"] == list(reference.posts)
        terms = from_term_sets(dumped["terms"], dumped["term_sets"])
        rows = zip(dumped["ts"], dumped["region"], terms, strict=True)
        assert list(rows) == list(reference.posts.values())


def test_a_post_index_in_rows_from_an_earlier_version_is_read():
    rows = [["p1", T0, "IR", [1, 0]], ["p2", T0 + 60, None, []]]  # terms as indices into the vocabulary
    index = PostIndex.load(HOUR, 4, rows, ["tehran", "basij"])
    assert index.take("p1", T0 + 1) == (T0, "IR", ("basij", "tehran"))
    assert index.take("p2", T0 + 61) == (T0 + 60, None, ())
    with pytest.raises(ValueError):
        PostIndex.load(HOUR, 4, rows)  # rows without their vocabulary


def test_post_index_columns_that_differ_in_length_are_refused():
    index = PostIndex(retention=HOUR, limit=4)
    index.add("p1", T0, "IR", ("t",))
    index.add("p2", T0 + 1, "IR", ("t",))
    columns = orjson.loads(orjson.dumps(index.dump()))
    columns["ts"].pop()
    with pytest.raises(ValueError):
        PostIndex.load(HOUR, 4, columns)


def test_near_identical_texts_share_a_band_and_different_words_do_not():
    claim = text_signature("Mousavi supporters are attacking police in Vanak square, do not trust them")
    variant = text_signature(
        "RT @x: Mousavi supporters are attacking the police in Vanak square, do not trust them"
    )
    other = text_signature("We stand with the brave people of Iran tonight #iranelection")
    assert claim and set(claim) & set(variant)
    assert not set(claim) & set(other)
    assert text_signature("too short") == ()


# -- deletion ---------------------------------------------------------------------------------------------

WAVE = (4 * HOUR, 5 * HOUR)


def in_wave(ts: float) -> bool:
    return T0 + WAVE[0] <= ts < T0 + WAVE[1]


def test_a_mass_self_deletion_in_one_region_is_one_deletion_alert_with_its_evidence():
    def delete(obs, rng):  # IR posts of hour 3 deleted during hour 4 by their authors
        if obs.region == "IR" and T0 + 3 * HOUR <= obs.ts < T0 + 4 * HOUR and rng.random() < 0.5:
            return obs.ts + HOUR
        return None

    alerts = run(stream(7, delete=delete))
    found = onsets(alerts, "deletion")
    assert [(a.key, a.region) for a in found] == [("*", "IR")]
    alert = found[0]
    assert T0 + WAVE[0] <= alert.start < T0 + WAVE[1]
    assert alert.detected_at - (T0 + WAVE[0]) <= 15 * 60
    assert {"deleted", "published", "authors"} <= set(alert.evidence)
    assert alert.evidence["authors"] >= 10
    assert orjson.loads(orjson.dumps(alert.to_record()))["type"] == "deletion"


def test_background_deletions_raise_nothing():
    assert onsets(run(stream(7)), "deletion") == []


def test_a_term_targeted_removal_is_a_term_alert_and_not_a_regional_one():
    def delete(obs, rng):  # every IR post with "democracy" from hour 4 on is removed within minutes
        if obs.region == "IR" and "democracy" in obs.terms and obs.ts >= T0 + 4 * HOUR:
            return obs.ts + 120.0
        return None

    found = onsets(run(stream(7, delete=delete)), "deletion")
    assert [(a.key, a.region) for a in found] == [("term:democracy", "IR")]
    assert found[0].evidence["deleted"] >= 10


def test_a_notice_whose_post_was_never_seen_counts_toward_its_authors_home_and_no_term():
    detector = Detector()
    detector.push(Observation(T0, "IR", ("democracy",), ("other",), (), 0, "ir1", YEARS_AGO), "p1")
    detector.delete(Removal(T0 + 10, "never-seen", "ir1"))
    detector.push(Observation(T0 + 1000, "IR", (), ("other",), (), 0, "ir2", YEARS_AGO), "p2")
    status = detector.window_status()
    assert status is not None
    assert status.deletions["IR"][0] == 1.0
    assert detector.unknown_deletions == 1
    assert not status.term_deletions  # no term was counted


# -- relocation -------------------------------------------------------------------------------------------


def relocate_us_authors(author, home, ts):
    if home == "US" and in_wave(ts) and int(author[2:]) % 2 == 0:
        return "IR"
    return home


def test_a_relocation_wave_is_one_alert_and_its_posts_count_at_home():
    moved = run(stream(7, region_of=relocate_us_authors))
    found = onsets(moved, "relocation")
    assert [(a.key, a.region) for a in found] == [("*", "IR")]
    assert found[0].evidence["from"] == {"US": found[0].observed}
    assert found[0].detected_at - (T0 + WAVE[0]) <= 30 * 60
    # The relocated posts count in the US: IR's volume is what it would have been without the wave.
    detector_moved, detector_still = Detector(), Detector()
    run(stream(4.5, region_of=relocate_us_authors), detector=detector_moved)
    run(stream(4.5), detector=detector_still)
    assert detector_moved.window_status().volume == detector_still.window_status().volume
    assert detector_moved.relocations_total["IR"] >= 50
    assert [a for a in moved if a.type in ("surge", "outage", "filtering")] == []


# -- coordination -----------------------------------------------------------------------------------------

CLAIM = "Mousavi supporters are attacking police in Vanak square tonight, do not trust them {}"
TWISTS = ["", "at all", "anymore", "friends", "please", "!!", "brothers", "now"]


def campaign(start: float, accounts: int, created: float, text=CLAIM, prefix="sock"):
    def extra():
        rng = Random(7)
        for i in range(accounts):
            body = text.format(rng.choice(TWISTS))
            ts = round(start + rng.random() * 600.0, 3)
            obs = Observation(
                ts,
                "IR",
                tuple(sorted(set(body.lower().split()[:6]))),
                ("other",),
                (),
                0,
                f"{prefix}{i}",
                created,
                signature_from_keys(text_signature(body)),
                body,
            )
            yield f"{prefix}-post{i}", obs

    return extra


def test_new_accounts_posting_one_claim_within_minutes_are_one_coordination_alert():
    start = T0 + 4 * HOUR
    found = onsets(run(stream(6, extra=campaign(start, 30, start - 3 * 86400.0))), "coordination")
    assert len(found) == 1
    alert = found[0]
    assert alert.key.startswith("cluster:") and alert.region == "IR"
    assert alert.detected_at - start <= 15 * 60
    evidence = alert.evidence
    assert evidence["accounts"] >= 8 and evidence["new_accounts"] == evidence["accounts"]
    assert "vanak" in evidence["sample"].lower() and "mousavi" in evidence["terms"]


def test_established_accounts_retweeting_one_text_are_not_coordination():
    start = T0 + 4 * HOUR
    extra = campaign(start, 40, YEARS_AGO, text="RT @persiankiwi: " + CLAIM)
    assert onsets(run(stream(6, extra=extra)), "coordination") == []


def test_one_hashtag_in_many_words_is_not_coordination():
    start = T0 + 4 * HOUR

    def extra():
        rng = Random(3)
        for i in range(40):
            words = " ".join(rng.sample(WORDS, 8))
            body = f"#iranelection {words}"
            obs = Observation(
                round(start + rng.random() * 600.0, 3),
                "IR",
                ("#iranelection",),
                ("other",),
                (),
                0,
                f"new{i}",
                start - 86400.0,
                signature_from_keys(text_signature(body)),
                body,
            )
            yield f"tag{i}", obs

    assert onsets(run(stream(6, extra=extra)), "coordination") == []


# -- determinism ------------------------------------------------------------------------------------------


def tactics_stream():
    start = T0 + 4 * HOUR

    def delete(obs, rng):
        if obs.region == "IR" and "democracy" in obs.terms and obs.ts >= T0 + 4.5 * HOUR:
            return obs.ts + 120.0
        return None

    return stream(6, delete=delete, region_of=relocate_us_authors, extra=campaign(start, 30, start - 86400.0))


def test_a_restored_snapshot_continues_exactly():
    events = tactics_stream()
    whole = run(events)
    assert {a.type for a in whole} >= {"deletion", "relocation", "coordination"}
    first = Detector()
    half = len(events) * 2 // 3
    before = run(events[:half], detector=first)
    state = orjson.loads(orjson.dumps(first.snapshot()))
    after = run(events[half:], detector=Detector.restore(state))
    assert before + after == whole


def as_an_earlier_version_wrote_it(state: dict) -> dict:
    """A snapshot in the format before this version's: the samples and the post index in rows, their
    terms and categories as indices into a vocabulary, the coordination sample one row per post, band keys
    as ints."""
    vocabulary: dict[str, int] = {}

    def ids(words):
        return [vocabulary.setdefault(word, len(vocabulary)) for word in words]

    def rows(sample):
        return [[digest, ts, region, ids(terms), ids(cats)] for digest, ts, region, terms, cats in sample]

    def signed_rows(columns):
        return [[*post[:7], band_ints(post[7]), post[8]] for post in signed_from_columns(columns)]

    def band_ints(sig):
        return [int(key, 16) for key in band_keys(sig)]

    old = orjson.loads(orjson.dumps(state))
    for _, window in old["windows"]:
        window["sample"] = rows(window["sample"])
        window["signed"] = signed_rows(window["signed"])
    old["reference"] = [rows(sample) for sample in old["reference"]]
    posts = old["accounts"]["posts"]
    old["accounts"]["posts"] = [
        [post_id, ts, region, ids(terms)]
        for post_id, ts, region, terms in zip(
            posts["id"],
            posts["ts"],
            posts["region"],
            from_term_sets(posts["terms"], posts["term_sets"]),
            strict=True,
        )
    ]
    old["accounts"]["signed_windows"] = [signed_rows(c) for c in old["accounts"]["signed_windows"]]
    for cluster in old["accounts"]["clusters"].values():
        cluster[1] = [int(key, 16) for key in cluster[1]]
    old["vocabulary"] = list(vocabulary)
    return old


def test_a_snapshot_written_by_an_earlier_version_restores_and_continues_exactly():
    events = tactics_stream()
    whole = run(events)
    first = Detector()
    half = len(events) * 2 // 3
    before = run(events[:half], detector=first)
    state = first.snapshot()
    old = as_an_earlier_version_wrote_it(state)
    assert old["accounts"]["posts"] and any(window["signed"] for _, window in old["windows"])
    restored = Detector.restore(old)
    assert orjson.dumps(restored.snapshot()) == orjson.dumps(state)
    assert before + run(events[half:], detector=restored) == whole


def test_a_coordination_episode_open_in_a_snapshot_of_an_earlier_version_continues_exactly():
    events = tactics_stream()
    whole = run(events)
    first = Detector()
    before: list[Alert] = []
    done = 0
    while not any(alert.type == "coordination" for alert in before):  # then its episode is open
        before += run([events[done]], detector=first)
        done += 1
    state = first.snapshot()
    old = as_an_earlier_version_wrote_it(state)
    assert all(type(key) is int for _, keys, _ in old["accounts"]["clusters"].values() for key in keys)
    assert old["accounts"]["clusters"]
    restored = Detector.restore(old)
    assert orjson.dumps(restored.snapshot()) == orjson.dumps(state)
    assert before + run(events[done:], detector=restored) == whole


@pytest.mark.parametrize("sources", [2, 3])
def test_alerts_do_not_depend_on_how_sources_keyed_by_author_interleave(sources):
    events = tactics_stream()
    # Each author's posts and notices go to one source, in order; the sources interleave at random.
    queues: list[list] = [[] for _ in range(sources)]
    ordered = []
    for kind, item, post_id in events:
        source = sum(map(ord, item.author)) % sources
        event = (kind, item._replace(source=source), post_id)
        queues[source].append(event)
        ordered.append(event)
    rng, mixed = Random(5), []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        take = rng.randint(1, 50)
        mixed.extend(queue[:take])
        del queue[:take]
    config = DetectorConfig(min_sources=sources, lateness_seconds=600.0)
    in_order = run(ordered, config)
    assert {a.type for a in in_order} >= {"deletion", "relocation", "coordination"}
    assert run(mixed, config) == in_order


def test_what_detection_remembers_of_accounts_stays_bounded_over_a_long_stream():
    # Authors come and go (a new pool every 2 hours); retention is 1 hour of event time, so the book holds
    # about the last pool only, and the post index no more than an hour of posts or its limit.
    detector = Detector(
        DetectorConfig(account_retention_seconds=HOUR, post_retention_seconds=HOUR, post_index_limit=2000)
    )
    rng = Random(3)
    sizes = []
    ts = T0
    for n in range(60_000):
        ts += rng.expovariate(2.0)
        pool = int((ts - T0) // (2 * HOUR))
        author = f"a{pool}-{rng.randrange(400)}"
        obs = Observation(round(ts, 3), "IR", ("w1",), ("other",), (), 0, author, YEARS_AGO)
        detector.push(obs, f"p{n}")
        if n % 5000 == 4999:
            sizes.append(detector.state_entries())
    assert (ts - T0) / HOUR > 8  # long enough for several retentions to pass
    assert max(s["authors"] for s in sizes) <= 2 * 400  # at most two pools overlap within the retention
    assert max(s["indexed_posts"] for s in sizes) <= 2000
    assert max(s["open_windows"] for s in sizes) <= 3
    assert sizes[-1]["authors"] > 0 and sizes[-1]["indexed_posts"] > 0


def long_lived_rows(detector: Detector) -> dict[str, list]:
    """The rows a detector keeps for minutes to hours of event time, by where they are kept."""
    return {
        "authors": list(detector._book._authors.values()),
        "posts": list(detector._post_index._posts.values()),
        "signed": [row for window in detector._windows.values() for row in window.signed]
        + [row for rows in detector._signed_windows for row in rows],
    }


def test_the_rows_a_detector_keeps_are_left_alone_by_the_garbage_collector():
    """A worker holds every author, recent post and coordination post of its shards: kept as plain tuples
    of strings and numbers, which a collection stops tracking, they cost later collections nothing (as
    NamedTuples every collection traversed them, a quarter of detection's time in process)."""
    events = tactics_stream()
    campaign_begun = sum(1 for _, item, _ in events if item.ts < T0 + 4 * HOUR + 420.0)
    detector = Detector()
    run(events[:campaign_begun], detector=detector)
    restored = Detector.restore(orjson.loads(orjson.dumps(detector.snapshot())))
    gc.collect()
    for kept in (detector, restored):
        rows = long_lived_rows(kept)
        assert all(rows.values()), {where: len(found) for where, found in rows.items()}
        tracked = {where: sum(map(gc.is_tracked, found)) for where, found in rows.items()}
        assert tracked == {where: 0 for where in rows}
