"""``python -m pipeline purge``: destroy what the stack holds about the feed, for an operator who must.

What goes: the stack's topics (posts, posts.classified, posts.detect, posts.detect.parts, alerts, the dead
letters, and every topic of the app id: detection's snapshots, Faust's own), its consumer groups (the app
id and its ``-classify`` / ``-detect`` / ``-merge`` groups), the worker's state directory, and with
``--key`` the pseudonym key (after which nobody can tell which pseudonym was whose, nor link new posts
to old ones).

Without ``--yes`` it only lists what it would delete. :func:`plan_purge` decides (pure); :func:`purge`
carries it out with kafka-python's admin client.
"""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.settings import Settings


@dataclass(frozen=True)
class PurgePlan:
    topics: tuple[str, ...]
    groups: tuple[str, ...]
    paths: tuple[Path, ...]

    def lines(self) -> list[str]:
        return (
            [f"topic {name}" for name in self.topics]
            + [f"consumer group {name}" for name in self.groups]
            + [f"directory {path}" if path.is_dir() else f"file {path}" for path in self.paths]
        )


def plan_purge(
    settings: Settings, topics: set[str], groups: set[str], *, key_file: Path | None = None
) -> PurgePlan:
    """What exists of this stack (``settings``' topics and app id) among ``topics`` and ``groups``."""
    named = {
        settings.posts_topic,
        settings.classified_topic,
        settings.detect_topic,
        settings.parts_topic,
        settings.alerts_topic,
        settings.dead_letter_topic,
    }
    prefix = settings.app_id + "-"
    chosen_topics = sorted(t for t in topics if t in named or t.startswith(prefix))
    chosen_groups = sorted(g for g in groups if g == settings.app_id or g.startswith(prefix))
    paths = [path for path in (settings.data_dir, key_file) if path is not None and path.exists()]
    return PurgePlan(tuple(chosen_topics), tuple(chosen_groups), tuple(paths))


def purge(settings: Settings, *, yes: bool, key: bool, admin_options: dict[str, Any] | None = None) -> int:
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    from feed.pseudonyms import DEFAULT_KEY_FILE

    key_file = Path(os.environ.get("AUTHOR_KEY_FILE") or DEFAULT_KEY_FILE) if key else None
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.bootstrap, **(admin_options or {}))
    except KafkaError as exc:
        print(f"pipeline: purge: cannot reach Kafka at {settings.bootstrap}: {exc}", file=sys.stderr)
        return 1
    try:
        groups = {group["group_id"] for group in admin.list_groups()}
        plan = plan_purge(settings, set(admin.list_topics()), groups, key_file=key_file)
        for line in plan.lines():
            print(("deleting " if yes else "would delete ") + line)
        if not yes:
            print("nothing deleted: add --yes to delete all of the above", file=sys.stderr)
            return 0
        if plan.groups:
            failed = {g: e for g, e in admin.delete_groups(list(plan.groups)).items() if e != "OK"}
            if failed:  # e.g. a worker still running: its group is not empty
                print(
                    f"pipeline: purge: groups not deleted (stop the workers first): {failed}", file=sys.stderr
                )
                return 1
        if plan.topics:
            admin.delete_topics(list(plan.topics))
    except KafkaError as exc:
        print(f"pipeline: purge: {exc}", file=sys.stderr)
        return 1
    finally:
        admin.close()
    for path in plan.paths:
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()
    print(f"purged {len(plan.topics)} topics, {len(plan.groups)} groups, {len(plan.paths)} local paths")
    return 0
