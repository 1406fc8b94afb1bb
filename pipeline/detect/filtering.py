"""The keyword-filtering test of a closing window, per term and region (see
:mod:`pipeline.detect.detector`, test 2). Pure."""

from __future__ import annotations

import math
from typing import Any

from pipeline.detect.closing import (
    LOCATED,
    RUN_START,
    SUSPICIOUS_LOG_P,
    Closing,
    Episode,
    Run,
    alert_key,
    upper_ratio,
)
from pipeline.detect.model import WatchStatus
from pipeline.detect.stats import log_binomial_cdf, log_poisson_cdf, score


class FilteringTest:
    """Mixed into :class:`pipeline.detect.detector.Detector`, whose state it reads and updates."""

    def _filtering(self, ctx: Closing, region: str) -> None:
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
        candidates: list[tuple[float, str, float, float, float, Run]] = []
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
                    run = runs[term] = Run()
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
        groups: list[list[tuple[float, str, float, float, float, Run]]] = []
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
            episode = Episode("filtering", alert_key(term), region, onset, term, set(others))
            self._raise(ctx, episode, total_x, total_e, log_p, terms=others, evidence=evidence)

    def _control_agrees(self, run: Run) -> bool:
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

    def _run_expectation(self, run: Run, recent: list[float] | None) -> tuple[float, float]:
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
            return x, own * min(1.0, upper_ratio(recent[0] * scale, recent[1] * scale))
        return x, own
