"""The posts of one run: drawn minute by minute from its :class:`~.plan.Plan`, then either built as
:class:`~feed.model.Post` values (:func:`generate`, :func:`labelled_posts`) or written straight as
JSON Lines bytes with the truth file (:func:`write_scenario`).

A scenario with accounts (``tactics``) goes through one more layer, :class:`_Tactics`: its posts carry
``author_created`` and ``author_followers``, some are deleted later (deletion notices in the same feed,
in event-time order), and it adds what acts on accounts rather than words: targeted deletions, new
accounts posting one claim, an organic retweet cascade, authors moving into another region."""

from __future__ import annotations

import heapq
import math
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from random import Random

from feed.model import Deletion, FeedItem, Post
from feed.taxonomy import CATEGORIES
from replay.generate.plan import VOLUME_TYPES, Episode, Plan, Truth, _term_of, prepare
from replay.generate.templates import (
    CASCADE_ORIGINAL,
    FAMOUS,
    IR_NAMES,
    IR_WORDS,
    LANGS,
    SOCKPUPPET_AGE_DAYS,
    SOCKPUPPET_CLAIM,
    SOCKPUPPET_FOLLOWERS,
    SOCKPUPPET_KEEP,
)
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
    name: str,
    *,
    seed: int,
    hours: float | None = None,
    rate: float | None = None,
    start: float | None = None,
    authors: int | None = None,
) -> tuple[Iterator[FeedItem], Truth]:
    """The scenario's posts (streamed, in non-decreasing event time) and its ground truth.

    ``rate`` is the mean posts per second over the run before episodes (default per scenario),
    ``hours`` the length and ``start`` the first instant (epoch seconds). A scenario with accounts
    (``tactics``) also yields :class:`~feed.model.Deletion` notices, in event-time order with the posts.
    ``authors`` replaces the scenario's population of background authors (half of them in Iran).
    """
    plan, truth = prepare(name, seed, hours, rate, start, authors)
    if uses_accounts(plan):
        return (item for item, _ in _Tactics(plan, seed).items()), truth
    return _posts(plan, seed), truth


def _posts(plan: Plan, seed: int) -> Iterator[Post]:
    for post, _category in _labelled(plan, seed):
        yield post


def _labelled(plan: Plan, seed: int) -> Iterator[tuple[Post, str]]:
    if uses_accounts(plan):
        for item, category in _Tactics(plan, seed).items():
            if category is not None:
                yield item, category  # type: ignore[misc]
        return
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
    """The same posts as ``generate``, each with the category it was generated from (for evaluation);
    deletion notices are left out."""
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
    authors: int | None = None,
) -> tuple[int, Truth]:
    """Write the feed as JSON Lines (byte-identical to ``Post.to_json``) and the truth; returns the count
    of records written (posts, and deletion notices in a scenario with accounts).

    ``progress``, if given, is called with the number of records written so far, once per minute of
    event time. ``authors`` replaces the scenario's population of background authors.
    """
    plan, truth = prepare(name, seed, hours, rate, start, authors)
    if uses_accounts(plan):
        count = _write_items(plan, seed, Path(feed_path), progress)
        if truth_path is not None:
            Path(truth_path).write_bytes(truth.to_json())
        return count, truth
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


def _write_items(plan: Plan, seed: int, path: Path, progress: Callable[[int], None] | None) -> int:
    count = 0
    minute = None
    with path.open("wb", buffering=1 << 20) as handle:
        write = handle.write
        for item, _ in _Tactics(plan, seed).items():
            if progress is not None and item.ts // 60 != minute:
                if minute is not None:
                    progress(count)
                minute = item.ts // 60
            write(item.to_json() + b"\n")
            count += 1
    if progress is not None:
        progress(count)
    return count


# ---------------------------------------------------------------------------------------------------
# Scenarios with accounts (tactics): posts with author_created/author_followers, deletion notices, and
# the clusters, moves and deletions that act on accounts rather than on words.

DELETION_DELAY_S = (120.0, 5400.0, 86400.0)  # background deletions: at least, mean beyond that, at most
DELETION_POOL_S = 86400.0  # targeted deletions pick posts published at most this long before
ESTABLISHED_S = 365 * 86400.0  # cascade accounts were made at least this long before the cascade ...
HISTORY_S = 6 * 3600.0  # ... and first posted at least this long before it
RELOCATE_FROM = ("US", "GB", "DE")  # relocating authors posted from one of these before ...
RELOCATE_ACTIVE = 5  # ... this many times at least: the active accounts of the diaspora
CASCADE_AUTHOR = "persiankiwi"  # whose post the cascade retweets


