#!/usr/bin/env bash
# Packs what the scaling run needs on the 16-core device machine, which has Python 3.12 but no Java, no
# Maven and no internet (../shared/DEVICE.md), into .device/ (git-ignored; the device tool carries it when
# named in `carry`, 64 MiB at most):
#
#   jre.tar.xz     a JRE made with jlink from this machine's JDK (the broker, StorageTool, the probes)
#   kafka.tar.xz   the Kafka jars from the local cache, their native libraries cut to linux amd64, stored
#   wheels/        the project's runtime dependencies as CPython 3.12 manylinux wheels, at the versions
#                  installed in .venv, except numpy and scipy (52 MB: over the budget; the device has them,
#                  scripts/device/scaling.sh checks)
#   bin/mvn        a stub: kafka.sh checks for Maven, which it needs only when the jars are missing
#
# Then, on the device:  bash scripts/device/scaling.sh --workers 1,2,4,8 --partitions 16 --posts 1000000
# (run(carry=[".device"], ...); scripts/device/scaling.sh --help). Rehearse it here first with
# DEVICE_PYTHON=<a python 3.12> bash scripts/device/scaling.sh ... (see its header).
#
#   DEVICE_PYTHON_VERSION [3.12]   the device's Python, for the wheels
#   DEVICE_BUNDLE [.device]        where to pack it
#   KAFKA_VERSION, KAFKA_LIBS      as deploy/kafka/kafka.sh (its `libs` resolves the jars if missing)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="${DEVICE_BUNDLE:-$repo/.device}"
py_version="${DEVICE_PYTHON_VERSION:-3.12}"
budget_bytes=$((64 * 1024 * 1024))

say() { echo "device-bundle: $*" >&2; }
die() { say "$*"; exit 1; }

command -v jlink >/dev/null 2>&1 || die "jlink not found: install a JDK 17+ (Debian: openjdk-17-jdk-headless)"
[ -x "$repo/.venv/bin/pip" ] || die "no .venv: run make install first"
kafka_version="" kafka_libs=""
while IFS='=' read -r key value; do
  case "$key" in KAFKA_VERSION) kafka_version="$value" ;; KAFKA_LIBS) kafka_libs="$value" ;; esac
done < <(bash "$repo/deploy/kafka/kafka.sh" libs)
[ -n "$kafka_version" ] && [ -n "$kafka_libs" ] || die "deploy/kafka/kafka.sh libs named no Kafka jars"

rm -rf "$out/jre.tar.xz" "$out/kafka.tar.xz" "$out/wheels" "$out/bin"  # only what it writes
mkdir -p "$out/bin" "$out/wheels"
work="$(mktemp -d)"
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT

# jdk.compiler: kafka.sh runs BrokerProbe.java and SecureAdmin.java as source files.
# java.desktop: java.beans, which commons-beanutils (the broker's config validation) needs.
say "JRE (jlink) ..."
jlink --add-modules java.base,java.compiler,jdk.compiler,java.desktop,java.instrument,java.logging,java.management,java.management.rmi,java.naming,java.net.http,java.rmi,java.scripting,java.security.jgss,java.security.sasl,java.sql,java.xml,jdk.crypto.ec,jdk.management,jdk.unsupported,jdk.zipfs \
  --strip-debug --no-header-files --no-man-pages --compress=0 --output "$work/jre"
# xz at its best level takes a minute for each archive: the JRE's runs beside the rest.
XZ_OPT=-9 tar -C "$work" -cJf "$out/jre.tar.xz" jre &
jre_packing=$!

say "Kafka $kafka_version jars, native libraries for linux amd64 only ..."
mkdir -p "$work/kafka-libs"
cp "$kafka_libs"/*.jar "$work/kafka-libs/"
"$repo/.venv/bin/python" - "$work/kafka-libs" <<'EOF'
import sys, zipfile
from pathlib import Path

# zstd-jni and snappy-java carry a native library per OS and CPU; the device is linux x86-64. Every jar
# is stored uncompressed, so that xz compresses across the files, not a jar's deflated bytes.
KEEP = ("linux/amd64/", "org/xerial/snappy/native/Linux/x86_64/")
NATIVE = (".so", ".dll", ".dylib", ".jnilib", ".a")
for jar in Path(sys.argv[1]).glob("*.jar"):
    stored = jar.with_suffix(".stored")
    with zipfile.ZipFile(jar) as src, zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as dst:
        for item in src.infolist():
            if item.filename.endswith(NATIVE) and not any(k in item.filename for k in KEEP):
                continue
            data = src.read(item)
            item.compress_type = zipfile.ZIP_STORED
            dst.writestr(item, data)
    stored.replace(jar)
EOF
XZ_OPT=-9 tar -C "$work" -cJf "$out/kafka.tar.xz" kafka-libs &
kafka_packing=$!

say "wheels for CPython $py_version ..."
"$repo/.venv/bin/python" - "$repo/pyproject.toml" >"$work/requirements.txt" <<'EOF'
import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["project"]["dependencies"]))
EOF
"$repo/.venv/bin/pip" freeze --exclude-editable | grep -v -i -E '^(numpy|scipy)==' >"$work/constraints.txt"
abi="cp${py_version/./}"
platforms=()
for platform in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 \
  manylinux_2_5_x86_64 manylinux1_x86_64; do
  platforms+=(--platform "$platform")
done
"$repo/.venv/bin/pip" download -q --disable-pip-version-check --only-binary=:all: \
  --python-version "$py_version" --implementation cp --abi "$abi" "${platforms[@]}" \
  -r "$work/requirements.txt" -c "$work/constraints.txt" -d "$work/wheels"
for wheel in "$work"/wheels/*.whl; do
  case "$(basename "$wheel")" in numpy-* | scipy-*) ;; *) cp "$wheel" "$out/wheels/" ;; esac
done

cat >"$out/bin/mvn" <<'EOF'
#!/bin/sh
# A stub: kafka.sh checks that Maven is there; the jars it would resolve are carried in kafka.tar.xz.
echo "mvn is not available on this machine (the Kafka jars are carried in .device/kafka.tar.xz)" >&2
exit 1
EOF
chmod +x "$out/bin/mvn"
printf '%s\n' "$kafka_version" >"$out/KAFKA_VERSION"
printf '%s\n' "$py_version" >"$out/PYTHON_VERSION"
wait "$jre_packing"
wait "$kafka_packing"

size="$(du -sb "$out" | cut -f1)"
say "$(du -sh "$out" | cut -f1) in $out: jre $(du -h "$out/jre.tar.xz" | cut -f1), kafka $(du -h "$out/kafka.tar.xz" | cut -f1), $(ls "$out/wheels" | wc -l) wheels $(du -sh "$out/wheels" | cut -f1)"
[ "$size" -le "$budget_bytes" ] || die "$size bytes: over the 64 MiB the device tool carries"
