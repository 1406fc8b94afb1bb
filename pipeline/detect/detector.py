"""The detector: event-time windows, baselines, and the outage / filtering / surge tests. Pure.

The core is here (windows, watermark, learning, grouping, snapshots); each test has its own module,
mixed into :class:`Detector`: :mod:`.outage`, :mod:`.filtering` and :mod:`.surges`, over the closing
context of :mod:`.closing`.

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
import zlib
from typing import Any

from pipeline.classify.signature import NEW_ACCOUNT_SECONDS
from pipeline.detect.accounts import AuthorBook, PostIndex
from pipeline.detect.baseline import Level, ShareGroup
from pipeline.detect.closing import ALL_GROUPS, FREQUENT_PER_WINDOW, LOCATED, NO_REGION, Closing, Episode, Run
from pipeline.detect.coordination import NEW, TS, Cluster, CoordinationTest, signed_row
from pipeline.detect.deletions import DeletionTest
from pipeline.detect.filtering import FilteringTest
from pipeline.detect.model import Alert, DetectorConfig, Observation, Removal, WatchStatus, WindowStatus
from pipeline.detect.outage import OutageTest
from pipeline.detect.relocation import RelocationTest
from pipeline.detect.stats import log_poisson_cdf
from pipeline.detect.surges import SurgeTest
from pipeline.detect.window import (
    HASH_MASK,
    HASH_MULTIPLIER,
    Sampled,
    Window,
    count_into,
    decode_sample,
    signed_from_columns,
    signed_to_columns,
)

SNAPSHOT_VERSION = 1


def _window_status_record(status: WindowStatus) -> dict[str, Any]:
    record = dataclasses.asdict(status)
    record["surge"] = {key: list(pair) for key, pair in status.surge.items()}  # JSON has no tuples
    return record


class Detector(OutageTest, FilteringTest, SurgeTest, DeletionTest, RelocationTest, CoordinationTest):
    """Outage, filtering, surge, deletion, relocation and coordination detection over a stream of
    :class:`Observation` and :class:`Removal` (see module doc)."""

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
        self._runs: dict[str, dict[str, Run]] = {}
        self._control: dict[str, dict[str, list[float]]] = {}  # region -> term -> [observed, expected] EWMA
        self._episodes: dict[str, Episode] = {}
        self._cooldown: dict[str, float] = {}  # region -> end of its post-outage cooldown
        self._reference: list[list[Sampled]] = []
        self._prev_low: dict[str, float] = {}  # region -> volume ratio in the last window
        self._prev_high: set[str] = set()  # surge keys suspicious in the last window
        self._status: list[WatchStatus] = []
        self._window_status: WindowStatus | None = None
        self._measured_surges: dict[str, tuple[float, float]] = {}  # what _surges measured, for _summarize
        # Accounts (issue 18).
        self._book = AuthorBook(cfg.account_retention_seconds)
        self._post_index = PostIndex(cfg.post_retention_seconds, cfg.post_index_limit)
        self._deletion_levels: dict[str, Level] = {}
        self._deletion_prev_vol: dict[str, int] = {}  # region -> posts in the last closed window
        self._relocation_levels: dict[str, Level] = {}
        self._cluster_level = Level()
        self._signed_windows: list[list[tuple[Any, ...]]] = []  # rows of coordination.Signed
        self._clusters: dict[str, Cluster] = {}  # open coordination episodes by alert key
        self.relocations_total: dict[str, int] = {}  # destination -> relocations in closed windows
        self.unknown_deletions = 0  # ... whose post was never seen (or forgotten)
        self.late_deletions = 0
        self._deletion_status: tuple[dict[str, Any], dict[str, Any]] = ({}, {})  # per region, per term

    # ----------------------------------------------------------------------------------------------
    # The hot path.

    def push(self, obs: Observation, post_id: str | None = None) -> list[Alert]:
        """Add one observation (of the post ``post_id``, when known: its deletion can then find it);
        returns the alerts of any windows its watermark closes."""
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
        region = obs.region
        author = obs.author
        if author is not None:
            sighting = self._book.sight(author, region, ts)
            region = sighting.region
            if sighting.relocated_to is not None:
                movers = window.moved.get(sighting.relocated_to)
                if movers is None:
                    movers = window.moved[sighting.relocated_to] = {}
                movers[author] = sighting.moved_from  # type: ignore[assignment]
            if obs.sig:
                self._sign(window, obs, post_id, region, sighting.first_seen)
        if post_id is not None:
            self._post_index.add(post_id, ts, region, obs.terms)
        region = region or NO_REGION
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
        return self._saw(obs.source, ts)

    def _sign(
        self, window: Window, obs: Observation, post_id: str | None, region: str | None, first: float
    ) -> None:
        """Keeps a post of a new account, or of an account without history here, for coordination."""
        ts = obs.ts
        created = obs.created
        if created is not None:
            new = ts - created < NEW_ACCOUNT_SECONDS
            if not new:
                return
        else:  # age unknown: no history in the stream (whether the stream has one yet is decided at close)
            new = False
            if ts - first > self.config.coordination_history_seconds:
                return
        post_id = post_id if post_id is not None else f"{obs.author}@{ts}"
        digest = zlib.crc32(post_id.encode())
        cut = window.signed_cut
        if cut is not None and digest > cut:
            return
        signed = window.signed
        signed.append(
            signed_row(
                digest, post_id, obs.author, new, region or NO_REGION, ts, obs.terms, obs.sig, obs.text or ""
            )
        )
        if len(signed) >= 2 * self.config.coordination_sample:
            signed.sort()
            del signed[self.config.coordination_sample :]
            window.signed_cut = signed[-1][0]

    def delete(self, removal: Removal) -> list[Alert]:
        """Add one deletion notice (counted in the window of its event time, resolved when that window
        closes); returns the alerts of any windows its watermark closes."""
        ts = removal.ts
        if self._ended_sources and removal.source in self._ended_sources:
            self._reopen(removal.source)
        watermark = self.watermark
        if watermark is not None and ts < watermark:
            self.late_deletions += 1
            self._note_source(removal.source, ts)
            return []
        index = int(ts // self._width)
        window = self._windows.get(index)
        if window is None:
            window = self._open(index)
        window.deleted.append((removal.post_id, removal.author, ts))
        return self._saw(removal.source, ts)

    def _saw(self, source: int, ts: float) -> list[Alert]:
        """The watermark after an event at ``ts`` on ``source``: the min over sources (not ended) of
        their max event time, minus the lateness; the alerts of the windows it closes."""
        sources = self._sources
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
        # Notices are resolved first, whatever the window turns out to be (a shard resolves every window
        # it hands on, before anything is known of it).
        resolved = window.resolved if window.resolved is not None else self._resolve(window.deleted)
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
        ctx = Closing(
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

        # 4. Accounts: deletions, relocations, coordination (issue 18).
        self._deletions(ctx, resolved)
        self._relocations(ctx, window.moved)
        signed = window.signed
        signed.sort()
        del signed[cfg.coordination_sample :]
        # An account of unknown age "has no history" only once the stream has an hour of its own (from
        # the first window closed: known here whatever order the sources' posts arrived in).
        history = cfg.coordination_history_seconds
        signed = [row for row in signed if row[NEW] or row[TS] - self._origin >= history]
        self._coordination(ctx, signed)
        self._book.expire(start)
        self._post_index.expire(start)
        self._window_status = self._summarize(ctx, self._measured_surges)

        # 5. Learn.
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

    def _freeze(self, episode: Episode, start: float) -> float:
        """How fast an episode's keys learn: not at all at first, slowly once it has lasted long."""
        if start - episode.start < self.config.freeze_seconds:
            return 0.0
        return self.config.anomaly_learn

    # -- grouping -----------------------------------------------------------------------------------
    def _fresh(self, episodes: list[Episode], candidates: list) -> tuple[list[Episode], list]:
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

    def _end(self, ctx: Closing, episode: Episode, observed: float, expected: float) -> None:
        """The episode is over: one record with ``"state": "ended"`` (unless emit_ended is off)."""
        if self.config.emit_ended:
            ctx.alerts.append(self._ended(episode, ctx.at, observed, expected))

    def _ended(self, episode: Episode, at: float, observed: float, expected: float) -> Alert:
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
    def _summarize(self, ctx: Closing, measured: dict[str, tuple[float, float]]) -> WindowStatus:
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
            deletions={region: pair for region, pair in self._deletion_status[0].items()},
            term_deletions=dict(self._deletion_status[1]),
            clusters={key: cluster.accounts for key, cluster in sorted(self._clusters.items())},
        )

    def _learn(self, ctx: Closing, index: int) -> None:
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

    def state_entries(self) -> dict[str, int]:
        """How much the detector remembers, by kind: what must stay bounded over a long stream (the
        retention and limits of :class:`DetectorConfig`), exported for ``make soak`` and operators."""
        return {
            "authors": len(self._book),
            "indexed_posts": len(self._post_index),
            "signed_posts": sum(len(posts) for posts in self._signed_windows)
            + sum(len(window.signed) for window in self._windows.values()),
            "open_windows": len(self._windows),
            "terms_tracked": sum(len(group.u) for group in self._groups.values()),
            "episodes": len(self._episodes),
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
        """The full state as JSON-ready data (str keys, lists and tuples, numbers); ``restore`` continues
        exactly. Some of it is the detector's own lists (the windows' samples): encode it before the
        detector moves on."""
        windows = [[index, window.dump()] for index, window in self._windows.items()]
        state = {
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
            "reference": self._reference,
            "prev_low": self._prev_low,
            "prev_high": sorted(self._prev_high),
            "status": [[s.term, s.region, s.observed, s.expected, s.suspicion] for s in self._status],
            "window_status": _window_status_record(self._window_status) if self._window_status else None,
            "accounts": {
                "authors": self._book.dump(),
                "posts": self._post_index.dump(),
                "evicted": self._post_index.evicted,
                "deletion_levels": {region: level.dump() for region, level in self._deletion_levels.items()},
                "deletion_prev_vol": self._deletion_prev_vol,
                "relocation_levels": {
                    region: level.dump() for region, level in self._relocation_levels.items()
                },
                "cluster_level": self._cluster_level.dump(),
                "signed_windows": [signed_to_columns(posts) for posts in self._signed_windows],
                "clusters": {key: cluster.dump() for key, cluster in self._clusters.items()},
                "relocations_total": self.relocations_total,
                "unknown_deletions": self.unknown_deletions,
                "late_deletions": self.late_deletions,
                "deletion_status": [
                    {region: list(pair) for region, pair in part.items()} for part in self._deletion_status
                ],
            },
        }
        return state

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
        words = state.get("vocabulary")  # written by earlier versions, whose samples held term indices
        detector._windows = {int(index): Window.load(data, words) for index, data in state["windows"]}
        detector._levels = {region: Level(*values) for region, values in state["levels"].items()}
        detector._groups = {group_id: ShareGroup.load(data) for group_id, data in state["groups"].items()}
        detector._runs = {
            region: {term: Run(s, [list(row) for row in rows]) for term, (s, rows) in runs.items()}
            for region, runs in state["runs"].items()
        }
        detector._control = {
            region: {term: list(values) for term, values in terms.items()}
            for region, terms in state["control"].items()
        }
        detector._episodes = {}
        for kind, key, region, start, leader, members, normal in state["episodes"]:
            episode = Episode(kind, key, region, start, leader, set(members), normal)
            detector._episodes[episode.ident()] = episode
        detector._cooldown = dict(state["cooldown"])
        detector._reference = [decode_sample(sample, words) for sample in state["reference"]]
        detector._prev_low = dict(state["prev_low"])
        detector._prev_high = set(state["prev_high"])
        detector._status = [WatchStatus(*row) for row in state["status"]]
        window_status = state.get("window_status")
        if window_status is not None:
            surge = {key: (x, e) for key, (x, e) in window_status["surge"].items()}
            fields = {**window_status, "surge": surge}
            for name in ("deletions", "term_deletions"):
                fields[name] = {key: tuple(pair) for key, pair in fields.get(name, {}).items()}
            detector._window_status = WindowStatus(**fields)
        accounts = state.get("accounts")
        if accounts is not None:
            cfg = detector.config
            detector._book = AuthorBook.load(cfg.account_retention_seconds, accounts["authors"])
            detector._post_index = PostIndex.load(
                cfg.post_retention_seconds, cfg.post_index_limit, accounts["posts"], words
            )
            detector._post_index.evicted = accounts["evicted"]
            detector._deletion_levels = {r: Level(*v) for r, v in accounts["deletion_levels"].items()}
            detector._deletion_prev_vol = dict(accounts["deletion_prev_vol"])
            detector._relocation_levels = {r: Level(*v) for r, v in accounts["relocation_levels"].items()}
            detector._cluster_level = Level(*accounts["cluster_level"])
            detector._signed_windows = [signed_from_columns(posts) for posts in accounts["signed_windows"]]
            detector._clusters = {key: Cluster.load(row) for key, row in accounts["clusters"].items()}
            detector.relocations_total = dict(accounts["relocations_total"])
            detector.unknown_deletions = accounts["unknown_deletions"]
            detector.late_deletions = accounts["late_deletions"]
            status, term_status = accounts["deletion_status"]
            detector._deletion_status = (
                {r: tuple(pair) for r, pair in status.items()},
                {k: tuple(pair) for k, pair in term_status.items()},
            )
        return detector
