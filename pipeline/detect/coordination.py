"""The coordination test of a closing window (issue 18). Pure.

Posts of new accounts (made recently) or of accounts without history in the stream carry the LSH band
keys of their text (:mod:`pipeline.classify.signature`). Over the last ``coordination_windows`` windows,
posts sharing a band key are near-duplicates; band buckets that share posts are one cluster. A cluster
of at least ``coordination_min_accounts`` distinct such accounts, far above the usual size of the
largest bucket (an EWMA), is coordination. Established accounts are never signed, so an organic
retweet cascade cannot form a cluster, and people who use one hashtag in their own words share no band.

Each window keeps at most ``coordination_sample`` such posts, the smallest by a hash of the post id, so
the state is bounded and independent of arrival order. A cluster's id is a hash of its first post's id
(stable while the cluster lasts); a later bucket that shares a band with an open cluster belongs to it.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, NamedTuple

from pipeline.detect.closing import NO_REGION, Closing, Episode
from pipeline.detect.model import band_keys, signature_from_keys
from pipeline.detect.stats import log_poisson_sf


class Signed(NamedTuple):
    """A post that may belong to a campaign (kept in its window's coordination sample).

    The layout of the sample's rows, which are kept as plain tuples in this order (:func:`signed_row`)
    and made Signed only while a window closes: the garbage collector stops tracking a plain tuple of
    strings and numbers, never a NamedTuple, and up to 20,000 rows a window, for several windows, in
    every shard, were traversed by each of its collections (23% of the shards' and the merge's time
    in process)."""

    hash: int
    post_id: str
    author: str
    new: bool  # the account was made recently (else: it has no history in the stream)
    region: str  # where it counts ("" for none)
    ts: float
    terms: tuple[str, ...]
    sig: str  # the band keys, joined (pipeline.detect.model.band_keys)
    text: str


# A row's fields by position, for the loops that must not make a Signed of every row.
NEW, TS = Signed._fields.index("new"), Signed._fields.index("ts")


def signed_row(
    digest: int,
    post_id: str,
    author: str,
    new: bool,
    region: str,
    ts: float,
    terms: tuple[str, ...],
    sig: str,
    text: str,
) -> tuple[Any, ...]:
    """A :class:`Signed` as the plain tuple a window keeps."""
    return (digest, post_id, author, new, region, ts, terms, sig, text)


@dataclass(slots=True)
class Cluster:
    """An open coordination episode: its band keys (a later bucket sharing one belongs to it)."""

    ident: str  # the episode's
    bands: set[str]
    accounts: int  # the most distinct accounts seen in it at once

    def dump(self) -> list[Any]:
        return [self.ident, sorted(self.bands), self.accounts]

    @classmethod
    def load(cls, row: list[Any]) -> Cluster:
        """A dumped cluster; an earlier version dumped its band keys as ints."""
        ident, bands, accounts = row
        return cls(
            ident, {band if type(band) is str else signature_from_keys([band]) for band in bands}, accounts
        )


class CoordinationTest:
    """Mixed into :class:`pipeline.detect.detector.Detector`, whose state it reads and updates."""

    def _coordination(self, ctx: Closing, signed: list[tuple[Any, ...]]) -> None:
        """``signed``: the closing window's rows (see :class:`Signed`)."""
        cfg = self.config
        recent = self._signed_windows
        recent.append(signed)
        del recent[: -cfg.coordination_windows]
        buckets: dict[str, dict[str, Signed]] = {}
        largest = 0
        for rows in recent:
            for post in map(Signed._make, rows):
                for band in band_keys(post.sig):
                    bucket = buckets.get(band)
                    if bucket is None:
                        bucket = buckets[band] = {}
                    bucket[post.post_id] = post
        sizes = {band: len({p.author for p in bucket.values()}) for band, bucket in buckets.items()}
        if sizes:
            largest = max(sizes.values())
        level = self._cluster_level
        expected = max(level.value, 1.0)
        # Union-find over the candidate buckets: buckets that share a post are one cluster.
        candidates = sorted(band for band, n in sizes.items() if n >= cfg.coordination_min_accounts)
        parent = {band: band for band in candidates}

        def root(band: str) -> str:
            while parent[band] != band:
                parent[band] = parent[parent[band]]
                band = parent[band]
            return band

        owner: dict[str, str] = {}
        for band in candidates:
            for post_id in buckets[band]:
                other = owner.setdefault(post_id, band)
                if other != band:
                    a, b = root(other), root(band)
                    if a != b:
                        parent[max(a, b)] = min(a, b)
        clusters: dict[str, set[str]] = {}
        for band in candidates:
            clusters.setdefault(root(band), set()).add(band)
        touched: set[str] = set()
        for bands in (clusters[key] for key in sorted(clusters)):
            posts: dict[str, Signed] = {}
            for band in bands:
                posts.update(buckets[band])
            open_clusters = self._clusters
            ongoing = sorted(key for key, cluster in open_clusters.items() if cluster.bands & bands)
            accounts = {p.author for p in posts.values()}
            observed = len(accounts)
            if ongoing:
                cluster = open_clusters[ongoing[0]]
                cluster.bands |= bands
                cluster.accounts = max(cluster.accounts, observed)
                touched.add(ongoing[0])
                continue
            log_p = log_poisson_sf(observed, expected)
            if log_p >= math.log(cfg.coordination_p) or not ctx.live:
                continue
            first = min(posts.values(), key=lambda p: (p.ts, p.post_id))
            cluster_id = hashlib.sha256(first.post_id.encode()).hexdigest()[:12]
            regions: dict[str, int] = {}
            for post in posts.values():
                regions[post.region] = regions.get(post.region, 0) + 1
            region, _ = max(sorted(regions.items()), key=lambda item: item[1])
            shared = set(first.terms)
            for post in posts.values():
                shared &= set(post.terms)
            evidence: dict[str, Any] = {
                "accounts": observed,
                "posts": len(posts),
                "new_accounts": len({p.author for p in posts.values() if p.new}),
                "sample": first.text,
                "terms": sorted(shared),
            }
            episode = Episode(
                "coordination",
                "cluster:" + cluster_id,
                None if region == NO_REGION else region,
                min(p.ts for p in posts.values()) // self._width * self._width,
                cluster_id,
            )
            touched.add(episode.key)
            open_clusters[episode.key] = Cluster(episode.ident(), set(bands), observed)
            self._raise(ctx, episode, float(observed), expected, log_p, evidence=evidence)
        for key in sorted(self._clusters):
            cluster = self._clusters[key]
            episode = self._episodes[cluster.ident]
            if key in touched:
                episode.normal = 0
                continue
            episode.normal += 1
            if episode.normal >= cfg.end_windows + cfg.coordination_windows - 1:
                del self._episodes[cluster.ident]
                del self._clusters[key]
                self._end(ctx, episode, float(cluster.accounts), expected)
        if not touched:  # windows with a cluster do not teach what a usual bucket is
            level.update(largest, cfg.share_alpha)
