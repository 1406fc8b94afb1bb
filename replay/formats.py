"""Read real feed formats (Twitter API v1.1 / v2, Twitter data exports, CSV) into ``feed.Post`` objects
and ``feed.Deletion`` notices.

Pure: no Kafka. Every format ends in the feed contract (``id``, ``ts``, ``text``, ``author``,
``platform``, ``lang``, ``region`` plus extra fields), and every bad record raises a ``FeedError``
whose place names it: ``file:line`` for JSON Lines and CSV, ``file[index]`` for JSON arrays, API v2
``data[index]`` and archive entries. With ``skip_bad`` bad records are counted in ``FeedStats`` and
skipped; a file that cannot be read as its format at all (e.g. a broken JSON array) always raises.

Mapping decisions shared by the Twitter formats:

- ``platform`` is ``"twitter"``; ``lang`` is Twitter's ``lang`` with ``"und"`` (undetermined) as None.
- ``region`` is ``place.country_code`` when the status is geotagged, otherwise the user's free-text
  location resolved through ``PLACE_REGIONS`` (a small table of countries and well-known cities),
  otherwise None. The raw location is always kept as the extra field ``location``.
- extras kept: ``source_format``, ``retweet_of`` (id of the retweeted status), ``reply_to`` (id of
  the status replied to), ``hashtags`` (from entities, without ``#``), ``location``; v2 also keeps
  ``author_id``. The raw status is not copied.
- ``author_created`` and ``author_followers`` come from the user object: v1.1 ``user.created_at``
  ("Wed Jun 17 12:00:00 +0000 2009") and ``user.followers_count``, v2 ``includes.users[].created_at`` and
  ``public_metrics.followers_count``. A value that is there but invalid fails the record, as a bad
  ``created_at`` or ``lang`` does; a value that is not there is absent.
- text is kept exactly as delivered (Twitter's ``&amp;``/``&lt;``/``&gt;`` escaping included).
- deletion notices become ``feed.Deletion``: v1.1 ``{"delete": {"status": {"id_str", "user_id_str"},
  "timestamp_ms"}}`` (``timestamp_ms`` inside ``delete`` or beside it) and v2 compliance events
  ``{"data": {"delete": {"tweet": {"id", "author_id"}, "event_at"}}}``. The notice's ``author`` is the
  platform user id (``user_id_str``, ``author_id``): the only identity a notice carries. A v1.1 notice
  without any ``timestamp_ms`` (streams before 2013 sent none) cannot be placed in event time: it is left
  out and counted in ``FeedStats.undated_deletions``, not a bad record.
- other stream notices without a status (``limit``, ``scrub_geo``, ...; v2 compliance events other than
  ``delete``) are neither posts nor bad records.
"""

from __future__ import annotations

import csv
import itertools
import os
import re
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from feed import (
    Deletion,
    FeedError,
    FeedItem,
    FeedStats,
    Post,
    deletion_from_record,
    parse_ts,
    post_from_record,
    read_items,
)
from feed.model import DELETION_KIND, MAX_EPOCH, REQUIRED_FIELDS, parse_author_created

FORMATS = ("jsonl", "twitter-v1", "twitter-v2", "twitter-archive", "csv")

# API v1.1 and archive ``created_at``, and the "2009-06-13 14:05:09 +0000" of old tweets.csv exports.
TWITTER_TIME_FORMATS = ("%a %b %d %H:%M:%S %z %Y", "%Y-%m-%d %H:%M:%S %z")

# Twitter began in 2006: a notice's timestamp_ms before that is seconds given for milliseconds, or garbage.
TWITTER_EPOCH = 1136073600.0  # 2006-01-01T00:00:00Z

# Lower-case place names (one or two words) that clearly name one country, by ISO 3166 alpha-2 code.
REGION_PLACES = {
    "IR": (
        "iran",
        "ایران",
        "persia",
        "tehran",
        "teheran",
        "تهران",
        "isfahan",
        "esfahan",
        "اصفهان",
        "shiraz",
        "شیراز",
        "tabriz",
        "تبریز",
        "mashhad",
        "مشهد",
    ),
    "GB": ("uk", "united kingdom", "england", "london"),
    "US": ("usa", "united states", "los angeles", "new york", "nyc"),
    "CA": ("canada", "toronto"),
    "FR": ("france", "paris"),
    "DE": ("germany", "berlin"),
}
PLACE_REGIONS = {place: code for code, places in REGION_PLACES.items() for place in places}

