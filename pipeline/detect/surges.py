"""The surge test of a closing window: the volume, terms, hashtags and categories (see
:mod:`pipeline.detect.detector`, test 3). Pure."""

from __future__ import annotations

import math
from typing import Any

from pipeline.detect.closing import (
    ALL_GROUPS,
    LOCATED,
    NO_REGION,
    SUSPICIOUS_LOG_P,
    Closing,
    Episode,
    alert_key,
)
from pipeline.detect.model import Alert
from pipeline.detect.stats import log_poisson_sf, score
from pipeline.detect.window import Sampled


class SurgeTest:
    """Mixed into :class:`pipeline.detect.detector.Detector`, whose state it reads and updates."""

    def _surges(self, ctx: Closing, sample: list[Sampled]) -> None:
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
            episode = Episode("surge", alert_key(key), None, onset, key, set(others))
            evidence = {"ratio": round(x / max(expected_key, cfg.surge_floor_expected), 2), "volume": total}
            self._raise(ctx, episode, x, expected_key, log_p, terms=others, evidence=evidence)

    def _raise(
        self,
        ctx: Closing,
        episode: Episode,
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
