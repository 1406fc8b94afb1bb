"""The outage test of a closing window, per region (see :mod:`pipeline.detect.detector`, test 1). Pure."""

from __future__ import annotations

import math
from typing import Any

from pipeline.detect.closing import LOCATED, NO_REGION, Closing, Episode
from pipeline.detect.stats import log_poisson_cdf


class OutageTest:
    """Mixed into :class:`pipeline.detect.detector.Detector`, whose state it reads and updates."""

    def _outage(self, ctx: Closing, region: str) -> None:
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
            ctx, Episode("outage", "*", region, onset, "*"), observed, expected, log_p, evidence=evidence
        )
