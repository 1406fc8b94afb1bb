#!/usr/bin/env bash
# Makes sure the JDK and Maven that the local Kafka broker needs, Prometheus (promtool, and the
# server the dashboard tests scrape with), Alertmanager (amtool for `make prom-check`, and the server the
# alert delivery test and the demo send alerts through) and docker-compose (it validates docker-compose.yml
# without a Docker engine: `make compose-check`) are present.
# On Debian as root they are installed with apt-get; elsewhere we say what to install.
set -euo pipefail

missing=()
command -v java >/dev/null 2>&1 || missing+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || missing+=(maven)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
# Debian's package puts the server at /usr/bin/prometheus-alertmanager, beside amtool.
{ command -v amtool >/dev/null 2>&1 && command -v prometheus-alertmanager >/dev/null 2>&1; } ||
  missing+=(prometheus-alertmanager)
# Installed without its recommends: they pull in the Docker engine (docker.io), which is not needed here.
bare=()
command -v docker-compose >/dev/null 2>&1 || bare+=(docker-compose)
[ ${#missing[@]} -eq 0 ] && [ ${#bare[@]} -eq 0 ] && exit 0

all=("${missing[@]}" "${bare[@]}")
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${all[*]} with apt-get" >&2
  apt-get update -qq
  if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
  if [ ${#bare[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${bare[@]}" >/dev/null
  fi
else
  hint=()
  if [ ${#missing[@]} -gt 0 ]; then hint+=("sudo apt-get install ${missing[*]}"); fi
  if [ ${#bare[@]} -gt 0 ]; then hint+=("sudo apt-get install --no-install-recommends ${bare[*]}"); fi
  printf -v hints '%s; ' "${hint[@]}"
  echo "system-deps: missing ${all[*]}: install them (Debian: ${hints%; })" >&2
  exit 1
fi
