"""``python -m replay``: send feeds into Kafka at any speed, convert real feed formats, generate scenarios.

Argument parsing and wiring only: feeds are opened and surveyed by :mod:`replay.source`, resuming is
decided by :mod:`replay.checkpoint`, pacing by :mod:`replay.schedule`, sending by :mod:`replay.runner`.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

# The feed, Kafka and Prometheus code is imported where it is used: `replay ctl` needs none of it and
# starts in a few tens of milliseconds, which is all the CPU it takes from the replay it steers.
if TYPE_CHECKING:
    from feed.pseudonyms import Pseudonymizer
    from replay.schedule import ReplayOptions, Slot
    from replay.source import FeedSurvey

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_TOPIC = "posts"
DEFAULT_PARTITIONS = 4
DEFAULT_MEMORY_MB = 1024

EPILOG = """\
examples:
  python -m replay send --speed max                       the built-in seed feed, as fast as possible
  python -m replay send feed.jsonl --duration 60          any feed, paced to last about a minute
  python -m replay send feed.jsonl --speed 600 --rate 500 --loop 3 --max-gap 300
  python -m replay send feed.jsonl --from 2009-06-13T00:00Z --until 2009-06-14T00:00Z --speed 60
  python -m replay send feed.jsonl --speed 20 --resume    continue after the last acknowledged post
  python -m replay send tweets.js --format twitter-archive --speed max
  python -m replay convert statuses.json --format twitter-v1 -o feed.jsonl
  python -m replay convert export.csv --format csv --map id=tweet_id,ts=date,text=body -o feed.jsonl
  python -m replay generate --scenario iran2009 --seed 1 -o week.jsonl --truth week.truth.json
  python -m replay build-seed-feed -o /tmp/seed.jsonl
  python -m replay send feed.jsonl --speed 60 --metrics-port 9109 &  then:  python -m replay ctl speed 600

at the end:
  once the broker has acknowledged every post, one end-of-feed record goes to every partition:
  {"kind": "end", "ts": <the feed's last event time>}, header iran2009.end: 1, no key (not after
  Ctrl-C, SIGTERM or a failed post; with --loop, once after the last pass). The pipeline then closes
  the feed's last windows. --no-end-marker leaves it out, for a topic that live producers go on feeding.

while sending:
  Ctrl-C or SIGTERM   flush what is in flight, print the summary, save the checkpoint, exit 130
  Ctrl-Z, then fg     pause and resume (SIGTSTP / SIGCONT); the schedule continues where it paused
  kill -USR1 PID      toggle pause without stopping the process
  python -m replay ctl speed 600|max, pause, resume, seek TIME, status
                      steer it live on its --metrics-port (see python -m replay ctl --help)

