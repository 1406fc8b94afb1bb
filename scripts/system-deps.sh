#!/usr/bin/env bash
# Makes sure the JDK and Maven that the local Kafka broker needs, and Prometheus (promtool, and the
# server the dashboard tests scrape with), are present.
# On Debian as root they are installed with apt-get; elsewhere we say what to install.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${missing[*]} with apt-get" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "system-deps: missing ${missing[*]}: install them (Debian: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