# Stream messages that carry no status (rate-limit notices, ...): not posts, not errors. ``delete``
# becomes a deletion notice (_v1_deletion).
_STREAM_NOTICES = frozenset(
    {"delete", "limit", "scrub_geo", "status_withheld", "user_withheld", "disconnect", "warning"}
)
# API v2 compliance events, {"data": {EVENT: {...}}}: ``delete`` becomes a deletion notice, the others
# (withheld tweets, suspended or deleted accounts, ...) are neither posts nor bad records.
_V2_COMPLIANCE_EVENTS = frozenset(
    {
        "delete",
        "withheld",
        "drop",
        "undrop",
        "scrub_geo",
        "tweet_edit",
        "user_delete",
        "user_undelete",
        "user_withheld",
        "user_suspend",
        "user_unsuspend",
        "user_protect",
        "user_unprotect",
        "user_profile_modification",
    }
)
_DIGITS = re.compile(r"\d+")
_ARCHIVE_PREFIX = re.compile(rb"^\s*window\.YTD\.\w+\.part\d+\s*=\s*")
# Arabic-keyboard yeh and kaf spell the same Persian words (ايران = ایران).
_PERSIAN_LETTERS = str.maketrans({"ي": "ی", "ك": "ک"})

Converter = Callable[[Any], FeedItem | None]


class _UndatedDeletion(Exception):
    """A deletion notice with no time at all: counted, neither converted nor a bad record."""


def parse_field_map(text: str) -> dict[str, str]:
    """``id=COL,ts=COL,text=COL[,author=COL,...]`` as ``{target: column}``.

    ``id``, ``ts`` and ``text`` are required; targets outside the contract become extra fields.
    Column names cannot contain commas; spaces around names are ignored.
    """
    mapping: dict[str, str] = {}
    for entry in text.split(","):
        target, equals, column = (part.strip() for part in entry.partition("="))
        if not equals or not target or not column:
            raise ValueError(f"bad --map entry {entry.strip()!r}: expected TARGET=COLUMN, e.g. text=tweet")
        if target in mapping:
            raise ValueError(f"--map names {target!r} twice")
        mapping[target] = column
    missing = [name for name in REQUIRED_FIELDS if name not in mapping]
    if missing:
        raise ValueError(f"--map needs a column for {', '.join(missing)} (id, ts and text are required)")
    return mapping


def read_posts(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    field_map: dict[str, str] | None = None,
    archive_author: str | None = None,
    skip_bad: bool = False,
    stats: FeedStats | None = None,
) -> list[FeedItem]:
    """All posts and deletion notices of a feed file, sorted by event time (stable: equal times keep
    file order)."""
    posts = iter_posts(
        path, fmt, field_map=field_map, archive_author=archive_author, skip_bad=skip_bad, stats=stats
    )
    return sorted(posts, key=lambda post: post.ts)


def iter_posts(
    path: str | os.PathLike[str],
    fmt: str,
    *,
    field_map: dict[str, str] | None = None,
    archive_author: str | None = None,
    skip_bad: bool = False,
    stats: FeedStats | None = None,
) -> Iterator[FeedItem]:
    """Posts and deletion notices in file order (not sorted); see ``read_posts``.

    ``field_map`` applies to ``csv`` only (default: every column under its own name).
    ``archive_author`` applies to ``twitter-archive`` only (default: the ``account.js`` beside it).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
    if field_map is not None and fmt != "csv":
        raise ValueError("a field map applies only to the csv format")
    if archive_author is not None and fmt != "twitter-archive":
        raise ValueError("an archive author applies only to the twitter-archive format")
    path = Path(path)
    stats = stats if stats is not None else FeedStats()
    if fmt == "jsonl":
        return read_items(path, skip_bad=skip_bad, stats=stats)
    if fmt == "csv":
        records = _csv_records(path, field_map)
    elif fmt == "twitter-v1":
        records = _v1_records(path)
    elif fmt == "twitter-v2":
        records = _v2_records(path)
    else:
        records = _archive_records(path, archive_author)
    return _convert(records, skip_bad, stats)


def parse_event_time(value: Any) -> float:
    """Epoch seconds from Twitter's ``created_at`` styles, RFC 3339 or epoch seconds."""
    if isinstance(value, str):
        for time_format in TWITTER_TIME_FORMATS:
            try:
                return parse_ts(datetime.strptime(value.strip(), time_format).timestamp())
            except ValueError:
                pass
    return parse_ts(value)


