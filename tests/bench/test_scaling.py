"""What bench.scaling derives from a run's timing: rates, CPU a post, and the ratios against a run of
the same workers without detection. Pure, no broker."""

from __future__ import annotations

import pytest

from bench.scaling import Layout, ScalingRun, main
from bench.stack import Timing


def timing(posts: int, seconds: float, worker_cores: float, detect_cores: float = 0.0) -> Timing:
    cores = {"worker1": worker_cores * 0.75, "worker2": worker_cores * 0.25, "worker1-loop": 0.4}
    cores.update({"detect": detect_cores, "broker": 0.2, "bench": 0.01})
    return Timing(
        posts=posts, seconds=seconds, classified_seconds=seconds, detected_seconds=seconds, cores=cores
    )


def test_the_cpu_a_post_counts_whole_workers_only():
    run = ScalingRun.from_timing(2, 4, timing(100_000, 20.0, worker_cores=1.8, detect_cores=0.27))
    assert run.cpu_us_per_post == pytest.approx(1.8 * 20.0 / 100_000 * 1e6)  # not the loops, broker, bench
    assert run.detect_share == pytest.approx(0.27 / 1.8)
    assert run.of_without_detection is None and run.of_without_detection_by_cpu is None
    assert run.to_record()["of_without_detection_by_cpu"] is None


def test_the_ratios_against_a_run_without_detection():
    run = ScalingRun.from_timing(1, 4, timing(100_000, 25.0, worker_cores=1.8, detect_cores=0.3))
    run.without_detection_posts_per_s = 5000.0
    run.without_detection_cpu_us_per_post = 324.0
    assert run.classify_detect_posts_per_s == pytest.approx(4000.0)
    assert run.of_without_detection == pytest.approx(0.8)
    assert run.cpu_us_per_post == pytest.approx(450.0)
    assert run.of_without_detection_by_cpu == pytest.approx(0.72)
    record = run.to_record()
    assert record["of_without_detection"] == 0.8 and record["of_without_detection_by_cpu"] == 0.72
    assert "0.80 of it" in run.line() and "0.72 by CPU" in run.line()


def test_the_snapshots_the_workers_saved_go_into_the_record_and_the_line():
    measured = timing(100_000, 20.0, worker_cores=1.8, detect_cores=0.27)
    measured.detect_snapshots, measured.detect_snapshot_seconds = 9.0, 3.456
    run = ScalingRun.from_timing(1, 4, measured)
    record = run.to_record()
    assert record["snapshots"] == 9.0 and record["snapshot_seconds"] == 3.46
    assert "9 snapshots saved in 3.5 s" in run.line()


def test_the_collectors_cores_go_into_the_record_and_not_among_the_workers():
    measured = timing(100_000, 20.0, worker_cores=1.8, detect_cores=0.27)
    measured.cores["gc"] = 0.0456  # the workers' pipeline_gc_seconds_total: inside their loops' figures
    run = ScalingRun.from_timing(1, 4, measured)
    assert run.to_record()["gc_cores"] == 0.046
    assert run.cpu_us_per_post == pytest.approx(1.8 * 20.0 / 100_000 * 1e6)
    assert ScalingRun.from_timing(1, 4, timing(100_000, 20.0, 1.8)).to_record()["gc_cores"] == 0.0


def test_workers_that_only_detect_count_among_the_workers_cpu():
    measured = timing(100_000, 20.0, worker_cores=1.2, detect_cores=0.3)
    measured.cores["detector1"] = 0.6  # a CLASSIFY=0 worker: one process, no classifier processes
    run = ScalingRun.from_timing(2, 4, measured, detect_workers=1)
    assert run.cpu_us_per_post == pytest.approx(1.8 * 20.0 / 100_000 * 1e6)
    assert run.detect_share == pytest.approx(0.3 / 1.8)
    assert run.to_record()["detect_workers"] == 1
    assert run.line().startswith("2 workers classifying + 1 detecting only, 4 detect partitions:")
    assert ScalingRun.from_timing(2, 4, timing(100_000, 20.0, 1.8)).to_record()["detect_workers"] == 0


def test_a_merge_worker_is_named_in_the_record_and_the_line():
    run = ScalingRun.from_timing(2, 4, timing(100_000, 20.0, 1.8), detect_workers=0, merge_worker=True)
    assert run.to_record()["merge_worker"] is True
    assert run.line().startswith("2 workers + 1 holding the merge only, 4 detect partitions:")
    apart = ScalingRun.from_timing(2, 4, timing(100_000, 20.0, 1.8), detect_workers=3, merge_worker=True)
    assert apart.line().startswith("2 workers classifying + 3 detecting only + 1 holding the merge only,")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("default", Layout(0, False)),
        ("merge-worker", Layout(0, True)),
        ("detect-workers=3", Layout(3, False)),
        ("detect-workers=3,merge-worker", Layout(3, True)),
        (" merge-worker , detect-workers=2 ", Layout(2, True)),
    ],
)
def test_a_layout_is_read_from_its_text(text, expected):
    assert Layout.parse(text) == expected


@pytest.mark.parametrize("text", ["", "merge", "detect-workers=", "detect-workers=-1", "detect-workers=x"])
def test_a_layout_that_is_not_one_is_refused_with_what_is_wrong(text):
    with pytest.raises(ValueError, match="is not default, merge-worker or detect-workers=K"):
        Layout.parse(text)


def test_layouts_replace_the_single_layout_flags_and_a_bad_one_is_named(capsys):
    with pytest.raises(SystemExit):
        main(["--layout", "merge-worker", "--detect-workers", "2"])
    assert "--layout replaces --detect-workers and --merge-worker" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--layout", "default", "--layout", "merge"])
    assert "--layout 'merge': 'merge' is not default" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--layout", "merge-worker", "--layout", "detect-workers=0,merge-worker"])
    assert "a layout is given twice" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--layout", "default", "--layout", "merge-worker", "--partitions", "1"])
    assert "--merge-worker needs a merge" in capsys.readouterr().err
