"""What detection remembers of accounts and posts, bounded in event time (issue 18). Pure.

* :class:`AuthorBook`: per author, the first region the stream saw for them (their *home*), when they
  were first and last seen, and where they were last seen relocated to. A post from another region is a
  relocation; the post counts at home, so a relocation wave neither hides filtering in its destination
  nor raises a surge there.
* :class:`PostIndex`: per recent post, the region and terms it was counted with, so that its deletion
  counts against them.

Expiry is decided by the event time of the post that asks, never by when entries happen to be dropped:
an author not seen for ``retention`` seconds of event time is a stranger again, whichever order the
sources interleave in. Entries are dropped later, oldest last-seen first, to bound memory.

The stream's posts are keyed by author (the replayer does so), so one author's posts reach detection in
their order from one source partition, and what this book says of an author is the same in the stack as
in ``python -m pipeline analyze``.
"""

from __future__ import annotations

from collections import deque
from typing import Any, NamedTuple

from pipeline.detect.columns import from_term_sets, index_term_sets


class Author(NamedTuple):
    """The layout of the book's entries, which are kept as plain tuples in this order: the garbage
    collector stops tracking a plain tuple of strings and numbers, never a NamedTuple (and a worker's
    books hold every author seen within the retention)."""

    home: str | None  # the first region seen for the author (None until they post with one)
    first_seen: float
    last_seen: float
    moved_to: str | None  # the region of their last relocation (counted once until they move again)


HOME, LAST_SEEN = Author._fields.index("home"), Author._fields.index("last_seen")


class Sighting(NamedTuple):
    """What the book says of a post's author: where the post counts, and whether it is news."""

    region: str | None  # where the post counts: the author's home (or the post's own region)
    relocated_to: str | None  # set once per move: the author now posts from this region, not from home
    moved_from: str | None
    first_seen: float  # when the stream first saw the author (this post's ts for a stranger)


class AuthorBook:
    def __init__(self, retention: float) -> None:
        self.retention = retention
        # Rows of Author, ordered by last sighting (re-inserted on each).
        self._authors: dict[str, tuple[str | None, float, float, str | None]] = {}

    def __len__(self) -> int:
        return len(self._authors)

    def sight(self, author: str, region: str | None, ts: float) -> Sighting:
        """The author posts from ``region`` at ``ts``."""
        authors = self._authors
        known = authors.pop(author, None)
        if known is None or ts - known[LAST_SEEN] > self.retention:
            authors[author] = (region, ts, ts, None)
            return Sighting(region, None, None, ts)
        home, first_seen, last_seen, moved_to = known
        last_seen = max(ts, last_seen)
        if home is None:
            authors[author] = (region, first_seen, last_seen, None)
            return Sighting(region, None, None, first_seen)
        if region is None or region == home:
            authors[author] = (home, first_seen, last_seen, None)
            return Sighting(region, None, None, first_seen)
        authors[author] = (home, first_seen, last_seen, region)
        if moved_to == region:
            return Sighting(home, None, None, first_seen)
        return Sighting(home, region, home, first_seen)

    def home(self, author: str, ts: float) -> str | None:
        """The author's home region as of ``ts`` (None for a stranger or an author without one)."""
        known = self._authors.get(author)
        if known is None or ts - known[LAST_SEEN] > self.retention:
            return None
        return known[HOME]

    def expire(self, now: float) -> None:
        """Drops authors not seen for ``retention`` before ``now`` (from the least recently seen on)."""
        cutoff = now - self.retention
        authors = self._authors
        while authors:
            oldest = next(iter(authors))
            if authors[oldest][LAST_SEEN] >= cutoff:
                break
            del authors[oldest]

    def dump(self) -> list[list[Any]]:
        return [[name, *entry] for name, entry in self._authors.items()]

    @classmethod
    def load(cls, retention: float, rows: list[list[Any]]) -> AuthorBook:
        book = cls(retention)
        book._authors = {row[0]: tuple(row[1:]) for row in rows}
        return book


