"""Synthetic scenario feeds with exact ground truth (``python -m replay generate``). Pure: no Kafka.

A scenario is a stream of posts in English, Persian (Arabic script) and Finglish (Persian in Latin
letters) built from templates in the spirit of the seed documents, with a diurnal cycle on Tehran time,
authors in Iran (IR) and elsewhere, and *episodes* injected at known times:

* ``filtering`` (``term:<t>``, region IR): IR posts containing the term are dropped inside the window;
  other IR posts and the term elsewhere go on. A few IR posts slip through with an evasion spelling
  (``d3mocracy``, ``дemocracy``, ``de.mocracy``) that no longer contains the term.
* ``outage`` (``*``, region IR): IR volume drops to a few per cent (SMS/Internet cut).
* ``surge``: overall volume ×k (``*``), a hashtag's share jumps (``term:#tag``), or a category's
  volume ×k (``category:<c>``); region null, every region alike.

Decoys must raise nothing and are listed apart from the episodes: a term fading everywhere alike
(``fade``) and a slow overall ``trend``.

The ``tactics`` scenario (issue 18) adds what acts on accounts rather than words. Its posts carry
``author_created`` and ``author_followers`` (one account, one value, whatever region it posts from),
and 3% of ordinary posts are deleted minutes to hours later: a deletion notice
``{"kind": "delete", "id", "ts", "author"}`` in the same feed, in event-time order. Its episodes:

* ``deletion`` (``*``, region IR): IR posts of the last day deleted at 8 times the background rate for
  an hour, by many distinct authors (a mass self-deletion); (``term:khamenei``, region IR): IR posts
  carrying the term deleted at 60 times the term's background rate (targeted removal).
* ``coordination`` (``cluster:*``: any cluster the detector names; region IR): 30 accounts made days
  before, with few followers and no earlier post, post one claim in near-identical words in 10 minutes.
* ``relocation`` (``*``, region IR): active authors of US, GB and DE start posting as IR over 45
  minutes, inside a ``filtering`` episode of ``term:mousavi`` in IR (also in the truth).
* ``surge`` of ``term:#cnnfail``: the hashtag campaign below does raise its tag.

Its decoys: an organic retweet cascade (``rt_cascade``: established accounts, first seen hours before,
retweet one post word for word) and a ``hashtag_campaign`` (one tag, many accounts, their own words)
must raise no coordination; a platform-wide ``gap`` (every region dark for an hour, no post and no
notice) must raise no outage, filtering or surge, during it or when traffic returns.

Arrivals are a Poisson process whose rate is constant within each UTC minute; episodes start and end
on whole minutes, so every effect is exact inside its window ``[start, end)`` and absent outside.
Everything is deterministic given the scenario, seed, hours, rate and start.

The modules, in the order a run uses them: :mod:`.scenarios` (what is designed), :mod:`.templates`
(the text data), :mod:`.vocabulary` (the texts and tables of one run), :mod:`.plan` (where the episodes
fall, the ground truth, each minute's rate and effects) and :mod:`.write` (the posts, as values or as
JSON Lines bytes). The names below are the public ones; import them from here.
"""

from feed.taxonomy import CATEGORIES
from replay.generate.plan import MIN_EPISODE_S, Episode, Truth, diurnal_factor, plan_truth
from replay.generate.scenarios import (
    DECOY_TYPES,
    EPISODE_TYPES,
    JUNE_12_2009,
    SCENARIOS,
    TEHRAN_OFFSET_S,
    EpisodeSpec,
    ScenarioSpec,
)
from replay.generate.templates import CORE_HASHTAGS, EN, FA, FL, LANGS, WORD_TERMS
from replay.generate.vocabulary import TABLE, term_pattern
from replay.generate.write import EVASION_SHARE, generate, labelled_posts, write_scenario

__all__ = [
    "CATEGORIES",
    "CORE_HASHTAGS",
    "DECOY_TYPES",
    "EN",
    "EPISODE_TYPES",
    "EVASION_SHARE",
    "FA",
    "FL",
    "JUNE_12_2009",
    "LANGS",
    "MIN_EPISODE_S",
    "SCENARIOS",
    "TABLE",
    "TEHRAN_OFFSET_S",
    "WORD_TERMS",
    "Episode",
    "EpisodeSpec",
    "ScenarioSpec",
    "Truth",
    "diurnal_factor",
    "generate",
    "labelled_posts",
    "plan_truth",
    "term_pattern",
    "write_scenario",
]
