"""The scenarios as designed: :class:`EpisodeSpec` (an episode or decoy at a nominal time),
:class:`ScenarioSpec`, and :data:`SCENARIOS` (``iran2009``, ``stress``, ``quiet``, ``tactics``)."""

from __future__ import annotations

from dataclasses import dataclass

from feed.taxonomy import ALERT_TYPES

TEHRAN_OFFSET_S = 4 * 3600 + 30 * 60  # Iran Standard Time, UTC+04:30 (no DST in June 2009)
JUNE_12_2009 = 1244764800.0  # 2009-06-12T00:00:00Z, election day

EPISODE_TYPES = ALERT_TYPES  # an injected episode is what detection should raise
# fade, trend: words and volumes. rt_cascade, hashtag_campaign: many accounts posting alike that are no
# coordination. gap: every region dark at once (the platform's maintenance), no outage.
DECOY_TYPES = ("fade", "trend", "rt_cascade", "hashtag_campaign", "gap")


@dataclass(frozen=True, slots=True)
class EpisodeSpec:
    """An episode (or decoy) as designed: placed at ``at`` hours into a run of the nominal length."""

    type: str  # EPISODE_TYPES; decoys: DECOY_TYPES
    key: str  # "*" | "term:<t>" | "category:<c>" | "cluster:*" (coordination: the detector names it)
    region: str | None
    at: float  # nominal start, hours after the scenario start (scaled for other run lengths)
    minutes: float  # nominal duration
    # surge "*"/category: volume factor; surge term: share of posts carrying the hashtag;
    # outage: fraction of the region's posts kept; fade: final level of the term; trend: end/start ratio;
    # deletion: the deletion rate (of the region, or of the term in the region) over its background;
    # coordination: the number of new accounts; relocation: the share of the active authors seen before
    # in US, GB or DE who are ready to move (those who post in time do); rt_cascade: the number of
    # retweets; hashtag_campaign, gap: 0.
    magnitude: float


@dataclass(frozen=True)
class ScenarioSpec:
    name: str
    description: str
    hours: float  # default (and nominal) length
    rate: float  # default mean posts per second over the run
    start: float  # default start, epoch seconds
    episodes: tuple[EpisodeSpec, ...] = ()
    decoys: tuple[EpisodeSpec, ...] = ()
    ir_share: float = 0.5
    ir_authors: int = 3000
    other_authors: int = 3000
    renders: int = 24  # rendered variants per template
    extra_hashtags: bool = False  # a large extra hashtag vocabulary ("many terms")
    extra_hashtag_share: float = 0.0  # share of posts carrying some of those extra hashtags
    # "chain": episodes scaled to the run, never overlapping (plan._layout); "fixed": at their nominal
    # times and lengths, shifted together by a per-seed jitter, overlapping where designed (tactics).
    layout: str = "chain"
    accounts: bool = False  # posts carry author_created and author_followers
    deletion_share: float = 0.0  # share of ordinary posts deleted minutes to hours after posting


def _h(day: int, utc_hour: float) -> float:
    """Hours after 2009-06-12T00:00Z for a day offset and a UTC hour (Tehran = UTC + 4.5)."""
    return day * 24 + utc_hour


