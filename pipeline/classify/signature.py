"""Near-duplicate signatures of post texts: MinHash (datasketch) over word bigrams, cut into LSH bands.
Pure.

Two texts whose bigram sets have a Jaccard similarity above about ``THRESHOLD`` share at least one band
key with high probability; unrelated texts almost never do. Coordination detection
(:mod:`pipeline.detect.coordination`) groups posts by band key, so only the keys travel to detection.
Every process computes the same keys for the same text: the hash function and the permutations are fixed
(crc32 and a fixed seed), not Python's per-process string hash.
"""

from __future__ import annotations

import itertools
import re
import zlib
from functools import cache

from datasketch import MinHash, MinHashLSH

NUM_PERM = 32
THRESHOLD = 0.5  # Jaccard similarity of word bigrams (one word changed in a dozen is about 0.7)
SEED = 2009
MIN_WORDS = 4  # shorter texts say too little to call two of them near-identical
NEW_ACCOUNT_SECONDS = 30 * 86400.0  # accounts made less than this before a post are "new"

# Words as people write them: links, @mentions and the retweet prefix are not the claim.
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|\brt\b", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)


@cache
def _scheme() -> tuple[MinHash, list[tuple[int, int]]]:
    template = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=zlib.crc32)
    bands = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM).hashranges
    return template, list(bands)


def shingles(text: str) -> list[bytes]:
    words = _WORD.findall(_NOISE.sub(" ", text).casefold())
    if len(words) < MIN_WORDS:
        return []
    return [f"{a} {b}".encode() for a, b in itertools.pairwise(words)]


def text_signature(text: str) -> tuple[int, ...]:
    """The LSH band keys of ``text`` (one per band, the band's index folded in), or () when the text is
    too short to compare."""
    grams = shingles(text)
    if not grams:
        return ()
    template, bands = _scheme()
    minhash = MinHash(
        num_perm=NUM_PERM,
        seed=SEED,
        hashfunc=zlib.crc32,
        permutations=template.permutations,
        scheme=template.scheme,
    )
    minhash.update_batch(grams)
    values = minhash.hashvalues
    return tuple(
        (index << 32) | zlib.crc32(values[start:end].tobytes()) for index, (start, end) in enumerate(bands)
    )


def may_coordinate(ts: float, author_created: float | None) -> bool:
    """Whether a post's account may be part of a coordinated campaign: made recently, or of unknown age
    (then the stream's own history of the author decides, in detection). Established accounts are not
    signed, which keeps the cost off most posts of a feed that says when accounts were made."""
    return author_created is None or ts - author_created < NEW_ACCOUNT_SECONDS
