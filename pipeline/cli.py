"""``python -m pipeline``: run the Faust worker that consumes the posts topic."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipeline.settings import ENVIRONMENT, Settings


def _shown(default: object) -> str:
    """A default as it is written in the environment: booleans as 1 and 0."""
    if isinstance(default, bool):
        return str(int(default))
    return str(default) if default != "" else "(empty)"


_DEFAULTS = Settings()
EPILOG = "environment (flags win over these), with the defaults:\n" + "\n".join(
    f"  {variable:<26} {_shown(getattr(_DEFAULTS, name))}" for name, variable in ENVIRONMENT.items()
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipeline",
        description="Stream processing over the posts topic: Faust agents and Prometheus metrics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    worker = commands.add_parser(
        "worker",
        help="run a Faust worker (Ctrl-C stops it cleanly)",
        description="Consume the posts topic, count posts by platform and region, dead-letter bad "
        "records, and serve Prometheus metrics on http://HOST:PORT/metrics.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    worker.add_argument("--bootstrap", metavar="HOST:PORT", help="Kafka bootstrap server (127.0.0.1:9092)")
    worker.add_argument("--topic", dest="posts_topic", help="topic to consume (posts)")
    worker.add_argument(
        "--metrics-port",
        type=int,
        metavar="P",
        help="Prometheus metrics port (9108; 0: any free port, printed)",
    )
    worker.add_argument(
        "--metrics-host",
        metavar="HOST",
        help="address to serve /metrics and /health on (127.0.0.1; 0.0.0.0 exposes them to the network)",
    )
    worker.add_argument("--app-id", help="Faust app id = Kafka consumer group (iran2009-pipeline)")
    worker.add_argument("--data-dir", help="Faust data directory (.pipeline-data)")
    worker.add_argument("--log-level", choices=["debug", "info", "warn", "error"], help="(warn)")
    worker.add_argument(
        "--exactly-once",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="publish posts.classified and posts.dead-letter in Kafka transactions with the input offsets, "
        "so read_committed readers see each post once, also after a kill -9 (the default; EXACTLY_ONCE); "
        "--no-exactly-once: at least once, each post visible up to a second sooner",
    )
    worker.add_argument(
        "--detect",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="hold detect partitions and raise alerts (the default; DETECT); --no-detect: classify only, "
        "beside workers that detect",
    )
    worker.add_argument(
        "--classify",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="classify a share of the posts (the default; CLASSIFY); --no-classify: detect only, in a "
        "process of its own, beside workers that classify (e.g. with --no-detect)",
    )
    worker.set_defaults(handler=run_worker)

    analyze = commands.add_parser(
        "analyze",
        help="classify a feed file offline, with the same engine as the agents (no Kafka)",
        description="Run the pipeline's pure engine over a JSON Lines feed in file order, without Kafka: "
        "the oracle the streaming stack must agree with. Writes one classified post per valid input "
        "line (the JSON of posts.classified), the alerts detection raises (the JSON of the alerts "
        "topic), and prints a summary table. Bad lines are reported as "
        "file:line, counted and skipped; --strict makes them fatal.",
    )
    analyze.add_argument("feed", type=Path, help="JSON Lines feed")
    analyze.add_argument("--classified", type=Path, metavar="OUT.jsonl", help="write classified posts here")
    analyze.add_argument(
        "--alerts", type=Path, metavar="OUT.jsonl", help="write alerts here (detection stage)"
    )
    analyze.add_argument("--strict", action="store_true", help="stop at the first bad line (exit 1)")
    analyze.add_argument(
        "--pseudonymize",
        action="store_true",
        help="write ids, authors and @mentions as the stack does (the replayer's key: AUTHOR_KEY or "
        "AUTHOR_KEY_FILE); by default they are written as they are in the input",
    )
    analyze.set_defaults(handler=run_analyze)

    purge = commands.add_parser(
        "purge",
        help="delete the stack's topics, consumer groups and state (lists them unless --yes)",
        description="For an operator who must destroy the data: delete the topics (posts, "
        "posts.classified, posts.detect, alerts, the dead letters and every topic of the app id), the "
        "consumer groups of the app id and the worker's state directory; --key also deletes the "
        "pseudonym key file. Without --yes nothing is deleted: the list is printed.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    purge.add_argument("--bootstrap", metavar="HOST:PORT", help="Kafka bootstrap server (127.0.0.1:9092)")
    purge.add_argument("--app-id", help="the app id whose groups and topics go (iran2009-pipeline)")
    purge.add_argument("--data-dir", type=Path, help="the worker's state directory (.pipeline-data)")
    purge.add_argument("--key", action="store_true", help="also delete the pseudonym key file")
    purge.add_argument("--yes", action="store_true", help="delete; without it, only list")
    purge.set_defaults(handler=run_purge)

    summary = commands.add_parser(
        "summary",
        help="print a one-line summary of a running worker's metrics",
        description="Read a worker's /metrics page and print posts consumed by platform and region, "
        "invalid records and the event time reached; --every repeats it until Ctrl-C.",
    )
    summary.add_argument(
        "--url", default="http://127.0.0.1:9108/metrics", help="metrics URL (default %(default)s)"
    )
    summary.add_argument("--every", type=float, metavar="SECONDS", help="repeat every SECONDS")
    summary.set_defaults(handler=run_summary)
    return parser


def run_worker(args: argparse.Namespace) -> int:
    from pipeline.stream.worker import run

    settings = Settings.from_env(
        bootstrap=args.bootstrap,
        posts_topic=args.posts_topic,
        metrics_port=args.metrics_port,
        metrics_host=args.metrics_host,
        app_id=args.app_id,
        data_dir=args.data_dir,
        log_level=args.log_level,
        exactly_once=args.exactly_once,
        detect=args.detect,
        classify=args.classify,
    )
    return run(settings)


def run_analyze(args: argparse.Namespace) -> int:
    from pipeline.analyze import run_analyze as analyze_feed

    return analyze_feed(
        args.feed,
        classified=args.classified,
        alerts=args.alerts,
        strict=args.strict,
        pseudonymize=args.pseudonymize,
    )


def run_purge(args: argparse.Namespace) -> int:
    from pipeline.purge import purge

    settings = Settings.from_env(bootstrap=args.bootstrap, app_id=args.app_id, data_dir=args.data_dir)
    return purge(settings, yes=args.yes, key=args.key)


def run_summary(args: argparse.Namespace) -> int:
    import time
    import urllib.request

    from pipeline.summary import summarize_metrics

    try:
        while True:
            try:
                with urllib.request.urlopen(args.url, timeout=5) as response:
                    text = response.read().decode()
            except OSError as exc:
                print(f"pipeline: cannot read {args.url}: {exc}", file=sys.stderr, flush=True)
                if args.every is None:
                    return 1
            else:
                print(summarize_metrics(text).line(), flush=True)
            if args.every is None:
                return 0
            time.sleep(args.every)
    except KeyboardInterrupt:
        return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ValueError as exc:  # bad settings from the environment
        print(f"pipeline: {exc}", file=sys.stderr)
        return 2
