"""Per-category P/R/F1 on real, human-labelled crisis posts (held-out events), for three classifiers.

    python scripts/realdata/build.py            # once: rebuilds the set outside the repo
    python bench/realdata_eval.py [--data DIR] [--split eval|train] [--errors N] [--check]

Compares the lexicon alone (``Classifier(model=None)``, the classifier before issue 16), a baseline of 5-10
obvious English keywords per category (``KEYWORDS``), and the shipped classifier (lexicon + learned model,
``Classifier()``). The label mapping, the sources and the held-out events are in
``pipeline/data/REALDATA.md``; only mapped posts are scored, over the mapped categories (violence,
solidarity, medical, other); ``other`` counts only when it is the whole output. ``--check`` exits 1 unless
the shipped classifier reaches micro-F1 0.75 and the keyword baseline + 0.10.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from pipeline.classify import Classifier  # noqa: E402

MAPPED = ("violence", "solidarity", "medical", "other")

# The baseline of issue 16: a few obvious English keywords per category (whole words, case-folded; a
# trailing * is a prefix). Written once, not tuned.
KEYWORDS = {
    "violence": "shot shooting shooter gunman killed bomb* explosion* attack* wounded injured",
    "solidarity": "pray* prayers thoughts condolences sympathy solidarity support rip heart*",
    "medical": "hospital* doctor* treatment* patient* medical ambulance* vaccine* nurse* drug*",
    "disinformation": "rumor* rumour* fake hoax false unconfirmed debunk*",
}
_WORD = re.compile(r"\w+")


def keyword_baseline() -> Callable[[str, str | None], tuple[str, ...]]:
    exact: dict[str, set[str]] = {}
    prefixes: list[tuple[str, str]] = []
    for category, words in KEYWORDS.items():
        for word in words.split():
            if word.endswith("*"):
                prefixes.append((word[:-1], category))
            else:
                exact.setdefault(word, set()).add(category)

    def classify(text: str, lang: str | None = None) -> tuple[str, ...]:
        found: set[str] = set()
        for token in _WORD.findall(text.lower()):
            found |= exact.get(token, set())
            for stem, category in prefixes:
                if token.startswith(stem):
                    found.add(category)
        return tuple(sorted(found)) or ("other",)

    return classify


def _prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def score(rows: list[dict], classify: Callable[[str, str | None], tuple[str, ...]]) -> dict:
    counts = {name: [0, 0, 0] for name in MAPPED}
    errors = []
    for row in rows:
        gold = {row["gold"]}
        got = classify(row["text"], None)
        predicted = {"other"} if got == ("other",) else set(got) & set(MAPPED)
        for name in MAPPED:
            if name in gold and name in predicted:
                counts[name][0] += 1
            elif name in predicted:
                counts[name][1] += 1
            elif name in gold:
                counts[name][2] += 1
        if gold != predicted:
            errors.append((row, got))
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {"counts": counts, "micro": _prf(*total), "errors": errors}


def load(data: Path, split: str) -> list[dict]:
    path = data / f"{split}.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} not found: run scripts/realdata/build.py first")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row for row in rows if row["gold"] is not None]


def render(results: dict[str, dict]) -> str:
    names = list(results)
    lines = [f"{'category':12s} {'support':>7s} " + " ".join(f"{n + ' P/R/F1':>22s}" for n in names)]
    first = next(iter(results.values()))["counts"]
    for category in MAPPED:
        tp, _, fn = first[category]
        cells = []
        for name in names:
            p, r, f = _prf(*results[name]["counts"][category])
            cells.append(f"{p:6.2f} {r:6.2f} {f:6.2f}  ")
        lines.append(f"{category:12s} {tp + fn:7d} " + " ".join(f"{c:>22s}" for c in cells))
    cells = []
    for name in names:
        p, r, f = results[name]["micro"]
        cells.append(f"{p:6.2f} {r:6.2f} {f:6.2f}  ")
    lines.append(f"{'micro':12s} {'':7s} " + " ".join(f"{c:>22s}" for c in cells))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from scripts.realdata.build import default_out

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_out())
    parser.add_argument("--split", choices=("eval", "train"), default="eval")
    parser.add_argument(
        "--errors", type=int, default=0, help="list this many errors of the shipped classifier"
    )
    parser.add_argument("--check", action="store_true", help="exit 1 below the issue 16 targets")
    args = parser.parse_args(argv)
    rows = load(args.data, args.split)
    lexicon, shipped = Classifier(model=None), Classifier()
    results = {
        "lexicon": score(rows, lambda text, lang: lexicon.classify(text, lang).categories),
        "keywords": score(rows, keyword_baseline()),
        "shipped": score(rows, lambda text, lang: shipped.classify(text, lang).categories),
    }
    events = sorted({row["event"] for row in rows})
    print(f"{args.split}: {len(rows)} mapped posts from {len(events)} events ({', '.join(events)})")
    print(render(results))
    for row, got in results["shipped"]["errors"][: args.errors]:
        print(f"{row['event']} gold={row['gold']} got={','.join(got)} | {row['text'][:140]!r}")
    if args.check:
        micro, base = results["shipped"]["micro"][2], results["keywords"]["micro"][2]
        ok = micro >= 0.75 and micro >= base + 0.10
        verdict = "ok" if ok else "FAIL"
        print(f"check: micro-F1 {micro:.3f} (target 0.75 and keywords {base:.3f} + 0.10): {verdict}")
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
