"""Per-category precision / recall / F1 of the classifier on the hand-labelled dev set, per script.

    python bench/classify_eval.py [--split test|dev|all] [--devset pipeline/data/devset.jsonl] [--errors]

Prints one table per script (en, fa, fa-Latn) and for all posts together: P/R/F1 and support for every
category, micro-averaged F1, and the accuracy of priority, stance and language detection (the language is
detected from the text alone here, since the feed's ``lang`` would otherwise win). ``--errors`` lists the
posts whose categories differ from the gold labels. Tune on ``dev``; report ``test``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.classify import CATEGORIES, Classifier  # noqa: E402

SCRIPTS = ("en", "fa", "fa-Latn")


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def evaluate(rows: list[dict], classifier: Classifier) -> dict[str, dict]:
    """Counts per script (and 'all'): per-category tp/fp/fn and priority/stance/lang hits."""
    results: dict[str, dict] = {}
    for scope in (*SCRIPTS, "all"):
        results[scope] = {
            "n": 0,
            "counts": {name: [0, 0, 0] for name in CATEGORIES},
            "priority": 0,
            "stance": 0,
            "lang": 0,
            "exact": 0,
            "errors": [],
        }
    for row in rows:
        given = classifier.classify(row["text"], row["lang"])
        detected = classifier.classify(row["text"])
        gold, predicted = set(row["categories"]), set(given.categories)
        for scope in (row["lang"], "all"):
            if scope not in results:
                continue
            result = results[scope]
            result["n"] += 1
            for name in CATEGORIES:
                counts = result["counts"][name]
                if name in gold and name in predicted:
                    counts[0] += 1
                elif name in predicted:
                    counts[1] += 1
                elif name in gold:
                    counts[2] += 1
            result["priority"] += given.priority == row["priority"]
            result["stance"] += given.stance == row["stance"]
            result["lang"] += detected.lang == row["lang"]
            result["exact"] += gold == predicted
            if scope == "all" and gold != predicted:
                result["errors"].append((row, given))
    return results


def render(results: dict[str, dict]) -> str:
    lines = []
    for scope, result in results.items():
        n = result["n"]
        if not n:
            continue
        lines.append(f"== {scope} ({n} posts)")
        lines.append(f"{'category':16s} {'P':>6s} {'R':>6s} {'F1':>6s} {'support':>8s}")
        total = [0, 0, 0]
        for name in CATEGORIES:
            tp, fp, fn = result["counts"][name]
            total = [total[0] + tp, total[1] + fp, total[2] + fn]
            precision, recall, f1 = _prf(tp, fp, fn)
            lines.append(f"{name:16s} {precision:6.2f} {recall:6.2f} {f1:6.2f} {tp + fn:8d}")
        precision, recall, f1 = _prf(*total)
        lines.append(f"{'micro':16s} {precision:6.2f} {recall:6.2f} {f1:6.2f} {total[0] + total[2]:8d}")
        lines.append(
            f"exact-match {result['exact'] / n:.2f}  priority acc {result['priority'] / n:.2f}  "
            f"stance acc {result['stance'] / n:.2f}  lang-detection acc {result['lang'] / n:.2f}"
        )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--devset", type=Path, default=REPO / "pipeline" / "data" / "devset.jsonl")
    parser.add_argument("--split", choices=("dev", "test", "all"), default="test")
    parser.add_argument("--errors", action="store_true", help="list the posts whose categories differ")
    args = parser.parse_args(argv)
    if not args.devset.exists():
        print(f"dev set not found: {args.devset}", file=sys.stderr)
        return 2
    rows = [json.loads(line) for line in args.devset.read_text(encoding="utf-8").splitlines() if line.strip()]
    if args.split != "all":
        rows = [row for row in rows if row.get("split") == args.split]
    results = evaluate(rows, Classifier())
    print(f"split: {args.split}  ({args.devset.name})")
    print(render(results))
    if args.errors:
        for row, got in results["all"]["errors"]:
            print(
                f"{row['id']} [{row['lang']}] gold={','.join(row['categories'])} "
                f"got={','.join(got.categories)} | {row['text']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