def region_from_location(location: str) -> str | None:
    """The country a free-text location clearly names ("Tehran, Iran" → IR), else None.

    Looks up every word and pair of words; "Paris / Tehran" names two countries and gives None.
    """
    words = re.findall(r"\w+", location.casefold().translate(_PERSIAN_LETTERS))
    names = words + [f"{first} {second}" for first, second in itertools.pairwise(words)]
    regions = {PLACE_REGIONS[name] for name in names if name in PLACE_REGIONS}
    return regions.pop() if len(regions) == 1 else None


# --- shared helpers ---------------------------------------------------------------------------------


# (place, decoded record, its converter), or (place, FeedError, None) for a record that would not decode.
Records = Iterator[tuple[str, Any, Converter | None]]


def _convert(records: Records, skip_bad: bool, stats: FeedStats) -> Iterator[FeedItem]:
    """Convert each record; locate failures and skip or raise them."""
    for place, raw, converter in records:
        try:
            if converter is None:
                raise raw
            post = converter(raw)
        except FeedError as exc:
            located = exc.at(place)
            if not skip_bad:
                raise located from None
            stats.record_bad(located)
            continue
        except _UndatedDeletion:
            stats.undated_deletions += 1
            continue
        if post is not None:
            stats.posts += 1
            if type(post) is Deletion:
                stats.deletions += 1
            yield post


def _read_json_bytes(path: Path) -> bytes:
    return path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # a BOM is not JSON


def _load_json_document(data: bytes, source: str) -> Any:
    """One JSON value; a syntax error names the line, and fails the whole file."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise FeedError(f"not valid JSON ({exc})", f"{source}:{exc.lineno}", code="invalid_json") from None


def _json_lines(data: bytes, source: str) -> Iterator[tuple[str, Any]]:
    """(``file:line``, decoded value or FeedError) for each non-blank line."""
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value: Any = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            value = FeedError(f"not valid JSON ({exc})", code="invalid_json")
        yield f"{source}:{number}", value


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise FeedError(f"expected a JSON object, got {type(value).__name__}", code="not_object")
    return value


def _field(record: dict[str, Any], key: str) -> dict[str, Any]:
    """A nested object, or {} when absent or not an object (optional parts never fail a record)."""
    value = record.get(key)
    return value if isinstance(value, dict) else {}


def _require(fields: dict[str, Any]) -> None:
    """All missing required fields in one error, named as the source names them."""
    missing = [name for name, value in fields.items() if value is None or value == ""]
    if missing:
        raise FeedError(f"missing required field(s): {', '.join(missing)}", code="missing_field")


def _id(value: Any) -> Any:
    """Twitter ids as strings: numeric ids above 2**53 do not survive JSON readers elsewhere."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _lang(value: Any) -> Any:
    return None if value == "und" else value


def _country_code(value: Any) -> str | None:
    if isinstance(value, str) and len(value.strip()) == 2 and value.strip().isalpha():
        return value.strip().upper()
    return None


def _hashtags(entities: dict[str, Any], key: str) -> list[str]:
    tags = entities.get("hashtags")
    if not isinstance(tags, list):
        return []
    return [tag[key] for tag in tags if isinstance(tag, dict) and isinstance(tag.get(key), str)]


def _account_created(value: Any) -> float | None:
    """``author_created`` from a user's ``created_at`` (Twitter's style, RFC 3339 or epoch seconds);
    None when absent; a clear ``bad_field`` error when it is there but unreadable."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        for time_format in TWITTER_TIME_FORMATS:
            try:
                return parse_author_created(datetime.strptime(value.strip(), time_format).timestamp())
            except ValueError:
                pass
    return parse_author_created(value)


def _followers(value: Any) -> Any:
    """A CSV cell's follower count as an integer; anything else is left for the contract to refuse."""
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        return int(value.strip())
    return value


