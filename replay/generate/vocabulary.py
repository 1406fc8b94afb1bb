"""The vocabulary of one run, built once from :mod:`.templates`: rendered texts with the watchlist terms
they contain (as bit masks), retweet prefixes, suffixes, authors, and the lookup tables posts are drawn
from; also the evasion spellings that slip past a keyword filter."""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from random import Random

import orjson

from feed.taxonomy import CATEGORIES
from replay.generate.scenarios import ScenarioSpec
from replay.generate.templates import (
    ACCOUNT_AGE_DAYS,
    CATEGORY_WEIGHTS,
    CORE_HASHTAGS,
    DIASPORA_WORDS,
    EN,
    EXTRA_TAGS,
    FA,
    FAMOUS,
    FAMOUS_FOLLOWERS,
    FILL,
    IR_NAMES,
    IR_WORDS,
    IRAN_CITIES,
    LANG_WEIGHTS,
    LANGS,
    OTHER_NAMES,
    OTHER_REGIONS,
    OTHER_WORDS,
    PERSIAN_DIGITS,
    PLATFORM_WEIGHTS,
    RETWEET_SHARE,
    SUFFIXES,
    SURGE_SUFFIXES,
    TEMPLATES,
    WORD_TERMS,
)

TABLE = 8192  # size of the lookup tables used to draw weighted choices with one random()


def term_pattern(term: str) -> re.Pattern[str]:
    """A regex over lower-cased text: word terms match any listed spelling, hashtags as whole tokens."""
    if term.startswith("#"):
        return re.compile(r"(?<![\w#])" + re.escape(term.lower()) + r"(?!\w)")
    try:
        spellings = WORD_TERMS[term]
    except KeyError:
        raise ValueError(f"unknown term {term!r}; known: {', '.join(WORD_TERMS)} or any #hashtag") from None
    return re.compile("|".join(re.escape(s) for s in spellings))


# ---------------------------------------------------------------------------------------------------
# Vocabulary built once per run: texts with their term masks, pools, tables.

