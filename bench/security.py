"""SASL_SSL against PLAINTEXT on one broker, in one run: what TLS and SCRAM cost the clients.

    python -m bench.security [--posts 100000]

Starts its own secure broker (``KAFKA_SECURITY=sasl_ssl deploy/kafka/kafka.sh start``) with an extra
PLAINTEXT listener (``KAFKA_PLAINTEXT_PORT``; its anonymous principal gets ACLs on ``bench-*`` topics
only), then, alternating the listeners twice: the replayer's whole command at max speed (as admin over
SASL_SSL, anonymously over PLAINTEXT) and the bare aiokafka consumer over the same records. Prints the
posts/s of each and the SASL_SSL/PLAINTEXT ratios (best of two each), and writes them to
``--output`` (bench-security.json).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import orjson

from bench.baselines import run_aiokafka_consumer
from bench.broker import KAFKA_SH, Broker, free_port
from bench.replay_throughput import replay_max
from bench.workload import make_feed

SECURITY_VARIABLES = ("KAFKA_SECURITY", "KAFKA_USERNAME", "KAFKA_PASSWORD", "KAFKA_PASSWORD_FILE", "KAFKA_CA")


def say(text: str) -> None:
    print(f"bench.security: {text}", file=sys.stderr, flush=True)


def use(listener: str, secrets: Path) -> None:
    """Points this process's environment (which the measured subprocesses inherit) at a listener."""
    for name in SECURITY_VARIABLES:
        os.environ.pop(name, None)
    if listener == "sasl_ssl":
        os.environ.update(
            KAFKA_SECURITY="sasl_ssl",
            KAFKA_USERNAME="admin",
            KAFKA_PASSWORD_FILE=str(secrets / "admin.password"),
            KAFKA_CA=str(secrets / "ca.pem"),
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--output", type=Path, default=Path("bench-security.json"))
    args = parser.parse_args()
    saved = {name: os.environ.get(name) for name in SECURITY_VARIABLES}
    with tempfile.TemporaryDirectory(prefix="iran2009-bench-security-") as tmp:
        work = Path(tmp)
        broker = Broker(work / "kafka")
        plain_port = free_port()
        broker.env.update(KAFKA_SECURITY="sasl_ssl", KAFKA_PLAINTEXT_PORT=str(plain_port))
        for name in SECURITY_VARIABLES[1:]:
            broker.env.pop(name, None)
        secrets = work / "kafka" / "secrets"
        bootstrap = {"sasl_ssl": broker.bootstrap, "plaintext": f"127.0.0.1:{plain_port}"}
        rates: dict[str, list[float]] = {}
        try:
            broker.start()
            feed = work / "feed.jsonl"
            posts = make_feed(feed, args.posts)
            broker.wait()
            subprocess.run(
                ["bash", str(KAFKA_SH), "acls"],
                input="User:ANONYMOUS TOPIC PREFIXED bench- ALL\n",
                env=broker.env, capture_output=True, text=True, check=True, timeout=120,
            )  # fmt: skip
            say(
                f"{posts:,} posts; SASL_SSL on {bootstrap['sasl_ssl']}, PLAINTEXT on {bootstrap['plaintext']}"
            )
            for round_ in range(2):
                for listener in ("plaintext", "sasl_ssl"):
                    use(listener, secrets)
                    topic = f"bench-{listener}-{round_}"
                    seconds, _ = replay_max(bootstrap[listener], topic, feed, work / f"state-{topic}")
                    rates.setdefault(f"replay_{listener}_posts_per_s", []).append(posts / seconds)
                    counted, seconds = run_aiokafka_consumer(
                        bootstrap[listener], "bench-plaintext-0", posts, 300
                    )
                    rates.setdefault(f"aiokafka_consumer_{listener}_posts_per_s", []).append(
                        counted / seconds
                    )
                    say(
                        f"round {round_ + 1} {listener}: "
                        + ", ".join(f"{k} {v[-1]:,.0f}" for k, v in rates.items())
                    )
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            broker.stop()
    best = {name: round(max(values), 1) for name, values in rates.items()}
    results = {
        **best,
        "replay_sasl_ssl_vs_plaintext": round(
            best["replay_sasl_ssl_posts_per_s"] / best["replay_plaintext_posts_per_s"], 3
        ),
        "aiokafka_consumer_sasl_ssl_vs_plaintext": round(
            best["aiokafka_consumer_sasl_ssl_posts_per_s"] / best["aiokafka_consumer_plaintext_posts_per_s"],
            3,
        ),
        "posts": posts,
        "runs": {name: [round(v, 1) for v in values] for name, values in rates.items()},
    }
    args.output.write_bytes(orjson.dumps(results, option=orjson.OPT_INDENT_2) + b"\n")
    for name, value in results.items():
        if name != "runs":
            print(f"{name:45} {value:>12,}")
    say(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
