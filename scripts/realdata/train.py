"""Train the learned part of the classifier and export it to ``pipeline/data/model.json``.

    pip install -e '.[train]'                  # scikit-learn: needed here only, never at run time
    python scripts/realdata/build.py           # the public labelled posts, outside the repo
    python scripts/realdata/train.py [--data DIR] [--out pipeline/data/model.json]

Data: the ``train`` split written by ``build.py`` (public crisis posts mapped to our taxonomy; held-out and
reserved events are not in it, see ``pipeline/data/REALDATA.md``), the English posts of the ``dev`` split
of ``pipeline/data/devset.jsonl`` (weight ``DEVSET_WEIGHT``) and of a generated iran2009 scenario
(``GENERATED_SEED``). Never the held-out ``eval`` split, never the
dev set's ``test`` split.

Model: one L2-regularised logistic regression per head (violence, solidarity, medical, other) over the
binary features of :func:`pipeline.classify.model.features` that occur in at least ``MIN_DF`` posts. The
regularisation and the thresholds with which the classifier combines the model with the lexicon
(:func:`pipeline.classify.classifier.combine`) are chosen by grouped cross-validation (``FOLDS`` folds;
every event's posts in one fold, except our own posts and ``SPREAD``, see :func:`folds`), maximising the
out-of-fold micro-F1 of the combined classifier on the mapped posts of ``OBJECTIVE_SOURCES`` (scored as
``bench/realdata_eval.py`` scores), with the dev split's English micro-F1 and the generated scenario's
recall per category as floors. The final model is fitted on everything and exported with small weights
pruned (``PRUNE``). See "Training and the choice of thresholds" in ``pipeline/data/REALDATA.md``.
Deterministic: fixed folds, a deterministic solver, sorted output.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402
from scipy.sparse import csr_matrix  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from pipeline.classify import classifier as classifier_module  # noqa: E402
from pipeline.classify.model import HEADS, MODEL_PATH, Model, export, features, tokens  # noqa: E402
from scripts.realdata.build import BLAST_EVENTS, EVAL_EVENTS, MERS, SOURCES, default_out  # noqa: E402

LEARNED = HEADS  # violence, solidarity, medical, other
MAPPED = HEADS  # the categories the public sets label are the heads
DEVSET = REPO / "pipeline" / "data" / "devset.jsonl"
OWN = ("devset", "generated")  # our own posts (see folds)
# The only training events that label violence (two blasts, one mostly in Spanish) and medical (MERS): held
# out by event, a fold never sees the category in the language and kind of event it is scored on, and the
# thresholds that decide these categories would be chosen blind. Their posts are dealt across the folds
# post by post instead (a within-event estimate, optimistic for these categories; reported as such).
SPREAD = frozenset({*BLAST_EVENTS, MERS} - EVAL_EVENTS)
OBJECTIVE_SOURCES = ("CrisisLexT26", "CrisisNLP")  # the held-out and reserved sets' labelling schemes
NEVER = 1.01  # a threshold no probability reaches (the rule is off)
RATIO_OFF = 1e6  # a solidarity_ratio no post reaches (the rule is off)
DEVSET_WEIGHT = 3.0
MIN_DF = 3
FOLDS = 5
C_GRID = (0.1,)  # 0.25 was also tried, and lost (out of fold) in every run so far
PRUNE = 0.05
# The dev split's posts are scored out of fold here by models that saw only the rest of our own posts, while
# the final model is trained on all of them; a small slack.
DEV_SLACK = 0.01
# The English posts of a generated iran2009 scenario (our own workload; a seed the tests do not use) are
# trained on, and bound the thresholds: every category the lexicon finds in at least GENERATED_FLOOR of its
# posts must stay found there out of fold (as tests/pipeline/classify/test_classifier.py requires).
GENERATED_SEED = 11
GENERATED_HOURS = 3.0
GENERATED_FLOOR = 0.96
# NATURAL_CASUALTIES: casualty reports of floods and earthquakes (unmapped in REALDATA.md) are left out of the
# violence head's training. Changed after the first held-out run (violence recall 0.31): as negatives, 1,000+
# of them against 265 blast casualties taught the model that "injured" and "dead" argue *against* violence,
# so "200 injured in plant explosion" scored 0.06. The evaluation mapping did not change (they stay
# unmapped there), and our own convention ("injured" alone is not violence) is taught by the dev split.


def load(data: Path) -> list[dict]:
    path = data / "train.jsonl"
    if not path.exists():
        raise SystemExit(f"{path} not found: run scripts/realdata/build.py first")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert all(row["split"] == "train" for row in rows)
    for row in rows:
        row["weight"] = 1.0
        # the other head: a post labelled unrelated, against every other post (mapped or not)
        row["targets"]["other"] = int(row["gold"] == "other")
        if _natural_casualties(row):
            row["targets"]["violence"] = None
    for line in DEVSET.read_text(encoding="utf-8").splitlines():
        post = json.loads(line)
        if post["split"] != "dev" or post["lang"] != "en":
            continue
        rows.append(
            {
                "id": post["id"],
                "event": "devset",
                "text": post["text"],
                "gold": None,
                "categories": post["categories"],
                "targets": {name: int(name in post["categories"]) for name in LEARNED},
                "weight": DEVSET_WEIGHT,
            }
        )
    from replay.generate import labelled_posts

    seen: set[str] = set()
    for post, category in labelled_posts("iran2009", seed=GENERATED_SEED, hours=GENERATED_HOURS):
        if post.lang != "en" or post.text in seen:  # the model never sees Persian or Finglish
            continue
        seen.add(post.text)
        rows.append(
            {
                "id": post.id,
                "event": "generated",
                "text": post.text,
                "gold": None,
                "category": category,
                "targets": {name: int(name == category) for name in LEARNED},
                "weight": 1.0,
            }
        )
    return rows


def _natural_casualties(row: dict) -> bool:
    """A casualty report of a natural disaster (mapped to nothing; see NATURAL_CASUALTIES)."""
    if row["gold"] is not None or row["targets"].get("violence") is None:
        return False
    return row["label"].startswith("Affected individuals /") or row["label"] == "injured_or_dead_people"


def generated_recall(rows: list[dict], predictions: list[tuple[str, ...]]) -> dict[str, float]:
    found: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for row, got in zip(rows, predictions, strict=True):
        total[row["category"]] += 1
        found[row["category"]] += row["category"] in got
    return {category: found[category] / total[category] for category in total}


def vocabulary(feature_sets: list[set[str]]) -> dict[str, int]:
    df: dict[str, int] = defaultdict(int)
    for found in feature_sets:
        for feature in found:
            df[feature] += 1
    kept = sorted(f for f, n in df.items() if n >= MIN_DF)
    return {f: i for i, f in enumerate(kept)}


def matrix(feature_sets: list[set[str]], vocab: dict[str, int]) -> csr_matrix:
    indptr, indices = [0], []
    for found in feature_sets:
        indices.extend(sorted(vocab[f] for f in found if f in vocab))
        indptr.append(len(indices))
    data = np.ones(len(indices), dtype=np.float64)
    return csr_matrix((data, indices, indptr), shape=(len(feature_sets), len(vocab)))


def fit(X, rows: list[dict], index: list[int], category: str, c: float) -> LogisticRegression | None:
    chosen = [i for i in index if rows[i]["targets"][category] is not None]
    y = np.array([rows[i]["targets"][category] for i in chosen])
    if y.sum() == 0:
        return None
    w = np.array([rows[i]["weight"] for i in chosen])
    model = LogisticRegression(C=c, solver="liblinear", max_iter=1000, class_weight="balanced")
    model.fit(X[chosen], y, sample_weight=w)
    return model


def folds(rows: list[dict]) -> list[int]:
    """A fold per row, by event: events sorted by name are dealt round-robin. Our own posts (the dev split
    and the generated scenario) are dealt round-robin post by post, so that each is scored out of fold by
    models that saw the rest of our own posts, as the final model does; so are the posts of ``SPREAD``."""
    events = sorted({row["event"] for row in rows if row["event"] not in OWN and row["event"] not in SPREAD})
    fold_of = {event: i % FOLDS for i, event in enumerate(events)}
    result, own = [], 0
    for row in rows:
        if row["event"] in OWN or row["event"] in SPREAD:
            result.append(own % FOLDS)
            own += 1
        else:
            result.append(fold_of[row["event"]])
    return result


def out_of_fold(X, rows: list[dict], c: float) -> np.ndarray:
    fold = folds(rows)
    probs = np.zeros((len(rows), len(LEARNED)))
    for k in range(FOLDS):
        train = [i for i, f in enumerate(fold) if f != k]
        test = [i for i, f in enumerate(fold) if f == k]
        for j, category in enumerate(LEARNED):
            model = fit(X, rows, train, category, c)
            probs[test, j] = model.predict_proba(X[test])[:, 1] if model is not None else 0.0
    return probs


def combined(lexicon: tuple[str, ...], p: tuple[float, ...], t: dict) -> tuple[str, ...]:
    return classifier_module.combine(set(lexicon) - {"other"}, p, t)


def micro(rows: list[dict], predictions: list[tuple[str, ...]]) -> float:
    """Micro-F1 over the mapped categories, scored as ``bench/realdata_eval.py`` scores the held-out posts
    (every mapped category on every post; ``other`` counts only when it is the whole output)."""
    tp = fp = fn = 0
    for row, got in zip(rows, predictions, strict=True):
        gold = {row["gold"]}
        predicted = {"other"} if got == ("other",) else set(got) & set(MAPPED)
        tp += len(gold & predicted)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def devset_micro(rows: list[dict], predictions: list[tuple[str, ...]]) -> float:
    tp = fp = fn = 0
    for row, got in zip(rows, predictions, strict=True):
        gold, predicted = set(row["categories"]), set(got)
        tp += len(gold & predicted)
        fp += len(predicted - gold)
        fn += len(gold - predicted)
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=default_out())
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)

    rows = load(args.data)
    lexicon = classifier_module.Classifier(model=None)
    feature_sets = []
    for row in rows:  # the post's words, and the lexicon channels that fired (as the classifier passes them)
        found = features(tokens(row["text"]))
        scores = lexicon.scores(row["text"], "en" if row["event"] in ("devset", "generated") else None)
        for channel, value in scores.items():
            if value >= classifier_module._THRESHOLD:
                found["L:" + channel] = None
        feature_sets.append(found)
    vocab = vocabulary(feature_sets)
    X = matrix(feature_sets, vocab)
    print(f"{len(rows)} training posts, {len(vocab)} features (min df {MIN_DF})", file=sys.stderr)

    lex = [
        lexicon.classify(row["text"], "en" if row["event"] in ("devset", "generated") else None).categories
        for row in rows
    ]
    # The objective: the posts of the sets labelled as the held-out and reserved ones are (CrisisLexT26 and
    # CrisisNLP; HumAID's labels are another scheme), scored as bench/realdata_eval.py scores.
    mapped = [i for i, row in enumerate(rows) if row["gold"] and row.get("source") in OBJECTIVE_SOURCES]
    dev = [i for i, row in enumerate(rows) if row["event"] == "devset"]
    floor = devset_micro([rows[i] for i in dev], [lex[i] for i in dev])
    generated = [i for i, row in enumerate(rows) if row["event"] == "generated"]
    generated_rows = [rows[i] for i in generated]
    generated_floor = {
        category: min(GENERATED_FLOOR, recall)
        for category, recall in generated_recall(generated_rows, [lex[i] for i in generated]).items()
    }
    mapped_rows = [rows[i] for i in mapped]
    print(f"lexicon alone: out-of-fold micro-F1 {micro(mapped_rows, [lex[i] for i in mapped]):.3f}"
          f", dev split (en) {floor:.3f}", file=sys.stderr)  # fmt: skip

    best = None
    grid = [
        {
            "solidarity": s,
            "solidarity_extra": max(s, extra),
            "violence": v,
            "medical": m,
            "veto": veto,
            "other": other,
            "solidarity_ratio": ratio,
        }
        for s in (0.4, 0.5, 0.6, 0.7)
        for extra in (0.5, 0.6, 0.75)
        for v in (0.5, 0.7, 0.9)
        for m in (0.2, 0.3, 0.5, 0.7)
        for veto in (0.5,)  # 0.3 was also tried, and lost (out of fold)
        for other in (0.3, 0.4, 0.5, NEVER)
        for ratio in (0.5, 0.75, 1.0, 2.0, RATIO_OFF)
    ]
    for c in C_GRID:
        probs = out_of_fold(X, rows, c)
        for t in grid:
            dev_f1 = devset_micro([rows[i] for i in dev], [combined(lex[i], tuple(probs[i]), t) for i in dev])
            if dev_f1 < floor - DEV_SLACK:
                continue
            recall = generated_recall(
                generated_rows, [combined(lex[i], tuple(probs[i]), t) for i in generated]
            )
            if any(recall[category] < generated_floor[category] for category in recall):
                continue
            f1 = micro(mapped_rows, [combined(lex[i], tuple(probs[i]), t) for i in mapped])
            if best is None or f1 > best[0] + 1e-9:
                best = (f1, dev_f1, c, t)
        if best is None:
            continue
        print(f"C={c}: best so far {best[0]:.3f} (dev split {best[1]:.3f}, C={best[2]}, {best[3]})",
              file=sys.stderr)  # fmt: skip
    f1, dev_f1, c, thresholds = best

    everything = list(range(len(rows)))
    weights: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(LEARNED))
    bias = [0.0] * len(LEARNED)
    names = sorted(vocab, key=vocab.get)
    for j, category in enumerate(LEARNED):
        model = fit(X, rows, everything, category, c)
        bias[j] = float(model.intercept_[0])
        for feature, w in zip(names, model.coef_[0], strict=True):
            if abs(w) >= PRUNE:
                weights[feature][j] = float(w)
    meta = {
        "trained_by": "scripts/realdata/train.py",
        "data": "pipeline/data/REALDATA.md (train split) + devset.jsonl dev split (en) + generated iran2009 "
        f"seed {GENERATED_SEED}, {GENERATED_HOURS:g} h (en)",
        "sources": {repo: commit for repo, commit in SOURCES.items()},
        "posts": len(rows),
        "C": c,
        "min_df": MIN_DF,
        "prune": PRUNE,
        "cv_micro_f1": round(f1, 4),
        "cv_sources": list(OBJECTIVE_SOURCES),
        "cv_devset_en_micro_f1": round(dev_f1, 4),
    }
    artifact = export(LEARNED, bias, weights, thresholds, meta)
    text = json.dumps(artifact, ensure_ascii=False, separators=(",", ":"), sort_keys=False)
    args.out.write_text(text + "\n", encoding="utf-8")
    Model.load(args.out)  # loads, within budget
    print(f"wrote {args.out}: {len(weights)} features, {args.out.stat().st_size:,} bytes; "
          f"C={c}, thresholds {thresholds}, out-of-fold micro-F1 {f1:.3f}", file=sys.stderr)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
