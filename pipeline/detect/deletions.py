"""The deletion test of a closing window (issue 18). Pure.

A deletion notice counts in the window of its own event time, against the region and terms its post was
counted with (:class:`pipeline.detect.accounts.PostIndex`); a notice whose post was never seen (or was
forgotten) counts toward its author's home region and toward no term. Notices are resolved when their
window closes, not when they arrive, so a notice that overtook its post on another source partition
still finds it.

* ``*`` per region: the window's deletions against their level (an EWMA per region, frozen while the
  region's episode lasts): a mass self-deletion.
* ``term:<t>`` per region: the deletions of posts carrying the term against ``deletions of known posts
  in the region x the term's share of the region's posts``. Conditioning on this window's deletions
  means a regional wave raises no term alert, while targeted removal of one term does. A region's ``*``
  candidate is dropped when term candidates explain most of its excess.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from pipeline.detect.baseline import Level
from pipeline.detect.closing import NO_REGION, Closing, Episode
from pipeline.detect.stats import log_poisson_sf

TERM_FLOOR = 0.05  # expected deletions of a term never below this (a term never seen before)


class Resolved(NamedTuple):
    """A deletion notice, resolved against the post index when its window closes: where it counts."""

    post_id: str
    who: str  # the author, or "#<post id>" when the notice names none
    region: str  # the deleted post's region, else its author's home ("" for none)
    terms: tuple[str, ...] | None  # the deleted post's terms; None when the post was never seen


class DeletionTest:
    """Mixed into :class:`pipeline.detect.detector.Detector`, whose state it reads and updates."""

    def _resolve(self, deleted: list[tuple[str, str | None, float]]) -> list[Resolved]:
        """The window's notices against the posts remembered now (each post is taken once). Where the
        per-post half of detection runs in shards (:mod:`pipeline.detect.sharded`), the shard does this
        before it hands the window on, so the post index never leaves the shard."""
        resolved = []
        for post_id, author, ts in deleted:
            who = author if author is not None else "#" + post_id
            found = self._post_index.take(post_id, ts)
            if found is not None:
                terms = tuple(sorted(set(found.terms)))
                resolved.append(Resolved(post_id, who, found.region or NO_REGION, terms))
            else:
                self.unknown_deletions += 1
                region = (self._book.home(author, ts) if author is not None else None) or NO_REGION
                resolved.append(Resolved(post_id, who, region, None))
        return resolved

    def _deletions(self, ctx: Closing, resolved: list[Resolved]) -> None:
        cfg = self.config
        count: dict[str, int] = {}
        authors: dict[str, set[str]] = {}
        known: dict[str, int] = {}
        by_term: dict[str, dict[str, list[tuple[str, str]]]] = {}  # region -> term -> (post id, author)
        for post_id, who, region, found_terms in resolved:
            if found_terms is not None:
                known[region] = known.get(region, 0) + 1
                terms = by_term.setdefault(region, {})
                for term in found_terms:
                    terms.setdefault(term, []).append((post_id, who))
            count[region] = count.get(region, 0) + 1
            authors.setdefault(region, set()).add(who)
        status: dict[str, tuple[float, float]] = {}
        term_status: dict[str, tuple[float, float]] = {}
        for region in sorted(set(count) | set(self._deletion_levels)):
            level = self._deletion_levels.get(region)
            # More posts lately, more deletions: the level scales up (never down) with the region's volume
            # in this and the last window against its usual level.
            usual = ctx.levels.get(region, 0.0)
            busy = max(ctx.vol.get(region, 0), self._deletion_prev_vol.get(region, 0))
            scale = max(1.0, busy / usual) if usual > 0 else 1.0
            expected = max((level.value if level is not None else 0.0) * scale, cfg.deletion_floor)
            observed = count.get(region, 0)
            public = region if region != NO_REGION else None
            status[region] = (float(observed), round(expected, 3))
            group = self._groups.get(region)
            term_candidates: list[tuple[float, str, int, float, float]] = []
            deleted_by_term = by_term.get(region, {})
            open_leaders = {
                ep.leader: ep
                for _, ep in sorted(self._episodes.items())
                if ep.type == "deletion" and ep.region == public and ep.key != "*"
            }
            open_members = {term for ep in open_leaders.values() for term in ep.members}
            explained = 0.0  # deletions in the region that term episodes account for
            for term, removed in sorted(deleted_by_term.items()):
                n = len(removed)
                share = group.share(term) if group is not None else 0.0
                term_expected = max(known.get(region, 0) * share, TERM_FLOOR)
                if term in self._watch:
                    term_status[f"{term}|{region}"] = (float(n), round(term_expected, 3))
                ident = f"deletion|term:{term}|{region}"
                if ident in self._episodes:
                    self._continue_deletion(ctx, ident, n, term_expected)
                    explained += max(n - term_expected, 0.0)
                    continue
                if term in open_members:
                    continue  # deleted along with an open episode's term: part of that event
                ids = {post_id for post_id, _ in removed}
                joined = False
                for leader, episode in open_leaders.items():
                    leader_ids = {post_id for post_id, _ in deleted_by_term.get(leader, ())}
                    smaller = min(len(ids), len(leader_ids))
                    if leader_ids and len(ids & leader_ids) >= cfg.group_overlap * smaller:
                        episode.members.add(term)  # deleted with the posts of an open episode's term
                        joined = True
                        break
                if joined:
                    continue
                if n < cfg.deletion_min_count or n < cfg.deletion_ratio * term_expected:
                    continue
                log_p = log_poisson_sf(n, term_expected)
                if log_p < math.log(cfg.deletion_p):
                    term_candidates.append((n - term_expected, term, n, term_expected, log_p))
            ident = f"deletion|*|{region}"
            region_authors = len(authors.get(region, ()))
            if ident in self._episodes:
                self._continue_deletion(ctx, ident, observed, expected)
            elif (
                observed >= cfg.deletion_min_count
                and region_authors >= cfg.deletion_min_authors
                and observed >= cfg.deletion_ratio * expected
                and log_poisson_sf(observed, expected) < math.log(cfg.deletion_p)
            ):
                excess = observed - expected
                explained += sum(c[0] for c in term_candidates)
                if explained < 0.5 * excess and ctx.live:
                    evidence = {
                        "deleted": observed,
                        "published": int(ctx.vol.get(region, 0)),
                        "authors": region_authors,
                        "unknown_posts": observed - known.get(region, 0),
                    }
                    self._raise(
                        ctx,
                        Episode("deletion", "*", public, ctx.start, "*"),
                        observed,
                        expected,
                        log_poisson_sf(observed, expected),
                        evidence=evidence,
                    )
            # Terms deleted together (the same posts) are one event, keyed by the largest excess.
            events: list[tuple[tuple[float, str, int, float, float], set[str], set[str]]] = []
            for candidate in sorted(term_candidates, key=lambda c: (-c[0], c[1])):
                ids = {post_id for post_id, _ in deleted_by_term[candidate[1]]}
                for _, leader_ids, members in events:
                    if len(ids & leader_ids) >= cfg.group_overlap * min(len(ids), len(leader_ids)):
                        members.add(candidate[1])
                        break
                else:
                    events.append((candidate, ids, set()))
            for (_, term, n, term_expected, log_p), _, members in events:
                term_authors = len({who for _, who in deleted_by_term[term]})
                if not ctx.live or term_authors < cfg.deletion_min_authors:
                    continue
                evidence = {
                    "deleted": n,
                    "published": int(ctx.counts.get(region, {}).get(term, 0)),
                    "authors": term_authors,
                    "share": round(group.share(term), 5) if group is not None else 0.0,
                }
                self._raise(
                    ctx,
                    Episode("deletion", "term:" + term, public, ctx.start, term, members),
                    float(n),
                    term_expected,
                    log_p,
                    terms=tuple(sorted(members)),
                    evidence=evidence,
                )
            if level is None:
                level = self._deletion_levels[region] = Level()
            if f"deletion|*|{region}" in self._episodes:
                episode = self._episodes[f"deletion|*|{region}"]
                factor = self._freeze(episode, ctx.start)
            else:
                factor = 1.0
            if factor > 0.0:
                level.update(observed, cfg.share_alpha * factor)
        self._deletion_status = (status, term_status)
        self._deletion_prev_vol = {region: n for region, n in ctx.vol.items() if n}

    def _continue_deletion(self, ctx: Closing, ident: str, observed: float, expected: float) -> None:
        episode = self._episodes[ident]
        cfg = self.config
        release = observed < cfg.deletion_ratio * expected / 2 or observed < cfg.deletion_min_count
        episode.normal = episode.normal + 1 if release else 0
        if episode.normal >= self.config.end_windows:
            del self._episodes[ident]
            self._end(ctx, episode, observed, expected)
