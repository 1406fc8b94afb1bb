"""The detector: event-time windows, baselines, and the outage / filtering / surge tests. Pure.

``push()`` adds one observation to its tumbling window and advances the watermark (the minimum over
sources of the largest event time seen, minus the allowed lateness); every window the watermark passes
is closed, in order, and the tests run on its counts. ``end_source()`` marks a source as ended (an
end-of-feed marker was read from it): it no longer holds the watermark back, and once every source has
ended the watermark is the largest event time of all minus the lateness, where a single source over the
whole feed ends (``python -m pipeline analyze``). A post on an ended source re-opens it.

1. **Outage** (per region): the region's volume against what the control (every other located region)
   and the region's share of located traffic predict, and against the region's own level (an EWMA that
   follows the daily cycle); a ratio and a Poisson lower tail. With no control traffic the own level
   decides; when every region collapses at once it is a gap in the feed, not an outage. While a region
   is out (and for a cooldown after) it is left out of every other test, so an outage raises no
   filtering alert and its end no surge.
2. **Filtering** (per term and region): the term's canonical count (evasion spellings apart) in the
   region against ``posts in the region x the term's share there``, scaled down (never up) by how the
   term fares in the control lately (an upper bound of its observed/expected ratio there), so a term
   fading everywhere alike predicts its own fade. A Poisson CUSUM against "the count fell to rho times
   expected" delimits the run of suspicious windows; the alarm is a Poisson lower tail of the run's
   total, confirmed by the conditional binomial test of the region's share of region + control counts
   (which no common change moves). With no control traffic the region's own history decides. Terms
   whose posts vanish together (co-filtered words, judged on recent clean samples) are one alert, keyed
   by the term with the largest deficit; a rise of evasion spellings is reported as evidence.
3. **Surge** (overall, region null): the volume ``*`` against the regions' levels; terms, hashtags and
   categories by their share of volume (so an overall surge is not a surge of every term). Ratio,
   Poisson upper tail and a minimum count scaled to the volume. Candidates whose posts overlap in the
   window's sample are one alert, keyed by the largest excess (ties: category > hashtag > watchlist >
   word).

Baselines learn from every window, except the keys of candidates and of active episodes, and regions out
(with their control): those do not learn at all for ``freeze_seconds``, then ten times slower, so an
episode that never ends becomes the new normal. Alerts depend only on the content of each window:
``detected_at`` is the watermark that closes the window (its end plus the lateness), whatever the
arrival order, the number of sources or the speed of the replay.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from pipeline.detect.baseline import Level, ShareGroup
from pipeline.detect.model import Alert, DetectorConfig, Observation, WatchStatus, WindowStatus
from pipeline.detect.stats import log_binomial_cdf, log_poisson_cdf, log_poisson_sf, score
from pipeline.detect.window import (
    HASH_MASK,
    HASH_MULTIPLIER,
    Sampled,
    Window,
    count_into,
    decode_sample,
    encode_sample,
)

SNAPSHOT_VERSION = 1
LOCATED = "@located"  # the share group of every post with a region
NO_REGION = ""  # posts without a region
ALL_GROUPS = "@all"  # (learning) every share group
SUSPICIOUS_LOG_P = math.log(1e-3)  # unusual enough to date an onset one window early (raises nothing)
FREQUENT_PER_WINDOW = 2.0  # terms expected this often in a region are tested for filtering (an alarm
# needs about 18 expected over at most 6 windows)
RUN_START = 1.0  # a filtering run starts on at least this much evidence (log-likelihood ratio) in a window


@dataclass(slots=True)
class _Run:
    """A filtering CUSUM run of one term in one region: per window (start, observed, expected, ...)."""

    s: float = 0.0
    windows: list[list[float]] = field(default_factory=list)  # [start, x, own, cx, ec, ev, ev_exp]


@dataclass(slots=True)
class _Episode:
    type: str
    key: str  # alert key
    region: str | None
    start: float
    leader: str  # the internal key: "*", a term, or "category:<c>"
    members: set[str] = field(default_factory=set)
    normal: int = 0  # consecutive normal windows

    def ident(self) -> str:
        return f"{self.type}|{self.key}|{self.region or ''}"


def _alert_key(key: str) -> str:
    if key == "*" or key.startswith("category:"):
        return key
    return "term:" + key


def _window_status_record(status: WindowStatus) -> dict[str, Any]:
    record = dataclasses.asdict(status)
    record["surge"] = {key: list(pair) for key, pair in status.surge.items()}  # JSON has no tuples
    return record


def _upper_ratio(observed: float, expected: float) -> float:
    """A one-sigma upper bound of observed/expected for a Poisson count."""
    return (observed + 0.5 + math.sqrt(observed + 0.25)) / expected


@dataclass(slots=True)
class _Closing:
    """One window being closed: its counts, and what the tests decide (alerts, what learns how fast)."""

    start: float
    at: float  # detected_at of anything raised now
    live: bool  # past the warm-up
    vol: dict[str, int]
    counts: dict[str, dict[str, int]]
    located: int
    located_counts: dict[str, int]
    levels: dict[str, float]
    disturbed: set[str] = field(default_factory=set)  # regions out or recovering: left out of tests
    alerts: list[Alert] = field(default_factory=list)
    status: list[WatchStatus] = field(default_factory=list)
    filter_candidates: bool = False
    volume_factor: float = 1.0  # how fast every volume level learns (1 normal, 0 frozen)
    group_factor: dict[str, float] = field(default_factory=dict)  # per share group / region level
    key_factor: dict[str, dict[str, float]] = field(default_factory=dict)  # group -> key -> factor

    def slow_group(self, group: str, factor: float) -> None:
        self.group_factor[group] = min(factor, self.group_factor.get(group, 1.0))

    def slow_key(self, group: str, key: str, factor: float) -> None:
        keys = self.key_factor.setdefault(group, {})
        keys[key] = min(factor, keys.get(key, 1.0))

    def slow_volume(self, factor: float) -> None:
        self.volume_factor = min(self.volume_factor, factor)


class Detector:
    """Outage, filtering and surge detection over a stream of :class:`Observation` (see module doc)."""

    def __init__(self, config: DetectorConfig | None = None) -> None:
        self.config = config or DetectorConfig()
        cfg = self.config
        self._width = float(cfg.window_seconds)
        self._lateness = float(cfg.lateness_seconds)
        self._sample_size = cfg.sample_size
        self._watch = frozenset(cfg.watchlist)
        self._catkeys: dict[str, str] = {}
        self._evkeys: dict[str, str] = {}
        self.late_posts = 0
        self.posts = 0
        self.watermark: float | None = None
        self._sources: dict[int, float] = {}  # the largest event time of each source with posts
        self._ended_sources: dict[int, float] = {}  # ended sources: the last event time their marker gave
        self._known_sources = 0  # sources with posts or ended
        self._source_min: float | None = None  # the smallest of self._sources over sources not ended
        self._windows: dict[int, Window] = {}
        self._next: int | None = None  # index of the next window to close
        self._close_at = math.inf  # the watermark that closes the next window
        self._origin: float | None = None  # start of the first window closed
        self._closed_posts = 0  # posts in closed windows (with the origin, the warm-up)
        self._levels: dict[str, Level] = {}
        self._groups: dict[str, ShareGroup] = {}
        self._runs: dict[str, dict[str, _Run]] = {}
        self._control: dict[str, dict[str, list[float]]] = {}  # region -> term -> [observed, expected] EWMA
        self._episodes: dict[str, _Episode] = {}
        self._cooldown: dict[str, float] = {}  # region -> end of its post-outage cooldown
        self._reference: list[list[Sampled]] = []
        self._prev_low: dict[str, float] = {}  # region -> volume ratio in the last window
        self._prev_high: set[str] = set()  # surge keys suspicious in the last window
        self._status: list[WatchStatus] = []
        self._window_status: WindowStatus | None = None
        self._measured_surges: dict[str, tuple[float, float]] = {}  # what _surges measured, for _summarize

    # ----------------------------------------------------------------------------------------------
    # The hot path.

    def push(self, obs: Observation) -> list[Alert]:
        """Add one observation; returns the alerts of any windows its watermark closes."""
        ts = obs.ts
        if self._ended_sources and obs.source in self._ended_sources:
            self._reopen(obs.source)
        watermark = self.watermark
        if watermark is not None and ts < watermark:
            self.late_posts += 1
            self._note_source(obs.source, ts)
            return []
        self.posts += 1
        index = int(ts // self._width)
        window = self._windows.get(index)
        if window is None:
            window = self._open(index)
        region = obs.region or NO_REGION
        vol = window.vol
        vol[region] = vol.get(region, 0) + 1
        counts = window.terms.get(region)
        if counts is None:
            counts = window.terms[region] = {}
        count_into(counts, obs.terms)
        if obs.evasions:
            counts = window.evasions.get(region)
            if counts is None:
                counts = window.evasions[region] = {}
            count_into(counts, obs.evasions)
        counts = window.cats.get(region)
        if counts is None:
            counts = window.cats[region] = {}
        count_into(counts, obs.categories)
        digest = (int(ts * 1000.0) * HASH_MULTIPLIER) & HASH_MASK
        cut = window.cut
        if cut is None or digest <= cut:
            sample = window.sample
            sample.append((digest, ts, region, obs.terms, obs.categories))
            if len(sample) >= 2 * self._sample_size:
                window.trim(self._sample_size)
        # The watermark: min over sources (not ended) of their max event time, minus the lateness.
        sources = self._sources
        source = obs.source
        before = sources.get(source)
        if before is not None and ts <= before:
            return []
        sources[source] = ts
        if before is None:
            self._recount()
        elif before == self._source_min:
            self._source_min = self._live_min() if self._ended_sources else min(sources.values())
        if self._known_sources < self.config.min_sources:
            return []
        return self._move_watermark(self._source_min - self._lateness)  # type: ignore[operator]

    def _move_watermark(self, candidate: float) -> list[Alert]:
        """The watermark moves to ``candidate`` if that is later; the alerts of the windows it closes."""
        watermark = self.watermark
        if watermark is not None and candidate <= watermark:
            return []
        self.watermark = candidate
        if candidate >= self._close_at:
            return self._advance()
        return []

    def _note_source(self, source: int, ts: float) -> None:
        if source not in self._sources:
            self._sources[source] = ts
            self._recount()

    def end_source(self, source: int, last_ts: float) -> list[Alert]:
        """The source has ended (an end-of-feed marker; ``last_ts`` is the feed's last event time as the
        marker gives it, kept for the record): it no longer holds the watermark back. Once every known
        source has ended (and at least ``min_sources`` are known), the watermark is the largest event time
        of all their posts minus the lateness: exactly where one source over the whole feed ends. The
        marker's own time never moves the watermark, so alerts depend only on the posts. Returns the
        alerts of the windows that closes, in order; ending an ended source changes nothing."""
        if source in self._ended_sources:
            return []
        self._ended_sources[source] = last_ts
        self._recount()
        if self._known_sources < self.config.min_sources:
            return []
        if self._source_min is not None:
            return self._move_watermark(self._source_min - self._lateness)
        if self._sources:
            return self._move_watermark(max(self._sources.values()) - self._lateness)
        return []

    def _reopen(self, source: int) -> None:
        """A post on an ended source. When every source had ended, the feed had ended and this post starts
        a new one (a second replay into the topic): every source counts again, and those that never had
        a post are forgotten, so the watermark waits for all of them as it did at the start. Otherwise
        (a live feed whose idle partition was ended) only this source is open again."""
        ended = self._ended_sources
        if len(ended) >= self._known_sources:
            ended.clear()
        else:
            del ended[source]
        self._recount()

    def _recount(self) -> None:
        """The known sources and the watermark's minimum, after a source was added, ended or re-opened."""
        ended = self._ended_sources
        self._known_sources = len(self._sources.keys() | ended.keys()) if ended else len(self._sources)
        self._source_min = self._live_min()

    def _live_min(self) -> float | None:
        ended = self._ended_sources
        live = [ts for source, ts in self._sources.items() if source not in ended]
        return min(live) if live else None

    def ended_sources(self) -> dict[int, float]:
        """The sources that have ended, with the last event time their marker gave."""
        return dict(self._ended_sources)

    def _open(self, index: int) -> Window:
        window = self._windows[index] = Window(index * self._width)
        if self._next is None:
            self._close_at = min(self._close_at, (index + 1) * self._width)
        return window

    def _advance(self) -> list[Alert]:
        alerts: list[Alert] = []
        windows = self._windows
        width = self._width
        watermark = self.watermark
        assert watermark is not None
        index = self._next
        if index is None:
            if not windows:
                return alerts
            index = min(windows)
        while (index + 1) * width <= watermark:
            if index in windows:
                alerts.extend(self._close(index))
                index += 1
            else:  # empty windows carry no evidence: skip to the next open one
                later = min(windows) if windows else int(watermark // width)
                index = max(index + 1, min(later, int(watermark // width)))
        self._next = index
        self._close_at = (index + 1) * width
        return alerts

    # ----------------------------------------------------------------------------------------------
    # Closing a window.

    def _close(self, index: int) -> list[Alert]:
        cfg = self.config
        window = self._windows.pop(index)
        start = window.start
        end = start + self._width
        if self._origin is None:
            self._origin = start
        vol = window.vol
        self._closed_posts += sum(vol.values())
        counts = self._window_counts(window)
        located_counts: dict[str, int] = {}
        located = 0
        for region in sorted(counts):
            if region == NO_REGION:
                continue
            located += vol.get(region, 0)
            get = located_counts.get
            for key, n in counts[region].items():
                located_counts[key] = get(key, 0) + n
        for group_id in (LOCATED, NO_REGION):
            if group_id not in self._groups:
                self._groups[group_id] = ShareGroup(start)
        ctx = _Closing(
            start=start,
            at=end + self._lateness,
            live=self._warm(end - self._origin, self._closed_posts, cfg.warmup_posts),
            vol=vol,
            counts=counts,
            located=located,
            located_counts=located_counts,
            levels={region: level.value for region, level in sorted(self._levels.items())},
        )
        total = sum(vol.values())
        expected_total = sum(ctx.levels.values())
        sizeable = sum(1 for v in ctx.levels.values() if v >= cfg.min_region_volume)
        if (
            sizeable >= 2
            and total < cfg.outage_ratio * expected_total
            and log_poisson_cdf(total, expected_total) < math.log(cfg.outage_p)
        ):
            # Every region fell at once: a gap in the feed, not an outage; no evidence, nothing learned.
            return []
        tracked = sorted(r for r in self._groups if r not in (LOCATED, NO_REGION))

        # 1. Outages; regions out (or recovering) are left out of everything else.
        for region in tracked:
            self._outage(ctx, region)
        for region in tracked:
            if self._cooldown.get(region, -math.inf) > start:
                ctx.disturbed.add(region)
                ctx.slow_group(region, cfg.anomaly_learn)
        for region in sorted(ctx.disturbed):
            factor = ctx.group_factor.get(region, cfg.anomaly_learn)
            ctx.slow_group(LOCATED, factor)
            ctx.slow_group(NO_REGION, factor)

        # 2. Filtering, per region.
        for region in tracked:
            if region in ctx.disturbed or not self._region_warm(region, start):
                continue
            self._filtering(ctx, region)
        self._status = ctx.status

        # 3. Surges.
        sample = window.final_sample(self._sample_size)
        self._measured_surges = {}
        self._surges(ctx, sample)
        self._window_status = self._summarize(ctx, self._measured_surges)

        # 4. Learn.
        self._learn(ctx, index)
        clean = (
            not ctx.disturbed
            and not ctx.filter_candidates
            and not any(ep.type == "filtering" for ep in self._episodes.values())
        )
        if clean and sample:
            self._reference.append(sample)
            del self._reference[: -cfg.reference_windows]
        return ctx.alerts

    def _window_counts(self, window: Window) -> dict[str, dict[str, int]]:
        """Per region: canonical term counts, ``~term`` evasion counts and ``category:<c>`` counts."""
        result: dict[str, dict[str, int]] = {}
        catkeys, evkeys = self._catkeys, self._evkeys
        for region in window.vol:
            counts = window.terms.get(region, {})
            evasions = window.evasions.get(region)
            if evasions:
                for term, n in evasions.items():
                    left = counts.get(term, 0) - n
                    if left > 0:
                        counts[term] = left
                    else:
                        counts.pop(term, None)
                    key = evkeys.get(term)
                    if key is None:
                        key = evkeys[term] = "~" + term
                    counts[key] = n
            for category, n in window.cats.get(region, {}).items():
                key = catkeys.get(category)
                if key is None:
                    key = catkeys[category] = "category:" + category
                counts[key] = n
            result[region] = counts
        return result

    def _warm(self, age: float, posts: int, needed: int) -> bool:
        cfg = self.config
        return age >= cfg.warmup_seconds or (age >= cfg.warmup_min_seconds and posts >= needed)

    def _region_warm(self, region: str, start: float) -> bool:
        group = self._groups[region]
        return self._warm(start - group.born, group.posts, self.config.warmup_posts // 10)

    def _freeze(self, episode: _Episode, start: float) -> float:
        """How fast an episode's keys learn: not at all at first, slowly once it has lasted long."""
        if start - episode.start < self.config.freeze_seconds:
            return 0.0
        return self.config.anomaly_learn

    # -- outage -------------------------------------------------------------------------------------
    def _outage(self, ctx: _Closing, region: str) -> None:
        cfg = self.config
        start = ctx.start
        ident = f"outage|*|{region}"
        episode = self._episodes.get(ident)
        observed = ctx.vol.get(region, 0)
        own = ctx.levels.get(region, 0.0)
        control_level = sum(v for r, v in ctx.levels.items() if r not in (region, NO_REGION))
        control = ctx.located - observed
        by_control: float | None = None
        group, everyone = self._groups[region], self._groups[LOCATED]
        if control_level >= cfg.min_control_volume and everyone.volume > group.volume > 0:
            if control < cfg.outage_ratio * control_level:
                # The control collapsed too: a gap in the feed, not this region's outage.
                if episode is not None:
                    ctx.disturbed.add(region)
                    ctx.slow_group(region, self._freeze(episode, start))
                return
            share = group.volume / everyone.volume
            if share < 0.98:
                by_control = control * share / (1.0 - share)
        expected = by_control if by_control is not None else own
        ratio = observed / expected if expected > 0 else 1.0
        low = False
        log_p = 0.0
        if (
            expected >= cfg.min_region_volume
            and observed < cfg.outage_ratio * expected
            and (by_control is None or observed < cfg.outage_ratio * own)
        ):
            log_p = log_poisson_cdf(observed, expected)
            low = log_p < math.log(cfg.outage_p)
        previous = self._prev_low.get(region, 1.0)
        self._prev_low[region] = ratio
        if episode is not None:
            ctx.disturbed.add(region)
            ctx.slow_group(region, self._freeze(episode, start))
            episode.normal = episode.normal + 1 if ratio >= cfg.outage_release_ratio else 0
            if episode.normal >= cfg.end_windows:
                del self._episodes[ident]
                self._cooldown[region] = start + self._width + cfg.outage_cooldown_seconds
                self._end(ctx, episode, observed, expected)
            return
        if not low:
            return
        ctx.disturbed.add(region)
        ctx.slow_group(region, 0.0)
        if not ctx.live or not self._region_warm(region, start) or self._cooldown.get(region, -1) > start:
            return
        onset = start - self._width if previous < 0.75 else start
        evidence: dict[str, Any] = {"own_level": round(own, 2)}
        if by_control is not None:
            evidence["control"] = {"observed": control, "share": round(group.volume / everyone.volume, 4)}
        self._raise(
            ctx, _Episode("outage", "*", region, onset, "*"), observed, expected, log_p, evidence=evidence
        )

    # -- filtering ----------------------------------------------------------------------------------
    def _filtering(self, ctx: _Closing, region: str) -> None:
        cfg = self.config
        start = ctx.start
        group, everyone = self._groups[region], self._groups[LOCATED]
        observed_volume = ctx.vol.get(region, 0)
        runs = self._runs.setdefault(region, {})
        episodes = [ep for ep in self._episodes.values() if ep.type == "filtering" and ep.region == region]
        for episode in episodes:
            factor = self._freeze(episode, start)
            for key in (episode.leader, *sorted(episode.members)):
                ctx.slow_key(region, key, factor)
                ctx.slow_key(LOCATED, key, factor)
        if observed_volume == 0:
            return
        here = ctx.counts.get(region, {})
        # The control: every other located region, except those out or recovering.
        away = sorted(ctx.disturbed)
        away_groups = [self._groups[r] for r in away if r in self._groups]
        away_counts = [ctx.counts.get(r, {}) for r in away]
        control_volume = ctx.located - observed_volume - sum(ctx.vol.get(r, 0) for r in away)
        control_level = everyone.volume - group.volume - sum(g.volume for g in away_groups)
        use_control = control_level >= cfg.min_control_volume and control_volume >= 0.25 * control_level
        log_rho = math.log(cfg.filter_rho)
        keep = 1.0 - cfg.filter_rho
        controls = self._control.setdefault(region, {})
        mix = cfg.control_alpha
        threshold = math.log(cfg.filter_p)
        cap = 3.0 * -threshold
        watch = self._watch
        keys = set(group.frequent)
        keys.update(runs)
        keys.update(t for t in watch if t in group.u)
        candidates: list[tuple[float, str, float, float, float, _Run]] = []
        measured: dict[str, tuple[float, float]] = {}
        shares, decay, group_volume = group.u, group.decay, group.volume
        everyone_scale = everyone.decay * everyone.volume
        everyone_get = everyone.u.get
        located_get = ctx.located_counts.get
        here_get = here.get
        min_expected, max_ratio = cfg.filter_min_expected, cfg.filter_max_ratio
        for term in sorted(keys):
            share = shares.get(term, 0.0) * decay
            run = runs.get(term)
            if share <= 0.0:
                if run is not None:
                    del runs[term]
                continue
            x = here_get(term, 0)
            own = observed_volume * share  # the region's own history
            cx = ec = -1.0
            expected = own
            if use_control:
                n_control = everyone_get(term, 0.0) * everyone_scale - share * group_volume
                cx = float(located_get(term, 0) - x)
                if away_groups:
                    for other in away_groups:
                        n_control -= other.expected_count(term)
                    cx -= sum(c.get(term, 0) for c in away_counts)
                ec = control_volume * max(n_control, 0.0) / control_level
                recent = controls.get(term)
                if recent is None:
                    recent = controls[term] = [cx, ec]
                else:
                    recent[0] += mix * (cx - recent[0])
                    recent[1] += mix * (ec - recent[1])
                if recent[1] > 0.0:
                    expected = own * min(1.0, recent[0] / recent[1])
            measured[term] = (x, expected)
            s = (run.s if run is not None else 0.0) + expected * keep + x * log_rho
            suspicion = 0.0
            if run is None and s <= RUN_START and term not in watch:
                continue  # no run and no evidence: nothing to test
            if s <= (0.0 if run is not None else RUN_START):
                if run is not None:
                    del runs[term]
            else:
                if run is None:
                    run = runs[term] = _Run()
                run.s = min(s, cap)
                ev = ev_expected = 0.0
                if term in watch:
                    ev = float(here.get("~" + term, 0))
                    ev_expected = observed_volume * group.share("~" + term)
                run.windows.append([start, x, own, cx, ec, ev, ev_expected])
                del run.windows[: -cfg.filter_max_windows]
                total_x, total_e = self._run_expectation(run, controls.get(term) if use_control else None)
                testable = total_e >= min_expected and total_x <= max_ratio * total_e
                if (testable or term in watch) and total_x <= 0.67 * total_e:
                    log_p = log_poisson_cdf(total_x, total_e)
                    if log_p < SUSPICIOUS_LOG_P:
                        suspicion = score(log_p)
                    if testable and log_p < threshold and self._control_agrees(run):
                        candidates.append((total_e - total_x, term, total_x, total_e, log_p, run))
            if term in watch:
                ctx.status.append(WatchStatus(term, region, float(x), round(expected, 3), suspicion))
        # Episodes end when the leader's count is back.
        for episode in episodes:
            current = measured.get(episode.leader)
            if current is None or current[1] < 1.0:
                continue
            x, expected = current
            episode.normal = episode.normal + 1 if x >= cfg.filter_release_ratio * expected else 0
            if episode.normal >= cfg.end_windows:
                del self._episodes[episode.ident()]
                self._end(ctx, episode, x, expected)
                for term in (episode.leader, *episode.members):  # no echo of the episode's own deficit
                    runs.pop(term, None)
                candidates = [c for c in candidates if c[1] != episode.leader and c[1] not in episode.members]
        if not candidates:
            return
        ctx.filter_candidates = True
        for candidate in candidates:
            ctx.slow_key(region, candidate[1], 0.0)
            ctx.slow_key(LOCATED, candidate[1], 0.0)
        if not ctx.live:
            return
        active, fresh = self._fresh(episodes, candidates)
        if not fresh:
            return
        posts = [post for sample in self._reference for post in sample if post[2] == region]
        index = self._index(posts, [c[1] for c in fresh] + [ep.leader for ep in active])
        groups: list[list[tuple[float, str, float, float, float, _Run]]] = []
        for candidate in fresh:
            term = candidate[1]
            home = next((ep for ep in active if self._related(term, ep.leader, index)), None)
            if home is not None:
                home.members.add(term)
                continue
            for members in groups:
                if self._related(term, members[0][1], index):
                    members.append(candidate)
                    break
            else:
                groups.append([candidate])
        for members in groups:
            _, term, total_x, total_e, log_p, run = members[0]
            others = tuple(sorted(c[1] for c in members[1:]))
            onset = run.windows[0][0]
            evidence: dict[str, Any] = {"windows": len(run.windows)}
            if all(row[3] >= 0 for row in run.windows):
                evidence["control"] = {
                    "observed": sum(row[3] for row in run.windows),
                    "expected": round(sum(row[4] for row in run.windows), 2),
                }
            else:
                evidence["control"] = None
            if term in watch:
                ev = sum(row[5] for row in run.windows)
                ev_expected = sum(row[6] for row in run.windows)
                evidence["evasions"] = {
                    "observed": ev,
                    "expected": round(ev_expected, 3),
                    "rising": ev >= 2 and ev > 2.0 * ev_expected,
                }
            episode = _Episode("filtering", _alert_key(term), region, onset, term, set(others))
            self._raise(ctx, episode, total_x, total_e, log_p, terms=others, evidence=evidence)

    def _control_agrees(self, run: _Run) -> bool:
        """Whether the region's share of the term's posts (region + control) over the run is low too.

        Conditional on the total, that share is binomial whatever moved the term everywhere alike (a fade
        the baselines have not caught up with, a surge), so a common change cannot pass this test. It
        applies once the control expects a few of the term's posts over the run.
        """
        cfg = self.config
        x = own = cx = ec = 0.0
        for row in run.windows:
            if row[3] < 0:
                return True  # no control in some window: the region's own history decides
            x += row[1]
            own += row[2]
            cx += row[3]
            ec += row[4]
        if ec < cfg.control_min_expected or own <= 0.0:
            return True
        return log_binomial_cdf(x, x + cx, own / (own + ec)) < math.log(cfg.control_p)

    def _run_expectation(self, run: _Run, recent: list[float] | None) -> tuple[float, float]:
        """The run's observed and expected totals, for a Poisson lower tail of "so few".

        The expectation is the region's own history, scaled down (never up) by how the term fares in the
        control lately (``recent``: EWMAs of the control's observed and expected counts): an upper bound
        (one sigma, on the counts of about 1/control_alpha windows) of that ratio, so a term fading
        everywhere alike predicts its own fade while a control low by chance barely matters. Without
        control traffic the region's own history decides alone.
        """
        x = own = 0.0
        for row in run.windows:
            x += row[1]
            own += row[2]
        if recent is not None and recent[1] > 0.0:
            scale = 1.0 / self.config.control_alpha
            return x, own * min(1.0, _upper_ratio(recent[0] * scale, recent[1] * scale))
        return x, own

    # -- surges -------------------------------------------------------------------------------------
    def _surges(self, ctx: _Closing, sample: list[Sampled]) -> None:
        """Tests '*', terms and categories over every region not out or recovering."""
        cfg = self.config
        start = ctx.start
        excluded = ctx.disturbed
        episodes = [ep for ep in self._episodes.values() if ep.type == "surge"]
        for episode in episodes:
            factor = self._freeze(episode, start)
            if episode.leader == "*":
                ctx.slow_volume(factor)
            else:
                for key in (episode.leader, *sorted(episode.members)):
                    ctx.slow_key(ALL_GROUPS, key, factor)
        high: set[str] = set()
        candidates: list[tuple[float, str, float, float, float]] = []
        threshold = math.log(cfg.surge_p)
        # Volume.
        observed = sum(n for region, n in ctx.vol.items() if region not in excluded)
        expected = sum(v for region, v in ctx.levels.items() if region not in excluded)
        if expected > 0 and observed >= 1.5 * expected and observed >= 5:
            log_p = log_poisson_sf(observed, expected)
            if log_p < SUSPICIOUS_LOG_P:
                high.add("*")
            if (
                observed >= cfg.surge_ratio * expected
                and observed >= cfg.surge_min_count
                and log_p < threshold
            ):
                candidates.append((observed - expected, "*", observed, expected, log_p))
        measured: dict[str, tuple[float, float]] = {"*": (observed, expected)}
        self._measured_surges = measured
        # Shares.
        total = observed
        groups = self._groups
        parts = [groups[LOCATED], groups[NO_REGION]]
        minus = [groups[r] for r in sorted(excluded) if r in groups]
        denominator = sum(g.volume for g in parts) - sum(g.volume for g in minus)
        watched = {ep.leader for ep in episodes if ep.leader != "*"}
        if total > 0 and denominator > 0:
            merged = dict(ctx.located_counts)
            for key, n in ctx.counts.get(NO_REGION, {}).items():
                merged[key] = merged.get(key, 0) + n
            for region in sorted(excluded):
                for key, n in ctx.counts.get(region, {}).items():
                    merged[key] = merged.get(key, 0) - n
            minimum = max(cfg.surge_min_count, cfg.surge_min_share * total)
            scales = [(g.u.get, g.decay * g.volume) for g in parts]
            scales += [(g.u.get, -g.decay * g.volume) for g in minus]
            per_share = total / denominator
            for key in sorted({key for key, x in merged.items() if x >= 5 and key[0] != "~"} | watched):
                x = merged.get(key, 0)
                n_key = 0.0
                for get, scale in scales:
                    n_key += get(key, 0.0) * scale
                expected_key = per_share * max(n_key, 0.0)
                measured[key] = (x, expected_key)
                floor = max(expected_key, cfg.surge_floor_expected)
                if x < 1.5 * floor:
                    continue
                log_p = log_poisson_sf(x, floor)
                if log_p < SUSPICIOUS_LOG_P:
                    high.add(key)
                if x >= minimum and x >= cfg.surge_ratio * floor and log_p < threshold:
                    candidates.append((x - expected_key, key, x, expected_key, log_p))
        # Episodes end when the leader is back to normal.
        for episode in episodes:
            x, expected_key = measured.get(episode.leader, (0.0, 0.0))
            floor = max(expected_key, cfg.surge_floor_expected)
            back = x < cfg.surge_release_ratio * floor or log_poisson_sf(x, floor) > SUSPICIOUS_LOG_P
            episode.normal = episode.normal + 1 if back else 0
            if episode.normal >= cfg.end_windows:
                del self._episodes[episode.ident()]
                self._end(ctx, episode, x, expected_key)
        previous = self._prev_high
        self._prev_high = high
        if not candidates:
            return
        for candidate in candidates:
            if candidate[1] == "*":
                ctx.slow_volume(0.0)
            else:
                ctx.slow_key(ALL_GROUPS, candidate[1], 0.0)
        if not ctx.live:
            return
        active, fresh = self._fresh(episodes, candidates)
        if not fresh:
            return
        posts = [post for post in sample if post[2] not in excluded]
        index = self._index(posts, [c[1] for c in fresh] + [ep.leader for ep in active])
        found: list[list[tuple[float, str, float, float, float]]] = []
        for candidate in fresh:
            key = candidate[1]
            if key == "*":
                found.append([candidate])
                continue
            home = next(
                (ep for ep in active if ep.leader != "*" and self._related(key, ep.leader, index)), None
            )
            if home is not None:
                home.members.add(key)
                continue
            for members in found:
                if members[0][1] != "*" and self._related(key, members[0][1], index):
                    members.append(candidate)
                    break
            else:
                found.append([candidate])
        for members in found:
            _, key, x, expected_key, log_p = members[0]
            others = tuple(sorted(c[1] for c in members[1:]))
            onset = start - self._width if key in previous else start
            episode = _Episode("surge", _alert_key(key), None, onset, key, set(others))
            evidence = {"ratio": round(x / max(expected_key, cfg.surge_floor_expected), 2), "volume": total}
            self._raise(ctx, episode, x, expected_key, log_p, terms=others, evidence=evidence)

    def _raise(
        self,
        ctx: _Closing,
        episode: _Episode,
        observed: float,
        expected: float,
        log_p: float,
        *,
        terms: tuple[str, ...] = (),
        evidence: dict[str, Any] | None = None,
    ) -> None:
        """Open an episode and raise its one onset alert."""
        self._episodes[episode.ident()] = episode
        ctx.alerts.append(
            Alert(
                type=episode.type,
                key=episode.key,
                region=episode.region,
                start=episode.start,
                detected_at=ctx.at,
                observed=observed,
                expected=round(expected, 2),
                score=score(log_p),
                terms=terms,
                evidence=evidence,
            )
        )

    # -- grouping -----------------------------------------------------------------------------------
    def _fresh(self, episodes: list[_Episode], candidates: list) -> tuple[list[_Episode], list]:
        """The episodes still open, and the candidates (sorted, largest excess first) none of them reports."""
        active = [ep for ep in episodes if ep.ident() in self._episodes]
        reported: set[str] = set()
        for ep in active:
            reported.add(ep.leader)
            reported.update(ep.members)
        candidates.sort(key=lambda c: (-c[0], self._rank(c[1]), c[1]))
        return active, [c for c in candidates if c[1] not in reported]

    def _rank(self, key: str) -> int:
        """Ties between leaders: category > hashtag > watchlist term > word ('*' first)."""
        if key == "*":
            return -1
        if key.startswith("category:"):
            return 0
        if key.startswith("#"):
            return 1
        if key in self._watch:
            return 2
        return 3

    @staticmethod
    def _index(posts: list[Sampled], keys: list[str]) -> dict[str, set[int]]:
        index: dict[str, set[int]] = {key: set() for key in keys}
        categories = {key[9:]: key for key in keys if key.startswith("category:")}
        for position, post in enumerate(posts):
            for term in post[3]:
                found = index.get(term)
                if found is not None:
                    found.add(position)
            if categories:
                for category in post[4]:
                    key = categories.get(category)
                    if key is not None:
                        index[key].add(position)
        return index

    def _related(self, a: str, b: str, index: dict[str, set[int]]) -> bool:
        """Whether two keys' posts overlap (of the smaller); too few posts to tell counts as related."""
        posts_a, posts_b = index.get(a, set()), index.get(b, set())
        smaller = min(len(posts_a), len(posts_b))
        if smaller < 3:
            return True
        return len(posts_a & posts_b) >= self.config.group_overlap * smaller

    def _end(self, ctx: _Closing, episode: _Episode, observed: float, expected: float) -> None:
        """The episode is over: one record with ``"state": "ended"`` (unless emit_ended is off)."""
        if self.config.emit_ended:
            ctx.alerts.append(self._ended(episode, ctx.at, observed, expected))

    def _ended(self, episode: _Episode, at: float, observed: float, expected: float) -> Alert:
        return Alert(
            type=episode.type,
            key=episode.key,
            region=episode.region,
            start=episode.start,
            detected_at=at,
            observed=observed,
            expected=round(expected, 2),
            score=0.0,
            terms=tuple(sorted(episode.members)),
            state="ended",
        )

    # -- learning -----------------------------------------------------------------------------------
    def _summarize(self, ctx: _Closing, measured: dict[str, tuple[float, float]]) -> WindowStatus:
        bounded = {
            key: (float(x), round(float(e), 3))
            for key, (x, e) in measured.items()
            if key == "*" or key.startswith("category:") or key in self._watch
        }
        return WindowStatus(
            start=ctx.start,
            volume={region: n for region, n in sorted(ctx.vol.items()) if region != NO_REGION},
            expected_volume={region: round(v, 3) for region, v in ctx.levels.items() if region != NO_REGION},
            surge=bounded,
        )

    def _learn(self, ctx: _Closing, index: int) -> None:
        cfg = self.config
        for region in sorted(set(ctx.vol) | set(self._levels)):
            level = self._levels.get(region)
            if level is None:
                level = self._levels[region] = Level()
            factor = min(ctx.volume_factor, ctx.group_factor.get(region, 1.0))
            if factor > 0.0:
                level.update(ctx.vol.get(region, 0), cfg.volume_alpha * factor)
        every = ctx.key_factor.get(ALL_GROUPS, {})
        for group_id in sorted(self._groups):
            factor = ctx.group_factor.get(group_id, 1.0)
            if factor <= 0.0:
                continue
            slow = dict(every)
            for key, value in ctx.key_factor.get(group_id, {}).items():
                slow[key] = min(value, slow.get(key, 1.0))
            if group_id == LOCATED:
                volume, counts = ctx.located, ctx.located_counts
            else:
                volume, counts = ctx.vol.get(group_id, 0), ctx.counts.get(group_id, {})
            self._groups[group_id].update(volume, counts, cfg.share_alpha * factor, slow)
        for region, level in self._levels.items():
            if region != NO_REGION and region not in self._groups and level.value >= cfg.min_region_volume:
                self._groups[region] = ShareGroup(ctx.start + self._width)
        if index % cfg.prune_every == 0:
            self._prune()

    def _prune(self) -> None:
        cfg = self.config
        protected: set[str] = set()
        for episode in self._episodes.values():
            protected.add(episode.leader)
            protected.update(episode.members)
        for group_id in sorted(self._groups):
            keep = set(protected)
            keep.update(self._runs.get(group_id, {}))
            group = self._groups[group_id]
            group.prune(cfg.prune_expected, keep, cfg.max_terms, FREQUENT_PER_WINDOW)
            controls = self._control.get(group_id)
            if controls:
                wanted = keep | set(group.frequent) | self._watch
                for term in [term for term in controls if term not in wanted]:
                    del controls[term]

    # ----------------------------------------------------------------------------------------------
    # Read-only views.

    def watch_status(self) -> list[WatchStatus]:
        """Watchlist terms per tested region in the last closed window."""
        return list(self._status)

    def window_status(self) -> WindowStatus | None:
        """Volumes and surge measures of the last closed window (None before the first closes)."""
        return self._window_status

    def outages(self) -> dict[str, bool]:
        """Every tracked region: whether it is in an outage now."""
        down = {ep.region for ep in self._episodes.values() if ep.type == "outage"}
        return {
            region: region in down for region in sorted(self._groups) if region not in (LOCATED, NO_REGION)
        }

    def active_episodes(self) -> list[dict[str, Any]]:
        return [
            {
                "type": ep.type,
                "key": ep.key,
                "region": ep.region,
                "start": ep.start,
                "terms": sorted(ep.members),
            }
            for ep in sorted(self._episodes.values(), key=lambda ep: ep.ident())
        ]

    # ----------------------------------------------------------------------------------------------
    # Snapshot and restore.

    def snapshot(self) -> dict[str, Any]:
        """The full state as JSON-ready data (str keys, lists, numbers); ``restore`` continues exactly."""
        vocabulary: dict[str, int] = {}
        windows = [[index, window.dump(vocabulary)] for index, window in self._windows.items()]
        reference = [encode_sample(sample, vocabulary) for sample in self._reference]
        return {
            "version": SNAPSHOT_VERSION,
            "config": self.config.to_dict(),
            "late_posts": self.late_posts,
            "posts": self.posts,
            "watermark": self.watermark,
            "sources": [[source, ts] for source, ts in self._sources.items()],
            "ended_sources": [[source, ts] for source, ts in self._ended_sources.items()],
            "next": self._next,
            "close_at": None if self._close_at == math.inf else self._close_at,
            "origin": self._origin,
            "closed_posts": self._closed_posts,
            "vocabulary": list(vocabulary),
            "windows": windows,
            "levels": {region: level.dump() for region, level in self._levels.items()},
            "groups": {group_id: group.dump() for group_id, group in self._groups.items()},
            "control": self._control,
            "runs": {
                region: {term: [run.s, run.windows] for term, run in runs.items()}
                for region, runs in self._runs.items()
            },
            "episodes": [
                [ep.type, ep.key, ep.region, ep.start, ep.leader, sorted(ep.members), ep.normal]
                for ep in self._episodes.values()
            ],
            "cooldown": self._cooldown,
            "reference": reference,
            "prev_low": self._prev_low,
            "prev_high": sorted(self._prev_high),
            "status": [[s.term, s.region, s.observed, s.expected, s.suspicion] for s in self._status],
            "window_status": _window_status_record(self._window_status) if self._window_status else None,
        }

    @classmethod
    def restore(cls, state: dict[str, Any], config: DetectorConfig | None = None) -> Detector:
        """A detector that continues exactly where the one that took ``state`` was."""
        if state.get("version") != SNAPSHOT_VERSION:
            raise ValueError(f"unsupported detector snapshot version {state.get('version')!r}")
        if config is None:
            config = DetectorConfig.from_dict(state["config"])
        detector = cls(config)
        saved = state["config"]
        for name in ("window_seconds", "lateness_seconds"):
            if float(saved[name]) != float(getattr(config, name)):
                raise ValueError(
                    f"the snapshot was taken with {name}={saved[name]}, not {getattr(config, name)}"
                )
        detector.late_posts = state["late_posts"]
        detector.posts = state["posts"]
        detector.watermark = state["watermark"]
        detector._sources = {int(source): ts for source, ts in state["sources"]}
        # Snapshots from before end-of-feed markers have no "ended_sources": no source had ended.
        detector._ended_sources = {int(source): ts for source, ts in state.get("ended_sources", ())}
        detector._recount()
        detector._next = state["next"]
        detector._close_at = math.inf if state["close_at"] is None else state["close_at"]
        detector._origin = state["origin"]
        detector._closed_posts = state["closed_posts"]
        words = state["vocabulary"]
        detector._windows = {int(index): Window.load(data, words) for index, data in state["windows"]}
        detector._levels = {region: Level(*values) for region, values in state["levels"].items()}
        detector._groups = {group_id: ShareGroup.load(data) for group_id, data in state["groups"].items()}
        detector._runs = {
            region: {term: _Run(s, [list(row) for row in rows]) for term, (s, rows) in runs.items()}
            for region, runs in state["runs"].items()
        }
        detector._control = {
            region: {term: list(values) for term, values in terms.items()}
            for region, terms in state["control"].items()
        }
        detector._episodes = {}
        for kind, key, region, start, leader, members, normal in state["episodes"]:
            episode = _Episode(kind, key, region, start, leader, set(members), normal)
            detector._episodes[episode.ident()] = episode
        detector._cooldown = dict(state["cooldown"])
        detector._reference = [decode_sample(sample, words) for sample in state["reference"]]
        detector._prev_low = dict(state["prev_low"])
        detector._prev_high = set(state["prev_high"])
        detector._status = [WatchStatus(*row) for row in state["status"]]
        window_status = state.get("window_status")
        if window_status is not None:
            surge = {key: (x, e) for key, (x, e) in window_status["surge"].items()}
            detector._window_status = WindowStatus(**{**window_status, "surge": surge})
        return detector
