"""Build the real-data training and evaluation sets from public crisis collections (issue 16).

    python scripts/realdata/build.py [--mirrors DIR] [--out DIR]

Reads the labelled posts from two public git repositories at pinned commits (``SOURCES``), maps their labels
to our taxonomy as ``pipeline/data/REALDATA.md`` says, and writes ``train.jsonl`` and ``eval.jsonl`` under
``--out`` (default ``$XDG_CACHE_HOME/iran2009/realdata``, i.e. ``~/.cache/iran2009/realdata``). Nothing it
writes goes into this repository: the posts are third-party text.

Each repository is read with ``git show <commit>:<path>`` from ``<mirrors>/<owner>+<name>/repo`` (a bare
snapshot) or ``<mirrors>/<owner>/<name>`` (a clone); ``--mirrors`` defaults to ``$REALDATA_MIRRORS`` or
``/work/.mirror``. To get them anywhere else::

    git clone https://github.com/sajao/CrisisLex MIRRORS/sajao/CrisisLex
    git clone https://github.com/SusuXu-s-Lab/Hierarchical-Earthquake-Casualty-Information-Retrieval \\
        MIRRORS/SusuXu-s-Lab/Hierarchical-Earthquake-Casualty-Information-Retrieval
    git clone https://github.com/anhtranst/humaid MIRRORS/anhtranst/humaid

The reserved sets of the independent check (``RESERVED``) are refused before anything is read.

Each output line: ``{"id", "source", "event", "label", "text", "gold", "targets", "split"}`` where ``gold``
is the mapped category (``None`` for an unmapped post) and ``targets`` holds, per learned category
(violence, solidarity, medical), 1, 0 or ``None`` (not a training example for that category).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

CRISISLEX = "sajao/CrisisLex"
CRISISLEX_COMMIT = "d67cddd51131dbb28842209014f67cffe359ff42"
CRISISNLP = "SusuXu-s-Lab/Hierarchical-Earthquake-Casualty-Information-Retrieval"
CRISISNLP_COMMIT = "a98b860a3eafbafd4d16dc76b828a3ef6c85b6ee"
HUMAID = "anhtranst/humaid"
HUMAID_COMMIT = "7333c26f4d3a78a36ebccfabfdeeaff80a2f0823"
SOURCES = {CRISISLEX: CRISISLEX_COMMIT, CRISISNLP: CRISISNLP_COMMIT, HUMAID: HUMAID_COMMIT}

# Reserved for the independent check: never read, trained on, tuned on or evaluated on.
RESERVED = frozenset(
    {
        "2013_Boston_bombings",
        "2013_Boston_Bombings",
        "2013_LA_airport_shootings",
        "2014_ebola_cf",
        "2014_ebola",
        "PHEME",
    }
)

T26_EVENTS = (
    "2012_Colorado_wildfires",
    "2012_Costa_Rica_earthquake",
    "2012_Guatemala_earthquake",
    "2012_Italy_earthquakes",
    "2012_Philipinnes_floods",
    "2012_Typhoon_Pablo",
    "2012_Venezuela_refinery",
    "2013_Alberta_floods",
    "2013_Australia_bushfire",
    "2013_Bohol_earthquake",
    "2013_Brazil_nightclub_fire",
    "2013_Colorado_floods",
    "2013_Glasgow_helicopter_crash",
    "2013_Lac_Megantic_train_crash",
    "2013_Manila_floods",
    "2013_NY_train_crash",
    "2013_Queensland_floods",
    "2013_Russia_meteor",
    "2013_Sardinia_floods",
    "2013_Savar_building_collapse",
    "2013_Singapore_haze",
    "2013_Spain_train_crash",
    "2013_Typhoon_Yolanda",
    "2013_West_Texas_explosion",
)
BLAST_EVENTS = frozenset(
    {"2012_Venezuela_refinery", "2013_Lac_Megantic_train_crash", "2013_West_Texas_explosion"}
)
ACCIDENT_EVENTS = frozenset(
    {
        "2013_Spain_train_crash",
        "2013_NY_train_crash",
        "2013_Glasgow_helicopter_crash",
        "2013_Brazil_nightclub_fire",
        "2013_Savar_building_collapse",
        "2013_Russia_meteor",
    }
)
NLP_SETS = {  # folder -> file name
    "2013_Pakistan_eq": "2013_Pakistan_eq_CF_labeled_data.tsv",
    "2014_California_Earthquake": "2014_California_Earthquake_CF_labeled_data.tsv",
    "2014_Chile_Earthquake_cl": "2014_Chile_Earthquake_cl_labeled_data.tsv",  # Spanish
    "2014_Chile_Earthquake_en": "2014_Chile_Earthquake_en_CF_labeled_data.tsv",
    "2014_Hurricane_Odile_Mexico_en": "2014_Hurricane_Odile_Mexico_en_CF_labeled_data.tsv",
    "2014_India_floods": "2014_India_floods_CF_labeled_data.tsv",
    "2014_Middle_East_Respiratory_Syndrome_en": "2014_MERS_en_CF_labeled_data.tsv",
    "2014_Pakistan_floods": "2014_Pakistan_floods_CF_labeled_data.tsv",
    "2014_Philippines_Typhoon_Hagupit_en": "2014_Philippines_Typhoon_Hagupit_en_CF_labeled_data.tsv",
    "2015_Cyclone_Pam_en": "2015_Cyclone_Pam_en_CF_labeled_data.tsv",
    "2015_Nepal_Earthquake_en": "2015_Nepal_Earthquake_en_CF_labeled_data.tsv",
}
MERS = "2014_Middle_East_Respiratory_Syndrome_en"
# HumAID (Alam et al., ICWSM 2021), a copy of the release: training only (added after the first held-out run).
HUMAID_EVENTS = (
    "california_wildfires_2018",
    "canada_wildfires_2016",
    "cyclone_idai_2019",
    "hurricane_dorian_2019",
    "hurricane_florence_2018",
    "hurricane_harvey_2017",
    "hurricane_irma_2017",
    "hurricane_maria_2017",
    "kaikoura_earthquake_2016",
    "kerala_floods_2018",
)
# Held out by event (REALDATA.md); MERS is split in two by a hash of the tweet id.
EVAL_EVENTS = frozenset(
    {
        "2013_West_Texas_explosion",
        "2013_Brazil_nightclub_fire",
        "2013_Typhoon_Yolanda",
        "2013_Alberta_floods",
        "2012_Italy_earthquakes",
        "2015_Nepal_Earthquake_en",
        "2014_Hurricane_Odile_Mexico_en",
    }
)
LEARNED = ("violence", "solidarity", "medical")


def default_out() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "iran2009" / "realdata"


def _repo_dir(mirrors: Path, repo: str) -> Path:
    owner, name = repo.split("/")
    for candidate in (mirrors / f"{owner}+{name}" / "repo", mirrors / owner / name):
        if candidate.exists():
            return candidate
    raise SystemExit(f"{repo} not found under {mirrors}; clone it there (see this script's docstring)")


def _check_allowed(name: str) -> None:
    if any(reserved.lower() in name.lower() for reserved in RESERVED):
        raise SystemExit(f"refusing a reserved set: {name}")


def _show(mirrors: Path, repo: str, path: str) -> str:
    _check_allowed(path)
    data = subprocess.run(
        ["git", "-C", str(_repo_dir(mirrors, repo)), "show", f"{SOURCES[repo]}:{path}"],
        check=True,
        capture_output=True,
    ).stdout
    return data.decode("utf-8", errors="replace")


def _mers_half(tweet_id: str) -> str:
    return "eval" if int(hashlib.sha1(tweet_id.encode()).hexdigest(), 16) % 2 else "train"


def _row(source: str, event: str, tweet_id: str, label: str, text: str, gold: str | None, **targets) -> dict:
    base = dict.fromkeys(LEARNED, 0)
    if gold in LEARNED:
        base[gold] = 1
    base.update(targets)
    split = _mers_half(tweet_id) if event == MERS else "eval" if event in EVAL_EVENTS else "train"
    return {
        "id": f"{source}:{event}:{tweet_id}",
        "source": source,
        "event": event,
        "label": label,
        "text": text,
        "gold": gold,
        "targets": base,
        "split": split,
    }


def crisislex_t26(mirrors: Path) -> list[dict]:
    rows = []
    for event in T26_EVENTS:
        _check_allowed(event)
        path = f"data/CrisisLexT26/{event}/{event}-tweets_labeled.csv"
        reader = csv.reader(io.StringIO(_show(mirrors, CRISISLEX, path)))
        next(reader)  # Tweet ID, Tweet Text, Information Source, Information Type, Informativeness
        for record in reader:
            if len(record) < 5:
                continue
            tweet_id, text, info_type, informativeness = (
                record[0].strip("'\" "),
                record[1],
                record[3],
                record[4],
            )
            label = f"{info_type} / {informativeness}"
            targets: dict = {}
            if informativeness == "Not related":
                gold = "other"
            elif informativeness == "Not applicable":
                continue  # dropped
            elif info_type == "Sympathy and support":
                gold = "solidarity"
            elif info_type == "Affected individuals" and event in BLAST_EVENTS:
                gold = "violence"
            elif info_type == "Affected individuals" and event in ACCIDENT_EVENTS:
                gold, targets = None, {"violence": None}
            else:
                gold = None
            rows.append(_row("CrisisLexT26", event, tweet_id, label, text, gold, **targets))
    return rows


def crisisnlp(mirrors: Path) -> list[dict]:
    rows = []
    for folder, name in NLP_SETS.items():
        _check_allowed(folder)
        path = f"data/CrisisNLP_labeled_data_crowdflower/{folder}/{name}"
        lines = _show(mirrors, CRISISNLP, path).splitlines()
        for line in lines[1:]:  # tweet_id, tweet_text, label
            parts = line.split("\t")
            if len(parts) < 3:
                continue
            tweet_id, text, label = parts[0].strip("'\" "), "\t".join(parts[1:-1]), parts[-1].strip()
            if label == "not_related_or_irrelevant":
                gold = "other"
            elif label == "sympathy_and_emotional_support":
                gold = "solidarity"
            elif folder == MERS and label == "treatment":
                gold = "medical"
            else:
                gold = None
            rows.append(_row("CrisisNLP", folder, tweet_id, label, text, gold))
    return rows


def humaid(mirrors: Path) -> list[dict]:
    rows = []
    for event in HUMAID_EVENTS:
        _check_allowed(event)
        for part in ("train", "dev", "test"):
            path = f"Dataset/HumAID/{event}/{event}_{part}.tsv"
            for line in _show(mirrors, HUMAID, path).splitlines()[1:]:  # tweet_id, tweet_text, class_label
                parts = line.split("\t")
                if len(parts) < 3:
                    continue
                tweet_id, text, label = parts[0].strip("'\" "), "\t".join(parts[1:-1]), parts[-1].strip()
                gold = {"sympathy_and_support": "solidarity", "not_humanitarian": "other"}.get(label)
                rows.append(_row("HumAID", event, tweet_id, label, text, gold))
    return rows


def build(mirrors: Path) -> list[dict]:
    rows = crisislex_t26(mirrors) + crisisnlp(mirrors) + humaid(mirrors)
    seen: set[str] = set()
    unique = []
    for row in rows:  # a post listed twice (same event and id) counts once
        if row["id"] not in seen:
            seen.add(row["id"])
            unique.append(row)
    return unique


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--mirrors", type=Path, default=Path(os.environ.get("REALDATA_MIRRORS", "/work/.mirror"))
    )
    parser.add_argument("--out", type=Path, default=default_out())
    args = parser.parse_args(argv)
    rows = build(args.mirrors)
    args.out.mkdir(parents=True, exist_ok=True)
    for split in ("train", "eval"):
        path = args.out / f"{split}.jsonl"
        with path.open("w", encoding="utf-8") as handle:
            for row in rows:
                if row["split"] == split:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        counts = Counter(row["gold"] for row in rows if row["split"] == split)
        events = len({row["event"] for row in rows if row["split"] == split})
        print(
            f"{path}: {sum(counts.values())} posts from {events} events; gold {dict(counts)}", file=sys.stderr
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
