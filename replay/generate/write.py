"""The posts of one run: drawn minute by minute from its :class:`~.plan.Plan`, then either built as
:class:`~feed.model.Post` values (:func:`generate`, :func:`labelled_posts`) or written straight as
JSON Lines bytes with the truth file (:func:`write_scenario`)."""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from feed.model import Post
from feed.taxonomy import CATEGORIES
from replay.generate.plan import Plan, Truth, prepare
from replay.generate.templates import LANGS
from replay.generate.vocabulary import TABLE

EVASION_SHARE = 0.03  # share of would-be-filtered IR posts that slip through with an evasion spelling


# Post tuples: (ts_ms, author, prefix, text, suffix, category).
_Row = tuple[int, int, int, int, int, int]


def _minutes(plan: Plan, seed: int) -> Iterator[tuple[float, list[_Row]]]:
    """Per bucket: its start and the posts in it, in time order."""
    rng = Random(f"stream:{plan.spec.name}:{seed}")
    random = rng.random
    log = math.log
    vocab = plan.vocab
    authors = vocab.authors
    ir_table, other_table = authors.tables
    n_ir, n_other = len(ir_table), len(other_table)
    author_lang = authors.lang
    cat_ir, cat_other = vocab.category_tables
    pre_ir, pre_other = vocab.prefix_tables
    n_pre = len(pre_ir)
    pools = vocab.pools
    suffix_tables = vocab.suffix_tables
    n_suf = len(suffix_tables[0])
    text_mask, prefix_mask, suffix_mask = vocab.text_mask, vocab.prefix_mask, vocab.suffix_mask
    ir_share = plan.spec.ir_share
    for index, (lo, hi) in enumerate(plan.buckets):
        state = plan.minute(index)
        rows: list[_Row] = []
        if state.rate <= 0:
            yield lo, rows
            continue
        inverse = 1.0 / state.rate
        ir_keep = state.ir_keep
        filter_mask = state.filter_mask
        evasions = state.evasions
        extra_share, extra_category = state.extra_share, state.extra_category
        hashtag_share, hashtag_tables = state.hashtag_share, state.hashtag_tables
        fade_mask, fade_drop, fade_pools = state.fade_mask, state.fade_drop, state.fade_pools
        append = rows.append
        moment = lo
        while True:
            moment -= log(1.0 - random()) * inverse
            if moment >= hi:
                break
            if random() < ir_share:
                is_ir = True
                if ir_keep < 1.0 and random() >= ir_keep:
                    continue
                author = ir_table[int(random() * n_ir)]
                prefix = pre_ir[int(random() * n_pre)]
                category = cat_ir[int(random() * TABLE)]
            else:
                is_ir = False
                author = other_table[int(random() * n_other)]
                prefix = pre_other[int(random() * n_pre)]
                category = cat_other[int(random() * TABLE)]
            if extra_share and random() < extra_share:
                category = extra_category
            lang = author_lang[author]
            pool = pools[category * 3 + lang]
            text = pool[int(random() * len(pool))]
            if hashtag_share and random() < hashtag_share:
                options = hashtag_tables[lang]  # type: ignore[index]
                suffix = options[int(random() * len(options))]
            else:
                suffix = suffix_tables[lang][int(random() * n_suf)]
            if fade_mask and text_mask[text] & fade_mask and random() < fade_drop:
                kept = fade_pools[category * 3 + lang]  # type: ignore[index]
                text = kept[int(random() * len(kept))]
            if is_ir and filter_mask:
                around = prefix_mask[prefix] | suffix_mask[suffix]
                if (text_mask[text] | around) & filter_mask:
                    if around & filter_mask or random() >= EVASION_SHARE:
                        continue
                    for table in evasions:
                        text = table.get(text, text)
                    if text_mask[text] & filter_mask:
                        continue
            append((int(moment * 1000.0), author, prefix, text, suffix, category))
        yield lo, rows


