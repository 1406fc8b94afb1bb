"""What detection consumes (:class:`Observation`), produces (:class:`Alert`) and is tuned by. Pure."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, NamedTuple

from feed import format_ts

# A post's LSH band keys (pipeline.classify.signature.text_signature: the band's index in the high bits,
# its CRC in the low 32) travel and are kept as one string, each key as fixed-width hex, rather than as a
# tuple of ints: one object instead of nine for the collector to scan and the JSON parser to build at
# each hop (detect record, sample, part, snapshot), and the keys still compare and sort as the ints did.
BAND_KEY_CHARS = 9  # up to 16 bands (one hex digit) and a 32-bit CRC (eight)
BAND_KEY_LIMIT = 1 << (4 * BAND_KEY_CHARS)


def signature_from_keys(keys: Iterable[int]) -> str:
    """Band keys (ints) as the string an :class:`Observation` carries; ValueError for a key that does
    not fit the width."""
    parts = []
    for key in keys:
        if not 0 <= key < BAND_KEY_LIMIT:
            raise ValueError(f"band key {key} does not fit {BAND_KEY_CHARS} hex digits")
        parts.append(f"{key:0{BAND_KEY_CHARS}x}")
    return "".join(parts)


def band_keys(sig: str) -> list[str]:
    """The band keys of a signature string, each a string of ``BAND_KEY_CHARS`` (``[]`` for ``""``)."""
    return [sig[start : start + BAND_KEY_CHARS] for start in range(0, len(sig), BAND_KEY_CHARS)]


def signature_from_json(value: Any) -> str:
    """A signature as a record or snapshot holds it: the string, or (written by an earlier version) a
    list of ints."""
    if type(value) is str:
        return value
    if isinstance(value, list | tuple) and all(type(key) is int for key in value):
        return signature_from_keys(value)
    raise ValueError(f"not a signature: {value!r:.60}")


class Observation(NamedTuple):
    """What detection needs of one classified post (a tuple: one is built per post, in the hot path)."""

    ts: float  # event time, epoch seconds
    region: str | None  # ISO alpha-2 or None
    terms: tuple[str, ...]  # Classification.terms (watchlist keys canonical, '#tags', content words)
    categories: tuple[str, ...]
    evasions: tuple[str, ...] = ()  # watchlist keys reached only via evasion spellings
    source: int = 0  # source partition; the watermark is the min over sources of (max ts seen) - lateness
    # The account behind the post (issue 18): its (pseudonymous) author, when the account was made, and,
    # for posts that may belong to a coordinated campaign (new or unknown accounts), the LSH band keys of
    # the text's MinHash and the text itself (the alert's sample).
    author: str | None = None
    created: float | None = None  # the account's author_created, epoch seconds
    sig: str = ""  # band keys of the text, joined (signature_from_keys), "" when not signed
    text: str | None = None


class Removal(NamedTuple):
    """A deletion notice as detection sees it: post ``post_id`` was deleted at ``ts``."""

    ts: float
    post_id: str
    author: str | None = None
    source: int = 0


@cache
def default_watchlist() -> tuple[str, ...]:
    """The canonical keys of the default watchlist (``pipeline/data/watchlist.json``)."""
    from pipeline.classify.normalize import Watchlist

    return Watchlist.load().keys


@dataclass(frozen=True, slots=True)
class DetectorConfig:
    """Every knob of detection; the defaults are tuned on the generated scenarios (bench/detect_eval.py)."""

    # Event time.
    window_seconds: float = 300.0  # tumbling windows, aligned to the epoch
    lateness_seconds: float = 120.0  # watermark = min over sources of their max ts, minus this
    min_sources: int = 1  # no watermark (nothing closes) until this many sources sent a post or ended
    warmup_seconds: float = 3600.0  # no alert before this much event time (per region for filtering/outage)
    warmup_min_seconds: float = 1800.0  # ... or this much, once warmup_posts (a region: 10%) were seen
    warmup_posts: int = 50_000
    # Baselines: EWMA weights per window; keys of episodes (and regions out) are frozen for freeze_seconds,
    # then learn at anomaly_learn times the weight (an episode that never ends becomes the new normal).
    volume_alpha: float = 0.2  # volume levels (tracks the diurnal cycle)
    share_alpha: float = 1.0 / 24.0  # shares of terms and categories in a region / overall (about 2 h)
    anomaly_learn: float = 0.1
    freeze_seconds: float = 6 * 3600.0  # episode keys (and regions out) do not learn at all this long
    min_region_volume: float = 20.0  # posts per window before a region is tracked and tested
    min_control_volume: float = 20.0  # posts per window elsewhere before the control is used
    # Filtering (per term and region): Poisson CUSUM against "the term's count fell to rho times expected".
    filter_min_expected: float = 5.0  # expected count over the run before a test
    filter_p: float = 1e-8  # Poisson lower tail of the run's count (about 10^6 tests a week at 1.5 posts/s)
    filter_max_ratio: float = 0.4  # and observed <= this times expected
    filter_rho: float = 0.1
    filter_max_windows: int = 6  # the run covers at most this many windows
    filter_release_ratio: float = 0.6  # ended when observed >= this times expected (end_windows in a row)
    control_alpha: float = 0.25  # EWMA of the control's observed and expected counts per term (~4 windows)
    control_p: float = 1e-3  # and the region's share of region + control counts is low (binomial) ...
    control_min_expected: float = 3.0  # ... whenever the control expects this much of the term over the run
    # Outage (per region): volume vs the control's share and the region's own level.
    outage_ratio: float = 0.25
    outage_p: float = 1e-6
    outage_release_ratio: float = 0.5
    outage_cooldown_seconds: float = 900.0  # after an outage: no filtering test for the region, no new outage
    # Surge (overall, terms, hashtags, categories; region null): by volume for '*', by share otherwise.
    surge_ratio: float = 2.5
    surge_p: float = 1e-8
    surge_min_count: int = 8
    surge_min_share: float = 0.005  # of the window's volume
    surge_floor_expected: float = 0.5  # expected count of a term never seen
    surge_release_ratio: float = 1.5
    # Episodes and grouping.
    end_windows: int = 2  # consecutive normal windows that end an episode
    group_overlap: float = 0.5  # candidates whose posts overlap this much (of the smaller) are one event
    emit_ended: bool = True  # one record with "state": "ended" when an episode ends
    # Accounts (issue 18). An author keeps the first region the stream saw for them (their home) for
    # account_retention_seconds after their last post; a post from another region is a relocation and
    # counts at home. Posts are remembered post_retention_seconds (at most post_index_limit of them) so a
    # deletion counts against the terms and region its post had.
    account_retention_seconds: float = 7 * 86400.0
    post_retention_seconds: float = 12 * 3600.0
    post_index_limit: int = 100_000  # snapshots carry the index: ~45 bytes a post
    # Deletion (per region "*", and per term and region): deletions per window against their level (the
    # region) or the term's share of the region's posts (the term). Poisson upper tail, ratio, minimums.
    deletion_ratio: float = 3.0
    deletion_p: float = 1e-8  # as filtering and surges: thousands of region and term tests a day
    deletion_min_count: int = 10
    deletion_min_authors: int = 3
    deletion_floor: float = 1.0  # expected deletions per window never below this
    # Coordination: near-duplicate texts (MinHash LSH band keys) of new accounts (made less than
    # pipeline.classify.signature.NEW_ACCOUNT_SECONDS before the post) or accounts without history (first
    # seen in the stream less than coordination_history_seconds before), within coordination_windows.
    coordination_history_seconds: float = 3600.0
    coordination_windows: int = 3
    coordination_min_accounts: int = 8
    coordination_p: float = 1e-6
    coordination_sample: int = 20_000  # such posts kept per window (bottom-k by a hash of the post id)
    # Relocation (per destination region): authors seen posting from another region than their home.
    relocation_min_authors: int = 10
    relocation_ratio: float = 3.0
    relocation_p: float = 1e-6
    relocation_floor: float = 1.0
    # Bounded state.
    sample_size: int = 2048  # posts kept per window (bottom-k by a hash of the event time) for grouping
    reference_windows: int = 3  # recent clean windows whose samples tell which terms co-occur
    max_terms: int = 20000  # keys tracked per baseline; the rarest are evicted
    prune_expected: float = 0.01  # keys expected less than this per window are forgotten
    prune_every: int = 12  # windows
    watchlist: tuple[str, ...] = field(default_factory=default_watchlist)

    def __post_init__(self) -> None:
        for name in ("window_seconds", "share_alpha", "volume_alpha"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value!r}")
        if self.lateness_seconds < 0:
            raise ValueError("lateness_seconds must not be negative")
        if not 0 < self.share_alpha <= 1 or not 0 < self.volume_alpha <= 1:
            raise ValueError("share_alpha and volume_alpha must be in (0, 1]")
        if self.min_sources < 1 or self.sample_size < 16 or self.filter_max_windows < 1:
            raise ValueError("min_sources >= 1, sample_size >= 16 and filter_max_windows >= 1")
        object.__setattr__(self, "watchlist", tuple(self.watchlist))

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["watchlist"] = list(self.watchlist)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DetectorConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        values = {key: value for key, value in data.items() if key in known}
        if "watchlist" in values:
            values["watchlist"] = tuple(values["watchlist"])
        return cls(**values)


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert record (topic ``alerts``, ``analyze --alerts``)."""

    type: str  # filtering | outage | surge | deletion | coordination | relocation
    key: str  # "*" | "term:<t>" | "category:<c>" | "cluster:<id>"
    region: str | None
    start: float  # estimated onset: the start of the first anomalous window
    detected_at: float  # the event-time watermark that closed the window which raised it
    observed: float
    expected: float
    score: float  # -log10 of the p-value of the count test
    terms: tuple[str, ...] = ()  # the other keys of the same event (co-trending or co-filtered)
    evidence: dict[str, Any] | None = None
    state: str | None = None  # None at onset; "ended" once when the episode ends

    def to_record(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "type": self.type,
            "key": self.key,
            "region": self.region,
            "start": format_ts(self.start),
            "detected_at": format_ts(self.detected_at),
            "observed": self.observed,
            "expected": self.expected,
            "score": self.score,
        }
        if self.terms:
            record["terms"] = list(self.terms)
        if self.evidence:
            record["evidence"] = self.evidence
        if self.state is not None:
            record["state"] = self.state
        return record


