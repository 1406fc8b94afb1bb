"""Detection on crafted streams: each detector, the decoys, event time, snapshot/restore."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import replace
from random import Random

import orjson
import pytest

from feed import parse_ts
from pipeline.detect import Alert, Detector, DetectorConfig, Observation, WatchStatus, WindowStatus

T0 = 1244764800.0  # 2009-06-12T00:00:00Z
MIN = 60.0
WORDS = tuple(f"w{i}" for i in range(30))
# Share of posts carrying each term, per region group.
SHARES = {
    "democracy": 0.15,
    "mousavi": 0.2,
    "unrest": 0.08,
    "#iranelection": 0.2,
    **{word: 0.04 + 0.003 * i for i, word in enumerate(WORDS)},
}
CATEGORY_SHARES = {"protest": 0.3, "violence": 0.1, "medical": 0.04}
RATES = {"IR": 60.0, "US": 30.0, "GB": 30.0}  # posts per minute

Post = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]  # terms, categories, evasions
Change = Callable[[int, str, Post, Random], Post | None]


def base_post(rng: Random, shares: dict[str, float] = SHARES) -> Post:
    terms = tuple(term for term, share in shares.items() if rng.random() < share)
    categories = tuple(c for c, share in CATEGORY_SHARES.items() if rng.random() < share) or ("other",)
    return terms, categories, ()


def make_stream(
    minutes: int,
    *,
    rates: dict[str | None, float] | None = None,
    volume: Callable[[int, str | None], float] | None = None,
    change: Change | None = None,
    extra: Callable[[int, Random], Iterable[tuple[str | None, Post]]] | None = None,
    seed: int = 1,
) -> list[Observation]:
    """Poisson arrivals per region and minute; ``volume`` scales rates, ``change`` edits or drops posts,
    ``extra`` adds posts (region, post) in a minute. Sorted by event time."""
    rng = Random(seed)
    rates = dict(RATES) if rates is None else rates
    out: list[Observation] = []
    for minute in range(minutes):
        begin = T0 + minute * MIN
        for region, rate in rates.items():
            per_second = rate * (volume(minute, region) if volume else 1.0) / MIN
            if per_second <= 0:
                continue
            moment = begin
            while True:
                moment += rng.expovariate(per_second)
                if moment >= begin + MIN:
                    break
                post: Post | None = base_post(rng)
                if change is not None:
                    post = change(minute, region or "", post, rng)
                if post is not None:
                    out.append(Observation(round(moment, 3), region, *post))
        if extra is not None:
            for region, post in extra(minute, rng):
                out.append(Observation(round(begin + rng.random() * MIN, 3), region, *post))
    out.sort(key=lambda obs: obs.ts)
    return out


def run(
    observations: Iterable[Observation], config: DetectorConfig | None = None
) -> tuple[Detector, list[Alert]]:
    detector = Detector(config)
    alerts: list[Alert] = []
    for obs in observations:
        alerts.extend(detector.push(obs))
    return detector, alerts


def onsets(alerts: list[Alert]) -> list[Alert]:
    return [alert for alert in alerts if alert.state is None]


def records(alerts: list[Alert]) -> list[bytes]:
    return [orjson.dumps(alert.to_record()) for alert in alerts]


def filtered(term: str, region: str, start: int, end: int, evasion: float = 0.0) -> Change:
    """Posts of ``region`` containing ``term`` vanish in [start, end) minutes; a share ``evasion`` of them
    slips through spelled to evade (the term is then reached only through an evasion)."""

    def change(minute: int, where: str, post: Post, rng: Random) -> Post | None:
        terms, categories, evasions = post
        if where != region or not start <= minute < end or term not in terms:
            return post
        if rng.random() < evasion:
            return terms, categories, (*evasions, term)
        return None

    return change


# ---------------------------------------------------------------------------------------------------
# Filtering.


def test_filtering_in_one_region_against_the_control():
    stream = make_stream(180, change=filtered("democracy", "IR", 100, 140))
    _, alerts = run(stream)
    raised = onsets(alerts)
    assert [(a.type, a.key, a.region) for a in raised] == [("filtering", "term:democracy", "IR")]
    alert = raised[0]
    assert T0 + 95 * MIN <= alert.start <= T0 + 105 * MIN
    assert alert.detected_at - (T0 + 100 * MIN) <= 15 * MIN
    assert alert.observed == 0 and alert.expected > 20 and alert.score > 8
    assert alert.evidence["control"]["expected"] > 10
    ended = [a for a in alerts if a.state == "ended"]
    assert [(a.type, a.key) for a in ended] == [("filtering", "term:democracy")]
    assert ended[0].detected_at <= T0 + 160 * MIN


def test_filtering_falls_back_to_the_regions_own_history_without_control():
    stream = make_stream(180, rates={"IR": 90.0}, change=filtered("democracy", "IR", 100, 140))
    _, alerts = run(stream)
    raised = onsets(alerts)
    assert [(a.type, a.key, a.region) for a in raised] == [("filtering", "term:democracy", "IR")]
    assert raised[0].evidence["control"] is None


def test_filtering_of_a_term_not_on_the_watchlist():
    stream = make_stream(180, change=filtered("w25", "IR", 100, 140))
    _, alerts = run(stream)
    assert [(a.type, a.key, a.region) for a in onsets(alerts)] == [("filtering", "term:w25", "IR")]
    assert "w25" not in DetectorConfig().watchlist


def test_a_rise_of_evasion_spellings_is_reported_as_evidence():
    stream = make_stream(180, change=filtered("democracy", "IR", 100, 140, evasion=0.2))
    _, alerts = run(stream)
    (alert,) = onsets(alerts)
    evasions = alert.evidence["evasions"]
    assert evasions["observed"] >= 2 and evasions["rising"] is True
    assert evasions["expected"] < 1


def test_words_filtered_with_the_term_are_one_alert():
    # "w29" only ever appears with "democracy" (like a slogan's other words): both vanish together.
    def change(minute: int, region: str, post: Post, rng: Random) -> Post | None:
        terms, categories, evasions = post
        terms = tuple(t for t in terms if t != "w29")
        if "democracy" in terms and rng.random() < 0.6:
            terms = (*terms, "w29")
        return filtered("democracy", "IR", 100, 140)(minute, region, (terms, categories, evasions), rng)

    _, alerts = run(make_stream(180, change=change))
    raised = onsets(alerts)
    assert [(a.type, a.key) for a in raised] == [("filtering", "term:democracy")]
    assert "w29" in raised[0].terms


def test_a_term_fading_everywhere_alike_raises_nothing():
    def fade(minute: int, region: str, post: Post, rng: Random) -> Post | None:
        terms, categories, evasions = post
        level = 1.0 - 0.9 * min(1.0, max(0.0, (minute - 70) / 60))
        if "unrest" in terms and rng.random() > level:
            terms = tuple(t for t in terms if t != "unrest")
        return terms, categories, evasions

    _, alerts = run(make_stream(240, change=fade))
    assert onsets(alerts) == []


def test_small_number_noise_raises_nothing():
    # Many rare terms (about 0.3 to 2 a window each) and a small region: Poisson noise only.
    rare = {f"rare{i}": 0.0005 + 0.0002 * i for i in range(40)}

    def change(minute: int, region: str, post: Post, rng: Random) -> Post | None:
        terms = post[0] + tuple(t for t, share in rare.items() if rng.random() < share)
        return terms, post[1], post[2]

    rates = {"IR": 60.0, "US": 30.0, "GB": 30.0, "FR": 6.0}
    _, alerts = run(make_stream(300, rates=rates, change=change, seed=7))
    assert onsets(alerts) == []


# ---------------------------------------------------------------------------------------------------
# Outage.


def test_an_outage_raises_one_outage_alert_and_no_filtering_nor_surge():
    def cut(minute: int, region: str | None) -> float:
        return 0.03 if region == "IR" and 100 <= minute < 140 else 1.0

    _, alerts = run(make_stream(220, volume=cut))
    raised = onsets(alerts)
    assert [(a.type, a.key, a.region) for a in raised] == [("outage", "*", "IR")]
    assert raised[0].detected_at - (T0 + 100 * MIN) <= 15 * MIN
    assert raised[0].observed < 0.25 * raised[0].expected
    ended = [a for a in alerts if a.state == "ended"]
    assert [(a.type, a.region) for a in ended] == [("outage", "IR")]


def test_outage_state_is_visible_while_it_lasts():
    def cut(minute: int, region: str | None) -> float:
        return 0.0 if region == "IR" and minute >= 100 else 1.0

    detector, alerts = run(make_stream(130, volume=cut))
    assert [(a.type, a.region) for a in onsets(alerts)] == [("outage", "IR")]
    assert detector.outages() == {"GB": False, "IR": True, "US": False}


def test_outage_from_own_history_without_control():
    def cut(minute: int, region: str | None) -> float:
        return 0.02 if 100 <= minute < 140 else 1.0

    _, alerts = run(make_stream(200, rates={"IR": 90.0}, volume=cut))
    assert [(a.type, a.region) for a in onsets(alerts)] == [("outage", "IR")]


def test_a_gap_in_the_whole_feed_is_not_an_outage():
    def gap(minute: int, region: str | None) -> float:
        return 0.0 if 100 <= minute < 130 else 1.0

    _, alerts = run(make_stream(200, volume=gap))
    assert onsets(alerts) == []


# ---------------------------------------------------------------------------------------------------
# Surges.


def test_overall_surge_is_one_alert_not_one_per_term():
    def burst(minute: int, region: str | None) -> float:
        return 4.0 if 100 <= minute < 130 else 1.0

    _, alerts = run(make_stream(180, volume=burst))
    raised = onsets(alerts)
    assert [(a.type, a.key, a.region) for a in raised] == [("surge", "*", None)]
    assert raised[0].detected_at - (T0 + 100 * MIN) <= 10 * MIN
    assert [(a.type, a.key) for a in alerts if a.state == "ended"] == [("surge", "*")]


def test_co_trending_terms_of_one_event_are_one_alert():
    def tag(minute: int, region: str, post: Post, rng: Random) -> Post | None:
        terms, categories, evasions = post
        if 100 <= minute < 130 and rng.random() < 0.3:
            extra = ("#neda", "rip", "neda") if rng.random() < 0.7 else ("#neda", "world", "saw")
            terms = terms + extra
        return terms, categories, evasions

    _, alerts = run(make_stream(180, change=tag))
    raised = onsets(alerts)
    assert [(a.type, a.key) for a in raised] == [("surge", "term:#neda")]
    assert {"rip", "neda"} <= set(raised[0].terms)
    assert raised[0].detected_at - (T0 + 100 * MIN) <= 10 * MIN


def test_a_term_appearing_from_nothing_is_a_surge():
    def new(minute: int, rng: Random) -> list[tuple[str | None, Post]]:
        if 100 <= minute < 120:
            return [("US", (("flotilla",), ("other",), ())) for _ in range(6)]
        return []

    _, alerts = run(make_stream(150, extra=new))
    assert [(a.type, a.key) for a in onsets(alerts)] == [("surge", "term:flotilla")]


def test_a_category_burst_is_one_alert_keyed_by_the_category():
    def call(minute: int, rng: Random) -> list[tuple[str | None, Post]]:
        if not 100 <= minute < 130:
            return []
        posts = []
        for _ in range(20):
            words = tuple(w for w in ("hospital", "doctors", "urgent", "wounded") if rng.random() < 0.6)
            region = "IR" if rng.random() < 0.5 else "US"
            posts.append((region, (words, ("medical",), ())))
        return posts

    _, alerts = run(make_stream(180, extra=call))
    raised = onsets(alerts)
    assert [(a.type, a.key) for a in raised] == [("surge", "category:medical")]
    assert "hospital" in raised[0].terms


# ---------------------------------------------------------------------------------------------------
# Decoys of volume.


def test_the_diurnal_cycle_raises_nothing():
    def cycle(minute: int, region: str | None) -> float:
        return 1.0 + 0.85 * math.sin(2 * math.pi * minute / 1440.0)

    rates = {"IR": 20.0, "US": 10.0, "GB": 10.0}
    _, alerts = run(make_stream(1440 + 240, rates=rates, volume=cycle, seed=3))
    assert onsets(alerts) == []


def test_a_slow_trend_raises_nothing():
    def trend(minute: int, region: str | None) -> float:
        return 1.0 + minute / 240.0  # x3 over 8 hours

    _, alerts = run(make_stream(480, rates={"IR": 30.0, "US": 15.0, "GB": 15.0}, volume=trend, seed=4))
    assert onsets(alerts) == []


# ---------------------------------------------------------------------------------------------------
# Event time.


def test_late_posts_are_counted_not_windowed():
    detector = Detector()
    detector.push(Observation(T0 + 1000.0, "IR", ("a",), ("other",)))
    assert detector.watermark == T0 + 1000.0 - 120.0
    detector.push(Observation(T0 + 900.0, "IR", ("a",), ("other",)))  # within the lateness
    assert detector.late_posts == 0
    detector.push(Observation(T0 + 870.0, "IR", ("a",), ("other",)))  # older than the watermark
    assert detector.late_posts == 1
    assert detector.watermark == T0 + 880.0


def test_open_windows_are_never_flushed():
    stream = make_stream(180, change=filtered("democracy", "IR", 100, 140))
    cut = [obs for obs in stream if obs.ts < T0 + 106 * MIN]  # the first fully filtered window is open
    _, alerts = run(cut)
    assert onsets(alerts) == []


def test_the_watermark_is_the_minimum_over_sources():
    detector = Detector()
    detector.push(Observation(T0 + 1000.0, "IR", (), ("other",), source=0))
    detector.push(Observation(T0 + 400.0, "IR", (), ("other",), source=1))
    assert detector.watermark == T0 + 1000.0 - 120.0  # never goes back
    detector.push(Observation(T0 + 2000.0, "IR", (), ("other",), source=0))
    assert detector.watermark == T0 + 1000.0 - 120.0  # source 1 holds it
    detector.push(Observation(T0 + 1500.0, "IR", (), ("other",), source=1))
    assert detector.watermark == T0 + 1380.0


def episode_stream() -> list[Observation]:
    """Filtering, an outage and a surge in one stream."""

    def volume(minute: int, region: str | None) -> float:
        if region == "IR" and 170 <= minute < 200:
            return 0.03
        return 4.0 if 230 <= minute < 250 else 1.0

    return make_stream(280, volume=volume, change=filtered("democracy", "IR", 90, 130), seed=11)


@pytest.fixture(scope="module")
def reference() -> tuple[list[Observation], list[bytes]]:
    stream = episode_stream()
    _, alerts = run(stream)
    assert [(a.type, a.key) for a in onsets(alerts)] == [
        ("filtering", "term:democracy"),
        ("outage", "*"),
        ("surge", "*"),
    ]
    return stream, records(alerts)


def test_alerts_do_not_depend_on_how_sources_interleave(reference):
    stream, expected = reference
    config = replace(DetectorConfig(), min_sources=2)
    tagged = [obs._replace(source=i % 2) for i, obs in enumerate(stream)]
    _, round_robin = run(tagged, config)
    # Source 0 runs up to 40 minutes ahead of source 1, in blocks.
    blocks: dict[tuple[int, int], list[Observation]] = {}
    for obs in tagged:
        blocks.setdefault((int((obs.ts - T0) // 2400), obs.source), []).append(obs)
    reordered = [obs for key in sorted(blocks) for obs in blocks[key]]
    _, in_blocks = run(reordered, config)
    assert records(round_robin) == expected
    assert records(in_blocks) == expected


def test_alerts_do_not_depend_on_disorder_within_the_lateness(reference):
    stream, expected = reference
    rng = Random(5)
    # Each post is delivered up to 100 s late (lateness is 120 s), so arrival order is shuffled locally.
    shuffled = sorted(stream, key=lambda obs: obs.ts + rng.random() * 100.0)
    detector, alerts = run(shuffled)
    assert detector.late_posts == 0
    assert records(alerts) == expected


@pytest.mark.parametrize("cuts", [(35 * 60 + 7,), (100 * 60, 175 * 60 + 31, 240 * 60 + 1)])
def test_snapshot_and_restore_mid_stream_continue_exactly(reference, cuts):
    stream, expected = reference
    detector = Detector()
    alerts: list[Alert] = []
    for obs in stream:
        while cuts and obs.ts >= T0 + cuts[0]:
            state = orjson.loads(orjson.dumps(detector.snapshot()))
            detector = Detector.restore(state, DetectorConfig())
            cuts = cuts[1:]
        alerts.extend(detector.push(obs))
    assert records(alerts) == expected


def test_identical_alerts_whatever_the_chunking_of_input(reference):
    stream, expected = reference
    rng = Random(9)
    detector = Detector()
    alerts: list[Alert] = []
    position = 0
    while position < len(stream):
        size = rng.randint(1, 5000)
        for obs in stream[position : position + size]:
            alerts.extend(detector.push(obs))
        position += size
        # a snapshot between chunks changes nothing either
        Detector.restore(orjson.loads(orjson.dumps(detector.snapshot())))
    assert records(alerts) == expected


# ---------------------------------------------------------------------------------------------------
# Records and views.


def test_alert_record_contract(reference):
    _, expected = reference
    for raw in expected:
        record = orjson.loads(raw)
        assert record["type"] in ("filtering", "outage", "surge")
        assert record["key"] == "*" or record["key"].split(":", 1)[0] in ("term", "category")
        assert record["region"] is None or len(record["region"]) == 2
        assert record["start"].endswith("Z") and record["detected_at"].endswith("Z")
        assert parse_ts(record["start"]) <= parse_ts(record["detected_at"])
        for name in ("observed", "expected", "score"):
            assert isinstance(record[name], (int, float)) and math.isfinite(record[name])
        assert set(record) <= {
            "type", "key", "region", "start", "detected_at", "observed", "expected", "score",
            "terms", "evidence", "state",
        }  # fmt: skip
        assert record.get("state") in (None, "ended")


def test_detected_at_is_the_watermark_that_closed_the_window(reference):
    _, expected = reference
    config = DetectorConfig()
    for raw in expected:
        detected = parse_ts(orjson.loads(raw)["detected_at"])
        assert (detected - config.lateness_seconds) % config.window_seconds == 0


def test_watch_status_reports_watchlist_terms_per_region():
    stream = make_stream(150, change=filtered("democracy", "IR", 100, 200))
    detector, _ = run(stream)
    status = {(s.term, s.region): s for s in detector.watch_status()}
    assert all(isinstance(s, WatchStatus) for s in status.values())
    ir = status[("democracy", "IR")]
    assert ir.observed == 0 and ir.expected > 20 and ir.suspicion > 8
    us = status[("democracy", "US")]
    assert us.observed > 0 and us.suspicion == 0


def test_window_status_gives_region_volumes_and_bounded_surge_measures():
    def burst(minute: int, rng: Random) -> list[tuple[str | None, Post]]:
        if minute < 100:
            return []
        return [("IR", (("hospital", "democracy"), ("medical",), ())) for _ in range(20)]

    detector = Detector()
    assert detector.window_status() is None
    for obs in make_stream(112, extra=burst):  # the window [100, 105) minutes is closed by 107
        detector.push(obs)
    status = detector.window_status()
    assert isinstance(status, WindowStatus)
    assert set(status.volume) == {"IR", "US", "GB"}
    assert status.volume["IR"] > status.volume["US"] > 0  # IR: 60 a minute plus the burst
    observed, expected = status.surge["category:medical"]
    assert observed > 3 * expected > 0
    assert "democracy" in status.surge  # a watchlist term
    assert status.surge["*"][0] == sum(status.volume.values())
    assert "hospital" not in status.surge  # a free term would be an unbounded label value
    restored = Detector.restore(orjson.loads(orjson.dumps(detector.snapshot())))
    assert restored.window_status() == status


def test_snapshot_is_plain_json_and_small():
    detector, _ = run(episode_stream())
    state = detector.snapshot()
    raw = orjson.dumps(state)
    assert orjson.loads(raw) == state
    assert len(raw) < 1_000_000


def test_restore_refuses_another_window_size():
    detector, _ = run(make_stream(20))
    with pytest.raises(ValueError, match="window_seconds"):
        Detector.restore(detector.snapshot(), DetectorConfig(window_seconds=600))


def test_ended_records_can_be_turned_off(reference):
    stream, expected = reference
    _, alerts = run(stream, DetectorConfig(emit_ended=False))
    assert all(alert.state is None for alert in alerts)
    assert records(alerts) == [raw for raw in expected if b'"state"' not in raw]
