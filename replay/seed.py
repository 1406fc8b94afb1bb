"""The built-in seed feed: posts extracted from the three June 2009 source documents.

Each report paragraph, each quoted tweet or interview quote, and each blog comment becomes one post.
Timestamps are arithmetic, not real: each document's posts are spread in reading order over the days
its text implies, so the feed is deterministic and ordered as the documents tell it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from feed.model import Post
from feed.reader import write_feed

SEED_DOCS_DIR = Path(__file__).parent / "data" / "seeds"
SEED_FEED_PATH = Path(__file__).parent / "data" / "seed_feed.jsonl"

TEHRAN = timezone(timedelta(hours=4, minutes=30))
US_EASTERN = timezone(timedelta(hours=-4))  # EDT in June

LANG = "en"
# Gap between a quote and the paragraph that reports it (a tweet comes before the story quoting it).
ITEM_GAP_SECONDS = 3 * 60


@dataclass(frozen=True)
class Window:
    """When a run of posts appears; slots are spread evenly from start to end."""

    start: datetime
    end: datetime


@dataclass(frozen=True)
class SeedDocument:
    key: str  # the file-name prefix, e.g. "000" for 000_<hash>.txt
    platform: str  # where the document itself was published
    body: Window
    comments: Window | None = None
    author: str | None = None  # the document's own writer, where the text names one


DOCUMENTS = (
    # CNN-style report: "the height of the protests ... on Saturday and Sunday" after the June 12 vote.
    SeedDocument(
        "000",
        "news",
        Window(datetime(2009, 6, 13, 19, 0, tzinfo=TEHRAN), datetime(2009, 6, 14, 23, 0, tzinfo=TEHRAN)),
    ),
    # Fox-News-style report: "Thursday for a fourth day of protests" (June 18), rally "late in the
    # afternoon"; its Tuesday (June 16) items are told after the Thursday ones, so they are posted with it.
    SeedDocument(
        "001",
        "news",
        Window(datetime(2009, 6, 18, 17, 0, tzinfo=TEHRAN), datetime(2009, 6, 19, 1, 0, tzinfo=TEHRAN)),
    ),
    # US blog looking back on the week: the post one morning, its comments over the next day and a half.
    # Commenter 5 names the writer ("Rob, good read my friend").
    SeedDocument(
        "002",
        "blog",
        Window(
            datetime(2009, 6, 19, 9, 0, tzinfo=US_EASTERN), datetime(2009, 6, 19, 9, 16, tzinfo=US_EASTERN)
        ),
        comments=Window(
            datetime(2009, 6, 19, 11, 30, tzinfo=US_EASTERN), datetime(2009, 6, 20, 15, 0, tzinfo=US_EASTERN)
        ),
        author="Rob",
    ),
)

# Where the text places a writer: "bastards just attacked us" and the tear gas (Change for Iran),
# "Ali from Tehran", Samereh interviewed about satellites being taken from "peoples' homes", and the blog
# writer who "avoided politics during the US presidential election".
AUTHOR_REGIONS = {"Change for Iran": "IR", "Ali": "IR", "Samereh": "IR", "Rob": "US"}

_TWEET_PATTERNS = (
    re.compile(r'Tweets from "(?P<author>[^"]+)" were among [^:]*: "(?P<text>.+)"$'),
    re.compile(
        r'^"(?P<text>.+)," (?:tweets|writes) (?:a blogger (?:by the name of|named) )?(?P<author>\w+)\.$'
    ),
    # Unsigned postings become anonymous tweets.
    re.compile(r'^"(?P<text>.+)," (?:several Twitter postings alleged|others warned)\b'),
    re.compile(r'^Others warned fellow Twitteres to "(?P<text>.+)"$'),
)
# Both interviews were chats: Samereh's "via Yahoo chat", and Ali is one of the reporter's "main
# contacts" on Google Talk. A quote's attribution comma is not part of the quote.
_SAYS_PATTERN = re.compile(r'"(?P<text>[^"]+)," says (?P<author>[A-Z]\w+)\.')
_SHE_SAID_PATTERN = re.compile(r'^["“](?P<text>[^"“”]+),["”] she said\. ["“](?P<more>[^"“”]+)["”]$')
_INTERVIEWEE_PATTERN = re.compile(r"by her first name, (?P<name>[A-Z]\w+)")

_BOILERPLATE_PATTERNS = (
    re.compile(r"^• Click here"),
    re.compile(r"^Photo Courtesy of "),
    re.compile(r"^\d+ thoughts on "),
    re.compile(r"^Comments are closed\.$"),
    re.compile(r"contributed to this report\.$"),
)
# "Watch the role technology has had in the election »" is a link, not prose.
_LINK_TEASER = re.compile(r"(?<=[.!?])\s+[^.!?]*»$")
# UTF-8 read as Latin-1 and re-encoded: "Â»" for "»", "Â" + no-break space for a no-break space.
_MOJIBAKE = re.compile(r"Â([\u0080-\u00bf])")
_SENTENCE_END = re.compile(r"[.!?\"”]$")
_COMMENT_START = re.compile(r"^\s+(?P<number>\d+)\.\s+(?P<text>.*)$")
# A comment block that opens with a bare name: the name signs the previous comment.
_NAME_LINE = re.compile(r"^[A-Z][\w'-]*(?: [A-Z][\w'-]*){0,2}$")


@dataclass
class _Comment:
    number: int
    lines: list[str]
    signature: str | None = None  # the bare name line that opened this block


@dataclass
class _Draft:
    """A post before its timestamp is known."""

    id: str
    text: str
    kind: str
    platform: str
    author: str | None
    links: dict[str, Any] = field(default_factory=dict)


def build_seed_posts(seed_dir: Path | None = None) -> list[Post]:
    """All seed posts in feed order (strictly increasing timestamps)."""
    seed_dir = seed_dir if seed_dir is not None else SEED_DOCS_DIR
    posts: list[Post] = []
    for document in DOCUMENTS:
        text = _find_document(seed_dir, document.key).read_text(encoding="utf-8")
        paragraphs, comments = _split_blocks(_fix_mojibake(text))
        posts += _schedule(document, document.body, _paragraph_units(document, paragraphs))
        if comments:
            if document.comments is None:
                raise ValueError(f"seed document {document.key} has comments but no comment window")
            posts += _schedule(document, document.comments, _comment_units(document, comments))
    return posts


def write_seed_feed(path: Path) -> int:
    """Regenerate the seed feed at path; returns the number of posts written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_feed(build_seed_posts(), path)


