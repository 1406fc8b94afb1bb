"""The pure parts of ``make bench``: percentiles, the result record, the table, the partition prefix."""

from __future__ import annotations

import math

import pytest

from bench.report import (
    BY_WORKERS,
    MEASURES,
    RATIOS,
    RESULT_KEYS,
    build_results,
    check_results,
    format_number,
    format_table,
    percentile,
    rate,
)
from bench.workload import Message, partition_counts

MACHINE = {"cores": 2, "python": "3.11.7", "kafka": "4.1.1", "bench_posts": 1000}


def measured(**changes):
    values = {
        "replay_max_posts_per_s": 5000.0,
        "replay_kept_ids_posts_per_s": 5500.0,
        "kafka_python_producer_posts_per_s": 10000.0,
        "pipeline_posts_per_s": 7000.0,
        "faust_passthrough_posts_per_s": 1400.0,
        "aiokafka_consumer_posts_per_s": 150000.0,
        "analyze_posts_per_s": 13000.0,
        "classify_posts_per_s": 30000.0,
        "classify_lexicon_only_posts_per_s": 40000.0,
        "classify_batch_posts_per_s": 25000.0,
        "classify_batch_pseudonymized_posts_per_s": 24000.0,
        "e2e_latency_p50_ms": 12.345,
        "e2e_latency_p99_ms": 80.0,
        "pipeline_at_least_once_sample_posts_per_s": 7000.0,
        "pipeline_exactly_once_posts_per_s": 6300.0,
        "e2e_latency_exactly_once_p50_ms": 600.0,
        "e2e_latency_exactly_once_p99_ms": 1100.0,
        "scaling": {"1": 7000.0, "2": 9000.0},
        "scaling_classify_only": {"1": 7100.0, "2": 9500.0},
        "scaling_detect_cpu_share": {"1": 0.0814, "2": 0.0932},
        "scaling_without_detection": {"1": 8000.0, "2": 9800.0},
        "scaling_of_without_detection_share": {"1": 0.8712, "2": 0.9},
        "scaling_detect_apart_posts_per_s": 7400.0,
        "scaling_detect_apart_of_without_detection_share": 0.8912,
        "backlog_posts_per_s": 9000.0,
        "backlog_peak_rss_mb": 180.04,
    }
    values.update(changes)
    return values


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([5.0], 50, 5.0),
        ([5.0], 99, 5.0),
        ([1.0, 2.0, 3.0, 4.0], 50, 2.5),
        ([4.0, 1.0, 3.0, 2.0], 0, 1.0),  # order does not matter
        ([4.0, 1.0, 3.0, 2.0], 100, 4.0),
        (list(range(1, 101)), 99, 99.01),  # numpy's linear interpolation
        (list(range(1, 101)), 50, 50.5),
    ],
)
def test_percentile_interpolates_between_closest_ranks(values, q, expected):
    assert percentile(values, q) == pytest.approx(expected)


def test_percentile_refuses_nothing_and_out_of_range():
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def test_rate_is_zero_when_nothing_was_timed():
    assert rate(100, 0.0) == 0.0
    assert rate(100, 2.0) == 50.0


def test_results_have_exactly_the_required_keys_and_types():
    results = build_results(measured(), MACHINE)
    assert set(results) == RESULT_KEYS
    assert set(results) == {
        "replay_max_posts_per_s",
        "replay_kept_ids_posts_per_s",
        "kafka_python_producer_posts_per_s",
        "pipeline_posts_per_s",
        "faust_passthrough_posts_per_s",
        "aiokafka_consumer_posts_per_s",
        "analyze_posts_per_s",
        "classify_posts_per_s",
        "classify_lexicon_only_posts_per_s",
        "classify_batch_posts_per_s",
        "classify_batch_pseudonymized_posts_per_s",
        "e2e_latency_p50_ms",
        "e2e_latency_p99_ms",
        "pipeline_at_least_once_sample_posts_per_s",
        "pipeline_exactly_once_posts_per_s",
        "e2e_latency_exactly_once_p50_ms",
        "e2e_latency_exactly_once_p99_ms",
        "scaling",
        "scaling_classify_only",
        "scaling_detect_cpu_share",
        "scaling_without_detection",
        "scaling_of_without_detection_share",
        "scaling_detect_apart_posts_per_s",
        "scaling_detect_apart_of_without_detection_share",
        "backlog_posts_per_s",
        "backlog_peak_rss_mb",
        "machine",
        "replay_vs_producer",
        "pipeline_vs_faust_passthrough",
        "replay_pseudonymized_vs_kept",
        "classify_pseudonymized_vs_plain",
        "classify_model_vs_lexicon_only",
        "exactly_once_vs_at_least_once",
        "exactly_once_p99_vs_at_least_once",
    }
    for key in set(MEASURES) - BY_WORKERS:
        assert isinstance(results[key], float)
    assert results["scaling"] == {"1": 7000.0, "2": 9000.0}
    assert all(isinstance(v, float) for v in results["scaling"].values())
    assert results["scaling_detect_cpu_share"] == {"1": 0.081, "2": 0.093}  # a share keeps 3 digits
    assert results["machine"] == MACHINE
    assert results["replay_vs_producer"] == 0.5
    assert results["pipeline_vs_faust_passthrough"] == 5.0
    assert results["exactly_once_vs_at_least_once"] == 0.9
    assert results["e2e_latency_p50_ms"] == 12.35  # milliseconds keep two decimals
    assert results["backlog_peak_rss_mb"] == 180.0  # other measures keep one decimal


