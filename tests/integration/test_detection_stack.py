"""Detection on the real stack equals the offline oracle, whatever the replay speed or the worker count."""

from __future__ import annotations

import os
import subprocess

import orjson
import pytest
from kafka import KafkaConsumer

from tests.integration.conftest import Scenario, build_scenario
from tests.support import python_module, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

HOURS = 8  # long enough for warm-up and several episodes, short enough to stream in about half a minute


@pytest.fixture(scope="module")
def scenario(tmp_path_factory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("scenario"), HOURS)


@pytest.fixture(scope="module")
def accounts_scenario(tmp_path_factory) -> Scenario:
    return build_scenario(tmp_path_factory.mktemp("accounts"), HOURS, accounts=True)


def stream(
    kafka_bootstrap,
    workers,
    scenario: Scenario,
    tmp_path,
    *,
    worker_count: int,
    speed: str,
    prefix: str = "det",
    detect_partitions: int = 1,
    environments: list[dict[str, str]] | None = None,
    running: list | None = None,
) -> list[dict]:
    """The alerts of ``worker_count`` workers over the scenario (``environments``: each worker's extra
    settings; ``running``: gets the workers)."""
    # The name is the topics' and the group's: each test (prefix, speed, workers, shards) has its own.
    name = f"{prefix}-{speed}-{worker_count}-{detect_partitions}"
    environments = environments or [{}] * worker_count
    started = [
        workers(name, partitions=4, detect_partitions=detect_partitions, environment=environment)
        for environment in environments
    ]
    if running is not None:
        running.extend(started)
    running = started
    first = running[0]
    sent = subprocess.run(
        python_module("replay", "send", str(scenario.feed), "--bootstrap", kafka_bootstrap,
                      "--topic", first.topic, "--partitions", "4", "--speed", speed, "--quiet",
                      "--state", str(tmp_path)),
        capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr

    def caught_up() -> bool:
        readings = [w.metrics() for w in running]
        consumed = sum(r.get("pipeline_posts_consumed_total", 0) for r in readings)
        watermark = max(r.get("pipeline_watermark_seconds", 0) for r in readings)
        return consumed >= scenario.posts and watermark >= scenario.final_watermark

    wait_until(caught_up, timeout=600, what="the workers to process the whole feed", interval=1.0)
    consumer = KafkaConsumer(
        first.alerts_topic,
        bootstrap_servers=kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=5000,
    )
    alerts = [orjson.loads(record.value) for record in consumer]
    consumer.close()
    return alerts


def canonical(alerts: list[dict]) -> list[bytes]:
    return sorted(orjson.dumps(alert, option=orjson.OPT_SORT_KEYS) for alert in alerts)


def stream_layout(
    kafka_bootstrap,
    workers,
    scenario: Scenario,
    tmp_path,
    *,
    prefix: str,
    detect_partitions: int,
    environments: list[dict[str, str]],
) -> tuple[list[dict[str, float]], list]:
    """One worker per entry of ``environments`` at max speed: asserts their alerts are the oracle's;
    returns each worker's metrics at the end, and the workers."""
    running: list = []
    streamed = stream(
        kafka_bootstrap, workers, scenario, tmp_path, worker_count=len(environments), speed="max",
        prefix=prefix, detect_partitions=detect_partitions, environments=environments, running=running,
    )  # fmt: skip
    assert canonical(streamed) == canonical(scenario.alerts)
    return [worker.metrics() for worker in running], running


def test_the_oracle_raises_alerts_on_this_scenario(scenario):
    assert {alert["type"] for alert in scenario.alerts} >= {"outage", "filtering", "surge"}


def test_streaming_alerts_equal_analyze_at_max_speed_with_one_worker(
    kafka_bootstrap, workers, scenario, tmp_path
):
    streamed = stream(kafka_bootstrap, workers, scenario, tmp_path, worker_count=1, speed="max")
    assert canonical(streamed) == canonical(scenario.alerts)


def test_two_workers_raise_the_same_alerts(kafka_bootstrap, workers, scenario, tmp_path):
    streamed = stream(kafka_bootstrap, workers, scenario, tmp_path, worker_count=2, speed="max")
    assert canonical(streamed) == canonical(scenario.alerts)


def test_a_paced_replay_raises_the_same_alerts(kafka_bootstrap, workers, scenario, tmp_path):
    # 8 event hours at 600x take 48 s of wall time: pacing and batching differ from --speed max.
    streamed = stream(kafka_bootstrap, workers, scenario, tmp_path, worker_count=1, speed="600")
    assert canonical(streamed) == canonical(scenario.alerts)


def test_the_oracle_raises_the_account_alerts_on_the_accounts_scenario(accounts_scenario):
    assert {alert["type"] for alert in accounts_scenario.alerts} >= {"deletion", "coordination", "relocation"}


@pytest.mark.parametrize("worker_count", [1, 2])
def test_account_alerts_equal_analyze_with_deletion_notices_in_the_feed(
    kafka_bootstrap, workers, accounts_scenario, tmp_path, worker_count
):
    streamed = stream(
        kafka_bootstrap,
        workers,
        accounts_scenario,
        tmp_path,
        worker_count=worker_count,
        speed="max",
        prefix="accounts",
    )
    assert canonical(streamed) == canonical(accounts_scenario.alerts)


@pytest.mark.parametrize(("worker_count", "detect_partitions"), [(1, 4), (2, 2), (3, 4)])
def test_sharded_detection_raises_the_alerts_of_analyze(
    kafka_bootstrap, workers, scenario, tmp_path, worker_count, detect_partitions
):
    # DETECT_PARTITIONS shards over the workers, a merge on one of them: exactly the oracle's alerts.
    streamed = stream(
        kafka_bootstrap,
        workers,
        scenario,
        tmp_path,
        worker_count=worker_count,
        speed="max",
        prefix="shards",
        detect_partitions=detect_partitions,
    )
    assert canonical(streamed) == canonical(scenario.alerts)


def test_a_worker_with_detect_off_classifies_and_leaves_detection_to_the_others(
    kafka_bootstrap, workers, scenario, tmp_path
):
    # DETECT=0: a classifying worker beside one that detects (its shards and the merge all on the other).
    (classifying, detecting), running = stream_layout(
        kafka_bootstrap, workers, scenario, tmp_path, prefix="nodetect", detect_partitions=2,
        environments=[{"DETECT": "0"}, {}],
    )  # fmt: skip
    assert classifying.get("pipeline_posts_consumed_total", 0) > 0  # it took its share of the posts
    assert detecting.get("pipeline_posts_consumed_total", 0) > 0
    assert classifying.get("pipeline_detect_records_total", 0) == 0
    assert detecting.get("pipeline_detect_records_total", 0) > 0
    assert "DETECT=0: this worker classifies only" in running[0].log_path.read_text()


def test_classifying_and_detecting_can_run_in_workers_of_their_own(
    kafka_bootstrap, workers, scenario, tmp_path
):
    # DETECT=0 beside CLASSIFY=0: one worker classifies every post, the other holds every shard and the
    # merge without reading a post, and the alerts are still the oracle's. The detecting worker is given
    # no pseudonym key and a key file it could neither read nor create: it must never need one.
    no_key = {"AUTHOR_KEY": "", "AUTHOR_KEY_FILE": "/proc/no-such-directory/author.key"}
    (classifying, detecting), running = stream_layout(
        kafka_bootstrap, workers, scenario, tmp_path, prefix="apart", detect_partitions=4,
        environments=[{"DETECT": "0"}, {"CLASSIFY": "0", **no_key}],
    )  # fmt: skip
    assert classifying.get("pipeline_posts_consumed_total", 0) >= scenario.posts
    assert detecting.get("pipeline_posts_consumed_total", 0) == 0
    assert classifying.get("pipeline_detect_records_total", 0) == 0
    assert detecting.get("pipeline_detect_records_total", 0) > 0
    assert detecting.get("pipeline_detect_owner", 0) == 1  # the merge too
    log = running[1].log_path.read_text()
    assert "CLASSIFY=0: this worker detects only" in log
    assert f"consuming {running[1].topic.removesuffix('.posts')}.detect@" in log


def test_the_merge_can_have_a_worker_of_its_own(kafka_bootstrap, workers, scenario, tmp_path):
    # One worker classifies, one holds the four shards only, one the merge only (DETECT_ROLES).
    (_, shards, merge), running = stream_layout(
        kafka_bootstrap, workers, scenario, tmp_path, prefix="roles", detect_partitions=4,
        environments=[
            {"DETECT": "0"},
            {"CLASSIFY": "0", "DETECT_ROLES": "shards"},
            {"CLASSIFY": "0", "DETECT_ROLES": "merge"},
        ],
    )  # fmt: skip
    assert (shards.get("pipeline_detect_shards", 0), shards.get("pipeline_detect_owner", 0)) == (4, 0)
    assert (merge.get("pipeline_detect_shards", 0), merge.get("pipeline_detect_owner", 0)) == (0, 1)
    assert "holds the merge only; another worker must hold the shards" in running[2].log_path.read_text()


def test_sharded_account_alerts_equal_analyze(kafka_bootstrap, workers, accounts_scenario, tmp_path):
    # Deletions, relocations and coordination are per author: each shard holds its authors whole.
    streamed = stream(
        kafka_bootstrap,
        workers,
        accounts_scenario,
        tmp_path,
        worker_count=2,
        speed="max",
        prefix="accounts",
        detect_partitions=4,
    )
    assert canonical(streamed) == canonical(accounts_scenario.alerts)


def test_a_worker_refuses_a_detect_partitions_other_than_its_topics(kafka_bootstrap, tmp_path):
    # posts.detect made with 2 partitions, the worker told 4: it must say so in one line and exit 1,
    # not write to shards that do not exist.
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    name = "layout"
    admin = KafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    admin.create_topics([NewTopic(f"{name}.detect", num_partitions=2, replication_factor=1)])
    admin.close()
    env = {**os.environ, "DETECT_TOPIC": f"{name}.detect", "POSTS_PARTITIONS": "4", "DETECT_PARTITIONS": "4"}
    started = subprocess.run(
        python_module("pipeline", "worker", "--bootstrap", kafka_bootstrap, "--topic", f"{name}.posts",
                      "--app-id", f"{name}-app", "--metrics-port", "0",
                      "--data-dir", str(tmp_path / "faust")),
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert started.returncode == 1, started.stderr[-2000:]
    lines = [line for line in started.stderr.splitlines() if "DETECT_PARTITIONS" in line]
    assert lines == [
        f"pipeline: {name}.detect has 2 partitions but DETECT_PARTITIONS=4; set DETECT_PARTITIONS=2, "
        "or change the layout as README 'Changing DETECT_PARTITIONS' says (stop every worker, delete "
        f"{name}.detect, posts.detect.parts and the detection snapshot topics)"
    ]