def _find_document(seed_dir: Path, key: str) -> Path:
    matches = sorted(seed_dir.glob(f"{key}_*.txt"))
    if len(matches) != 1:
        raise FileNotFoundError(f"expected one seed document {key}_*.txt in {seed_dir}, found {len(matches)}")
    return matches[0]


def _fix_mojibake(text: str) -> str:
    return _MOJIBAKE.sub(r"\1", text)


def _clean(line: str) -> str:
    return " ".join(line.split())  # also turns no-break spaces into plain ones


def _split_blocks(text: str) -> tuple[list[str], list[_Comment]]:
    """Report/blog paragraphs (one per line) and numbered comments (indented continuation lines)."""
    paragraphs: list[str] = []
    comments: list[_Comment] = []
    current: _Comment | None = None
    for line in text.splitlines():
        if not line.strip():
            continue
        start = _COMMENT_START.match(line)
        if start:
            current = _Comment(int(start["number"]), [])
            first = _clean(start["text"])
            if _NAME_LINE.match(first):
                current.signature = first
            else:
                current.lines.append(first)
            comments.append(current)
        elif current is not None and line[0].isspace():
            current.lines.append(_clean(line))
        else:
            current = None
            paragraphs.append(_clean(line))
    return paragraphs, comments


def _is_boilerplate(paragraph: str, position: int) -> bool:
    if position == 0 and not _SENTENCE_END.search(paragraph):
        return True  # the headline
    return any(pattern.search(paragraph) for pattern in _BOILERPLATE_PATTERNS)