def test_ratios_are_their_measures_divided():
    results = build_results(measured(), MACHINE)
    for name, (numerator, denominator) in RATIOS.items():
        assert results[name] == pytest.approx(results[numerator] / results[denominator], rel=1e-3)


def test_a_zero_baseline_gives_a_zero_ratio_not_a_crash():
    results = build_results(measured(faust_passthrough_posts_per_s=0.0), MACHINE)
    assert results["pipeline_vs_faust_passthrough"] == 0.0


def test_scaling_keys_are_worker_counts_as_strings():
    results = build_results(measured(scaling={2: 9000, 1: 7000}), MACHINE)
    assert list(results["scaling"]) == ["1", "2"]


def test_missing_or_extra_measures_are_refused():
    values = measured()
    del values["classify_posts_per_s"]
    with pytest.raises(ValueError, match="classify_posts_per_s"):
        build_results(values, MACHINE)
    with pytest.raises(ValueError, match="surprise"):
        build_results(measured(surprise=1.0), MACHINE)


@pytest.mark.parametrize(
    "change",
    [
        {"pipeline_posts_per_s": "fast"},
        {"pipeline_posts_per_s": math.nan},
        {"pipeline_posts_per_s": True},
        {"scaling": {}},
        {"scaling": {"one": 1.0}},
        {"scaling": {"1": "x"}},
        {"scaling_classify_only": {}},
        {"scaling_classify_only": {"4": None}},
        {"machine": "a laptop"},
    ],
)
def test_check_results_refuses_wrong_types(change):
    results = build_results(measured(), MACHINE)
    results.update(change)
    with pytest.raises(ValueError):
        check_results(results)


def test_check_results_refuses_extra_keys():
    results = build_results(measured(), MACHINE)
    results["phases"] = {}
    with pytest.raises(ValueError, match="phases"):
        check_results(results)


def test_table_has_a_row_per_measure_and_ratio_with_notes_and_machine():
    results = build_results(measured(), MACHINE)
    table = format_table(results, {"pipeline_posts_per_s": "detection caught up by 3.0s"})
    lines = table.splitlines()
    assert lines[0].split() == ["measure", "value", "what"]
    for key in [*MEASURES, *RATIOS]:
        assert sum(line.startswith(key + " ") for line in lines) == 1, key
    row = next(line for line in lines if line.startswith("pipeline_posts_per_s "))
    assert "7,000" in row and row.endswith("; detection caught up by 3.0s")
    assert "1w=7,000  2w=9,000" in table
    assert "0.50" in next(line for line in lines if line.startswith("replay_vs_producer"))
    assert lines[-1] == "machine: cores=2, python=3.11.7, kafka=4.1.1, bench_posts=1000"
    # Values are right-aligned in one column, so the descriptions all start in the next one.
    rows = {key: next(line for line in lines if line.startswith(key + " ")) for key in MEASURES}
    assert len({row.index(MEASURES[key]) for key, row in rows.items()}) == 1


@pytest.mark.parametrize(
    ("value", "shown"), [(123456.7, "123,457"), (100.0, "100"), (12.345, "12.3"), (1.234, "1.23")]
)
def test_numbers_are_shown_with_sensible_precision(value, shown):
    assert format_number(value) == shown


def test_partition_counts_follow_kafka_pythons_partitioner():
    from kafka.partitioner.default import murmur2

    messages = [Message(f"p{n}", b"{}", f"author{n % 7}".encode(), n) for n in range(100)]
    counts = partition_counts(messages, 4)
    expected = [0] * 4
    for message in messages:
        expected[(murmur2(message.key) & 0x7FFFFFFF) % 4] += 1
    assert counts == expected and sum(counts) == 100
    assert partition_counts([*messages, Message("x", b"{}", None, 0)], 4) is None


def test_latency_posts_start_over_with_new_ids_past_the_end_of_the_feed():
    import orjson

    from bench.stack import _post_id, _take

    messages = [Message(f"p{n}", orjson.dumps({"id": f"p{n}", "text": "x"}), b"a", n) for n in range(3)]
    taken = _take(messages, 2, 5)
    assert [m.id for m in taken] == ["p2", "p0#2", "p1#2", "p2#2", "p0#3"]
    assert [orjson.loads(m.value)["id"] for m in taken] == [m.id for m in taken]
    assert [_post_id(m.value) for m in taken] == [m.id for m in taken]
    assert _post_id(b'{"text":"x","id":"late"}') == "late"
    assert _post_id(orjson.dumps({"id": 'a"b'})) == 'a"b'


def test_partition_last_timestamps_are_each_partitions_latest_record():
    from kafka.partitioner.default import murmur2

    from bench.workload import partition_last_timestamps

    messages = [
        Message(f"p{n}", b"{}", f"author{n % 5}".encode(), 1000 * ((n * 37) % 101)) for n in range(60)
    ]
    expected = [0] * 4
    for message in messages:
        partition = (murmur2(message.key) & 0x7FFFFFFF) % 4
        expected[partition] = max(expected[partition], message.timestamp_ms)
    assert partition_last_timestamps(messages, 4) == expected
    assert len(set(expected)) > 1  # the partitions do end at different times here
    assert partition_last_timestamps([*messages, Message("x", b"{}", None, 0)], 4) is None


def test_a_share_keeps_three_digits_and_a_rate_one():
    results = build_results(measured(), MACHINE)
    assert results["scaling_detect_apart_of_without_detection_share"] == 0.891
    assert results["scaling_of_without_detection_share"] == {"1": 0.871, "2": 0.9}
    assert results["scaling_detect_apart_posts_per_s"] == 7400.0
    assert results["e2e_latency_p50_ms"] == 12.35
