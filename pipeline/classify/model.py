"""A small learned model on top of the lexicon: linear scores for ``violence``, ``solidarity``, ``medical``
and ``other`` (a post unrelated to any crisis: what the public sets label "not related").

Trained by ``scripts/realdata/train.py`` (scikit-learn logistic regression, a dev-only dependency) on public,
human-labelled crisis posts mapped to our taxonomy (``pipeline/data/REALDATA.md``) and on the ``dev`` split
of our own dev set, then exported as plain weights to ``pipeline/data/model.json``. Scoring is pure Python:
the post is lower-cased, cut to ``MAX_CHARS``, split into words (URLs and @mentions dropped), and every
feature found (a word, an emoji or emoticon, a pair of adjacent words, a word's first five letters,
five-letter pieces of a hashtag, and each lexicon channel that fired) adds its weights; nothing is
downloaded or compiled at run time. Deterministic, and it never raises on text.

The classifier (:mod:`.classifier`) uses it for posts that are not Persian or Finglish; the lexicon stays in
charge of those scripts and of the categories no public set labels.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from pathlib import Path

MODEL_PATH = Path(__file__).resolve().parents[1] / "data" / "model.json"
SIZE_BUDGET = 3 * 1024 * 1024  # bytes: the artifact must stay under this
MAX_CHARS = 1000  # longer posts are scored on their start (a tweet is 140-280)
MAX_TOKENS = 200
# words and hashtags; URLs and @mentions (to drop); emoji and a few emoticons (sympathy is often one)
_TOKEN = re.compile(
    r"https?://\S+|www\.\S+|@\w+|#?\w+|[\U0001F300-\U0001FAFF\u2600-\u27BF]|[:;]'?-?[()dp/|]|<3"
)
_MEMO_LIMIT = 100_000
HEADS = ("violence", "solidarity", "medical", "other")


class ModelError(ValueError):
    """A malformed model artifact."""


def tokens(text: str) -> list[str]:
    """The words the model sees: lower-cased, URLs and @mentions dropped, hashtags kept with their '#'."""
    words = []
    for token in _TOKEN.findall(text[:MAX_CHARS].lower()):
        first = token[0]
        if first == "@" or (first in "hw" and (token.startswith(("http://", "https://", "www.")))):
            continue
        if token.strip("_#"):
            words.append(token)
        if len(words) >= MAX_TOKENS:
            break
    return words


def _word_features(word: str) -> tuple[str, ...]:
    if word[0] == "#":
        body = word[1:]
        found = [word, body]
        if len(body) > 5:
            found.extend("h" + body[i : i + 5] for i in range(min(len(body) - 4, 12)))
        return tuple(found)
    if len(word) > 5:
        return (word, "p" + word[:5])
    return (word,)


def features(words: list[str], memo: dict[str, tuple[str, ...]] | None = None) -> dict[str, None]:
    """The features of a post, each once, in a fixed order (so that sums are the same in every process).
    Word pairs are joined by a space."""
    found: dict[str, None] = {}
    for word in words:
        parts = memo.get(word) if memo is not None else None
        if parts is None:
            parts = _word_features(word)
            if memo is not None:
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[word] = parts
        for part in parts:
            found[part] = None
    for index in range(len(words) - 1):
        found[words[index] + " " + words[index + 1]] = None
    return found


class Model:
    """Linear scores (probabilities) per learned head (``HEADS``), from an exported artifact."""

    def __init__(self, artifact: dict) -> None:
        try:
            categories = tuple(artifact["categories"])
            if categories != HEADS:
                raise ModelError(f"unexpected categories {categories}")
            self.bias = tuple(float(b) for b in artifact["bias"])
            self.thresholds = {str(k): float(v) for k, v in artifact["thresholds"].items()}
            weights = artifact["weights"]
            self.weights: dict[str, tuple[float, float, float, float]] = {
                str(feature): (float(w[0]), float(w[1]), float(w[2]), float(w[3]))
                for feature, w in weights.items()
            }
            self.meta = dict(artifact.get("meta", {}))
        except (KeyError, TypeError, IndexError, ValueError) as error:
            raise ModelError(f"malformed model artifact: {error}") from error
        if len(self.bias) != len(HEADS):
            raise ModelError("malformed model artifact: one bias per head expected")
        self._memo: dict[str, tuple[str, ...]] = {}  # word -> its features that have weights

    @classmethod
    def load(cls, path: Path | str = MODEL_PATH) -> Model:
        path = Path(path)
        if path.stat().st_size > SIZE_BUDGET:
            raise ModelError(f"{path}: {path.stat().st_size} bytes, over the {SIZE_BUDGET}-byte budget")
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def logits(self, text: str, lexicon: Iterable[str] = ()) -> tuple[float, float, float, float]:
        """The linear scores, one per head (``HEADS``); ``lexicon``: the lexicon's channels that fired
        (``L:<channel>`` features: the model learned how far to trust the lexicon on real posts).

        The same sums as over :func:`features`, faster: each word's features are looked up once
        (memoized, keeping only those with weights), and the features found are added in a fixed order."""
        weights = self.weights
        memo = self._memo
        words = tokens(text)
        found: dict[str, None] = {}
        for word in words:
            known = memo.get(word)
            if known is None:
                known = tuple(f for f in _word_features(word) if f in weights)
                if len(memo) >= _MEMO_LIMIT:
                    memo.clear()
                memo[word] = known
            for feature in known:
                found[feature] = None
        previous = None
        for word in words:
            if previous is not None:
                pair = previous + " " + word
                if pair in weights:
                    found[pair] = None
            previous = word
        for channel in lexicon:
            feature = "L:" + channel
            if feature in weights:
                found[feature] = None
        v, s, m, o = self.bias
        for feature in found:
            w = weights[feature]
            v += w[0]
            s += w[1]
            m += w[2]
            o += w[3]
        return v, s, m, o

    def probabilities(self, text: str, lexicon: Iterable[str] = ()) -> tuple[float, float, float, float]:
        """P(violence), P(solidarity), P(medical), P(other) for ``text`` (``lexicon``: see :meth:`logits`)."""
        v, s, m, o = self.logits(text, lexicon)
        return _sigmoid(v), _sigmoid(s), _sigmoid(m), _sigmoid(o)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _short(x: float) -> float | int:
    """A weight as written: three decimals (the artifact stays small), an exact 0 as ``0``."""
    x = round(float(x), 3)
    return x if x else 0


def export(categories: Iterable[str], bias, weights: dict, thresholds: dict, meta: dict) -> dict:
    """The artifact's JSON object (used by the training script)."""
    return {
        "categories": list(categories),
        "bias": [round(float(b), 4) for b in bias],
        "thresholds": thresholds,
        "meta": meta,
        "weights": {f: [_short(x) for x in w] for f, w in sorted(weights.items())},
    }


__all__ = ["HEADS", "MODEL_PATH", "SIZE_BUDGET", "Model", "ModelError", "features", "tokens"]