class Indexed(NamedTuple):
    """A post of the index. Kept as a plain tuple in this order (made Indexed only when a deletion takes
    it), so the garbage collector stops tracking it: see :class:`Author`."""

    ts: float
    region: str | None
    terms: tuple[str, ...]


class PostIndex:
    """Recent posts by id: at most ``limit``, none older than ``retention`` (event time)."""

    def __init__(self, retention: float, limit: int) -> None:
        self.retention = retention
        self.limit = limit
        # By id, in arrival order. A plain dict, iterated in C at every snapshot (an OrderedDict took
        # 0.25 us a post to iterate: a third of a shard's snapshot); ``_order`` finds the oldest.
        self._posts: dict[str, tuple[float, str | None, tuple[str, ...]]] = {}
        # The ids in arrival order, oldest first, to drop the oldest without scanning the dict's dead
        # slots at its front (62 us a post at 100,000 entries). A taken post's id stays in it until it
        # reaches the front: ``_taken`` counts those, per id, so they are skipped there.
        self._order: deque[str] = deque()
        self._taken: dict[str, int] = {}
        self.evicted = 0  # dropped for the limit before their time (their deletions find nothing)

    def __len__(self) -> int:
        return len(self._posts)

    def add(self, post_id: str, ts: float, region: str | None, terms: tuple[str, ...]) -> None:
        posts = self._posts
        if post_id not in posts:
            self._order.append(post_id)
        posts[post_id] = (ts, region, terms)  # a repeated id keeps its place
        if len(posts) > self.limit:
            del posts[self._oldest()]
            self._order.popleft()
            self.evicted += 1

    def take(self, post_id: str, ts: float) -> Indexed | None:
        """The post a deletion at ``ts`` removes (forgotten from now on), or None if unknown or expired."""
        found = self._posts.pop(post_id, None)
        if found is None:
            return None
        self._taken[post_id] = self._taken.get(post_id, 0) + 1
        if ts - found[0] > self.retention:
            return None
        return Indexed._make(found)

    def expire(self, now: float) -> None:
        cutoff = now - self.retention
        posts = self._posts
        while posts:
            oldest = self._oldest()
            if posts[oldest][0] >= cutoff:
                break
            del posts[oldest]
            self._order.popleft()

    def _oldest(self) -> str:
        """The id of the oldest post held (some post must be), at the front of ``_order``."""
        order, taken = self._order, self._taken
        while True:
            oldest = order[0]
            skipped = taken.get(oldest)
            if not skipped:
                return oldest
            order.popleft()  # the place of a post taken since
            if skipped == 1:
                del taken[oldest]
            else:
                taken[oldest] = skipped - 1

    def dump(self) -> dict[str, Any]:
        """As columns, in arrival order, each post's terms an index into the distinct tuples of terms
        (:mod:`pipeline.detect.columns`): no loop per term for Python (a shard's snapshot holds up to
        ``limit`` posts; an index per term into a vocabulary was a tenth of a worker's time in the stack)."""
        rows = list(self._posts.values())
        ts, regions, terms = ([row[n] for row in rows] for n in range(3))
        index, sets = index_term_sets(terms)
        return {"id": list(self._posts), "ts": ts, "region": regions, "terms": index, "term_sets": sets}

    @classmethod
    def load(
        cls,
        retention: float,
        limit: int,
        data: dict[str, Any] | list[list[Any]],
        words: list[str] | None = None,
    ) -> PostIndex:
        """From :meth:`dump`; or, a list, from the rows of an earlier version (terms as indices into
        ``words``). ValueError when the columns differ in length."""
        index = cls(retention, limit)
        if isinstance(data, dict):
            terms = from_term_sets(data["terms"], data["term_sets"])
            rows = zip(data["ts"], data["region"], terms, strict=True)
            index._posts = dict(zip(data["id"], rows, strict=True))
        else:
            if words is None:
                raise ValueError("the post index is in rows of an earlier version, without their vocabulary")
            index._posts = {
                post_id: (ts, region, tuple(words[i] for i in ids)) for post_id, ts, region, ids in data
            }
        index._order = deque(index._posts)
        return index
