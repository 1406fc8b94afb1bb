#!/usr/bin/env bash
# Runs a real single-node Apache Kafka (KRaft, broker+controller) on 127.0.0.1 without Docker.
#
#   deploy/kafka/kafka.sh install   resolve the broker jars from Maven Central into the cache
#   deploy/kafka/kafka.sh start     install, format storage if needed, start, wait for metadata;
#                                   the LAST line printed is KAFKA_BOOTSTRAP=127.0.0.1:<port>
#   deploy/kafka/kafka.sh stop      stop the broker started from $KAFKA_DATA; no process is left
#   deploy/kafka/kafka.sh status    print up/down (exit 0 when up, 3 when down)
#   deploy/kafka/kafka.sh logs      follow the broker log
#
# Environment (defaults in brackets):
#   KAFKA_PORT [9092]   KAFKA_CONTROLLER_PORT [KAFKA_PORT+1]   KAFKA_DATA [<repo>/.kafka]
#   KAFKA_VERSION [4.1.1]   KAFKA_LIBS [~/.cache/iran2009/kafka-<version>]
#   KAFKA_HEAP_OPTS [-Xms256m -Xmx1g]   KAFKA_START_TIMEOUT [120] seconds
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_PORT="${KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${KAFKA_CONTROLLER_PORT:-$((KAFKA_PORT + 1))}"
KAFKA_DATA="${KAFKA_DATA:-$repo/.kafka}"
KAFKA_LIBS="${KAFKA_LIBS:-${XDG_CACHE_HOME:-$HOME/.cache}/iran2009/kafka-$KAFKA_VERSION}"
KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms256m -Xmx1g}"
KAFKA_START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"

pid_file="$KAFKA_DATA/kafka.pid"
config="$KAFKA_DATA/server.properties"
log_dir="$KAFKA_DATA/logs"
bootstrap="127.0.0.1:$KAFKA_PORT"

say() { echo "kafka.sh: $*" >&2; }
die() { say "$*"; exit 1; }

require() {
  command -v java >/dev/null 2>&1 ||
    die "java not found: install a JDK 17+ (Debian: apt-get install openjdk-17-jdk-headless)"
  command -v mvn >/dev/null 2>&1 ||
    die "mvn not found: install Maven (Debian: apt-get install maven)"
}

install_jars() {
  require
  [ -f "$KAFKA_LIBS/.complete" ] && return 0
  mkdir -p "$(dirname "$KAFKA_LIBS")"
  # Two parallel starts (say, two test sessions) must not interleave their copies.
  exec 9>"$KAFKA_LIBS.lock"
  flock 9
  if [ ! -f "$KAFKA_LIBS/.complete" ]; then
    say "resolving Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_LIBS ..."
    local staging="$KAFKA_LIBS.staging.$$"
    rm -rf "$staging"
    if ! mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -Dkafka.version="$KAFKA_VERSION" \
        dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$staging" >&2; then
      rm -rf "$staging"
      die "could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION with Maven (see the error above)"
    fi
    rm -rf "$KAFKA_LIBS"
    mv "$staging" "$KAFKA_LIBS"
    touch "$KAFKA_LIBS/.complete"
  fi
  flock -u 9
}

classpath() { echo "$KAFKA_LIBS/*"; }

# The pid in $pid_file, if it is a live broker started with our config.
running_pid() {
  [ -f "$pid_file" ] || return 1
  local pid
  pid="$(cat "$pid_file")"
  [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 1
  tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "kafka.Kafka $config" || return 1
  echo "$pid"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

probe() {  # $1 = timeout seconds; succeeds once the broker answers a metadata request
  java -Dlog4j2.level=OFF -cp "$(classpath)" "$here/BrokerProbe.java" "$bootstrap" "$1" >/dev/null
}

write_config() {
  mkdir -p "$log_dir"
  sed -e "s|@PORT@|$KAFKA_PORT|g" \
      -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
      -e "s|@LOG_DIRS@|$KAFKA_DATA/data|g" \
      "$here/server.properties.template" >"$config"
}

format_storage() {
  [ -f "$KAFKA_DATA/data/meta.properties" ] && return 0
  local cluster_id
  cluster_id="$(java -cp "$(classpath)" kafka.tools.StorageTool random-uuid)"
  say "formatting KRaft storage in $KAFKA_DATA/data (cluster $cluster_id)"
  java -Dlog4j2.level=WARN -cp "$(classpath)" kafka.tools.StorageTool format \
    -t "$cluster_id" -c "$config" --ignore-formatted >&2
}

start() {
  install_jars
  if pid="$(running_pid)"; then
    probe 30 || die "broker pid $pid is running but does not answer on $bootstrap; see $log_dir/server.log"
    echo "KAFKA_BOOTSTRAP=$bootstrap"
    return 0
  fi
  for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
    port_open "$port" && die "port $port is already in use by another process; set KAFKA_PORT to a free port"
  done
  write_config
  format_storage
  local started
  started="$(date +%s)"
  # setsid: the broker outlives the shell that started it, and a Ctrl-C meant for make stays there.
  KAFKA_HEAP_OPTS="$KAFKA_HEAP_OPTS" setsid java $KAFKA_HEAP_OPTS -XX:+UseG1GC \
    -Dkafka.logs.dir="$log_dir" -Dlog4j2.configurationFile="$here/log4j2.yaml" \
    -cp "$(classpath)" kafka.Kafka "$config" >"$log_dir/kafka.out" 2>&1 </dev/null &
  echo $! >"$pid_file"
  say "started broker pid $! on $bootstrap (data in $KAFKA_DATA); waiting for it to answer ..."
  if ! probe "$KAFKA_START_TIMEOUT"; then
    say "broker did not answer within ${KAFKA_START_TIMEOUT}s; last lines of $log_dir/kafka.out:"
    tail -n 20 "$log_dir/kafka.out" >&2 || true
    stop >/dev/null 2>&1 || true
    exit 1
  fi
  say "broker answered after $(( $(date +%s) - started ))s"
  echo "KAFKA_BOOTSTRAP=$bootstrap"
}

stop() {
  local pid
  if ! pid="$(running_pid)"; then
    rm -f "$pid_file"
    say "broker is not running (data in $KAFKA_DATA)"
    return 0
  fi
  kill -TERM "$pid" 2>/dev/null || true
  # A clean shutdown takes a few seconds; after 30 s it is killed so nothing is left behind.
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "broker pid $pid did not stop in 30s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pid_file"
  say "broker pid $pid stopped"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    echo "up (pid $pid, $bootstrap, data in $KAFKA_DATA)"
  else
    echo "down (data in $KAFKA_DATA)"
    return 3
  fi
}

case "${1:-}" in
  install) install_jars; say "Kafka $KAFKA_VERSION jars in $KAFKA_LIBS" ;;
  start) start ;;
  stop) stop ;;
  status) status ;;
  logs) exec tail -F "$log_dir/server.log" ;;
  -h | --help | help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' ;;
  *) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac
