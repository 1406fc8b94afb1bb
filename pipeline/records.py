"""Every record that crosses a topic, in one place: how it is encoded and decoded. Pure.

* ``posts``: a post's JSON (:func:`decode_post`), or an end-of-feed marker (:func:`decode_end_of_feed`);
* ``posts.classified``: the input fields plus the classification (:class:`ClassifiedPost`);
* ``posts.detect``: batches of observations of one source partition (:func:`observations_to_json`,
  :func:`detect_record_from_json`);
* ``alerts``: the alert's JSON (:meth:`pipeline.detect.Alert.to_json`) with the headers saying which
  detect record raised it (:class:`AlertPosition`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson

from feed import FeedError, Post, end_of_feed_ts
from feed.model import Deletion, FeedItem, item_from_record
from pipeline.classify import Classification
from pipeline.classify.signature import may_coordinate, text_signature
from pipeline.detect import Observation, Removal
from pipeline.detect.model import signature_from_json, signature_from_keys

# The text of a post that may be part of a campaign travels to detection (the alert's sample), cut here.
SAMPLE_TEXT_CHARS = 280

# A marker is about 40 bytes: anything much larger is not one, and is not decoded a second time.
MAX_END_OF_FEED_BYTES = 1024


def decode_post(raw: bytes | None, *, max_bytes: int) -> FeedItem:
    """Decode and validate one record value: a post, or a deletion notice (``"kind": "delete"``); raises
    FeedError with a ``code`` for the metric label."""
    if raw is None:
        raise FeedError("record has no value", code="empty")
    if len(raw) > max_bytes:
        raise FeedError(f"record is {len(raw)} bytes, over the {max_bytes}-byte limit", code="oversized")
    try:
        record = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        # orjson refuses invalid UTF-8 as well as bad JSON.
        raise FeedError(f"not valid UTF-8 JSON ({exc})", code="invalid_json") from None
    return item_from_record(record)


def decode_end_of_feed(raw: bytes | None) -> float | None:
    """The feed's last event time when ``raw`` is an end-of-feed marker (:mod:`feed.end_of_feed`), else
    None. Asked only of records that are not posts, so the posts' path pays nothing for it."""
    if not raw or len(raw) > MAX_END_OF_FEED_BYTES:
        return None
    try:
        return end_of_feed_ts(orjson.loads(raw))
    except orjson.JSONDecodeError:
        return None


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
        post = self.post
        signed = post.author is not None and may_coordinate(post.ts, post.author_created)
        sig = signature_from_keys(text_signature(post.text)) if signed else ""
        return Observation(
            ts=post.ts,
            region=post.region,
            terms=label.terms,
            categories=label.categories,
            evasions=label.evasions,
            source=source,
            author=post.author,
            created=post.author_created,
            sig=sig,
            text=post.text[:SAMPLE_TEXT_CHARS] if sig else None,
        )


def removal(deletion: Deletion, source: int = 0) -> Removal:
    """What detection needs of a deletion notice."""
    return Removal(deletion.ts, deletion.id, deletion.author, source)


def observations_to_json(
    source: int,
    rows: list[tuple[int, str, Observation]],
    ends: list[tuple[int, float]] | None = None,
    deletes: list[tuple[int, Removal]] | None = None,
) -> bytes:
    """One record of the detect topic: a batch of (source offset, post id, observation) of one source
    partition, in offset order. Compact arrays, because every post passes through here.

    ``ends`` lists the end-of-feed markers read from the partition in the same batch, as (source offset,
    the feed's last event time); the field ``"ends"`` is written only when there are some, so a record
    without markers is byte for byte what it always was, and a reader that does not know the field
    folds the rows as before.

    A row of a post with an author has four more fields: the author, ``author_created``, the text's band
    keys and (only with band keys) the text. ``deletes`` lists the deletion notices of the batch as
    (source offset, removal): the field ``"deletes"`` is written only when there are some."""
    record: dict[str, Any] = {
        "source": source,
        "rows": [
            [offset, post_id, obs.ts, obs.region, obs.terms, obs.categories, obs.evasions]
            if obs.author is None
            else [
                offset,
                post_id,
                obs.ts,
                obs.region,
                obs.terms,
                obs.categories,
                obs.evasions,
                obs.author,
                obs.created,
                obs.sig,
                obs.text,
            ]
            for offset, post_id, obs in rows
        ],
    }
    if ends:
        record["ends"] = [[offset, ts] for offset, ts in ends]
    if deletes:
        record["deletes"] = [[offset, r.post_id, r.ts, r.author] for offset, r in deletes]
    return orjson.dumps(record)


