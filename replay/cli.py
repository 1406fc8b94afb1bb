"""``python -m replay``: send feeds into Kafka at any speed, and rebuild the built-in seed feed."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from feed import FeedError, FeedStats, read_feed

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_TOPIC = "posts"
DEFAULT_PARTITIONS = 4

EPILOG = """\
examples:
  python -m replay send --speed max                 # the built-in seed feed, as fast as possible
  python -m replay send feed.jsonl --duration 60    # any feed, paced to last about a minute
  python -m replay send feed.jsonl --speed 20 --skip-bad
  python -m replay build-seed-feed -o /tmp/seed.jsonl

environment:
  KAFKA_BOOTSTRAP   default for --bootstrap (127.0.0.1:9092)
  POSTS_TOPIC       default for --topic (posts)
  POSTS_PARTITIONS  default for --partitions (4), used only when the topic must be created

feed format (JSON Lines, UTF-8, one post per line):
  {"id": str, "ts": RFC 3339 with offset or Z | epoch seconds, "text": str,
   "author": str?, "platform": str?, "lang": str?, "region": ISO 3166 alpha-2?, ...extra fields kept}
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m replay",
        description="Replay social-media feeds into Apache Kafka, paced by their event times.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    send = commands.add_parser(
        "send",
        help="send a feed to a Kafka topic",
        description=(
            "Send each post as one Kafka record: value = the post as JSON (orjson), key = author, "
            "record timestamp = the post's event time. Posts are spaced by their original gaps "
            "divided by --speed. The whole feed is checked before anything is sent, so a bad line "
            "refuses the run (or is skipped and counted with --skip-bad)."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument("feed", nargs="?", type=Path, help="JSON Lines feed (default: the built-in seed feed)")
    send.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP),
        metavar="HOST:PORT",
        help="Kafka bootstrap server (env KAFKA_BOOTSTRAP; default %(default)s)",
    )
    send.add_argument(
        "--topic",
        default=os.environ.get("POSTS_TOPIC", DEFAULT_TOPIC),
        help="topic to send to (env POSTS_TOPIC; default %(default)s)",
    )
    send.add_argument(
        "--partitions",
        type=_positive_int,
        default=int(os.environ.get("POSTS_PARTITIONS", DEFAULT_PARTITIONS)),
        help="partitions when the topic has to be created (env POSTS_PARTITIONS; default %(default)s)",
    )
    pace = send.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        default="1",
        metavar="FACTOR|max",
        help="event-time speed-up: 1 = real time, 600 = ten minutes a second, max = no pacing "
        "(default %(default)s)",
    )
    pace.add_argument(
        "--duration",
        type=float,
        metavar="SECONDS",
        help="pick the speed that replays the whole feed in about this many seconds",
    )
    send.add_argument("--skip-bad", action="store_true", help="skip bad lines, count them, and go on")
    send.add_argument("--quiet", action="store_true", help="no progress bar, only the summary line")
    send.set_defaults(handler=run_send)

    seed = commands.add_parser(
        "build-seed-feed",
        help="rebuild the built-in seed feed from the source documents",
        description="Turn the source documents shipped in replay/data/seeds/ into the seed feed, "
        "deterministically (the same bytes every time).",
    )
    seed.add_argument("-o", "--output", type=Path, help="where to write (default: the packaged seed feed)")
    seed.set_defaults(handler=run_build_seed_feed)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


@dataclass
class FeedSurvey:
    """What one validating pass over the feed found: sizes, event-time span, bad lines."""

    posts: int
    first_ts: float | None
    last_ts: float | None
    stats: FeedStats

    @property
    def span_seconds(self) -> float:
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return max(0.0, self.last_ts - self.first_ts)


