"""The relocation test of a closing window, per destination region (issue 18). Pure.

An author who posts from another region than their home (:class:`pipeline.detect.accounts.AuthorBook`)
relocates there, counted once per move. Relocations into a region are compared with their level (an
EWMA per destination, frozen while the destination's episode lasts). The relocated posts themselves
count at home, so the wave neither hides filtering in the destination nor makes a surge there.
"""

from __future__ import annotations

import math
from collections import Counter

from pipeline.detect.baseline import Level
from pipeline.detect.closing import Closing, Episode
from pipeline.detect.stats import log_poisson_sf


class RelocationTest:
    """Mixed into :class:`pipeline.detect.detector.Detector`, whose state it reads and updates."""

    def _relocations(self, ctx: Closing, moved: dict[str, dict[str, str]]) -> None:
        cfg = self.config
        for destination in sorted(set(moved) | set(self._relocation_levels)):
            movers = moved.get(destination, {})
            observed = len(movers)
            self.relocations_total[destination] = self.relocations_total.get(destination, 0) + observed
            level = self._relocation_levels.get(destination)
            if level is None:
                level = self._relocation_levels[destination] = Level()
            expected = max(level.value, cfg.relocation_floor)
            ident = f"relocation|*|{destination}"
            episode = self._episodes.get(ident)
            factor = 1.0
            if episode is not None:
                factor = self._freeze(episode, ctx.start)
                calm = observed < cfg.relocation_min_authors or observed < 1.5 * expected
                episode.normal = episode.normal + 1 if calm else 0
                if episode.normal >= cfg.end_windows:
                    del self._episodes[ident]
                    self._end(ctx, episode, observed, expected)
            elif observed >= cfg.relocation_min_authors and observed >= cfg.relocation_ratio * expected:
                log_p = log_poisson_sf(observed, expected)
                if log_p < math.log(cfg.relocation_p):
                    factor = 0.0
                    if ctx.live:
                        origins = dict(sorted(Counter(movers.values()).items()))
                        self._raise(
                            ctx,
                            Episode("relocation", "*", destination, ctx.start, "*"),
                            float(observed),
                            expected,
                            log_p,
                            evidence={"authors": observed, "from": origins},
                        )
            if factor > 0.0:
                level.update(observed, cfg.share_alpha * factor)
