#!/usr/bin/env bash
# The scaling run on the 16-core device machine (no Java, no Maven, no internet), from what
# scripts/device/bundle.sh packed into .device/:
#
#   run(carry=[".device"], timeout_s=590, command="bash scripts/device/scaling.sh --workers 8,1
#       --partitions 16 --posts 1000000 --without-detection --layout default --layout merge-worker")
#
# Unpacks the JRE and the Kafka jars, installs the carried wheels into a folder of their own (numpy and
# scipy are the machine's own: checked first, so a machine without them costs seconds, not a run), then
# runs `python -m bench.scaling` with the arguments given (see its --help) and writes its JSON under $OUT
# (scaling-<time>.json unless --output is given), with the machine's facts beside it (device-facts.json).
# Setting up is done once per machine: a second call on the same warm machine starts the run at once.
#
# Rehearse it here before spending device time, with a Python 3.12 that has numpy and scipy:
#   bash scripts/device/bundle.sh
#   python3.12 -m venv /tmp/py312 && /tmp/py312/bin/pip install numpy scipy
#   OUT=/tmp/out DEVICE_PYTHON=/tmp/py312/bin/python bash scripts/device/scaling.sh --workers 1 --posts 20000
#
#   DEVICE_PYTHON [python3]   DEVICE_BUNDLE [.device]   DEVICE_HOME [/tmp/iran2009-device]: where it is unpacked
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bundle="${DEVICE_BUNDLE:-$repo/.device}"
home="${DEVICE_HOME:-/tmp/iran2009-device}"
python="${DEVICE_PYTHON:-python3}"
out="${OUT:-$repo}"

say() { echo "device: $*" >&2; }
die() { say "$*"; exit 1; }

case "${1:-}" in -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;; esac

[ -f "$bundle/jre.tar.xz" ] || die "no $bundle/jre.tar.xz: run scripts/device/bundle.sh here, and carry .device"
command -v "$python" >/dev/null 2>&1 || die "$python not found (DEVICE_PYTHON)"
command -v openssl >/dev/null 2>&1 || die "openssl not found: kafka.sh makes the broker's certificates with it"
py_version="$(cat "$bundle/PYTHON_VERSION")"
"$python" -c "import sys; sys.exit(f'{sys.version_info[0]}.{sys.version_info[1]}' != '$py_version')" ||
  die "the wheels in .device are for Python $py_version, $python is $("$python" -V 2>&1): DEVICE_PYTHON_VERSION=<its version> bash scripts/device/bundle.sh"
"$python" -c 'import numpy, scipy.integrate' ||
  die "numpy and scipy are not on this machine (datasketch needs them) and are too big to carry"

kafka_version="$(cat "$bundle/KAFKA_VERSION")"
if [ ! -f "$home/.complete" ]; then
  started=$SECONDS
  rm -rf "$home"
  mkdir -p "$home"
  tar -C "$home" -xJf "$bundle/jre.tar.xz"
  tar -C "$home" -xJf "$bundle/kafka.tar.xz"
  touch "$home/kafka-libs/.complete"  # kafka.sh: the jars are there, Maven is not needed
  "$python" -m pip install -q --disable-pip-version-check --no-index --no-deps --target "$home/site" \
    "$bundle"/wheels/*.whl
  touch "$home/.complete"
  say "set up in $home in $((SECONDS - started)) s"
fi

export JAVA_HOME="$home/jre"
export PATH="$home/jre/bin:$bundle/bin:$PATH"
export KAFKA_VERSION="$kafka_version" KAFKA_LIBS="$home/kafka-libs"
export PYTHONPATH="$home/site:$repo${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1

mkdir -p "$out"
"$python" - "$out/device-facts.json" <<'EOF'
import json, os, platform, shutil, subprocess, sys
java = subprocess.run(["java", "-version"], capture_output=True, text=True).stderr.splitlines()[0]
facts = {
    "cpus": os.cpu_count(),
    "python": sys.version.split()[0],
    "platform": platform.platform(),
    "java": f"{shutil.which('java')}: {java}",
    "kafka_libs": os.environ["KAFKA_LIBS"],
}
json.dump(facts, open(sys.argv[1], "w"), indent=1)
print("device:", json.dumps(facts), file=sys.stderr)
EOF

args=("$@")
case " $* " in *" --output "* | *" --output="*) ;; *) args+=(--output "$out/scaling-$(date +%H%M%S).json") ;; esac
cd "$repo"
exec "$python" -m bench.scaling "${args[@]}"