class DetectRecord(NamedTuple):
    """A decoded record of the detect topic."""

    source: int
    rows: list[tuple[int, str, Observation]]
    ends: list[tuple[int, float]]  # (source offset, the feed's last event time) of end-of-feed markers
    deletes: tuple[tuple[int, Removal], ...] | list[tuple[int, Removal]] = ()  # (source offset, notice)


_new_observation = tuple.__new__  # Observation(...) by keyword costs a Python call a post: the hot path


def _observation(row: list[Any], source: int) -> Observation:
    if len(row) == 7:
        _, _, ts, region, terms, categories, evasions = row
        author = created = text = None
        sig: Any = ""
    else:
        _, _, ts, region, terms, categories, evasions, author, created, sig, text = row
        if type(sig) is not str:  # an earlier version's band keys, a list of ints
            sig = signature_from_json(sig)
    terms, categories, evasions = tuple(terms), tuple(categories), tuple(evasions)
    fields = (ts, region, terms, categories, evasions, source, author, created, sig, text)
    return _new_observation(Observation, fields)  # type: ignore[return-value]


def detect_record_from_json(raw: bytes) -> DetectRecord:
    record = orjson.loads(raw)
    source = record["source"]
    rows = [(row[0], row[1], _observation(row, source)) for row in record["rows"]]
    ends = [(int(offset), float(ts)) for offset, ts in record.get("ends", ())]
    deletes = [
        (int(offset), Removal(float(ts), post_id, author, source))
        for offset, post_id, ts, author in record.get("deletes", ())
    ]
    return DetectRecord(source, rows, ends, deletes)


def observations_from_json(raw: bytes) -> list[tuple[int, str, Observation]]:
    """The rows of a detect record (its end-of-feed markers left out)."""
    return detect_record_from_json(raw).rows


OFFSET_HEADER = "detect.offset"
INDEX_HEADER = "detect.index"


class AlertPosition(NamedTuple):
    """Where an alert comes from: the detect record that raised it and its index among that record's
    alerts. Detection is deterministic, so a restored detector raises the same alerts at the same places."""

    offset: int
    index: int

    def headers(self) -> list[tuple[str, bytes]]:
        return [(OFFSET_HEADER, str(self.offset).encode()), (INDEX_HEADER, str(self.index).encode())]

    @classmethod
    def from_headers(cls, headers: Iterable[tuple[str, bytes]]) -> AlertPosition | None:
        found = dict(headers)
        try:
            return cls(int(found[OFFSET_HEADER]), int(found[INDEX_HEADER]))
        except (KeyError, ValueError):
            return None  # written by an older version: nothing to compare with


def dead_letter_headers(record: Any, error: FeedError) -> list[tuple[str, bytes]]:
    """The headers of a record sent to ``posts.dead-letter`` (its value and key are the original's): why,
    and where it came from. ``error.type`` names the exception when the engine raised on it."""
    headers = [
        ("error.reason", error.code.encode()),
        ("error.message", str(error).encode("utf-8", "replace")),
        ("source.topic", record.topic.encode()),
        ("source.partition", str(record.partition).encode()),
        ("source.offset", str(record.offset).encode()),
    ]
    exception_type = getattr(error, "exception_type", None)
    if exception_type is not None:
        headers.append(("error.type", exception_type.encode()))
    return headers