def survey_feed(path: Path, *, skip_bad: bool) -> FeedSurvey:
    stats = FeedStats()
    first = last = None
    count = 0
    for post in read_feed(path, skip_bad=skip_bad, stats=stats):
        count += 1
        first = post.ts if first is None else min(first, post.ts)
        last = post.ts if last is None else max(last, post.ts)
    return FeedSurvey(posts=count, first_ts=first, last_ts=last, stats=stats)


def run_send(args: argparse.Namespace) -> int:
    from replay.schedule import Pacer, parse_speed, speed_to_fit
    from replay.seed import SEED_FEED_PATH

    feed_path: Path = args.feed or SEED_FEED_PATH
    if not feed_path.is_file():
        print(f"replay: feed not found: {feed_path}", file=sys.stderr)
        return 2
    try:
        survey = survey_feed(feed_path, skip_bad=args.skip_bad)
    except FeedError as exc:
        print(f"replay: {exc} (nothing was sent; use --skip-bad to skip such lines)", file=sys.stderr)
        return 1
    try:
        speed = (
            speed_to_fit(survey.span_seconds, args.duration)
            if args.duration is not None
            else parse_speed(args.speed)
        )
    except ValueError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
    for error in survey.stats.errors:
        print(f"replay: skipped {error}", file=sys.stderr)

    from kafka.errors import KafkaError

    from replay.producer import PostProducer, ensure_topic

    try:
        ensure_topic(args.bootstrap, args.topic, args.partitions)
        producer = PostProducer(args.bootstrap, args.topic)
    except KafkaError as exc:
        print(f"replay: cannot reach Kafka at {args.bootstrap}: {exc!r}", file=sys.stderr)
        return 1

    speed_text = "max" if speed is None else f"{speed:g}x"
    if not args.quiet:
        print(
            f"replay: {survey.posts} posts from {feed_path} → {args.topic}@{args.bootstrap} at {speed_text}"
            + (f", about {survey.span_seconds / speed:.0f}s" if speed else ""),
            file=sys.stderr,
        )
    # SIGTERM (docker stop, a supervisor) ends the run like Ctrl-C: flushed and summarised.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    progress = _progress_bar(survey.posts, disabled=args.quiet)
    pacer = Pacer(speed)
    started = time.monotonic()
    behind_max = 0.0
    interrupted = False
    try:
        for post in read_feed(feed_path, skip_bad=args.skip_bad):
            behind_max = max(behind_max, pacer.wait_for(post.ts))
            producer.send(post)
            progress.update(1)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        progress.close()
        producer.flush(timeout=60)
        producer.close(timeout=10)
    elapsed = time.monotonic() - started
    counts = producer.counts
    rate = counts.sent / elapsed if elapsed > 0 else float("inf")
    state = "interrupted after sending" if interrupted else "sent"
    print(
        f"replay: {state} {counts.sent}/{survey.posts} posts to {args.topic} in {elapsed:.1f}s "
        f"({rate:,.0f} posts/s): {counts.acknowledged} acknowledged, {counts.failed} failed, "
        f"{survey.stats.skipped} bad lines skipped; at most {behind_max:.3f}s behind schedule",
        file=sys.stderr,
    )
    if counts.first_error:
        print(f"replay: first delivery error: {counts.first_error}", file=sys.stderr)
    if interrupted:
        return 130
    return 0 if counts.failed == 0 and counts.acknowledged == counts.sent else 1


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _progress_bar(total: int, *, disabled: bool):
    from tqdm import tqdm

    # Only on a terminal: logs and CI get the summary line alone.
    return tqdm(
        total=total,
        unit="post",
        desc="replay",
        disable=disabled or not sys.stderr.isatty(),
        smoothing=0.1,
        dynamic_ncols=True,
    )


def run_build_seed_feed(args: argparse.Namespace) -> int:
    from replay.seed import SEED_FEED_PATH, write_seed_feed

    output: Path = args.output or SEED_FEED_PATH
    count = write_seed_feed(output)
    print(f"replay: wrote {count} posts to {output}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    return args.handler(args)
