#!/usr/bin/env bash
# Routing tests of deploy/alertmanager/alertmanager.yml with amtool (make prom-check runs them): each
# severity that the rules in deploy/prometheus/rules set reaches the receiver of that name, and a label set
# without one reaches the default receiver. tests/deploy/test_alertmanager.py checks every rule's labels.
#   bash deploy/alertmanager/test-routes.sh [CONFIG]      # another file, e.g. a derived or edited copy
set -euo pipefail

config=${1:-"$(dirname "${BASH_SOURCE[0]}")/alertmanager.yml"}

expect() {  # RECEIVER LABEL=VALUE...
  local receiver=$1 got
  shift
  # amtool warns on stderr that --config.file overrides its default --alertmanager.url: keep it quiet.
  if ! amtool config routes test --config.file="$config" --verify.receivers="$receiver" "$@" >/dev/null 2>&1; then
    got=$(amtool config routes test --config.file="$config" "$@" 2>&1 | grep -v '^Warning: --config.file') || true
    echo "test-routes: {$*} should go to receiver $receiver, not: $got" >&2
    exit 1
  fi
}

expect critical alertname=RegionOutage severity=critical region=IR
expect warning alertname=KeywordFilteringSuspected severity=warning type=filtering
expect info alertname=SurgeDetected severity=info type=surge
expect warning alertname=SomeRuleWithoutSeverity
expect warning alertname=SomeRule severity=unknown
echo "test-routes: $config routes critical, warning and info to their receivers"
