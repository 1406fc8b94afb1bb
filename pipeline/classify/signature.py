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
from dataclasses import dataclass
from functools import cache

import numpy as np
from datasketch import MinHash, MinHashLSH

NUM_PERM = 32
THRESHOLD = 0.5  # Jaccard similarity of word bigrams (one word changed in a dozen is about 0.7)
SEED = 2009
MIN_WORDS = 4  # shorter texts say too little to call two of them near-identical
NEW_ACCOUNT_SECONDS = 30 * 86400.0  # accounts made less than this before a post are "new"

# Words as people write them: links, @mentions and the retweet prefix are not the claim.
_NOISE = re.compile(r"https?://\S+|www\.\S+|@\w+|\brt\b", re.IGNORECASE)
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class _Scheme:
    """datasketch's MinHash with our seed and hash, and its LSH banding, as arrays ready to apply."""

    a: np.ndarray  # the affine permutations (scheme "affine32"): value = fmix32(crc32(gram)) * a + b
    b: np.ndarray
    rows: int  # every band has this many rows, so the hash values reshape into (bands, rows)


@cache
def _scheme() -> _Scheme:
    template = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=zlib.crc32)
    if template.scheme != "affine32":  # _minhash_values below applies this scheme only
        raise RuntimeError(f"datasketch MinHash scheme {template.scheme!r}: signature.py applies affine32")
    bands = list(MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM).hashranges)
    rows = bands[0][1] - bands[0][0]
    if bands != [(start, start + rows) for start in range(0, NUM_PERM, rows)]:
        raise RuntimeError(f"LSH bands {bands}: signature.py expects equal bands over all {NUM_PERM} values")
    a, b = template.permutations
    return _Scheme(a=a.astype(np.uint32), b=b.astype(np.uint32), rows=rows)


# MurmurHash3's 32-bit finalizer constants, made numpy scalars once (a scalar built per call cost more
# than the arithmetic).
_SHIFT_16, _SHIFT_13 = np.uint32(16), np.uint32(13)
_MIX_1, _MIX_2 = np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35)


def _minhash_values(grams: list[bytes], scheme: _Scheme) -> np.ndarray:
    """The hash values of ``MinHash(NUM_PERM, SEED, zlib.crc32).update_batch(grams)``, computed here in
    a handful of in-place array operations: building a datasketch MinHash per post (its checks, its
    initial values) cost a third of a classifier process's time on a feed of new accounts (py-spy, make
    bench's scaling run). tests/pipeline/classify/test_signature.py checks them equal to datasketch's."""
    hv = np.fromiter(map(zlib.crc32, grams), dtype=np.uint32, count=len(grams))
    # datasketch's pre-mix of each input hash (uint32 arithmetic wraps, as it should)
    hv ^= hv >> _SHIFT_16
    hv *= _MIX_1
    hv ^= hv >> _SHIFT_13
    hv *= _MIX_2
    hv ^= hv >> _SHIFT_16
    permuted = np.multiply.outer(hv, scheme.a)
    permuted += scheme.b
    return np.minimum.reduce(permuted, axis=0)


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
    scheme = _scheme()
    values = _minhash_values(grams, scheme).reshape(-1, scheme.rows)
    return tuple((index << 32) | zlib.crc32(band) for index, band in enumerate(values))


def may_coordinate(ts: float, author_created: float | None) -> bool:
    """Whether a post's account may be part of a coordinated campaign: made recently, or of unknown age
    (then the stream's own history of the author decides, in detection). Established accounts are not
    signed, which keeps the cost off most posts of a feed that says when accounts were made."""
    return author_created is None or ts - author_created < NEW_ACCOUNT_SECONDS