def generate(
    name: str, *, seed: int, hours: float | None = None, rate: float | None = None, start: float | None = None
) -> tuple[Iterator[Post], Truth]:
    """The scenario's posts (streamed, in non-decreasing event time) and its ground truth.

    ``rate`` is the mean posts per second over the run before episodes (default per scenario),
    ``hours`` the length and ``start`` the first instant (epoch seconds).
    """
    plan, truth = prepare(name, seed, hours, rate, start)
    return _posts(plan, seed), truth


def _posts(plan: Plan, seed: int) -> Iterator[Post]:
    for post, _category in _labelled(plan, seed):
        yield post


def _labelled(plan: Plan, seed: int) -> Iterator[tuple[Post, str]]:
    vocab = plan.vocab
    authors = vocab.authors
    number = 0
    for _, rows in _minutes(plan, seed):
        for ts_ms, author, prefix, text, suffix, category in rows:
            post = Post(
                id=f"gen-{seed}-{number}",
                ts=ts_ms / 1000.0,
                text=vocab.prefix[prefix] + vocab.text[text] + vocab.suffix[suffix],
                author=authors.handles[author],
                platform=authors.platform[author],
                lang=LANGS[authors.lang[author]],
                region=authors.region[author],
            )
            yield post, CATEGORIES[category]
            number += 1


def labelled_posts(
    name: str, *, seed: int, hours: float | None = None, rate: float | None = None, start: float | None = None
) -> Iterator[tuple[Post, str]]:
    """The same posts as ``generate``, each with the category it was generated from (for evaluation)."""
    plan, _ = prepare(name, seed, hours, rate, start)
    return _labelled(plan, seed)


def _seconds_table() -> list[bytes]:
    """``SS.mmmZ`` (or ``SSZ`` on a whole second, like ``format_ts``) for each millisecond of a minute."""
    table = []
    for offset in range(60000):
        seconds, millis = divmod(offset, 1000)
        table.append(f"{seconds:02d}Z".encode() if millis == 0 else f"{seconds:02d}.{millis:03d}Z".encode())
    return table


def write_scenario(
    name: str,
    *,
    seed: int,
    hours: float | None = None,
    rate: float | None = None,
    feed_path: str | os.PathLike[str],
    truth_path: str | os.PathLike[str] | None = None,
    start: float | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[int, Truth]:
    """Write the feed as JSON Lines (byte-identical to ``Post.to_json``) and the truth; returns the count.

    ``progress``, if given, is called with the number of posts written so far, once per minute of
    event time.
    """
    plan, truth = prepare(name, seed, hours, rate, start)
    vocab = plan.vocab
    text_json, prefix_json, suffix_json = vocab.text_json, vocab.prefix_json, vocab.suffix_json
    tails = vocab.authors.tail
    seconds = _seconds_table()
    id_prefix = b'{"id":"gen-' + str(seed).encode() + b"-"
    count = 0
    with Path(feed_path).open("wb", buffering=1 << 20) as handle:
        for lo, rows in _minutes(plan, seed):
            if not rows:
                continue
            minute_ms = int(math.floor(lo / 60.0) * 60000)
            minute = datetime.fromtimestamp(minute_ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:").encode()
            lines = []
            add = lines.append
            for ts_ms, author, prefix, text, suffix, _category in rows:
                add(
                    b"".join(
                        (
                            id_prefix,
                            str(count).encode(),
                            b'","ts":"',
                            minute,
                            seconds[ts_ms - minute_ms],
                            b'","text":"',
                            prefix_json[prefix],
                            text_json[text],
                            suffix_json[suffix],
                            b'",',
                            tails[author],
                        )
                    )
                )
                count += 1
            handle.write(b"".join(lines))
            if progress is not None:
                progress(count)
    if truth_path is not None:
        Path(truth_path).write_bytes(truth.to_json())
    return count, truth
