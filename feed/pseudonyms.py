"""Pseudonymous authors, mentions and post ids: who said what must not be readable from the stack. Pure.

A pseudonym is ``p:`` followed by the first 16 hex digits of HMAC-SHA256(key, value): the same key gives
the same pseudonym in every process and across restarts, so one author's posts stay on one partition and
a deletion notice still finds its post; without the key nobody can tell whose it is, or test a guess.

:class:`Pseudonymizer` replaces a post's ``author``, every ``@handle`` in its text (``RT @x:`` becomes
``RT @p:…:``) and, unless told to keep them, its ``id`` and the ids a deletion names. A deletion notice
(``{"kind": "delete", "id", "ts", "author"?}``) goes through the same steps, so its ``id`` and ``author``
become exactly the pseudonyms of its post's ``id`` and ``author``. Fields that
identify a person or a place beyond the region (free-text ``location``, reply and quote targets, a
platform's user id) are dropped unless kept by name. A value that already is a pseudonym is left as it
is, so pseudonymizing twice changes nothing.

The key (:func:`load_key`): ``AUTHOR_KEY`` (any string), else the file ``AUTHOR_KEY_FILE``, by default
``$XDG_STATE_HOME/iran2009/author.key``, created on first use with 32 random bytes and mode 0600.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

from feed.model import Deletion, Post

Item = TypeVar("Item", Post, Deletion)

PREFIX = "p:"
_PSEUDONYM = re.compile(r"^p:[0-9a-f]{16}$")
# @handles: Twitter's are 1-15 letters, digits and underscores; other platforms' a little longer. An
# @ inside a word (an e-mail address) is not a mention, and a pseudonym already there is left alone.
_MENTION = re.compile(r"(?<![\w@.])@(?!p:[0-9a-f]{16})([A-Za-z0-9_]{1,50})")
# Dropped unless kept with --keep-field: free-text places, reply and quote targets, platform user ids.
IDENTIFYING_FIELDS = (
    "location",
    "user_location",
    "reply_to",
    "in_reply_to",
    "retweet_of",
    "quote_of",
    "quoted_in",
    "author_id",
    "user_id",
    "screen_name",
)
# Extra fields that name another post: pseudonymized like ids (a deletion notice must find its post).
POST_REFERENCE_FIELDS = ("deletes", "deleted_id")
DEFAULT_KEY_FILE = (
    Path(os.environ.get("XDG_STATE_HOME", Path.home() / ".local" / "state")) / "iran2009" / "author.key"
)


def is_pseudonym(value: str) -> bool:
    return _PSEUDONYM.match(value) is not None


class Pseudonymizer:
    def __init__(
        self,
        key: bytes,
        *,
        keep_authors: bool = False,
        keep_ids: bool = False,
        keep_fields: Iterable[str] = (),
    ) -> None:
        if not key:
            raise ValueError("the pseudonym key is empty")
        self._key = key
        self.keep_authors = keep_authors
        self.keep_ids = keep_ids
        self.dropped = tuple(name for name in IDENTIFYING_FIELDS if name not in set(keep_fields))
        self._memo: dict[str, str] = {}
        self._authors: dict[str, str] = {}  # as written (any case, with or without @) -> pseudonym

    def pseudonym(self, value: str) -> str:
        if is_pseudonym(value):
            return value
        found = self._memo.get(value)
        if found is None:
            digest = hmac.new(self._key, value.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()
            found = PREFIX + digest[:16]
            if len(self._memo) >= 200_000:
                self._memo.clear()
            self._memo[value] = found
        return found

    def text(self, text: str) -> str:
        """Every ``@handle`` replaced by ``@`` and its pseudonym (handles compared case-insensitively,
        as platforms do)."""
        if "@" not in text:
            return text
        return _MENTION.sub(lambda found: "@" + self.pseudonym(found.group(1).lower()), text)

    def author(self, author: str) -> str:
        found = self._authors.get(author)
        if found is None:
            found = author if is_pseudonym(author) else self.pseudonym(author.lstrip("@").lower())
            if len(self._authors) >= 200_000:
                self._authors.clear()
            self._authors[author] = found
        return found

    def authors(self, post: Item) -> Item:
        """The post with its author and @mentions pseudonymized (id and fields as they are): what the
        classify stage does to a post that reached Kafka from a producer other than the replayer. A
        deletion notice gets its author pseudonymized alike, so it still names its post's author."""
        if self.keep_authors:
            return post
        author = post.author
        new_author = self.author(author) if author else author
        if type(post) is Deletion:
            return post if new_author == author else replace(post, author=new_author)
        text = post.text
        new_text = self.text(text) if "@" in text else text
        if new_author == author and new_text is text:
            return post
        return replace(post, text=new_text, author=new_author)

    def record(self, record: dict[str, Any]) -> dict[str, Any]:
        """A feed record (the JSON of a post or of a deletion notice) pseudonymized in place, and
        returned."""
        if not self.keep_authors:
            author = record.get("author")
            if isinstance(author, str) and author:
                record["author"] = self.author(author)
            text = record.get("text")
            if isinstance(text, str):
                record["text"] = self.text(text)
        if not self.keep_ids:
            post_id = record.get("id")
            if isinstance(post_id, int) and not isinstance(post_id, bool):
                post_id = str(post_id)
            if isinstance(post_id, str) and post_id:
                record["id"] = self.pseudonym(post_id)
            for name in POST_REFERENCE_FIELDS:
                value = record.get(name)
                if isinstance(value, int | str) and not isinstance(value, bool) and value != "":
                    record[name] = self.pseudonym(str(value))
        for name in self.dropped:
            record.pop(name, None)
        return record


def load_key(env: Mapping[str, str] | None = None, *, default_file: Path = DEFAULT_KEY_FILE) -> bytes:
    """The operator's key: ``AUTHOR_KEY``, else the key file (created, mode 0600, when missing)."""
    env = os.environ if env is None else env
    given = env.get("AUTHOR_KEY")
    if given:
        return given.encode()
    path = Path(env.get("AUTHOR_KEY_FILE") or default_file)
    try:
        key = path.read_bytes().strip()
    except FileNotFoundError:
        return _create_key_file(path)
    except OSError as exc:
        raise ValueError(f"cannot read the pseudonym key file {path}: {exc.strerror}") from None
    if not key:
        raise ValueError(f"the pseudonym key file {path} is empty")
    return key


def _create_key_file(path: Path) -> bytes:
    key = secrets.token_hex(32).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_bytes().strip()  # another process created it first: use theirs
    except OSError as exc:
        raise ValueError(f"cannot create the pseudonym key file {path}: {exc.strerror}") from None
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(key + b"\n")
    return key