@dataclass(frozen=True, slots=True)
class WatchStatus:
    """A watchlist term in a region, in the last closed window (for Prometheus gauges)."""

    term: str
    region: str | None
    observed: float  # posts with the canonical spelling
    expected: float  # what the region's baseline and the control predict
    suspicion: float  # -log10 p of the current filtering run (0 when nothing is suspicious)


@dataclass(frozen=True, slots=True)
class WindowStatus:
    """The last closed window at a glance, with bounded keys only (for Prometheus gauges).

    ``volume`` and ``expected_volume`` are per region; ``surge`` maps the overall volume ``"*"``, every
    ``category:<c>`` and every watchlist term to (observed, expected) as the surge test measured them.
    Free terms and hashtags are left out: they would be unbounded label values.
    """

    start: float
    volume: dict[str, int]
    expected_volume: dict[str, float]
    surge: dict[str, tuple[float, float]]
    # Accounts (issue 18): per region, deletions in the window and what the baseline expected; per
    # watchlist term (key "<term>|<region>"), the same; open coordination clusters with their accounts.
    deletions: dict[str, tuple[float, float]] = field(default_factory=dict)
    term_deletions: dict[str, tuple[float, float]] = field(default_factory=dict)
    clusters: dict[str, int] = field(default_factory=dict)
