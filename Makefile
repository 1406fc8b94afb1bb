# Run `make` (or `make help`) for the list of targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
KAFKA := deploy/kafka/kafka.sh

.PHONY: help install system-deps kafka-jars kafka-start kafka-stop kafka-status lint format prom-check compose-check unit test demo seed-feed clean bench soak faults secrets device-bundle

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-13s %s\n", $$1, $$2}'

system-deps: ## check java, mvn, prometheus, alertmanager and docker-compose, installing them with apt-get when missing (root on Debian)
	@bash scripts/system-deps.sh

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit("Python 3.11+ is needed, found " + sys.version.split()[0]) if sys.version_info < (3, 11) else None'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $@

install: system-deps $(VENV)/.installed kafka-jars ## create .venv, install the package and the Kafka jars

kafka-jars: system-deps ## resolve the Kafka broker jars from Maven Central (cached)
	@$(KAFKA) install

kafka-start: kafka-jars ## start the local broker (KAFKA_PORT, KAFKA_DATA); prints KAFKA_BOOTSTRAP=...
	@$(KAFKA) start

kafka-stop: ## stop the local broker
	@$(KAFKA) stop

kafka-status: ## is the local broker up?
	@$(KAFKA) status

secrets: ## the compose stack's secrets into ./secrets (git-ignored, 0700): Kafka CA, broker certificate, passwords, pseudonym key
	@$(KAFKA) secrets secrets
	@[ -s secrets/grafana-admin.password ] || (umask 077 && openssl rand -hex 24 >secrets/grafana-admin.password)
	@[ -s secrets/author.key ] || (umask 077 && openssl rand -hex 32 >secrets/author.key)
	@# Compose bind-mounts each secret into containers that run as other users (kafka, grafana, app):
	@# readable files, in a folder only you can enter. ca.key (the CA's key) is mounted nowhere and stays 0600.
	@chmod 700 secrets && chmod 644 secrets/*.password secrets/ca.pem secrets/broker.pem secrets/author.key
	@echo "secrets in ./secrets: ca.pem (KAFKA_CA), <user>.password (KAFKA_PASSWORD_FILE), grafana-admin.password, author.key (AUTHOR_KEY_FILE)"

lint: $(VENV)/.installed ## ruff lint and format check
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) deploy/grafana/build_dashboards.py --check

format: $(VENV)/.installed ## format the code with ruff
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

prom-check: system-deps ## promtool and amtool: check the Prometheus and Alertmanager configs and the rules, run the rule and routing tests
	promtool check config deploy/prometheus/prometheus.yml
	promtool test rules deploy/prometheus/tests/*.yml
	amtool check-config deploy/alertmanager/alertmanager.yml
	bash deploy/alertmanager/test-routes.sh deploy/alertmanager/alertmanager.yml

compose-check: system-deps $(VENV)/.installed ## validate docker-compose.yml with docker-compose config
	docker-compose -f docker-compose.yml config -q
	$(VENV)/bin/pytest -q -p no:cacheprovider tests/deploy

unit: $(VENV)/.installed ## unit tests only (no broker)
	$(VENV)/bin/pytest -m 'not integration'

test: install lint prom-check compose-check ## install what is needed and run every test, integration tests on a real broker
	$(VENV)/bin/pytest

demo: install ## Kafka, a worker, Prometheus, Alertmanager; two days of iran2009 live in ~2 min (python -m demo --help)
	@$(PY) -m demo

bench: install ## measure throughput and latency on a real broker (BENCH_POSTS, default 1,000,000); writes bench-results.json and bench-security.json
	$(PY) -m bench.run
	$(PY) -m bench.security

soak: install ## one worker under a long max-speed replay on its own broker (SOAK_POSTS, default 5,000,000): RSS, posts/s, lag; writes soak-results.json
	$(PY) scripts/soak.py

faults: install ## every fault test FAULTS_RUNS times (10) on a real broker: per case runs, alerts equal, posts lost, duplicates, recovery; writes faults-results.json
	$(PY) scripts/faults.py

device-bundle: install ## pack a JRE, the Kafka jars and Python 3.12 wheels into .device/ for the 16-core scaling run (scripts/device/scaling.sh)
	bash scripts/device/bundle.sh

seed-feed: $(VENV)/.installed ## rebuild replay/data/seed_feed.jsonl from the seed documents
	$(PY) -m replay build-seed-feed

clean: kafka-stop ## stop the broker and remove .venv, .kafka and caches
	rm -rf $(VENV) .kafka .pipeline-data .demo .device .pytest_cache .ruff_cache *.egg-info