def _timestamp_ms(value: Any) -> float:
    """A notice's ``timestamp_ms`` (milliseconds since the epoch, a string or a number) as seconds."""
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        value = int(value.strip())
    if type(value) is not int:
        raise FeedError(
            f"deletion notice: unparseable timestamp_ms {value!r}: expected milliseconds since the epoch",
            code="bad_ts",
        )
    seconds = value / 1000
    if not TWITTER_EPOCH <= seconds <= MAX_EPOCH:  # seconds for milliseconds, or garbage
        raise FeedError(
            f"deletion notice: timestamp_ms {value!r} is out of range (milliseconds since the epoch, "
            "after 2006)",
            code="bad_ts",
        )
    return seconds


def _deletion(*, post_id: Any, ts: float, author: Any, source_format: str) -> Deletion:
    record = {
        "kind": DELETION_KIND,
        "id": post_id,
        "ts": ts,
        "author": author,
        "platform": "twitter",
        "source_format": source_format,
    }
    return deletion_from_record(record)


def _twitter_post(
    *,
    post_id: Any,
    created_at: Any,
    text: Any,
    author: Any,
    lang: Any,
    country_code: Any,
    location: Any,
    extra: dict[str, Any],
    author_created: Any = None,
    author_followers: Any = None,
) -> Post:
    """The contract post for a status from any Twitter format; empty extras are dropped."""
    if isinstance(location, str) and location.strip():
        location = location.strip()
        extra["location"] = location
    else:
        location = None
    region = _country_code(country_code) or (region_from_location(location) if location else None)
    _require({"id": post_id, "created_at": created_at, "text": text})
    record = {
        "id": post_id,
        "ts": parse_event_time(created_at),
        "text": text,
        "author": author,
        "platform": "twitter",
        "lang": _lang(lang),
        "region": region,
        "author_created": _account_created(author_created),
        "author_followers": author_followers,
        **{key: value for key, value in extra.items() if value not in (None, "", [])},
    }
    return post_from_record(record)


# --- twitter-v1 and twitter-archive -----------------------------------------------------------------


def _v1_records(path: Path) -> Records:
    """API v1.1 statuses: a JSON array (``file[index]``) or JSON Lines (``file:line``)."""
    data = _read_json_bytes(path)
    if data.lstrip().startswith(b"["):
        statuses = _load_json_document(data, str(path))
        for index, status in enumerate(statuses):
            yield f"{path}[{index}]", status, _status_post
    else:
        for place, status in _json_lines(data, str(path)):
            yield place, status, None if isinstance(status, FeedError) else _status_post


def _status_post(
    raw: Any, *, source_format: str = "twitter-v1", author: str | None = None
) -> Post | Deletion | None:
    """A v1.1 status (or an archive tweet, which is one without ``user``); a deletion notice gives a
    :class:`Deletion`, other stream notices None."""
    status = _object(raw)
    if "created_at" not in status and _STREAM_NOTICES.intersection(status):
        return _v1_deletion(status, source_format) if "delete" in status else None
    user = _field(status, "user")
    text = (
        _field(status, "extended_tweet").get("full_text")  # streamed statuses over 140 characters
        or status.get("full_text")
        or status.get("text")
    )
    retweeted = _field(status, "retweeted_status")
    entities = _field(_field(status, "extended_tweet"), "entities") or _field(status, "entities")
    return _twitter_post(
        post_id=status.get("id_str") or status.get("id"),
        created_at=status.get("created_at"),
        text=text,
        author=user.get("screen_name") or author,
        lang=status.get("lang"),
        country_code=_field(status, "place").get("country_code"),
        location=user.get("location"),
        author_created=user.get("created_at"),
        author_followers=user.get("followers_count"),
        extra={
            "source_format": source_format,
            "retweet_of": _id(retweeted.get("id_str") or retweeted.get("id")),
            "reply_to": _id(status.get("in_reply_to_status_id_str") or status.get("in_reply_to_status_id")),
            "hashtags": _hashtags(entities, "text"),
        },
    )


