"""Pseudonyms (feed/pseudonyms.py): keyed, stable, marked, idempotent; identifying fields dropped; the key
from the environment or a 0600 file. Pure, no Kafka."""

from __future__ import annotations

import os
import stat

import pytest

from feed import Post
from feed.pseudonyms import IDENTIFYING_FIELDS, Pseudonymizer, is_pseudonym, load_key

RECORD = {
    "id": "1234567890",
    "ts": "2009-06-13T10:00:00Z",
    "text": "RT @KayCNN: protest at Azadi, ask @user_2 or mail someone@example.com",
    "author": "@KayCNN",
    "location": "Tehran, Iran",
    "reply_to": "999",
    "retweet_of": "998",
    "author_id": "42",
    "region": "IR",
    "hashtags": ["iranelection"],
}


def test_a_pseudonym_is_marked_keyed_and_stable():
    one, same, other = Pseudonymizer(b"key-1"), Pseudonymizer(b"key-1"), Pseudonymizer(b"key-2")
    assert is_pseudonym(one.pseudonym("KayCNN")) and len(one.pseudonym("KayCNN")) == 18
    assert one.pseudonym("KayCNN") == same.pseudonym("KayCNN")  # the same key: the same in any process
    assert one.pseudonym("KayCNN") != other.pseudonym("KayCNN")  # another key: unrelated
    assert one.pseudonym("KayCNN") != one.pseudonym("KayCNn")
    assert one.pseudonym(one.pseudonym("x")) == one.pseudonym("x")  # twice changes nothing


def test_a_record_keeps_no_handle_no_id_and_no_identifying_field():
    pseudonymizer = Pseudonymizer(b"key")
    record = pseudonymizer.record(dict(RECORD))
    author = pseudonymizer.author("@KayCNN")
    assert record["author"] == author == pseudonymizer.author("kaycnn")  # handles ignore case and the @
    mention = pseudonymizer.pseudonym("user_2")
    assert record["text"] == f"RT @{author}: protest at Azadi, ask @{mention} or mail someone@example.com"
    assert record["id"] == pseudonymizer.pseudonym("1234567890")
    assert not set(IDENTIFYING_FIELDS) & set(record)
    assert record["region"] == "IR" and record["hashtags"] == ["iranelection"]
    raw = repr(record)
    for secret in ("KayCNN", "user_2", "1234567890", "Tehran, Iran", "999", "998", "42"):
        assert secret not in raw
    assert pseudonymizer.record(dict(record)) == record  # idempotent


def test_what_the_operator_asks_to_keep_is_kept():
    kept = Pseudonymizer(b"key", keep_ids=True, keep_fields=["location"]).record(dict(RECORD))
    assert kept["id"] == "1234567890" and kept["location"] == "Tehran, Iran" and "reply_to" not in kept
    assert is_pseudonym(kept["author"])
    authors = Pseudonymizer(b"key", keep_authors=True).record(dict(RECORD))
    assert authors["author"] == "@KayCNN" and "@KayCNN" in authors["text"] and is_pseudonym(authors["id"])


def test_a_deletion_notice_names_the_same_pseudonym_as_its_post():
    pseudonymizer = Pseudonymizer(b"key")
    post = pseudonymizer.record({"id": 77, "ts": "2009-06-13T10:00:00Z", "text": "x"})
    notice = pseudonymizer.record(
        {"id": "n1", "ts": "2009-06-13T11:00:00Z", "text": "deleted", "deletes": 77}
    )
    assert notice["deletes"] == post["id"] == pseudonymizer.pseudonym("77")


def test_the_classify_stage_form_replaces_authors_and_mentions_only():
    pseudonymizer = Pseudonymizer(b"key")
    post = Post(id="raw-id", ts=1.0, text="hi @bob", author="alice")
    private = pseudonymizer.authors(post)
    assert private.id == "raw-id" and private.author == pseudonymizer.author("alice")
    assert private.text == f"hi @{pseudonymizer.author('bob')}"
    assert pseudonymizer.authors(private) is private  # nothing raw left: the same object
    assert Pseudonymizer(b"key", keep_authors=True).authors(post) is post


def test_the_key_comes_from_the_environment_first():
    assert load_key({"AUTHOR_KEY": "s3cret"}) == b"s3cret"


def test_a_missing_key_file_is_created_once_with_mode_0600(tmp_path):
    path = tmp_path / "state" / "author.key"
    first = load_key({"AUTHOR_KEY_FILE": str(path)})
    assert len(first) == 64 and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key({"AUTHOR_KEY_FILE": str(path)}) == first  # the same key across restarts
    assert load_key({}, default_file=path) == first


def test_an_unusable_key_file_is_a_one_line_error(tmp_path):
    empty = tmp_path / "empty.key"
    empty.write_bytes(b"\n")
    with pytest.raises(ValueError, match="is empty"):
        load_key({"AUTHOR_KEY_FILE": str(empty)})
    with pytest.raises(ValueError, match="cannot read the pseudonym key file"):
        load_key({"AUTHOR_KEY_FILE": str(tmp_path)})  # a directory
