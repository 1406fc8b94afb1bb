"""The pure per-post engine: one post in, its classification (and, later, alerts) out.

The Faust agents and ``python -m pipeline analyze`` both call :class:`Engine`, so the streaming
stack and the offline oracle cannot drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from feed import Post
from pipeline.classify import Classification, Classifier


@dataclass(frozen=True, slots=True)
class ClassifiedPost:
    post: Post
    classification: Classification

    def to_record(self) -> dict[str, Any]:
        """The input fields plus the classification: the JSON of ``posts.classified``."""
        record = self.post.to_record()
        label = self.classification
        record["lang"] = label.lang
        record["categories"] = list(label.categories)
        record["priority"] = label.priority
        record["stance"] = label.stance
        record["terms"] = list(label.terms)
        if label.evasions:
            record["evasions"] = list(label.evasions)
        return record

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_record())


class Engine:
    def __init__(self, classifier: Classifier | None = None) -> None:
        self.classifier = classifier or Classifier()

    def classify(self, post: Post) -> ClassifiedPost:
        return ClassifiedPost(post, self.classifier.classify(post.text, post.lang))
