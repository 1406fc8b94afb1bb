"""The detector fed exactly once from at-least-once inputs: repeats dropped, a snapshot that says where
it stands. Pure.

The classify stage publishes at least once and a feed may be replayed twice; :class:`DedupedDetector`
drops both kinds of repeat before a post reaches a window, and :class:`RecentIds` remembers the post ids
it has seen lately. ``python -m pipeline analyze`` and the detect stage both run through it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any, NamedTuple

from pipeline.detect.detector import Detector
from pipeline.detect.model import Alert, DetectorConfig, Observation, Removal
from pipeline.records import detect_record_from_json

# A post id seen again within this much event time behind the watermark (and among this many latest
# ids) is a repeat.
DEDUPE_HORIZON_SECONDS = 3600.0
DEDUPE_LIMIT = 200_000
# A deletion notice carries its post's id: it is remembered apart from the post (no id has a NUL).
DELETION_ID_PREFIX = "\x00delete:"


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


class DetectionCounts(NamedTuple):
    """What a detection state has counted, exported as counters (the metrics take the increments)."""

    late_posts: int
    redelivered: int
    repeated_ids: int
    late_deletions: int
    unknown_deletions: int


class SingleDetection:
    """Makes the one detector of an unsharded stack, fresh or from its snapshot."""

    def __init__(self, config: DetectorConfig) -> None:
        self.config = config

    def fresh(self) -> DedupedDetector:
        return DedupedDetector(Detector(self.config))  # never a detector that saw records

    def restore(self, snapshot: dict[str, Any]) -> DedupedDetector:
        return DedupedDetector.restore(snapshot, self.config)


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
        alerts = self.detector.push(observation, post_id)
        self._forget_behind_watermark()
        return alerts

    def remove(self, removal: Removal, source_offset: int, input_offset: int) -> list[Alert]:
        """A deletion notice read at ``source_offset`` of partition ``removal.source``, dropped like a post
        when it is a redelivery or the same notice again (within the dedupe horizon)."""
        self.input_offset = input_offset
        if source_offset <= self.seen.get(removal.source, -1):
            self.redelivered += 1
            return []
        self.seen[removal.source] = source_offset
        if not self.recent.add(DELETION_ID_PREFIX + removal.post_id, removal.ts):
            self.repeated_ids += 1
            return []
        alerts = self.detector.delete(removal)
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
            source, rows, ends, deletes = detect_record_from_json(record)
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"not a detect record ({exc!r})") from None
        alerts: list[Alert] = []
        if deletes:
            # Posts, notices and markers, in source-offset order (each list is in order already).
            items: list[tuple[int, int, Any]] = [(offset, 0, row) for offset, *row in rows]
            items += [(offset, 1, removal) for offset, removal in deletes]
            items += [(offset, 2, last_ts) for offset, last_ts in ends]
            items.sort(key=lambda item: (item[0], item[1]))
            for source_offset, kind, item in items:
                if kind == 0:
                    post_id, observation = item
                    alerts += self.push(observation, source_offset, input_offset, post_id)
                elif kind == 1:
                    alerts += self.remove(item, source_offset, input_offset)
                else:
                    alerts += self.end(source, source_offset, item, input_offset)
        elif not ends:
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

    def idle(self) -> list[Alert]:
        """Nothing is raised for want of records: alerts follow the posts."""
        return []

    def snapshot(self) -> dict[str, Any]:
        return {
            "detector": self.detector.snapshot(),
            "seen": {str(source): offset for source, offset in self.seen.items()},
            "input_offset": self.input_offset,
            "recent_ids": self.recent.dump(),
        }

    def counts(self) -> DetectionCounts:
        detector = self.detector
        return DetectionCounts(
            detector.late_posts,
            self.redelivered,
            self.repeated_ids,
            detector.late_deletions,
            detector.unknown_deletions,
        )

    @classmethod
    def restore(
        cls, state: dict[str, Any], config: DetectorConfig | None = None, kind: type[Detector] = Detector
    ) -> DedupedDetector:
        """``kind``: the detector's class (a shard's, :mod:`pipeline.detect.sharded`)."""
        recent = RecentIds(DEDUPE_HORIZON_SECONDS, DEDUPE_LIMIT, state.get("recent_ids", ()))
        return cls(
            kind.restore(state["detector"], config),
            seen={int(source): offset for source, offset in state["seen"].items()},
            input_offset=state["input_offset"],
            recent=recent,
        )
