"""scripts/device: the bundle for the 16-core scaling run, and the run from it, rehearsed here.

The device has no Java, no Maven and no internet, and 15 minutes in all, so what it is given must work
the first time: packed here for this machine's Python (the device's is 3.12), then unpacked and run with
the carried JRE and wheels first on every path, on a real broker, as the device would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BUNDLE_SH = REPO / "scripts" / "device" / "bundle.sh"
SCALING_SH = REPO / "scripts" / "device" / "scaling.sh"
PY_VERSION = f"{sys.version_info[0]}.{sys.version_info[1]}"
BUDGET = 64 * 1024 * 1024


def run(script: Path, *args: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(script), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


def test_the_run_refuses_in_one_line_without_a_bundle(tmp_path):
    result = run(SCALING_SH, "--workers", "1", env={"DEVICE_BUNDLE": str(tmp_path / "none")}, timeout=30)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"device: no {tmp_path / 'none'}/jre.tar.xz: run scripts/device/bundle.sh here, and carry .device"
    ]


def test_help_explains_how_to_call_it_on_the_device():
    result = run(SCALING_SH, "--help", env={}, timeout=30)
    assert result.returncode == 0
    assert 'run(carry=[".device"]' in result.stdout
    assert "bench.scaling" in result.stdout


@pytest.mark.integration
def test_the_bundle_fits_and_runs_the_scaling_bench_with_what_it_carries(tmp_path):
    bundle, home, out = tmp_path / "bundle", tmp_path / "home", tmp_path / "out"
    packed = run(
        BUNDLE_SH,
        env={"DEVICE_BUNDLE": str(bundle), "DEVICE_PYTHON_VERSION": PY_VERSION},
        timeout=600,
    )
    assert packed.returncode == 0, packed.stderr

    size = sum(path.stat().st_size for path in bundle.rglob("*") if path.is_file())
    assert size <= BUDGET, f"{size} bytes: the device tool carries 64 MiB"
    wheels = {path.name.split("-")[0].lower() for path in (bundle / "wheels").glob("*.whl")}
    assert {"faust_streaming", "aiokafka", "kafka_python", "orjson", "zstandard", "datasketch"} <= wheels
    assert not wheels & {"numpy", "scipy"}  # too big: the device's own
    with tarfile.open(bundle / "kafka.tar.xz") as archive:
        names = archive.getnames()
        zstd = next(name for name in names if Path(name).name.startswith("zstd-jni"))
        with zipfile.ZipFile(archive.extractfile(zstd)) as jar:  # type: ignore[arg-type]
            natives = [name for name in jar.namelist() if name.endswith((".so", ".dll", ".dylib"))]
    assert natives and all(name.startswith("linux/amd64/") for name in natives)

    ran = run(
        SCALING_SH,
        "--workers", "1", "--partitions", "2", "--posts", "20000", "--without-detection",
        "--layout", "default", "--layout", "merge-worker",
        env={
            "DEVICE_BUNDLE": str(bundle),
            "DEVICE_HOME": str(home),
            "DEVICE_PYTHON": sys.executable,
            "OUT": str(out),
        },
        timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-4000:]
    facts = json.loads((out / "device-facts.json").read_text())
    assert facts["java"].startswith(f"{home}/jre/bin/java:")  # the carried JRE, not this machine's JDK
    assert facts["kafka_libs"] == f"{home}/kafka-libs"
    (result,) = out.glob("scaling-*.json")
    results = json.loads(result.read_text())
    assert results["posts"] == 20000
    # The bench returns only once the worker has classified every post and detection has reached the
    # end of the feed. (So few posts can all be classified before the group settles, and the clock, which
    # starts then, times none: the rates of a run this small are not asserted.)
    runs = results["runs"]
    assert [(r["workers"], r["merge_worker"]) for r in runs] == [(1, False), (1, True)]
    # A run that timed nothing says so, rather than leaving rates of 0 to be read as measured.
    assert all(r["posts"] > 0 for r in runs) or "no post was timed" in ran.stderr
    # One run without detection serves both layouts.
    assert runs[0]["without_detection_posts_per_s"] == runs[1]["without_detection_posts_per_s"]