SCENARIOS: dict[str, ScenarioSpec] = {
    "iran2009": ScenarioSpec(
        name="iran2009",
        description="A week from election day, 2009-06-12: an Internet cut, the censor filtering "
        "'democracy' then the candidate's name, the great march, #neda, a call for doctors.",
        hours=168,
        rate=1.5,
        start=JUNE_12_2009,
        episodes=(
            EpisodeSpec("outage", "*", "IR", _h(1, 9.5), 120, 0.03),  # 14:00 Tehran, June 13
            EpisodeSpec("filtering", "term:democracy", "IR", _h(2, 8.5), 180, 0),  # 13:00, June 14
            EpisodeSpec("surge", "*", None, _h(3, 11.0), 60, 4.0),  # 15:30, June 15: the silent march
            EpisodeSpec("filtering", "term:mousavi", "IR", _h(4, 7.5), 150, 0),  # 12:00, June 16
            EpisodeSpec("surge", "term:#neda", None, _h(5, 16.0), 90, 0.3),  # 20:30, June 17
            EpisodeSpec("surge", "category:medical", None, _h(6, 10.0), 60, 5.0),  # 14:30, June 18
        ),
        decoys=(
            EpisodeSpec("fade", "term:unrest", None, _h(4, 18.0), 24 * 60, 0.15),
            EpisodeSpec("trend", "*", None, 0, 168 * 60, 1.5),
        ),
    ),
    "stress": ScenarioSpec(
        name="stress",
        description="Six busy hours at 200 posts/s with a large hashtag vocabulary and many episodes.",
        hours=6,
        rate=200,
        start=JUNE_12_2009 + _h(3, 6.0) * 3600,  # 10:30 Tehran, June 15
        episodes=(
            EpisodeSpec("filtering", "term:democracy", "IR", 0.6, 20, 0),
            EpisodeSpec("outage", "*", "IR", 1.2, 20, 0.03),
            EpisodeSpec("surge", "*", None, 1.8, 20, 3.0),
            EpisodeSpec("filtering", "term:#iranelection", "IR", 2.4, 20, 0),
            EpisodeSpec("surge", "term:#neda", None, 3.0, 20, 0.3),
            EpisodeSpec("filtering", "term:violence", "IR", 3.6, 20, 0),
            EpisodeSpec("surge", "category:medical", None, 4.2, 20, 4.0),
            EpisodeSpec("filtering", "term:khamenei", "IR", 4.8, 20, 0),
            EpisodeSpec("surge", "category:arrest", None, 5.4, 20, 4.0),
        ),
        decoys=(
            EpisodeSpec("fade", "term:unrest", None, 2.0, 180, 0.15),
            EpisodeSpec("trend", "*", None, 0, 6 * 60, 1.3),
        ),
        ir_authors=30000,
        other_authors=30000,
        renders=64,
        extra_hashtags=True,
        extra_hashtag_share=0.35,
    ),
    "quiet": ScenarioSpec(
        name="quiet",
        description="Three ordinary days: no episodes, only the decoys (a fading term, a slow trend).",
        hours=72,
        rate=1.5,
        start=JUNE_12_2009,
        decoys=(
            EpisodeSpec("fade", "term:unrest", None, 30, 24 * 60, 0.15),
            EpisodeSpec("trend", "*", None, 0, 72 * 60, 1.5),
        ),
    ),
    "tactics": ScenarioSpec(
        name="tactics",
        description="Three days from June 14, 2009, with the tactics the sources describe at the level of "
        "accounts: a mass self-deletion in IR, the targeted deletion of 'khamenei', a sockpuppet campaign "
        "of new accounts, a relocation wave into IR while 'mousavi' is filtered there, and the platform's "
        "maintenance gap; decoys: an organic retweet cascade, the #cnnfail hashtag campaign.",
        hours=72,
        rate=1.5,
        start=JUNE_12_2009 + 2 * 86400.0,  # 2009-06-14T00:00Z: a day of history before the first episode
        episodes=(
            EpisodeSpec("deletion", "*", "IR", 32.0, 60, 8.0),  # 12:30 Tehran, June 15
            EpisodeSpec("coordination", "cluster:*", "IR", 37.0, 10, 30),  # 17:30, June 15
            EpisodeSpec("deletion", "term:khamenei", "IR", 54.0, 60, 60.0),  # 10:30, June 16
            EpisodeSpec("surge", "term:#cnnfail", None, 59.0, 60, 0.05),  # 15:30: the campaign's tag
            EpisodeSpec("filtering", "term:mousavi", "IR", 63.0, 150, 0),  # 19:30, June 16
            EpisodeSpec("relocation", "*", "IR", 63.25, 45, 0.6),  # 19:45: outsiders move to Tehran
        ),
        decoys=(
            EpisodeSpec("rt_cascade", "*", None, 42.0, 40, 80),  # 22:30, June 15
            EpisodeSpec("hashtag_campaign", "term:#cnnfail", None, 59.0, 60, 0),
            # 01:30 Tehran, June 17: the maintenance Twitter put off by a day to spare Iran's daytime.
            EpisodeSpec("gap", "*", None, 69.0, 60, 0),
        ),
        layout="fixed",
        accounts=True,
        deletion_share=0.03,
    ),
}


def scenario_spec(name: str) -> ScenarioSpec:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(sorted(SCENARIOS))}") from None