_SLOT = re.compile(r"\{(\w+?)2?\}")
_TOKEN = re.compile(r"[^\s,.!?:;،؟'\"()]+")
_HOMOGLYPHS = {"d": "д", "a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "i": "і", "s": "ѕ", "y": "у"}
_LEET = {"e": "3", "o": "0", "a": "4", "i": "1", "s": "5"}


def _evade(word: str, how: int) -> str:
    """A spelling that a keyword filter misses: leet, a Cyrillic letter, or a dot inside the word."""
    if not word.isascii():
        middle = max(1, len(word) // 2)
        return word[:middle] + ("." if how % 2 else " ") + word[middle:]
    if how == 0:
        for index in range(1, len(word)):
            if word[index] in _LEET:
                return word[:index] + _LEET[word[index]] + word[index + 1 :]
    if how in (0, 1):
        for index, char in enumerate(word):
            if char in _HOMOGLYPHS:
                return word[:index] + _HOMOGLYPHS[char] + word[index + 1 :]
    return word[:2] + "." + word[2:]


def _esc(text: str) -> bytes:
    """JSON string content (without quotes); concatenating escaped pieces escapes the concatenation."""
    return orjson.dumps(text)[1:-1]


def _table(weights: Sequence[float], size: int = TABLE) -> list[int]:
    """A lookup table of ``size`` indices in proportion to the weights (largest remainders)."""
    total = float(sum(weights))
    exact = [w / total * size for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(len(weights)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in order[: size - sum(counts)]:
        counts[i] += 1
    table: list[int] = []
    for index, count in enumerate(counts):
        table.extend([index] * count)
    return table


class Vocab:
    """Texts, prefixes (retweets), suffixes (hashtags, slogans), authors and their lookup tables."""

    def __init__(self, spec: ScenarioSpec, seed: int, terms: Sequence[str]) -> None:
        rng = Random(f"vocab:{spec.name}:{seed}")
        self.terms = list(dict.fromkeys([*terms, *WORD_TERMS, *CORE_HASHTAGS]))
        self.patterns = [term_pattern(term) for term in self.terms]
        self.bit = {term: 1 << index for index, term in enumerate(self.terms)}

        # Texts: pools[cat * 3 + lang] -> text indices.
        self.text: list[str] = []
        self.text_json: list[bytes] = []
        self.text_mask: list[int] = []
        self.pools: list[list[int]] = []
        for category in CATEGORIES:
            for lang in range(3):
                pool: list[int] = []
                for template in TEMPLATES[category][lang]:
                    if "{" in template:
                        pool.extend(
                            self._add_text(self._render(template, lang, rng)) for _ in range(spec.renders)
                        )
                    else:  # every template equally likely
                        pool.extend([self._add_text(template)] * spec.renders)
                self.pools.append(pool)

        # Prefixes: "" or a retweet of an IR author; per region group a table of prefix indices.
        self.authors = _Authors(spec, rng)
        retweeted = self.authors.handles[: min(300, spec.ir_authors)]
        self.prefix = ["", *(f"RT @{handle}: " for handle in retweeted)]
        self.prefix_json = [_esc(p) for p in self.prefix]
        self.prefix_mask = [self.mask(p) for p in self.prefix]
        rt_weights = [1.0 / (rank + 3) for rank in range(len(retweeted))]
        self.prefix_tables = []
        for group in ("IR", "other"):
            share = RETWEET_SHARE[group]
            total = sum(rt_weights)
            self.prefix_tables.append(_table([1 - share] + [w / total * share for w in rt_weights]))

        # Suffixes per language, and the extra hashtag vocabulary for the stress scenario.
        self.suffix: list[str] = []
        self.suffix_json: list[bytes] = []
        self.suffix_mask: list[int] = []
        self.suffix_tables: list[list[int]] = []
        self.hashtags = list(CORE_HASHTAGS)
        extra_combos: list[str] = []
        if spec.extra_hashtags:
            extra = [f"#{city}{ending}" for city in IRAN_CITIES for ending in ("", "88", "protest", "news")]
            extra += [f"#free{city}" for city in IRAN_CITIES] + [f"#{tag}" for tag in EXTRA_TAGS]
            self.hashtags += extra
            tag_weights = [1.0 / (rank + 2) for rank in range(len(extra))]
            for _ in range(4096):
                count = rng.choice((1, 1, 1, 2, 2, 3))
                tags = dict.fromkeys(rng.choices(extra, tag_weights, k=count))
                extra_combos.append(" " + " ".join(tags))
        for lang in range(3):
            indices, weights = [], []
            base = SUFFIXES[lang]
            base_total = sum(w for _, w in base)
            share = spec.extra_hashtag_share
            for text, weight in base:
                indices.append(self._add_suffix(text))
                weights.append(weight / base_total * (1 - share))
            for combo in extra_combos:
                indices.append(self._add_suffix(combo))
                weights.append(share / len(extra_combos))
            self.suffix_tables.append([indices[i] for i in _table(weights)])

        # Category tables per region group.
        self.category_tables = [_table(CATEGORY_WEIGHTS[group]) for group in ("IR", "other")]
        self._surge_suffixes: dict[str, list[list[int]]] = {}
        self._without: dict[tuple[int, int], list[int]] = {}
        self._evasion: dict[int, dict[int, int]] = {}

    # -- building blocks --------------------------------------------------------------------------
    def mask(self, text: str) -> int:
        lowered = text.lower()
        bits = 0
        for index, pattern in enumerate(self.patterns):
            if pattern.search(lowered):
                bits |= 1 << index
        return bits

    def _render(self, template: str, lang: int, rng: Random) -> str:
        def fill(match: re.Match[str]) -> str:
            slot = match.group(1)
            if slot == "N":
                number = str(rng.choice((rng.randint(3, 60), rng.randint(10, 400))))
                return number.translate(PERSIAN_DIGITS) if lang == FA else number
            if slot == "IP":
                octets = [rng.randint(62, 220)] + [rng.randint(1, 254) for _ in range(3)]
                return ".".join(map(str, octets)) + f":{rng.choice((80, 443, 3128, 8080))}"
            return rng.choice(FILL[slot][lang])

        return _SLOT.sub(fill, template)

    def _add_text(self, text: str) -> int:
        self.text.append(text)
        self.text_json.append(_esc(text))
        self.text_mask.append(self.mask(text))
        return len(self.text) - 1

    def _add_suffix(self, text: str) -> int:
        self.suffix.append(text)
        self.suffix_json.append(_esc(text))
        self.suffix_mask.append(self.mask(text))
        return len(self.suffix) - 1

    def surge_suffix_tables(self, hashtag: str) -> list[list[int]]:
        """Per language, suffix indices that carry ``hashtag`` (for a hashtag surge)."""
        if hashtag not in self._surge_suffixes:
            variants = (
                SURGE_SUFFIXES.get(hashtag)
                or ((f" {hashtag}", f" {hashtag} #iranelection", f" #iranelection {hashtag}"),) * 3
            )
            self._surge_suffixes[hashtag] = [[self._add_suffix(text) for text in per] for per in variants]
            bit = self.bit[hashtag]
            assert all(self.suffix_mask[i] & bit for per in self._surge_suffixes[hashtag] for i in per)
        return self._surge_suffixes[hashtag]

    def pools_without(self, bit: int) -> list[list[int]]:
        """The text pools with every text containing the term (bit) left out."""
        result = []
        for index, pool in enumerate(self.pools):
            key = (bit, index)
            if key not in self._without:
                kept = [t for t in pool if not self.text_mask[t] & bit]
                if not kept:
                    raise ValueError("every template of a pool contains the term; cannot fade it")
                self._without[key] = kept
            result.append(self._without[key])
        return result

    def evasions(self, bit: int, rng: Random) -> dict[int, int]:
        """For texts containing the term (bit): the index of a variant spelled to evade a filter."""
        if bit not in self._evasion:
            pattern = self.patterns[bit.bit_length() - 1]
            table: dict[int, int] = {}
            for index in range(len(self.text)):
                if not self.text_mask[index] & bit:
                    continue
                how = rng.randrange(3)

                def evade(match: re.Match[str], how: int = how) -> str:
                    word = match.group(0)
                    return _evade(word, how) if pattern.search(word.lower()) else word

                evaded = _TOKEN.sub(evade, self.text[index])
                if not self.mask(evaded) & bit:
                    table[index] = self._add_text(evaded)
            self._evasion[bit] = table
        return self._evasion[bit]


class _Authors:
    """Handles with a fixed region, language and platform each, and activity tables per region group."""

    def __init__(self, spec: ScenarioSpec, rng: Random) -> None:
        self.handles: list[str] = []
        self.tail: list[bytes] = []  # the JSON record from "author" to the end of the line
        self.lang: list[int] = []
        self.platform: list[str] = []
        self.region: list[str] = []
        seen: set[str] = set()
        self.tables: list[list[int]] = []
        for group, count in (("IR", spec.ir_authors), ("other", spec.other_authors)):
            first = len(self.handles)
            famous = FAMOUS[group]
            region_table = _table([w for _, w in OTHER_REGIONS], 1000)
            lang_table = _table(LANG_WEIGHTS[group], 1000)
            platform_table = _table([w for _, w in PLATFORM_WEIGHTS], 1000)
            for index in range(count):
                region = "IR" if group == "IR" else OTHER_REGIONS[rng.choice(region_table)][0]
                lang = rng.choice(lang_table)
                platform = PLATFORM_WEIGHTS[rng.choice(platform_table)][0]
                if index < len(famous):
                    handle, region, lang, platform = famous[index]
                elif group == "IR":
                    handle = self._handle(IR_NAMES, IR_WORDS, rng)
                elif lang == EN:
                    handle = self._handle(OTHER_NAMES, OTHER_WORDS, rng)
                else:  # the diaspora
                    handle = self._handle(IR_NAMES, DIASPORA_WORDS, rng)
                while handle in seen:
                    handle = f"{handle}{rng.randint(0, 9)}"
                seen.add(handle)
                self.handles.append(handle)
                self.lang.append(lang)
                self.platform.append(platform)
                self.region.append(region)
                self.tail.append(
                    b'"author":'
                    + orjson.dumps(handle)
                    + b',"platform":'
                    + orjson.dumps(platform)
                    + b',"lang":'
                    + orjson.dumps(LANGS[lang])
                    + b',"region":'
                    + orjson.dumps(region)
                    + b"}\n"
                )
            # Activity: a few very busy accounts and a long tail.
            weights = [1.0 / (rank + 8) for rank in range(count)]
            self.tables.append([first + i for i in _table(weights, max(TABLE, 4 * count))])

    @staticmethod
    def _handle(names: Sequence[str], words: Sequence[str], rng: Random) -> str:
        name, word = rng.choice(names), rng.choice(words)
        style = rng.randrange(6)
        if style == 0:
            return f"{name}{rng.randint(1, 99)}"
        if style == 1:
            return f"{name}_{word}"
        if style == 2:
            return f"{word}_{name}"
        if style == 3:
            return f"{name.capitalize()}{word.capitalize()}"
        if style == 4:
            return f"{word}{name}{rng.randint(1, 9)}"
        return f"{name}{word}"


class Accounts:
    """When each author's account was made (``author_created``, whole epoch seconds) and its followers,
    for scenarios whose posts carry them. Drawn from their own random stream, so that turning them on
    changes nothing else of a run. Most accounts are years old; the famous ones have many followers."""

    def __init__(self, authors: _Authors, spec: ScenarioSpec, seed: int, start: float) -> None:
        rng = Random(f"accounts:{spec.name}:{seed}")
        famous = {entry[0] for group in FAMOUS.values() for entry in group}
        bands = [(low, high) for low, high, _ in ACCOUNT_AGE_DAYS]
        band_table = _table([share for _, _, share in ACCOUNT_AGE_DAYS], 1000)
        self.created: list[float] = []
        self.followers: list[int] = []
        for handle in authors.handles:
            if handle in famous:
                age = rng.uniform(700.0, 1100.0)
                followers = rng.randint(*FAMOUS_FOLLOWERS)
            else:
                low, high = bands[rng.choice(band_table)]
                age = rng.uniform(low, high)
                followers = min(50000, int(math.exp(rng.gauss(4.3, 1.4))))
            self.created.append(float(math.floor(start - age * 86400.0)))
            self.followers.append(followers)
