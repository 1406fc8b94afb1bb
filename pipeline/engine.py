"""The pure per-post engine: one post in, its classification and any alerts out.

The stages and ``python -m pipeline analyze`` both call :class:`Engine`, so the streaming stack and the
offline oracle cannot drift apart. In the stack the two halves run in different stages (classification
in parallel per partition, detection once over all of them), joined by the detect topic's records
(:mod:`pipeline.records`).
"""

from __future__ import annotations

from feed import FeedError, Post
from feed.model import Deletion, FeedItem
from pipeline.classify import Classifier
from pipeline.detect import Alert, Detector
from pipeline.detect.dedupe import DedupedDetector
from pipeline.records import ClassifiedPost, removal


class EngineError(FeedError):
    """The engine raised on one record. That record is dead-lettered (the stream) or reported as
    ``file:line`` (``analyze``) with the reason ``engine_error``; the rest of the batch goes on."""

    def __init__(self, exception: BaseException, place: str | None = None) -> None:
        self.exception_type = type(exception).__name__
        super().__init__(f"the engine raised {self.exception_type}: {exception}", place, code="engine_error")
        self.exception = exception

    def at(self, place: str) -> EngineError:
        return EngineError(self.exception, place)


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

    def process_item(self, item: FeedItem) -> tuple[ClassifiedPost | None, list[Alert]]:
        """A post (classified, then detected) or a deletion notice (detected only, no classification)."""
        if isinstance(item, Deletion):
            self._position += 1
            return None, self.deduped.remove(removal(item), self._position, self._position)
        return self.process(item)
