"""The pure per-post engine: one post in, its classification and any alerts out.

The Faust agents and ``python -m pipeline analyze`` both call :class:`Engine`, so the streaming
stack and the offline oracle cannot drift apart. In the stack the two halves run in different agents
(classification in parallel per partition, detection once over all of them), joined by
:func:`observation_to_json` / :func:`observation_from_json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from feed import Post
from pipeline.classify import Classification, Classifier
from pipeline.detect import Alert, Detector, DetectorConfig, Observation


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

    def observation(self, source: int = 0) -> Observation:
        """What detection needs of this post; ``source`` is the input partition it came from."""
        label = self.classification
        return Observation(
            ts=self.post.ts,
            region=self.post.region,
            terms=label.terms,
            categories=label.categories,
            evasions=label.evasions,
            source=source,
        )


def observation_to_json(observation: Observation, source_offset: int) -> bytes:
    """One record of the detect topic: the observation and the offset of its post in the source partition."""
    return orjson.dumps(
        {
            "offset": source_offset,
            "ts": observation.ts,
            "region": observation.region,
            "terms": observation.terms,
            "categories": observation.categories,
            "evasions": observation.evasions,
            "source": observation.source,
        }
    )


def observation_from_json(raw: bytes) -> tuple[Observation, int]:
    record = orjson.loads(raw)
    observation = Observation(
        ts=record["ts"],
        region=record["region"],
        terms=tuple(record["terms"]),
        categories=tuple(record["categories"]),
        evasions=tuple(record["evasions"]),
        source=record["source"],
    )
    return observation, record["offset"]


class DedupedDetector:
    """The detector fed exactly once from at-least-once inputs, with a snapshot that says where it stands.

    A rebalance or a restart makes the classify agents process some posts again; each source partition
    is read in order, so an observation whose source offset is not above the last one seen from that
    partition is a repeat, and is dropped. ``input_offset`` is the last detect-topic offset folded into
    the state: after a restore, records up to it are skipped.
    """

    def __init__(
        self, detector: Detector, *, seen: dict[int, int] | None = None, input_offset: int = -1
    ) -> None:
        self.detector = detector
        self.seen = seen or {}
        self.input_offset = input_offset
        self.duplicates = 0

    def push(self, observation: Observation, source_offset: int, input_offset: int) -> list[Alert]:
        self.input_offset = input_offset
        if source_offset <= self.seen.get(observation.source, -1):
            self.duplicates += 1
            return []
        self.seen[observation.source] = source_offset
        return self.detector.push(observation)

    def snapshot(self) -> dict[str, Any]:
        return {
            "detector": self.detector.snapshot(),
            "seen": {str(source): offset for source, offset in self.seen.items()},
            "input_offset": self.input_offset,
        }

    @classmethod
    def restore(cls, state: dict[str, Any], config: DetectorConfig | None = None) -> DedupedDetector:
        return cls(
            Detector.restore(state["detector"], config),
            seen={int(source): offset for source, offset in state["seen"].items()},
            input_offset=state["input_offset"],
        )


class Engine:
    def __init__(self, classifier: Classifier | None = None, detector: Detector | None = None) -> None:
        self.classifier = classifier or Classifier()
        self.detector = detector or Detector()

    def classify(self, post: Post) -> ClassifiedPost:
        return ClassifiedPost(post, self.classifier.classify(post.text, post.lang))

    def detect(self, observation: Observation) -> list[Alert]:
        return self.detector.push(observation)

    def process(self, post: Post) -> tuple[ClassifiedPost, list[Alert]]:
        """Both halves at once, as ``analyze`` runs them over a single ordered source."""
        result = self.classify(post)
        return result, self.detect(result.observation())
