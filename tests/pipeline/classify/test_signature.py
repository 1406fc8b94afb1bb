"""Near-duplicate signatures (pipeline/classify/signature.py): the band keys are datasketch's MinHash and
LSH banding, computed as arrays. Pure, no Kafka."""

from __future__ import annotations

import zlib

from datasketch import MinHash, MinHashLSH
from hypothesis import given, settings
from hypothesis import strategies as st

from feed import Post
from pipeline.classify.signature import MIN_WORDS, NUM_PERM, SEED, THRESHOLD, shingles, text_signature
from replay.generate import generate


def datasketch_signature(text: str) -> tuple[int, ...]:
    """The band keys as datasketch computes them, one MinHash object per text (what signature.py did
    before it applied the permutations itself)."""
    grams = shingles(text)
    if not grams:
        return ()
    minhash = MinHash(num_perm=NUM_PERM, seed=SEED, hashfunc=zlib.crc32)
    minhash.update_batch(grams)
    bands = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM).hashranges
    return tuple(
        (index << 32) | zlib.crc32(minhash.hashvalues[start:end].tobytes())
        for index, (start, end) in enumerate(bands)
    )


def test_the_band_keys_equal_datasketch_over_a_generated_feed():
    items, _ = generate("stress", seed=3, hours=0.05)
    texts = [item.text for item in items if isinstance(item, Post)][:3000]
    signed = [text for text in texts if shingles(text)]
    assert len(signed) > 1000  # the feed must exercise the arrays, not only the short-text path
    assert [text_signature(text) for text in texts] == [datasketch_signature(text) for text in texts]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=0, max_size=60))
def test_the_band_keys_equal_datasketch_for_any_words(words):
    # Any script, repeated words (a set of shingles, not a list), one shingle or hundreds.
    text = " ".join(words)
    assert text_signature(text) == datasketch_signature(text)


def test_one_key_per_band_with_the_band_index_in_the_high_bits():
    keys = text_signature("security forces posing as protesters in Tehran tonight, do not trust them")
    bands = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM).hashranges
    assert [key >> 32 for key in keys] == list(range(len(bands)))
    assert all(0 <= key & 0xFFFFFFFF < 2**32 for key in keys)


def test_a_short_text_has_no_signature():
    assert text_signature(" ".join(["word"] * (MIN_WORDS - 1))) == ()
    assert text_signature("https://example.org @someone RT") == ()  # links and mentions are not words


def test_a_near_duplicate_shares_a_band_and_an_unrelated_text_does_not():
    claim = text_signature("Mousavi supporters are attacking police in Vanak square, do not trust them")
    variant = text_signature(
        "RT @x Mousavi supporters are attacking police in Vanak square, do not trust them!!"
    )
    edited = text_signature("Mousavi supporters are attacking the police in Vanak square, do not trust them")
    other = text_signature("We stand with the brave people of Iran tonight #iranelection")
    assert claim == variant  # the retweet prefix, mentions and punctuation are not the claim
    assert set(claim) & set(edited)
    assert not set(claim) & set(other)
