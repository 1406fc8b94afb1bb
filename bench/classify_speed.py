"""Classifier throughput on one core: posts/s over a generated feed (no Kafka, no Faust).

    python bench/classify_speed.py [--hours 12] [--seed 1] [--repeat 3] [--detect-lang] [--lexicon-only]

Generates the ``iran2009`` scenario (``replay.generate.generate``; about 1.5 posts/s of event time, so
12 hours are ~80k posts), keeps the texts in memory, warms the classifier up on them once (compiling is
done in ``Classifier()``; the per-token memo fills on the first pass), then times ``Classifier.classify``
over every post ``--repeat`` times and prints the best run's posts/s. ``--detect-lang`` ignores the feed's
``lang`` so that language detection is timed too; ``--lexicon-only`` also times ``Classifier(model=None)``
(the lexicon without the learned model) on the same posts, alternating with the default, to show what the
model costs. Also times a cold pass (an empty memo) over the seed feed.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from feed import Post, read_feed  # noqa: E402
from pipeline.classify import Classifier  # noqa: E402
from pipeline.engine import Engine  # noqa: E402
from replay.generate import generate  # noqa: E402
from replay.seed import SEED_FEED_PATH  # noqa: E402


def _time(classifier: Classifier, posts: list[tuple[str, str | None]]) -> float:
    classify = classifier.classify
    start = time.perf_counter()
    for text, lang in posts:
        classify(text, lang)
    return time.perf_counter() - start


def engine_classify_seconds(
    posts: list[Post], *, warmup: int = 50_000, classifier: Classifier | None = None
) -> float:
    """Seconds for ``Engine().classify(post)`` over every post, after a warm-up pass over the first
    ``warmup`` posts (it fills the per-token memo as a long-running worker's is). Used by ``make bench``.
    ``classifier``: another than the default (e.g. ``Classifier(model=None)``, the lexicon alone)."""
    engine = Engine(classifier)
    classify = engine.classify
    for post in posts[:warmup]:
        classify(post)
    start = time.perf_counter()
    for post in posts:
        classify(post)
    return time.perf_counter() - start


def classify_batch_seconds(posts: list[Post], pseudonymizer, *, batch: int = 1000) -> float:
    """Seconds for the classify stage's pure step (pipeline.stream.batch.classify_batch) over every post
    as 1,000-record batches of one partition, with or without its pseudonymizer; the engine is warmed
    up first, as in engine_classify_seconds."""
    from pipeline.stream.batch import Record, classify_batch

    engine = Engine()
    records = [
        Record("posts", 0, offset, post.author.encode() if post.author else None, post.to_json())
        for offset, post in enumerate(posts)
    ]
    for start in range(0, min(len(records), 50_000), batch):
        classify_batch(records[start : start + batch], engine, max_bytes=65536)
    started = time.perf_counter()
    for start in range(0, len(records), batch):
        classify_batch(records[start : start + batch], engine, max_bytes=65536, pseudonymizer=pseudonymizer)
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hours", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--detect-lang", action="store_true", help="ignore the feed's lang (detect it)")
    parser.add_argument("--lexicon-only", action="store_true", help="also time the lexicon alone")
    args = parser.parse_args(argv)

    stream, _ = generate("iran2009", seed=args.seed, hours=args.hours)
    posts = [(post.text, None if args.detect_lang else post.lang) for post in stream]
    seed_posts = [(post.text, post.lang) for post in read_feed(SEED_FEED_PATH)]

    cold = Classifier()
    cold_seconds = _time(cold, seed_posts)

    classifiers = {"classify": Classifier()}
    if args.lexicon_only:
        classifiers["classify, lexicon alone"] = Classifier(model=None)
    best = dict.fromkeys(classifiers, float("inf"))
    for classifier in classifiers.values():
        _time(classifier, posts)  # warm-up: fills the per-token memo
    for _ in range(max(1, args.repeat)):  # alternating, so that both see the same machine load
        for name, classifier in classifiers.items():
            best[name] = min(best[name], _time(classifier, posts))
    print(
        f"generated feed: {len(posts)} posts ({args.hours:g} h of iran2009, seed {args.seed}), "
        f"lang {'detected' if args.detect_lang else 'from the feed'}"
    )
    print(f"seed feed, cold memo: {len(seed_posts)} posts in {cold_seconds * 1000:.1f} ms")
    for name, seconds in best.items():
        rate = len(posts) / seconds
        print(f"{name}: {rate:,.0f} posts/s on one core ({seconds / len(posts) * 1e6:.1f} us/post)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