def _paragraph_units(document: SeedDocument, paragraphs: list[str]) -> list[list[_Draft]]:
    """One unit per kept paragraph: the quotes it reports, then the paragraph itself."""
    units: list[list[_Draft]] = []
    interviewee: str | None = None
    for position, raw in enumerate(paragraphs):
        if _is_boilerplate(raw, position):
            continue
        paragraph = _LINK_TEASER.sub("", raw)
        paragraph_id = f"seed-{document.key}-{len(units) + 1:03d}"
        introduced = _INTERVIEWEE_PATTERN.search(paragraph)
        interviewee = introduced["name"] if introduced else interviewee
        quotes = [
            _Draft(f"{paragraph_id}-q{number}", text, kind, platform, author, {"quoted_in": paragraph_id})
            for number, (text, kind, platform, author) in enumerate(_quotes(paragraph, interviewee), start=1)
        ]
        units.append(
            [*quotes, _Draft(paragraph_id, paragraph, "paragraph", document.platform, document.author)]
        )
    return units


def _quotes(paragraph: str, interviewee: str | None) -> list[tuple[str, str, str, str | None]]:
    """(text, kind, platform, author) of each tweet or interview quote the paragraph reports."""
    for pattern in _TWEET_PATTERNS:
        match = pattern.search(paragraph)
        if match:
            return [(match["text"], "tweet", "twitter", match.groupdict().get("author"))]
    says = _SAYS_PATTERN.search(paragraph)
    if says:
        return [(says["text"], "quote", "chat", says["author"])]
    she_said = _SHE_SAID_PATTERN.search(paragraph)
    if she_said:
        if interviewee is None:
            raise ValueError(f"quote with no named speaker: {paragraph!r}")
        # The comma before "she said" stands for the full stop of the spoken sentence.
        return [(f"{she_said['text']}. {she_said['more']}", "quote", "chat", interviewee)]
    return []


def _comment_units(document: SeedDocument, comments: list[_Comment]) -> list[list[_Draft]]:
    """One unit per comment.

    The bare name opening a block ("Julie", "Mariana", "Ken") signs the comment before it ("Warmest
    Regards," then "Ken"); the block it opens is the blog writer's reply ("the main reason I wrote this",
    "too close to the religion/politics line").
    """
    units: list[list[_Draft]] = []
    for index, comment in enumerate(comments):
        following = comments[index + 1] if index + 1 < len(comments) else None
        links: dict[str, Any] = {}
        if comment.signature is not None:
            if index == 0:
                raise ValueError(f"comment {comment.number} is signed {comment.signature!r} but follows none")
            author = document.author
            links["reply_to"] = f"seed-{document.key}-c{comments[index - 1].number:02d}"
        else:
            author = following.signature if following is not None else None
        text = "\n\n".join(comment.lines)
        comment_id = f"seed-{document.key}-c{comment.number:02d}"
        units.append([_Draft(comment_id, text, "comment", document.platform, author, links)])
    return units


def _schedule(document: SeedDocument, window: Window, units: list[list[_Draft]]) -> list[Post]:
    """Spread units evenly over the window (whole minutes); items in a unit follow ITEM_GAP_SECONDS apart."""
    start = int(window.start.timestamp())
    end = int(window.end.timestamp())
    step = (end - start) // max(len(units) - 1, 1) // 60 * 60
    posts = []
    for slot, unit in enumerate(units):
        for offset, draft in enumerate(unit):
            posts.append(
                Post(
                    id=draft.id,
                    ts=float(start + slot * step + offset * ITEM_GAP_SECONDS),
                    text=draft.text,
                    author=draft.author,
                    platform=draft.platform,
                    lang=LANG,
                    region=AUTHOR_REGIONS.get(draft.author) if draft.author else None,
                    extra={"source": f"seed:{document.key}", "kind": draft.kind, **draft.links},
                )
            )
    return posts