def uses_accounts(plan: Plan) -> bool:
    """Whether a run goes through :class:`_Tactics` rather than the fast path of plain posts."""
    spec = plan.spec
    return bool(
        spec.accounts
        or spec.deletion_share
        or any(item.spec.type not in VOLUME_TYPES for item in plan.placed)
        or any(item.spec.type == "rt_cascade" for item in plan.decoys)
    )


class _Pool:
    """Recent ordinary posts that a targeted deletion picks from: one region (or all), maybe one term."""

    def __init__(self, region: str | None, bit: int, window_minutes: int) -> None:
        self.region, self.bit, self.window = region, bit, window_minutes
        self.posts: list[tuple[int, int, int]] = []  # (ts_ms, number, author)
        self.first = 0  # posts before this index are older than DELETION_POOL_S
        self.per_minute: list[int] = []  # posts added per bucket, for the background rate
        self.added = 0
        self.carry = 0.0  # the fraction of a deletion owed to the next minute

    def add(self, ts_ms: int, number: int, author: int) -> None:
        self.posts.append((ts_ms, number, author))
        self.added += 1

    def end_minute(self, now_ms: int) -> None:
        self.per_minute.append(self.added)
        self.added = 0
        if len(self.per_minute) > 4 * self.window:
            del self.per_minute[: -self.window]
        limit = now_ms - DELETION_POOL_S * 1000.0
        posts, first = self.posts, self.first
        while first < len(posts) and posts[first][0] < limit:
            first += 1
        if first > 65536 and first > len(posts) // 2:
            del posts[:first]
            first = 0
        self.first = first

    def background_rate(self) -> float:
        """Posts added per minute over the last ``window`` minutes (times the deletion share: the
        background deletions of the pool's posts per minute)."""
        recent = self.per_minute[-self.window :]
        return sum(recent) / max(1, len(recent))


