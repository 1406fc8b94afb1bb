"""The pure per-post engine: one post in, its classification and any alerts out.

The Faust agents and ``python -m pipeline analyze`` both call :class:`Engine`, so the streaming
stack and the offline oracle cannot drift apart. In the stack the two halves run in different agents
(classification in parallel per partition, detection once over all of them), joined by
:func:`observations_to_json` / :func:`detect_record_from_json`.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from feed import Post
from pipeline.classify import Classification, Classifier
from pipeline.detect import Alert, Detector, DetectorConfig, Observation

# A post id seen again within this much event time behind the watermark (and among this many latest
# ids) is a repeat.
DEDUPE_HORIZON_SECONDS = 3600.0
DEDUPE_LIMIT = 200_000


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


def observations_to_json(
    source: int, rows: list[tuple[int, str, Observation]], ends: list[tuple[int, float]] | None = None
) -> bytes:
    """One record of the detect topic: a batch of (source offset, post id, observation) of one source
    partition, in offset order. Compact arrays, because every post passes through here.

    ``ends`` lists the end-of-feed markers read from the partition in the same batch, as (source offset,
    the feed's last event time); the field ``"ends"`` is written only when there are some, so a record
    without markers is byte for byte what it always was, and a reader that does not know the field
    folds the rows as before."""
    record: dict[str, Any] = {
        "source": source,
        "rows": [
            [offset, post_id, obs.ts, obs.region, obs.terms, obs.categories, obs.evasions]
            for offset, post_id, obs in rows
        ],
    }
    if ends:
        record["ends"] = [[offset, ts] for offset, ts in ends]
    return orjson.dumps(record)


class DetectRecord(NamedTuple):
    """A decoded record of the detect topic."""

    source: int
    rows: list[tuple[int, str, Observation]]
    ends: list[tuple[int, float]]  # (source offset, the feed's last event time) of end-of-feed markers


def detect_record_from_json(raw: bytes) -> DetectRecord:
    record = orjson.loads(raw)
    source = record["source"]
    rows = [
        (offset, post_id, Observation(ts, region, tuple(terms), tuple(categories), tuple(evasions), source))
        for offset, post_id, ts, region, terms, categories, evasions in record["rows"]
    ]
    ends = [(int(offset), float(ts)) for offset, ts in record.get("ends", ())]
    return DetectRecord(source, rows, ends)


def observations_from_json(raw: bytes) -> list[tuple[int, str, Observation]]:
    """The rows of a detect record (its end-of-feed markers left out)."""
    return detect_record_from_json(raw).rows


class RecentIds:
    """Post ids seen lately (at most ``limit`` of them), forgotten ``horizon`` seconds of event time
    behind the detector's watermark.

    The same post replayed twice carries the same id at another offset; it is recognized here and not
    counted again. The clock is the watermark (the slowest source), not the newest post: a source that
    runs an hour ahead of another, as after an outage, must not make the other's ids be forgotten before
    their repeats arrive. Ids leave in arrival order.
    """

    def __init__(self, horizon: float, limit: int, ids: Iterable[tuple[str, float]] = ()) -> None:
        self.horizon = horizon
        self.limit = limit
        self._order: deque[tuple[str, float]] = deque()  # arrival order
        self._ids: set[str] = set()
        for post_id, ts in ids:
            self.add(post_id, ts)

    def add(self, post_id: str, ts: float) -> bool:
        """False when ``post_id`` is remembered already; else remembers it."""
        ids = self._ids
        if post_id in ids:
            return False
        ids.add(post_id)
        order = self._order
        order.append((post_id, ts))
        if len(order) > self.limit:
            ids.discard(order.popleft()[0])
        return True

    def forget(self, watermark: float) -> None:
        """Forgets the ids, from the oldest arrival on, of posts older than ``watermark - horizon``."""
        cutoff = watermark - self.horizon
        order, ids = self._order, self._ids
        while order and order[0][1] < cutoff:
            ids.discard(order.popleft()[0])

    def __len__(self) -> int:
        return len(self._ids)

    def dump(self) -> list[tuple[str, float]]:
        return list(self._order)


class DedupedDetector:
    """The detector fed exactly once from at-least-once inputs, with a snapshot that says where it stands.

    Two kinds of repeat are dropped before they reach a window: records read again after a restart or
    a rebalance (each source partition is read in order, so a source offset not above the last one seen
    from that partition is a repeat), and the same post id again within the dedupe horizon (a feed
    replayed twice). ``input_offset`` is the last detect-topic offset folded into the state: after a
    restore, records up to it are skipped. ``python -m pipeline analyze`` runs through this class too.
    """

    def __init__(
        self,
        detector: Detector,
        *,
        seen: dict[int, int] | None = None,
        input_offset: int = -1,
        recent: RecentIds | None = None,
    ) -> None:
        self.detector = detector
        self.seen = seen or {}
        self.input_offset = input_offset
        self.recent = recent or RecentIds(DEDUPE_HORIZON_SECONDS, DEDUPE_LIMIT)
        self.redelivered = 0
        self.repeated_ids = 0
        self._forgotten_at: float | None = None  # the watermark RecentIds last forgot up to

    def push(
        self, observation: Observation, source_offset: int, input_offset: int, post_id: str | None = None
    ) -> list[Alert]:
        self.input_offset = input_offset
        if source_offset <= self.seen.get(observation.source, -1):
            self.redelivered += 1
            return []
        self.seen[observation.source] = source_offset
        if post_id is not None and not self.recent.add(post_id, observation.ts):
            self.repeated_ids += 1
            return []
        alerts = self.detector.push(observation)
        self._forget_behind_watermark()
        return alerts

    def _forget_behind_watermark(self) -> None:
        watermark = self.detector.watermark
        if watermark is not None and watermark != self._forgotten_at:
            self._forgotten_at = watermark
            self.recent.forget(watermark)

    def end(self, source: int, source_offset: int, last_ts: float, input_offset: int) -> list[Alert]:
        """An end-of-feed marker read at ``source_offset`` of partition ``source``: the partition ends
        (:meth:`Detector.end_source`), and the alerts of the windows that closes come back in order.

        A marker read again (its offset not above the last one seen from its partition) is a redelivery
        and is dropped like a post: ending is idempotent, and a marker read again after a restart cannot
        end a partition that a later post had re-opened."""
        self.input_offset = input_offset
        if source_offset <= self.seen.get(source, -1):
            self.redelivered += 1
            return []
        self.seen[source] = source_offset
        alerts = self.detector.end_source(source, last_ts)
        self._forget_behind_watermark()
        return alerts

    def fold(self, record: bytes, input_offset: int) -> list[Alert]:
        """One record of the detect topic at ``input_offset``: its rows pushed and its end-of-feed markers
        applied in source-offset order, the alerts they raise in order. A record that is not a detect
        record raises ValueError and changes nothing."""
        try:
            source, rows, ends = detect_record_from_json(record)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a detect record ({exc!r})") from None
        alerts: list[Alert] = []
        if not ends:
            for source_offset, post_id, observation in rows:
                alerts += self.push(observation, source_offset, input_offset, post_id)
        else:
            # A marker ends what came before it on its partition; a post after it re-opens the partition.
            waiting = deque(ends)
            for source_offset, post_id, observation in rows:
                while waiting and waiting[0][0] < source_offset:
                    alerts += self.end(source, *waiting.popleft(), input_offset)
                alerts += self.push(observation, source_offset, input_offset, post_id)
            for end_offset, last_ts in waiting:
                alerts += self.end(source, end_offset, last_ts, input_offset)
        self.input_offset = input_offset  # also when every row was a repeat, or there were none
        return alerts

    def snapshot(self) -> dict[str, Any]:
        return {
            "detector": self.detector.snapshot(),
            "seen": {str(source): offset for source, offset in self.seen.items()},
            "input_offset": self.input_offset,
            "recent_ids": self.recent.dump(),
        }

    @classmethod
    def restore(cls, state: dict[str, Any], config: DetectorConfig | None = None) -> DedupedDetector:
        recent = RecentIds(DEDUPE_HORIZON_SECONDS, DEDUPE_LIMIT, state.get("recent_ids", ()))
        return cls(
            Detector.restore(state["detector"], config),
            seen={int(source): offset for source, offset in state["seen"].items()},
            input_offset=state["input_offset"],
            recent=recent,
        )


class Engine:
    def __init__(self, classifier: Classifier | None = None, detector: Detector | None = None) -> None:
        self.classifier = classifier or Classifier()
        self.detector = detector or Detector()
        self._deduped: DedupedDetector | None = None
        self._position = -1

    def classify(self, post: Post) -> ClassifiedPost:
        return ClassifiedPost(post, self.classifier.classify(post.text, post.lang))

    def fresh_detection(self) -> DedupedDetector:
        """A new deduplicating detector with this engine's config (never one that saw records)."""
        return DedupedDetector(Detector(self.detector.config))

    @property
    def deduped(self) -> DedupedDetector:
        """The detection state ``process`` feeds (around ``self.detector``)."""
        if self._deduped is None:
            self._deduped = DedupedDetector(self.detector)
        return self._deduped

    def process(self, post: Post) -> tuple[ClassifiedPost, list[Alert]]:
        """Both halves at once, as ``analyze`` runs them over a single ordered source."""
        result = self.classify(post)
        self._position += 1
        alerts = self.deduped.push(result.observation(), self._position, self._position, post.id)
        return result, alerts
