"""One open tumbling window: counts per region, and a bottom-k sample of its posts. Pure.

Everything in a window is independent of the order its posts arrived in: counts are sums, and the
sample keeps the ``k`` posts with the smallest (hash of the event time, then the post itself), so any
interleaving of sources or chunking of input fills a window identically.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any

from pipeline.detect.columns import from_term_sets, index_term_sets
from pipeline.detect.model import signature_from_json

try:  # the C helper behind Counter.update: a dict += 1 per element, without Counter's Python overhead
    from _collections import _count_elements as count_into  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - other interpreters

    def count_into(mapping: dict[str, int], iterable: Any) -> None:  # type: ignore[misc]
        get = mapping.get
        for item in iterable:
            mapping[item] = get(item, 0) + 1


# A sampled post: (hash, ts, region ("" for none), terms, categories).
Sampled = tuple[int, float, str, tuple[str, ...], tuple[str, ...]]

HASH_MULTIPLIER = 2654435761  # Knuth's multiplicative hash of the event time in milliseconds
HASH_MASK = 0xFFFFFFFF


def post_hash(ts: float) -> int:
    return (int(ts * 1000.0) * HASH_MULTIPLIER) & HASH_MASK


class Window:
    __slots__ = (
        "cats",
        "cut",
        "deleted",
        "evasions",
        "moved",
        "resolved",
        "sample",
        "signed",
        "signed_cut",
        "start",
        "terms",
        "vol",
    )

    def __init__(self, start: float) -> None:
        self.start = start
        self.vol: dict[str, int] = {}  # region ("" for none) -> posts
        self.terms: dict[str, dict[str, int]] = {}  # region -> term -> posts
        self.evasions: dict[str, dict[str, int]] = {}  # region -> watchlist key -> posts (evasion only)
        self.cats: dict[str, dict[str, int]] = {}  # region -> category -> posts
        self.sample: list[Sampled] = []
        self.cut: int | None = None  # once the sample was trimmed: admit only hashes <= cut
        # Accounts (issue 18): deletion notices (post id, author, ts), resolved when the window closes;
        # relocations (destination -> author -> home); posts that may belong to a campaign (a bottom-k
        # sample by a hash of the post id, as the sample above).
        self.deleted: list[tuple[str, str | None, float]] = []
        self.moved: dict[str, dict[str, str]] = {}
        self.signed: list[tuple[Any, ...]] = []  # rows of pipeline.detect.coordination.Signed
        self.signed_cut: int | None = None
        # The notices resolved by the shard that handed this window on (pipeline.detect.sharded), else
        # None: the detector closing it resolves ``deleted`` itself.
        self.resolved: list[Any] | None = None  # pipeline.detect.deletions.Resolved

    def merge(self, other: Window, sample_size: int, signed_size: int) -> None:
        """Adds a part of this window that another shard counted. Counts are sums, the samples bottom-k
        (their union keeps every post the whole window's bottom-k would), authors of relocations are
        disjoint across shards (each author is in one), and resolved notices are appended."""
        for mine, theirs in (
            (self.terms, other.terms),
            (self.evasions, other.evasions),
            (self.cats, other.cats),
        ):
            for region, counts in theirs.items():
                into = mine.get(region)
                if into is None:
                    mine[region] = dict(counts)
                    continue
                get = into.get
                for key, n in counts.items():
                    into[key] = get(key, 0) + n
        vol = self.vol
        for region, n in other.vol.items():
            vol[region] = vol.get(region, 0) + n
        self.sample.extend(other.sample)
        if len(self.sample) >= 2 * sample_size:
            self.trim(sample_size)
        self.signed.extend(other.signed)
        if len(self.signed) > signed_size:
            # Both runs are sorted (this sample since its last trim, a shard's as it hands it on), so
            # the sort is a merge; the cut lets the next part skip what cannot join (Part.from_bytes).
            self.signed.sort()
            del self.signed[signed_size:]
            self.signed_cut = self.signed[-1][0]
        for destination, movers in other.moved.items():
            self.moved.setdefault(destination, {}).update(movers)
        self.resolved = [*(self.resolved or ()), *(other.resolved or ())]
        self.deleted.extend(other.deleted)

    def trim(self, size: int) -> None:
        self.sample.sort()
        del self.sample[size:]
        self.cut = self.sample[-1][0]

    def final_sample(self, size: int) -> list[Sampled]:
        self.sample.sort()
        return self.sample[:size]

    def dump(self, samples: bool = True) -> dict[str, Any]:
        """JSON-ready with no work per post in Python: the sample as its tuples, the coordination sample
        as columns (see :func:`signed_to_columns`); ``samples=False``: without the two samples, for a
        caller that writes them apart (pipeline.detect.sharded.Part)."""
        dumped = {
            "start": self.start,
            "vol": self.vol,
            "terms": self.terms,
            "evasions": self.evasions,
            "cats": self.cats,
            "sample": self.sample if samples else [],
            "cut": self.cut,
            "deleted": self.deleted,
            "moved": self.moved,
        }
        if samples:
            dumped["signed"] = signed_to_columns(self.signed)
        dumped["signed_cut"] = self.signed_cut
        dumped["resolved"] = None if self.resolved is None else [list(row) for row in self.resolved]
        return dumped

    @classmethod
    def load(
        cls, data: dict[str, Any], words: list[str] | None = None, signed_at_most: int | None = None
    ) -> Window:
        """``words``: the vocabulary of a dump by an earlier version, whose samples held term indices;
        ``signed_at_most``: the coordination sample's posts above that hash are left out (see
        :func:`signed_from_columns`)."""
        window = cls(data["start"])
        window.vol = dict(data["vol"])
        window.terms = {region: dict(counts) for region, counts in data["terms"].items()}
        window.evasions = {region: dict(counts) for region, counts in data["evasions"].items()}
        window.cats = {region: dict(counts) for region, counts in data["cats"].items()}
        window.sample = decode_sample(data["sample"], words)
        window.cut = data["cut"]
        window.deleted = [tuple(row) for row in data.get("deleted", ())]
        window.moved = {dest: dict(movers) for dest, movers in data.get("moved", {}).items()}
        window.signed = signed_from_columns(data.get("signed", ()), signed_at_most)
        window.signed_cut = data.get("signed_cut")
        resolved = data.get("resolved")
        if resolved is not None:
            from pipeline.detect.deletions import Resolved

            window.resolved = [
                Resolved(post_id, who, region, None if terms is None else tuple(terms))
                for post_id, who, region, terms in resolved
            ]
        return window


def decode_sample(encoded: list[list[Any]], words: list[str] | None = None) -> list[Sampled]:
    """A dumped sample: rows of (hash, ts, region, terms, categories); with ``words``, as an earlier
    version wrote them, terms and categories as indices into that vocabulary."""
    if words is None:
        return [
            (digest, ts, region, tuple(terms), tuple(cats)) for digest, ts, region, terms, cats in encoded
        ]
    return [
        (digest, ts, region, tuple(words[i] for i in ids), tuple(words[i] for i in cat_ids))
        for digest, ts, region, ids, cat_ids in encoded
    ]


def signed_from_list(row: list[Any]) -> tuple[Any, ...]:
    digest, post_id, author, new, region, ts, terms, sig, text = row
    return (digest, post_id, author, new, region, ts, tuple(terms), signature_from_json(sig), text)


SIGNED_COLUMNS = ("hash", "id", "author", "new", "region", "ts", "terms", "sig", "text")


def signed_to_columns(signed: list[Any]) -> dict[str, Any] | list[Any]:
    """A window's coordination sample (pipeline.detect.coordination.Signed) as columns: one transpose in
    C, the band keys as arrays of arrays, each post's terms an index into the sample's distinct tuples of
    terms (:mod:`pipeline.detect.columns`).

    Every post of a new account crosses from its shard to the merge in a part (up to 20,000 a window and
    shard), and sits in every snapshot of its shard until its window closes: as one list per post it
    cost 11-17 us a post to decode (a list and two tuples parsed and rebuilt each, then the Signed)."""
    if not signed:
        return []
    columns = dict(zip(SIGNED_COLUMNS, zip(*signed, strict=True), strict=True))
    columns["terms"], columns["term_sets"] = index_term_sets(columns["terms"])
    return columns


def signed_from_columns(data: dict[str, Any] | list[Any], at_most: int | None = None) -> list[Any]:
    """The coordination sample from :func:`signed_to_columns`; a list is one row per post (as an
    earlier version wrote it). ValueError when the columns differ in length.

    ``at_most``: only the posts whose hash is at most that, the cut of the sample they will join (the
    rest cannot be in it). A shard hands its sample on sorted, so they are a prefix of the columns:
    the merge skips the others without making them."""
    if isinstance(data, list | tuple):
        posts = [signed_from_list(row) for row in data]
    else:
        columns = [data[name] for name in SIGNED_COLUMNS]
        if len({len(column) for column in columns}) != 1:
            raise ValueError("the columns of a coordination sample differ in length")
        hashes = columns[0]
        if at_most is not None and hashes == sorted(hashes):
            keep = bisect_right(hashes, at_most)
            columns = [column[:keep] for column in columns]
            at_most = None  # the prefix is exactly the posts at or under it
        columns[6] = from_term_sets(columns[6], data["term_sets"])
        if any(type(sig) is not str for sig in columns[7]):  # an earlier version's: lists of ints
            columns[7] = map(signature_from_json, columns[7])
        posts = list(zip(*columns, strict=True))
    return posts if at_most is None else [post for post in posts if post[0] <= at_most]
