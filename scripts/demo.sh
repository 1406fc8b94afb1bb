#!/usr/bin/env bash
# make demo: Kafka + one worker + the seed feed replayed in about DEMO_SECONDS, with a live summary.
# Ctrl-C at any point stops everything this script started.
set -euo pipefail
cd "$(dirname "$0")/.."

PY="${VENV:-.venv}/bin/python"
KAFKA=deploy/kafka/kafka.sh
METRICS_PORT="${METRICS_PORT:-9108}"
DEMO_SECONDS="${DEMO_SECONDS:-60}"
metrics_url="http://127.0.0.1:$METRICS_PORT/metrics"

started_kafka=0
worker_pid=""
replay_pid=""

cleanup() {
  trap - EXIT INT TERM
  echo
  # Background jobs of a script ignore SIGINT, so they are asked to stop with SIGTERM.
  [ -n "$replay_pid" ] && kill -TERM "$replay_pid" 2>/dev/null && wait "$replay_pid" 2>/dev/null
  if [ -n "$worker_pid" ] && kill -0 "$worker_pid" 2>/dev/null; then
    echo "demo: stopping the worker"
    kill -TERM "$worker_pid" 2>/dev/null || true
    wait "$worker_pid" 2>/dev/null || true
  fi
  if [ "$started_kafka" = 1 ]; then
    echo "demo: stopping Kafka"
    "$KAFKA" stop || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

summary() { "$PY" -m pipeline summary --url "$metrics_url" 2>/dev/null || true; }

"$KAFKA" status >/dev/null 2>&1 || started_kafka=1
echo "demo: starting Kafka ..."
bootstrap="$("$KAFKA" start | tail -n 1 | cut -d= -f2)"
export KAFKA_BOOTSTRAP="$bootstrap"

echo "demo: starting a worker (log in .kafka/demo-worker.log)"
mkdir -p .kafka
"$PY" -m pipeline worker --metrics-port "$METRICS_PORT" >.kafka/demo-worker.log 2>&1 &
worker_pid=$!
for _ in $(seq 1 100); do
  "$PY" -m pipeline summary --url "$metrics_url" >/dev/null 2>&1 && break
  kill -0 "$worker_pid" 2>/dev/null || { echo "demo: the worker died:"; tail -n 20 .kafka/demo-worker.log; exit 1; }
  sleep 0.2
done
echo "demo: metrics at $metrics_url  (try: curl -s $metrics_url | grep ^pipeline_)"

echo "demo: replaying the seed feed (June 12-20, 2009) in about ${DEMO_SECONDS}s ..."
"$PY" -m replay send --duration "$DEMO_SECONDS" --quiet &
replay_pid=$!
while kill -0 "$replay_pid" 2>/dev/null; do
  echo "demo: $(summary)"
  sleep 5 &
  wait $! || true
done
wait "$replay_pid" && replay_status=0 || replay_status=$?
replay_pid=""

# Let the worker drain what was just sent: wait until its count stops moving.
previous=""
for _ in $(seq 1 30); do
  current="$(summary)"
  [ "$current" = "$previous" ] && break
  previous="$current"
  sleep 1
done
echo "demo: final: $current"
echo "demo: done (replay exit $replay_status)"
exit "$replay_status"