def _v1_deletion(message: dict[str, Any], source_format: str) -> Deletion:
    """``{"delete": {"status": {"id_str", "user_id_str"}, "timestamp_ms"}}``; ``timestamp_ms`` may also
    sit beside ``delete``. Raises _UndatedDeletion when neither place has one."""
    notice = _field(message, "delete")
    deleted = _field(notice, "status")
    post_id = _id(deleted.get("id_str") or deleted.get("id"))
    _require({"delete.status.id_str": post_id})
    timestamp = notice.get("timestamp_ms", message.get("timestamp_ms"))
    if timestamp is None or timestamp == "":
        raise _UndatedDeletion
    return _deletion(
        post_id=post_id,
        ts=_timestamp_ms(timestamp),
        author=_id(deleted.get("user_id_str") or deleted.get("user_id")),
        source_format=source_format,
    )


def _archive_records(path: Path, archive_author: str | None) -> Records:
    """A data export's ``tweets.js``: ``window.YTD.tweets.part0 = [{"tweet": {...}}, ...]``."""
    entries = _load_json_document(_ARCHIVE_PREFIX.sub(b"", _read_json_bytes(path), count=1), str(path))
    if not isinstance(entries, list):
        raise FeedError("expected window.YTD.tweets.partN = [...]", str(path), code="not_array")
    author = (archive_author or _archive_account(path) or "").removeprefix("@") or None

    def convert(entry: Any) -> Post | None:
        entry = _object(entry)
        tweet = entry.get("tweet", entry)  # exports before 2020 had no {"tweet": ...} wrapper
        return _status_post(tweet, source_format="twitter-archive", author=author)

    for index, entry in enumerate(entries):
        yield f"{path}[{index}]", entry, convert


def _archive_account(tweets_path: Path) -> str | None:
    """The username from the export's ``account.js`` next to ``tweets.js``, if it is there and sane."""
    account_path = tweets_path.with_name("account.js")
    if not account_path.is_file():
        return None
    try:
        entries = orjson.loads(_ARCHIVE_PREFIX.sub(b"", _read_json_bytes(account_path), count=1))
        username = entries[0]["account"]["username"]
    except (orjson.JSONDecodeError, LookupError, TypeError):
        return None
    return username if isinstance(username, str) else None


# --- twitter-v2 -------------------------------------------------------------------------------------


def _v2_records(path: Path) -> Records:
    """One API v2 response (``file[index]`` into ``data``), or JSON Lines of them as twarc2 writes."""
    data = _read_json_bytes(path)
    first_line = next((line for line in data.split(b"\n") if line.strip()), b"")
    try:
        responses: list[tuple[str, Any]] = [(str(path), orjson.loads(data))]
    except orjson.JSONDecodeError:
        try:
            orjson.loads(first_line)
        except orjson.JSONDecodeError:
            _load_json_document(data, str(path))  # neither shape: report the document's syntax error
        responses = list(_json_lines(data, str(path)))
    for place, response in responses:
        if _is_compliance_event(response):
            yield place, response, _v2_compliance_event
            continue
        try:
            tweets, convert = _v2_response(response)
        except FeedError as exc:
            if len(responses) == 1:
                raise exc.at(place) from None  # the only response is unusable: the file is
            yield place, exc, None  # one bad page among many: a bad record
            continue
        for index, tweet in enumerate(tweets):
            yield f"{place}[{index}]", tweet, convert


def _is_compliance_event(response: Any) -> bool:
    """``{"data": {EVENT: {...}}}`` of the v2 compliance streams (a tweet lookup's data has an ``id``)."""
    if type(response) is not dict:
        return False
    data = response.get("data")
    return type(data) is dict and "id" not in data and not _V2_COMPLIANCE_EVENTS.isdisjoint(data)


def _v2_compliance_event(raw: Any) -> Deletion | None:
    """``{"data": {"delete": {"tweet": {"id", "author_id"}, "event_at"}}}`` as a deletion notice; other
    compliance events give None."""
    data = _field(raw, "data")
    if "delete" not in data:
        return None
    notice = _field(data, "delete")
    tweet = _field(notice, "tweet")
    post_id, event_at = _id(tweet.get("id")), notice.get("event_at")
    _require({"delete.tweet.id": post_id, "delete.event_at": event_at})
    try:
        ts = parse_event_time(event_at)
    except FeedError as exc:
        raise FeedError(f"deletion notice: {exc.reason}", code=exc.code) from None
    return _deletion(post_id=post_id, ts=ts, author=_id(tweet.get("author_id")), source_format="twitter-v2")


def _v2_response(response: Any) -> tuple[list[Any], Converter]:
    """The tweets of one response and a converter that resolves them against its ``includes``."""
    if isinstance(response, FeedError):
        raise response
    response = _object(response)
    tweets = response.get("data", [])
    if isinstance(tweets, dict):
        tweets = [tweets]  # a single-tweet lookup
    if not isinstance(tweets, list) or ("data" not in response and "meta" not in response):
        raise FeedError("not an API v2 response: expected data[] (and includes, meta)", code="not_v2")
    includes = _field(response, "includes")
    users = _by_id(includes.get("users"))
    places = _by_id(includes.get("places"))

    def convert(raw: Any) -> Post:
        tweet = _object(raw)
        user = users.get(tweet.get("author_id"), {})
        place = places.get(_field(tweet, "geo").get("place_id"), {})
        referenced = {
            ref.get("type"): ref.get("id")
            for ref in tweet.get("referenced_tweets") or []
            if isinstance(ref, dict)
        }
        return _twitter_post(
            post_id=tweet.get("id"),
            created_at=tweet.get("created_at"),
            text=tweet.get("text"),
            author=user.get("username"),
            lang=tweet.get("lang"),
            country_code=place.get("country_code"),
            location=user.get("location"),
            author_created=user.get("created_at"),
            author_followers=_field(user, "public_metrics").get("followers_count"),
            extra={
                "source_format": "twitter-v2",
                "author_id": tweet.get("author_id"),
                "retweet_of": referenced.get("retweeted"),
                "reply_to": referenced.get("replied_to"),
                "hashtags": _hashtags(_field(tweet, "entities"), "tag"),
            },
        )

    return tweets, convert


def _by_id(items: Any) -> dict[Any, dict[str, Any]]:
    if not isinstance(items, list):
        return {}
    return {item.get("id"): item for item in items if isinstance(item, dict)}


# --- csv --------------------------------------------------------------------------------------------


def _csv_records(path: Path, field_map: dict[str, str] | None) -> Records:
    """Rows at ``file:line`` (the physical line a row starts on; the header is line 1).

    Without a field map every column keeps its own name. ``ts`` may be RFC 3339, epoch seconds or a
    Twitter ``created_at``, and so may ``author_created``; ``author_followers`` is a whole number.
    ``region`` may be an ISO code or a place name from ``PLACE_REGIONS``; an unresolved name is kept as
    the extra ``location``. Empty cells are absent values.
    """
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = [name.strip() for name in next(reader, [])]
        columns = {name: index for index, name in reversed(list(enumerate(header)))}  # first wins
        mapping = field_map if field_map is not None else {name: name for name in header}
        unknown = [column for column in mapping.values() if column not in columns]
        missing = [name for name in REQUIRED_FIELDS if name not in mapping]
        if unknown or missing:
            problem = f"no column {', '.join(map(repr, unknown))}" if unknown else f"no {', '.join(missing)}"
            raise FeedError(
                f"CSV header has {problem} (columns: {', '.join(header)}); use --map id=COL,ts=COL,text=COL",
                f"{path}:1",
                code="missing_column",
            )
        targets = {target: columns[column] for target, column in mapping.items()}

        def convert(row: list[str]) -> Post:
            if len(row) != len(header):
                raise FeedError(f"row has {len(row)} fields, header has {len(header)}", code="bad_row")
            values = {target: row[index] for target, index in targets.items() if row[index] != ""}
            _require({f"{name} (column {mapping[name]!r})": values.get(name) for name in REQUIRED_FIELDS})
            values["ts"] = parse_event_time(values["ts"])
            values["lang"] = _lang(values.get("lang"))
            if "author_created" in values:
                values["author_created"] = _account_created(values["author_created"])
            if "author_followers" in values:
                values["author_followers"] = _followers(values["author_followers"])
            place_name = values.pop("region", None)
            if place_name is not None:
                values["region"] = _country_code(place_name) or region_from_location(place_name)
                if values["region"] is None:
                    values.setdefault("location", place_name)
            values["source_format"] = "csv"
            return post_from_record(values)

        start = reader.line_num + 1
        for row in reader:
            if any(cell.strip() for cell in row):
                yield f"{path}:{start}", row, convert
            start = reader.line_num + 1