class _Tactics:
    """The account layer of one run: it walks the posts of :func:`_minutes` minute by minute and yields
    feed items (posts and deletion notices) in event-time order, each post with its category."""

    def __init__(self, plan: Plan, seed: int) -> None:
        spec, vocab = plan.spec, plan.vocab
        authors = vocab.authors
        self.plan, self.seed, self.vocab = plan, seed, vocab
        self.rng = Random(f"tactics:{spec.name}:{seed}")
        # Per author index: the account it posts as. Sockpuppets and relocated aliases are appended.
        self.handles = list(authors.handles)
        self.platform = list(authors.platform)
        self.lang = [LANGS[lang] for lang in authors.lang]
        self.region = list(authors.region)
        self.created: list[float | None] = (
            list(plan.accounts.created) if plan.accounts else [None] * len(self.handles)
        )
        self.followers: list[int | None] = (
            list(plan.accounts.followers) if plan.accounts else [None] * len(self.handles)
        )
        self.real = list(range(len(self.handles)))  # an alias's account; anyone else's own index
        self.base_authors = len(self.handles)  # the background's authors: [0, ir_authors) live in IR
        self.n_ir = spec.ir_authors
        self.posted = [0] * len(self.handles)  # posts of each account so far
        self.first_ms = [-1] * len(self.handles)  # when each account first posted (-1: not yet)
        self.deletion_share = spec.deletion_share
        self.pending: list[tuple[int, int, int]] = []  # heap of background deletions (ts_ms, number, author)
        self.scheduled: set[int] = set()  # post numbers in pending
        self.deleted: set[int] = set()
        self.injected: list[tuple[int, int, str, str]] = []  # (ts_ms, author, text, category), sorted
        self.pools: list[tuple[_Pool, Episode, float]] = []
        self.waiting: list[tuple[str, Episode, float]] = []  # cascades and relocations not yet started
        self.cascade_times: dict[float, list[tuple[int, str]]] = {}
        # author -> [ready from (ts_ms), window end (ts_ms), alias index, moved yet]
        self.switch: dict[int, list] = {}
        for item in plan.placed:
            ep, sp = item.episode, item.spec
            if sp.type == "deletion":
                bit = vocab.bit[_term_of(sp.key)] if sp.key.startswith("term:") else 0
                self.pools.append((_Pool(sp.region, bit, 180 if bit else 60), ep, sp.magnitude))
            elif sp.type == "coordination":
                self._sockpuppets(ep, int(sp.magnitude))
            elif sp.type == "relocation":
                self.waiting.append(("relocation", ep, sp.magnitude))
        for item in plan.decoys:
            if item.spec.type == "rt_cascade":
                self.waiting.append(("rt_cascade", item.episode, item.spec.magnitude))
        self.injected.sort()

    # -- accounts --------------------------------------------------------------------------------
    def _add_author(
        self,
        handle: str,
        platform: str,
        lang: str,
        region: str,
        created: float | None,
        followers: int | None,
        real: int | None = None,
    ) -> int:
        index = len(self.handles)
        self.handles.append(handle)
        self.platform.append(platform)
        self.lang.append(lang)
        self.region.append(region)
        self.created.append(created)
        self.followers.append(followers)
        self.real.append(index if real is None else real)
        self.posted.append(0)
        self.first_ms.append(-1)
        return index

    def _sockpuppets(self, ep: Episode, count: int) -> None:
        """``count`` new accounts (made days before, few followers, never seen before) each post the same
        claim in near-identical words, once or twice, inside the episode's window."""
        rng = Random(f"sockpuppets:{self.plan.spec.name}:{self.seed}")
        taken = set(self.handles)
        span_ms = int((ep.end - ep.start) * 1000)
        for _ in range(count):
            handle = ""
            while not handle or handle in taken:
                handle = f"{rng.choice(IR_WORDS)}_{rng.choice(IR_NAMES)}{rng.randint(10, 99)}"
            taken.add(handle)
            created = float(math.floor(ep.start - rng.uniform(*SOCKPUPPET_AGE_DAYS) * 86400.0))
            followers = rng.randint(*SOCKPUPPET_FOLLOWERS)
            author = self._add_author(handle, "twitter", "en", ep.region or "IR", created, followers)
            for _ in range(rng.choice((1, 1, 2))):
                text = "".join(
                    slot[0] if rng.random() < SOCKPUPPET_KEEP else rng.choice(slot[1:])
                    for slot in SOCKPUPPET_CLAIM
                )
                self.injected.append(
                    (int(ep.start * 1000) + rng.randrange(span_ms), author, text, "disinformation")
                )

    def _start_cascade(self, ep: Episode, count: int) -> list[tuple[int, int, str, str]]:
        """The original post 20 s into the window, then ``count`` word-for-word retweets by established
        accounts (made a year or more before, first seen in the stream hours before), most of them
        early."""
        rng = Random(f"cascade:{self.plan.spec.name}:{self.seed}:{ep.start}")
        original = self.handles.index(CASCADE_AUTHOR)
        limit = ep.start - ESTABLISHED_S
        history = int((ep.start - HISTORY_S) * 1000)
        eligible = [
            author
            for author in range(self.base_authors)
            if 0 <= self.first_ms[author] <= history
            and author != original
            and (self.created[author] or 0.0) <= limit
        ]
        chosen = rng.sample(eligible, min(count, len(eligible)))
        start_ms = int(ep.start * 1000)
        span_ms = int((ep.end - ep.start) * 1000) - 60000
        times = sorted(start_ms + 60000 + int(span_ms * rng.random() ** 1.3) for _ in chosen)
        retweet = f"RT @{CASCADE_AUTHOR}: {CASCADE_ORIGINAL}"
        posts = [(start_ms + 20000, original, CASCADE_ORIGINAL, "protest")]
        posts += [(ts_ms, author, retweet, "protest") for ts_ms, author in zip(times, chosen, strict=True)]
        return posts

    def _start_relocation(self, ep: Episode, share: float) -> None:
        """That share of the active authors seen before in US, GB or DE (the famous ones aside) are ready
        to move to the episode's region, each from a time inside its window: their first post after it,
        if still inside the window, is from the new region, and so is every post after that (an alias
        index: the same account in another region). Whoever does not post in time stays home, so every
        move the stream shows falls inside the window."""
        rng = Random(f"relocation:{self.plan.spec.name}:{self.seed}:{ep.start}")
        famous = {entry[0] for group in FAMOUS.values() for entry in group}
        eligible = [
            author
            for author in range(self.n_ir, self.base_authors)
            if self.posted[author] >= RELOCATE_ACTIVE
            and self.region[author] in RELOCATE_FROM
            and self.handles[author] not in famous
            and author not in self.switch
        ]
        chosen = sorted(rng.sample(eligible, round(share * len(eligible))))
        span_ms = int((ep.end - ep.start) * 1000)
        for author in chosen:
            alias = self._add_author(
                self.handles[author],
                self.platform[author],
                self.lang[author],
                ep.region or "IR",
                self.created[author],
                self.followers[author],
                real=author,
            )
            ready = int(ep.start * 1000) + rng.randrange(span_ms)
            self.switch[author] = [ready, int(ep.end * 1000), alias, False]

    # -- deletions -------------------------------------------------------------------------------
    def _pick(self, pool: _Pool) -> tuple[int, int] | None:
        """A post of the pool neither deleted nor due for deletion: (number, author), or None."""
        posts, first = pool.posts, pool.first
        size = len(posts) - first
        if size <= 0:
            return None
        random = self.rng.random
        for _ in range(20):
            _, number, author = posts[first + int(random() * size)]
            if number not in self.deleted and number not in self.scheduled:
                self.deleted.add(number)
                return number, author
        return None

    # -- the stream ------------------------------------------------------------------------------
    def items(self) -> Iterator[tuple[FeedItem, str | None]]:
        """Posts (with their category) and deletion notices (with None), in event-time order."""
        plan, vocab, rng, seed = self.plan, self.vocab, self.rng, self.seed
        prefixes, texts, suffixes = vocab.prefix, vocab.text, vocab.suffix
        prefix_mask, text_mask, suffix_mask = vocab.prefix_mask, vocab.text_mask, vocab.suffix_mask
        handles, real, switch = self.handles, self.real, self.switch
        pending, scheduled, deleted = self.pending, self.scheduled, self.deleted
        share = self.deletion_share
        low, mean, high = DELETION_DELAY_S
        next_injected = 0
        number = 0
        sequence = 0
        id_prefix = f"gen-{seed}-"
        for index, (lo, rows) in enumerate(_minutes(plan, seed)):
            hi = plan.buckets[index][1]
            lo_ms, hi_ms = math.ceil(lo * 1000.0), math.ceil(hi * 1000.0)
            middle = (lo + hi) / 2
            dark = any(gap.contains(middle) for gap in plan.gaps)
            for what in [w for w in self.waiting if w[1].start < hi]:
                self.waiting.remove(what)
                kind, ep, magnitude = what
                if kind == "rt_cascade":
                    self.injected = sorted(
                        [*self.injected[next_injected:], *self._start_cascade(ep, int(magnitude))]
                    )
                    next_injected = 0
                else:
                    self._start_relocation(ep, magnitude)
            # (ts_ms, order, sequence, event): posts first on a tie, then notices, each in drawn order.
            events: list[tuple[int, int, int, tuple]] = []
            while pending and pending[0][0] < hi_ms:
                ts_ms, post_number, author = heapq.heappop(pending)
                scheduled.discard(post_number)
                if dark or post_number in deleted:
                    continue  # notices due while the platform is dark are lost
                deleted.add(post_number)
                events.append((ts_ms, 1, sequence, ("delete", post_number, author)))
                sequence += 1
            for pool, ep, factor in self.pools:
                if dark or not ep.contains(middle):
                    continue
                pool.carry += (factor - 1.0) * share * pool.background_rate()
                count = int(pool.carry)
                pool.carry -= count
                for _ in range(count):
                    picked = self._pick(pool)
                    if picked is None:
                        break
                    ts_ms = lo_ms + int(rng.random() * (hi_ms - lo_ms))
                    events.append((ts_ms, 1, sequence, ("delete", *picked)))
                    sequence += 1
            for ts_ms, author, prefix, text, suffix, category in rows:
                poster = author
                moving = switch.get(author)
                if moving is not None:
                    if not moving[3] and moving[0] <= ts_ms < moving[1]:
                        moving[3] = True  # this post is the move
                    if moving[3]:
                        poster = moving[2]
                mask = prefix_mask[prefix] | text_mask[text] | suffix_mask[suffix]
                body = prefixes[prefix] + texts[text] + suffixes[suffix]
                events.append((ts_ms, 0, sequence, ("post", poster, body, CATEGORIES[category], mask)))
                sequence += 1
            injected = self.injected
            while next_injected < len(injected) and injected[next_injected][0] < hi_ms:
                ts_ms, author, body, category = injected[next_injected]
                next_injected += 1
                if not dark:
                    events.append((ts_ms, 0, sequence, ("post", author, body, category, None)))
                    sequence += 1
            events.sort()
            for ts_ms, _, _, event in events:
                if event[0] == "delete":
                    _, post_number, author = event
                    yield (
                        Deletion(id=f"{id_prefix}{post_number}", ts=ts_ms / 1000.0, author=handles[author]),
                        None,
                    )
                    continue
                _, author, body, category, mask = event
                yield (
                    Post(
                        id=f"{id_prefix}{number}",
                        ts=ts_ms / 1000.0,
                        text=body,
                        author=handles[author],
                        platform=self.platform[author],
                        lang=self.lang[author],
                        region=self.region[author],
                        author_created=self.created[author],
                        author_followers=self.followers[author],
                    ),
                    category,
                )
                account = real[author]
                self.posted[account] += 1
                if self.first_ms[account] < 0:
                    self.first_ms[account] = ts_ms
                if mask is not None:  # an ordinary post: it may be deleted later, or by a targeted wave
                    if real[author] == author:
                        region = self.region[author]
                        for pool, _, _ in self.pools:
                            if (pool.region is None or pool.region == region) and (
                                not pool.bit or mask & pool.bit
                            ):
                                pool.add(ts_ms, number, author)
                    if share and rng.random() < share:
                        delay = min(low + rng.expovariate(1.0 / mean), high)
                        heapq.heappush(pending, (ts_ms + int(delay * 1000.0), number, author))
                        scheduled.add(number)
                number += 1
            for pool, _, _ in self.pools:
                pool.end_minute(hi_ms)