environment:
  KAFKA_BOOTSTRAP   default for --bootstrap (127.0.0.1:9092)
  KAFKA_SECURITY    plaintext (default) or sasl_ssl; then KAFKA_USERNAME (replay), KAFKA_PASSWORD_FILE
                    (or KAFKA_PASSWORD) and KAFKA_CA (the CA's PEM file): see feed/kafka_security.py
  POSTS_TOPIC       default for --topic (posts)
  POSTS_PARTITIONS  default for --partitions (4), used only when the topic must be created
  REPLAY_METRICS_PORT  default for --metrics-port (none: no metrics, no live control)

feed format (JSON Lines, UTF-8, one post per line):
  {"id": str, "ts": RFC 3339 with offset or Z | epoch seconds, "text": str,
   "author": str?, "platform": str?, "lang": str?, "region": ISO 3166 alpha-2?,
   "author_created": RFC 3339?, "author_followers": int?, ...extra fields kept}
  or a deletion notice, sent like a post: {"kind": "delete", "id": <the deleted post's id>,
   "ts": <when it was deleted>, "author": str?, ...extra fields kept}
"""


def build_parser(*, only_ctl: bool = False) -> argparse.ArgumentParser:
    """The whole command line; ``only_ctl``: just ``ctl`` (what ``replay ctl ...`` needs, quickly)."""
    parser = argparse.ArgumentParser(
        prog="python -m replay",
        description="Replay social-media feeds into Apache Kafka, paced by their event times.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    if only_ctl:
        _add_ctl(commands)
        return parser
    _add_send(commands)
    _add_convert(commands)
    _add_generate(commands)
    _add_ctl(commands)
    seed = commands.add_parser(
        "build-seed-feed",
        help="rebuild the built-in seed feed from the source documents",
        description="Turn the source documents shipped in replay/data/seeds/ into the seed feed, "
        "deterministically (the same bytes every time).",
    )
    seed.add_argument("-o", "--output", type=Path, help="where to write (default: the packaged seed feed)")
    seed.set_defaults(handler=run_build_seed_feed)
    return parser


def _add_send(commands) -> None:
    from feed.pseudonyms import IDENTIFYING_FIELDS

    send = commands.add_parser(
        "send",
        help="send a feed to a Kafka topic",
        description=(
            "Send each post as one Kafka record: value = the post as JSON (orjson), key = author, "
            "record timestamp = the post's event time. Posts are spaced by their original gaps "
            "divided by --speed, against one monotonic clock (no drift); with --metrics-port the speed "
            "can be changed, the replay paused, resumed or moved forward while it runs (python -m "
            "replay ctl). The whole feed is checked "
            "before anything is sent, so a bad record refuses the run (or is skipped and counted "
            "with --skip-bad). Delivery uses acks=all with idempotence; a broker that goes away is "
            "waited for and retried."
        ),
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    send.add_argument("feed", nargs="?", type=Path, help="the feed (default: the built-in seed feed)")
    _add_format_options(send)
    kafka = send.add_argument_group("kafka")
    kafka.add_argument(
        "--bootstrap",
        default=os.environ.get("KAFKA_BOOTSTRAP", DEFAULT_BOOTSTRAP),
        metavar="HOST:PORT",
        help="Kafka bootstrap server (env KAFKA_BOOTSTRAP; default %(default)s)",
    )
    kafka.add_argument(
        "--topic",
        default=os.environ.get("POSTS_TOPIC", DEFAULT_TOPIC),
        help="topic to send to (env POSTS_TOPIC; default %(default)s)",
    )
    kafka.add_argument(
        "--partitions",
        type=_positive_int,
        # A string default goes through `type` too: a bad value in the environment is argparse's
        # one-line error, not a traceback.
        default=os.environ.get("POSTS_PARTITIONS", str(DEFAULT_PARTITIONS)),
        help="partitions when the topic has to be created (env POSTS_PARTITIONS; default %(default)s)",
    )
    pacing = send.add_argument_group("pacing (event time → wall time)")
    pace = pacing.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        default="1",
        metavar="FACTOR|max",
        help="event-time speed-up: 1 = real time, 600 = ten minutes a second, max = no pacing "
        "(default %(default)s)",
    )
    pace.add_argument(
        "--duration", type=float, metavar="SECONDS", help="pick the speed that fits the replay into SECONDS"
    )
    pacing.add_argument("--rate", type=float, metavar="N", help="at most N posts per second (with any speed)")
    pacing.add_argument(
        "--from", dest="from_ts", metavar="TS", help="only posts at or after this event time (RFC 3339)"
    )
    pacing.add_argument("--until", dest="until_ts", metavar="TS", help="only posts before this event time")
    pacing.add_argument(
        "--loop",
        type=_positive_int,
        default=1,
        metavar="N",
        help="replay the feed N times, shifting event times by the feed's span each pass; ids get #2, #3...",
    )
    pacing.add_argument(
        "--max-gap",
        type=float,
        metavar="SECONDS",
        help="pace silences longer than SECONDS of event time as SECONDS (record timestamps are kept)",
    )
    privacy = send.add_argument_group(
        "privacy (the people in the feed: pseudonymous by default; the key is AUTHOR_KEY or the file "
        "AUTHOR_KEY_FILE, created with mode 0600 on first use)"
    )
    privacy.add_argument(
        "--keep-authors",
        action="store_true",
        default=os.environ.get("KEEP_AUTHORS", "") in ("1", "true", "yes"),
        help="send authors and @mentions as they are (KEEP_AUTHORS=1); by default each becomes p: and 16 "
        "hex digits of an HMAC under the key",
    )
    privacy.add_argument(
        "--keep-ids",
        action="store_true",
        help="send post ids as they are, for an operator who must cite posts (by default pseudonymized)",
    )
    privacy.add_argument(
        "--keep-field",
        action="append",
        default=[],
        metavar="NAME",
        help="keep this identifying field (dropped by default: " + ", ".join(IDENTIFYING_FIELDS) + ")",
    )
    run = send.add_argument_group("run")
    run.add_argument("--skip-bad", action="store_true", help="skip bad records, count them, and go on")
    run.add_argument(
        "--resume", action="store_true", help="continue after the last post the broker acknowledged"
    )
    run.add_argument(
        "--state",
        type=Path,
        metavar="DIR",
        help="where the resume checkpoint is kept (default: next to the feed)",
    )
    run.add_argument(
        "--memory-mb",
        type=int,
        default=os.environ.get("REPLAY_MEMORY_MB", str(DEFAULT_MEMORY_MB)),
        metavar="MB",
        help="keep up to MB of the checked feed in memory, so the file is read once, not twice "
        "(env REPLAY_MEMORY_MB; default %(default)s; 0 always reads it again)",
    )
    run.add_argument(
        "--no-end-marker",
        dest="end_marker",
        action="store_false",
        help="do not write the end-of-feed record to every partition after the last post (by default "
        "it is written once every post is acknowledged, so the pipeline closes the feed's last "
        "windows); for a topic that live producers go on feeding",
    )
    run.add_argument(
        "--metrics-port",
        type=_port,
        default=os.environ.get("REPLAY_METRICS_PORT") or None,
        metavar="P",
        help="serve Prometheus metrics and the live control (python -m replay ctl) on port P; 0 picks a "
        "free port and says which (env REPLAY_METRICS_PORT; default: neither)",
    )
    run.add_argument(
        "--metrics-host",
        metavar="HOST",
        default=os.environ.get("REPLAY_METRICS_HOST", "127.0.0.1"),
        help="address to serve the metrics and the control on (REPLAY_METRICS_HOST, default 127.0.0.1; "
        "0.0.0.0 exposes both to the network: anyone who reaches it can pause or seek the replay)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress bar, only the summary line")
    send.set_defaults(handler=run_send)


def _add_format_options(parser: argparse.ArgumentParser) -> None:
    from replay.source import FORMAT_CHOICES

    parser.add_argument(
        "--format",
        default="jsonl",
        choices=FORMAT_CHOICES,
        help="input format (default %(default)s, the feed contract)",
    )
    parser.add_argument(
        "--map",
        dest="field_map",
        metavar="FIELD=COL,...",
        help="csv only: columns for id, ts, text (required) and author, region, lang, platform, "
        "author_created, author_followers, ...; without it the CSV's own column names are used",
    )


def _add_convert(commands) -> None:
    convert = commands.add_parser(
        "convert",
        help="convert Twitter exports or CSV into the feed contract",
        description="Read INPUT in --format and write the feed contract (JSON Lines), ordered by event "
        "time. Bad records stop the conversion with their position (file:line or file[index]) unless "
        "--skip-bad is given.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    convert.add_argument("input", type=Path)
    _add_format_options(convert)
    convert.add_argument("-o", "--output", type=Path, required=True, help="the JSON Lines feed to write")
    convert.add_argument("--skip-bad", action="store_true", help="skip bad records, count them, and go on")
    convert.set_defaults(handler=run_convert)


def _add_generate(commands) -> None:
    generate = commands.add_parser(
        "generate",
        help="generate a synthetic scenario feed with exact ground truth",
        description="Write a synthetic feed (English, Persian and Finglish posts on a Tehran diurnal "
        "cycle) with injected episodes — keyword filtering, outages, surges — and decoys, plus a "
        "truth file listing every episode. The same seed gives the same bytes.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    from replay.generate import SCENARIOS

    generate.add_argument("--scenario", required=True, choices=sorted(SCENARIOS), help="what to generate")
    generate.add_argument("--seed", type=int, default=1, help="random seed (default %(default)s)")
    generate.add_argument("--hours", type=float, help="event-time length (default: the scenario's)")
    generate.add_argument("--rate", type=float, help="mean posts per second (default: the scenario's)")
    generate.add_argument(
        "--authors",
        type=int,
        metavar="N",
        help="background authors, half of them in Iran (default: the scenario's; the episodes are the same)",
    )
    generate.add_argument("-o", "--output", type=Path, required=True, help="the JSON Lines feed to write")
    generate.add_argument("--truth", type=Path, required=True, help="the ground-truth JSON to write")
    generate.set_defaults(handler=run_generate)


CTL_EPILOG = """\
examples:
  python -m replay ctl status                       the replay's state, as JSON
  python -m replay ctl speed 600                    ten minutes of event time a second, from now on
  python -m replay ctl speed max                    no pacing (back with: speed 60)
  python -m replay ctl faster | slower              one step along 1, 2, 5, 10, 20, 60, 120, 300, ... max
  python -m replay ctl pause | resume | toggle
  python -m replay ctl seek 2009-06-13T12:00Z       go forward to an event time: the posts before it are
                                                    skipped (counted as skipped, not sent)
  python -m replay ctl --url http://10.0.0.5:9109 status

The replay to steer is a running `python -m replay send ... --metrics-port PORT`; commands go to that
port over HTTP (GET /status, POST /speed, /pause, ...: see replay/control.py), so curl works as well:
  curl -X POST --data 600 http://127.0.0.1:9109/speed

After a change of speed, a pause or a seek the schedule re-anchors where the replay is: no burst of
catch-up posts, no drift. Exit status: 0 done, 1 the replay could not be reached or refused (one line on
stderr saying why), 2 a bad argument.

environment:
  REPLAY_URL           default for --url
  REPLAY_METRICS_PORT  without REPLAY_URL, --url is http://127.0.0.1:$REPLAY_METRICS_PORT (default 9109)
"""


def _add_ctl(commands) -> None:
    from replay.ctl import default_url

    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: given before or after the command, the value given wins over the default.
    common.add_argument(
        "--url",
        default=argparse.SUPPRESS,
        help="the replay's metrics/control address (env REPLAY_URL; default http://127.0.0.1:"
        "$REPLAY_METRICS_PORT, else http://127.0.0.1:9109)",
    )
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="print the status after it as JSON"
    )
    common.add_argument(
        "--timeout",
        type=float,
        default=argparse.SUPPRESS,
        metavar="SECONDS",
        help="how long to wait for the answer (default 5)",
    )
    ctl = commands.add_parser(
        "ctl",
        parents=[common],
        help="steer a running replay: speed, pause, resume, seek, status",
        description="Send a command to a running `python -m replay send --metrics-port PORT` and print\n"
        "what it did. The replay is at --url, else $REPLAY_URL, else\n"
        f"http://127.0.0.1:$REPLAY_METRICS_PORT (here: {default_url()}).",
        epilog=CTL_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = ctl.add_subparsers(dest="action", required=True, metavar="COMMAND")
    add = lambda name, help: actions.add_parser(name, parents=[common], help=help, description=help)  # noqa: E731
    add("status", "print the replay's state as JSON: speed, paused, event time now, sent, skipped, ...")
    speed = add("speed", "change the speed from now on")
    speed.add_argument("speed", metavar="FACTOR|max", type=_speed_arg, help="e.g. 600, 0.5 or max")
    add("faster", "one step faster (1, 2, 5, 10, 20, 60, 120, 300, 600, ... then max)")
    add("slower", "one step slower")
    add("pause", "pause: nothing is sent until resume")
    add("resume", "resume after a pause, where it paused")
    add("toggle", "pause when running, resume when paused")
    seek = add("seek", "go forward to an event time; the posts before it are skipped, not sent")
    seek.add_argument(
        "time", type=_event_time_arg, metavar="TIME", help="RFC 3339 (2009-06-13T12:00Z) or epoch seconds"
    )
    ctl.set_defaults(handler=run_ctl)


def _speed_arg(text: str) -> float | None:
    from replay.schedule import parse_speed

    try:
        return parse_speed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _event_time_arg(text: str) -> float:
    from feed import FeedError, parse_ts

    try:
        return parse_ts(float(text) if _is_number(text) else text, "time")
    except FeedError as exc:
        raise argparse.ArgumentTypeError(exc.reason) from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def run_ctl(args: argparse.Namespace) -> int:
    import json

    from replay.ctl import ControlError, ReplayClient

    try:
        client = ReplayClient(getattr(args, "url", None), timeout=getattr(args, "timeout", 5.0))
    except ValueError as exc:
        raise UsageError(f"--url: {exc}") from None
    action = args.action
    try:
        if action == "status":
            status = client.status()
        elif action == "speed":
            status = client.set_speed(args.speed)
        elif action == "seek":
            status = client.seek(args.time)
        else:
            status = {
                "faster": client.faster,
                "slower": client.slower,
                "pause": client.pause,
                "resume": client.resume,
                "toggle": client.toggle_pause,
            }[action]()
    except ControlError as exc:
        print(f"replay ctl: {exc}", file=sys.stderr)
        return 1
    if action == "status" or getattr(args, "json", False):
        print(json.dumps(status, indent=2))
    else:
        print(f"replay: {status.get('message', action)}; {_describe(status)}")
    return 0


def _describe(status: dict) -> str:
    speed = status.get("speed")
    speed_text = "max speed" if speed == "max" else f"{speed:g}x"
    sent = f"{status.get('sent')}" + (f"/{status['planned']}" if status.get("planned") is not None else "")
    at = f" at {status['event_time']}" if status.get("event_time") else ""
    return f"{status.get('state')}{at}, {speed_text}, {sent} sent, {status.get('skipped')} skipped"


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError("must be a port number, 0 to 65535")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


class UsageError(Exception):
    """A bad flag value or input: reported as one line, exit 2."""


def _event_time_flag(name: str, value: str | None) -> float | None:
    from feed import FeedError, parse_ts

    if value is None:
        return None
    try:
        return parse_ts(value)
    except FeedError as exc:
        raise UsageError(f"{name}: {exc.reason}") from None


def run_send(args: argparse.Namespace) -> int:
    from feed.kafka_security import KafkaSecurity

    try:  # before the feed is read: a misconfiguration is said at once, in one line
        args.security = KafkaSecurity.from_env()
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    with _fewer_collections():
        return _run_send(args)


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """GC_THRESHOLDS while the replay runs; what ``gc.freeze`` set aside is released after."""
    from feed.runtime import GC_THRESHOLDS  # why: see feed/runtime.py

    previous = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def _pseudonymizer(args: argparse.Namespace) -> Pseudonymizer | None:
    """What the feed goes through before Kafka: None only when every identity is kept on request."""
    from feed.pseudonyms import IDENTIFYING_FIELDS, Pseudonymizer, load_key

    if args.keep_authors:
        print("replay: --keep-authors: authors and @mentions are sent as they are", file=sys.stderr)
    if args.keep_ids:
        print("replay: --keep-ids: post ids are sent as they are", file=sys.stderr)
    kept = set(args.keep_field)
    if args.keep_authors and args.keep_ids and kept >= set(IDENTIFYING_FIELDS):
        return None
    return Pseudonymizer(
        load_key(), keep_authors=args.keep_authors, keep_ids=args.keep_ids, keep_fields=args.keep_field
    )


def _run_send(args: argparse.Namespace) -> int:
    from feed import FeedError, FeedStats
    from replay.schedule import ReplayOptions, loop_shift, parse_speed, plan, speed_to_fit
    from replay.source import feed_or_seed, open_wire_source, survey_posts
    from replay.wire import relabel

    try:
        feed_path = feed_or_seed(args.feed)
        pseudonymizer = _pseudonymizer(args)
        read = open_wire_source(args, feed_path, pseudonymizer)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        window = ReplayOptions(
            speed=None,
            from_ts=_event_time_flag("--from", args.from_ts),
            until_ts=_event_time_flag("--until", args.until_ts),
        )
    except ValueError as exc:  # --until not after --from
        raise UsageError(str(exc)) from None
    stats = FeedStats()
    try:
        survey = survey_posts(read(stats), stats, window.in_window, memory_bytes=max(0, args.memory_mb) << 20)
    except FeedError as exc:
        print(f"replay: {exc} (nothing was sent; use --skip-bad to skip such records)", file=sys.stderr)
        return 1
    shift = loop_shift(survey.first_ts, survey.last_ts)
    try:
        if args.duration is not None:
            speed = speed_to_fit(survey.span_seconds + shift * (args.loop - 1), args.duration)
        else:
            speed = parse_speed(args.speed)
        options = ReplayOptions(
            speed=speed,
            rate=args.rate,
            from_ts=window.from_ts,
            until_ts=window.until_ts,
            loops=args.loop,
            max_gap=args.max_gap,
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for error in survey.stats.errors:
        print(f"replay: skipped {error}", file=sys.stderr)

    from replay.checkpoint import Checkpoint, checkpoint_path, resume_point, slot_options

    state_file = checkpoint_path(feed_path, args.topic, args.state, packaged=args.feed is None)
    # Ids and authors sent differently are other posts: a resume must use the same privacy options.
    fingerprint = {
        **slot_options(options, args.format),
        "keep_authors": args.keep_authors,
        "keep_ids": args.keep_ids,
        "keep_fields": sorted(set(args.keep_field)),
    }
    start_position = 0
    if args.resume:
        try:
            resume = resume_point(state_file, Checkpoint.load(state_file), fingerprint)
        except ValueError as exc:  # not a checkpoint, or one written with other options
            raise UsageError(str(exc)) from None
        start_position = resume.position
        print(f"replay: {resume.message}", file=sys.stderr)

    def save_checkpoint(position: int, last_id: str | None) -> None:
        Checkpoint(str(feed_path), args.topic, fingerprint, position, last_id).save(state_file)

    kept = survey.kept
    slots = plan(
        (lambda: kept) if kept is not None else (lambda: read(None)), options, shift=shift, relabel=relabel
    )
    end_of_feed_ts = None
    if args.end_marker and survey.last_ts is not None:  # an empty feed has no end to mark
        end_of_feed_ts = survey.last_ts + shift * (options.loops - 1)  # the last pass's last event time
    return _send(args, options, survey, slots, start_position, save_checkpoint, end_of_feed_ts)


def _send(
    args: argparse.Namespace,
    options: ReplayOptions,
    survey: FeedSurvey,
    slots: Iterable[Slot],
    start_position: int,
    save_checkpoint: Callable[[int, str | None], None],
    end_of_feed_ts: float | None = None,
) -> int:
    from kafka.errors import KafkaError

    from feed import format_ts
    from replay.control import ReplayControl
    from replay.metrics import ReplayMetrics
    from replay.producer import KafkaRefused, PostProducer, ensure_topic
    from replay.runner import Replay
    from replay.schedule import Timeline, loop_shift

    planned = survey.posts * options.loops
    shift = loop_shift(survey.first_ts, survey.last_ts)
    control = ReplayControl(
        Timeline.for_options(options),
        planned=planned,
        last_ts=None if survey.last_ts is None else survey.last_ts + (options.loops - 1) * shift,
        notify=lambda what: print(f"replay: {what}", file=sys.stderr),  # until the progress bar is up
    )
    server = None
    if args.metrics_port is not None:
        metrics = control.metrics = ReplayMetrics()
        try:
            server = metrics.serve(args.metrics_port, args.metrics_host, control=control)
        except OSError as exc:
            raise UsageError(
                f"cannot serve metrics on {args.metrics_host}:{args.metrics_port}: {exc}"
            ) from None
        metrics.posts_planned.set(planned)
        metrics.speed_factor.set(options.speed or 0)
        if not args.quiet or args.metrics_port == 0:
            print(
                f"replay: metrics and live control on {server.url} (python -m replay ctl --url {server.url} "
                "status|speed N|pause|resume|seek TIME)",
                file=sys.stderr,
                flush=True,
            )
    else:
        metrics = None
    producer = None
    try:
        ensure_topic(args.bootstrap, args.topic, args.partitions, args.security)
        producer = PostProducer(args.bootstrap, args.topic, security=args.security)
        producer.check_access()
    except KafkaRefused as exc:  # who, which topic, which operation, why: one line
        print(exc, file=sys.stderr)
        if producer is not None:
            producer.close(timeout=1)
        return 1
    except KafkaError as exc:
        print(f"replay: cannot reach Kafka at {args.bootstrap}: {exc!r}", file=sys.stderr)
        return 1

    speed_text = "max speed" if options.speed is None else f"{options.speed:g}x"
    if options.rate:
        speed_text += f", at most {options.rate:g} posts/s"
    if not args.quiet:
        print(
            f"replay: {planned - start_position} posts from {args.feed or 'the seed feed'} → "
            f"{args.topic}@{args.bootstrap} at {speed_text}"
            + (f" ({format_ts(survey.first_ts)} … {format_ts(survey.last_ts)})" if survey.first_ts else ""),
            file=sys.stderr,
        )
    progress = _progress_bar(planned, start_position, disabled=args.quiet)
    control.notify = lambda what: progress.write(f"replay: {what}", file=sys.stderr)
    control.install_signals()
    # SIGTERM (docker stop, a supervisor) ends the run like Ctrl-C: flushed, summarised, checkpointed.
    signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
    # And Ctrl-C (SIGINT) always does, also when started from a shell's background job, which starts
    # with SIGINT ignored; Python would keep that ignore, and an interrupted replay would run on.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    gc.freeze()  # the checked feed and the modules live until the end: out of every collection
    replay = Replay(
        slots,
        producer,
        planned=planned,
        control=control,
        start_position=start_position,
        save_checkpoint=save_checkpoint,
        metrics=metrics,
        progress=progress,
        end_of_feed_ts=end_of_feed_ts,
    )
    try:
        report = replay.run()
    finally:
        progress.close()
        producer.close(timeout=10)
        if server is not None:
            server.close()
    rate = report.sent / report.elapsed if report.elapsed > 0 else 0.0
    state = "interrupted after sending" if report.interrupted else "sent"
    print(
        f"replay: {state} {report.sent}/{planned - start_position} posts to {args.topic} "
        f"in {report.elapsed:.1f}s "
        f"({rate:,.0f} posts/s): {report.acknowledged} acknowledged, {report.failed} failed, "
        f"{survey.stats.skipped} bad records skipped"
        + (f", {report.skipped} posts skipped by seek" if report.skipped else "")
        + f"; at most {report.behind_max:.3f}s behind schedule",
        file=sys.stderr,
    )
    if report.end_markers and end_of_feed_ts is not None:
        print(
            f"replay: end of feed ({format_ts(end_of_feed_ts)}) marked on {report.end_markers} "
            f"partitions of {args.topic}",
            file=sys.stderr,
        )
    if report.first_error:
        print(f"replay: first delivery error: {report.first_error}", file=sys.stderr)
    if report.end_marker_error:
        print(
            f"replay: every post was delivered, but {report.end_marker_error}; the pipeline will not "
            "close the feed's last windows until the marker is there (rerun with --resume to write it)",
            file=sys.stderr,
        )
    if report.interrupted:
        print("replay: rerun with --resume to continue", file=sys.stderr)
        return 130
    return 0 if report.ok else 1


def _raise_keyboard_interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _progress_bar(total: int, initial: int, *, disabled: bool):
    from tqdm import tqdm

    # Only on a terminal: logs and CI get the summary line alone.
    return tqdm(
        total=total,
        initial=initial,
        unit="post",
        desc="replay",
        disable=disabled or not sys.stderr.isatty(),
        smoothing=0.1,
        dynamic_ncols=True,
    )


def run_convert(args: argparse.Namespace) -> int:
    from feed import FeedError, FeedStats, write_feed
    from replay.source import open_source

    if not args.input.is_file():
        raise UsageError(f"input not found: {args.input}")
    try:
        read = open_source(args, args.input)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    stats = FeedStats()
    try:
        count = write_feed(read(stats), args.output)
    except FeedError as exc:
        print(f"replay: {exc} (use --skip-bad to skip such records)", file=sys.stderr)
        return 1
    for error in stats.errors:
        print(f"replay: skipped {error}", file=sys.stderr)
    print(
        f"replay: wrote {count} posts to {args.output} ({stats.skipped} bad records skipped)", file=sys.stderr
    )
    if stats.deletions or stats.undated_deletions:
        print(
            f"replay: {stats.deletions} of them deletion notices; {stats.undated_deletions} deletion "
            "notices without a time left out",
            file=sys.stderr,
        )
    return 0


def run_generate(args: argparse.Namespace) -> int:
    import time

    from replay.generate import write_scenario

    started = time.monotonic()
    count, truth = write_scenario(
        args.scenario,
        seed=args.seed,
        hours=args.hours,
        rate=args.rate,
        feed_path=args.output,
        truth_path=args.truth,
        authors=args.authors,
    )
    elapsed = time.monotonic() - started
    print(
        f"replay: wrote {count} posts to {args.output} and {len(truth.episodes)} episodes to {args.truth} "
        f"in {elapsed:.1f}s ({count / max(elapsed, 1e-9) * 60:,.0f} posts/min)",
        file=sys.stderr,
    )
    return 0


def run_build_seed_feed(args: argparse.Namespace) -> int:
    from replay.seed import SEED_FEED_PATH, write_seed_feed

    output: Path = args.output or SEED_FEED_PATH
    count = write_seed_feed(output)
    print(f"replay: wrote {count} posts to {output}", file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # kafka-python 3 warns whenever one of its I/O tasks runs over 100 ms, which a max-speed replay on a
    # busy machine does all the time; connection errors and failed sends still come through as errors.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(only_ctl=argv[:1] == ["ctl"]).parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"replay: {exc}", file=sys.stderr)
        return 2
