"""docker-compose.yml and the Prometheus config it mounts: what `docker compose up --scale worker=N` and
the one-shot replayer rely on. No Docker engine and no broker: the files are read as data, and
`docker-compose config` (Debian's docker-compose 1.29, from scripts/system-deps.sh) validates them when
it is installed.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.support import REPO

COMPOSE_FILE = REPO / "docker-compose.yml"
PROMETHEUS_FILE = REPO / "deploy" / "prometheus" / "prometheus.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
SERVICES = ("kafka", "worker", "detector", "replay", "prometheus", "alertmanager", "grafana")
WORKER_METRICS_PORT = 9108
REPLAY_METRICS_PORT = 9109
# Written by another change; until it lands Docker creates an empty directory and Grafana shows no dashboard.
OPTIONAL_MOUNTS = {"./deploy/grafana/dashboards"}


def _compose_binary() -> str | None:
    return shutil.which("docker-compose")


@cache
def _yaml_loader() -> Any:
    """A function path -> data. PyYAML when the venv has it, else the Python that runs Debian's
    docker-compose (it depends on python3-yaml), else the test is skipped."""
    try:
        import yaml
    except ImportError:
        pass
    else:
        return lambda text: yaml.safe_load(text)
    binary = _compose_binary()
    interpreter = None
    if binary is not None:
        with open(binary, "rb") as handle:
            first_line = handle.readline().decode(errors="replace").strip()
        if first_line.startswith("#!") and "python" in first_line:
            interpreter = first_line[2:].split()
    if interpreter is None:
        pytest.skip("PyYAML is not installed and no Python docker-compose (with python3-yaml) was found")

    def load(text: str) -> Any:
        converted = subprocess.run(
            [*interpreter, "-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"],
            input=text,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return json.loads(converted.stdout)

    return load


def load_yaml(path: Path) -> Any:
    return _yaml_loader()(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose) -> dict[str, Any]:
    return compose["services"]


@pytest.fixture(scope="module")
def prometheus_config() -> dict[str, Any]:
    return load_yaml(PROMETHEUS_FILE)


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _bind_mounts(service: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(source, target, mode) of each host-path volume, short syntax."""
    mounts = []
    for volume in service.get("volumes") or []:
        parts = volume.split(":")
        if parts[0].startswith(("./", "../", "/")):
            mounts.append((parts[0], parts[1], parts[2] if len(parts) > 2 else "rw"))
    return mounts


def _job(prometheus_config: dict[str, Any], name: str) -> dict[str, Any]:
    jobs = {job["job_name"]: job for job in prometheus_config["scrape_configs"]}
    assert name in jobs, f"prometheus.yml has no job {name!r} (the alert rules select on it)"
    return jobs[name]


def test_the_stack_has_its_services(services):
    assert set(SERVICES) <= set(services)


def test_only_top_level_keys_docker_compose_1_29_accepts(compose):
    # 1.29 rejects `name:` (Compose v2 only); `version:` is obsolete in v2.
    allowed = {"services", "volumes", "networks", "configs", "secrets"}
    extra = {key for key in compose if key not in allowed and not key.startswith("x-")}
    assert not extra, f"keys docker-compose 1.29 rejects or v2 ignores: {sorted(extra)}"


def test_worker_can_be_scaled(services):
    worker = services["worker"]
    # A fixed host port or container name lets only one replica start.
    assert "ports" not in worker, "worker publishes a host port: `--scale worker=3` would fail"
    assert "container_name" not in worker
    assert worker["command"] == ["pipeline", "worker"]
    assert _environment(worker)["METRICS_PORT"] == str(WORKER_METRICS_PORT)


def test_the_detector_detects_only_and_starts_only_with_its_profile(services):
    # `docker compose up` alone must keep starting the stack as before: workers that classify and detect.
    worker, detector = services["worker"], services["detector"]
    assert detector["profiles"] == ["detect-apart"] and "profiles" not in worker
    assert detector["command"] == ["pipeline", "worker", "--no-classify"]
    assert detector["image"] == worker["image"]
    assert "ports" not in detector and "container_name" not in detector  # --scale detector=N
    worker_env, detector_env = _environment(worker), _environment(detector)
    assert worker_env["DETECT"] == "${WORKER_DETECT:-1}"
    assert detector_env["DETECT"] == "1"
    assert detector_env["DETECT_ROLES"] == "${DETECTOR_ROLES:-shards,merge}"
    # Everything else as the workers (one deployment, one DETECT_PARTITIONS, the same Kafka user) but the
    # pseudonym key, which a worker that detects only never loads: it is not given one.
    shared = {key: value for key, value in detector_env.items() if key not in ("DETECT", "DETECT_ROLES")}
    assert shared == {
        key: value for key, value in worker_env.items() if key not in ("DETECT", "AUTHOR_KEY_FILE")
    }
    assert worker_env["AUTHOR_KEY_FILE"] == "/run/secrets/author_key"
    assert _secrets(detector) == {"kafka_ca", "kafka_worker_password"}
    assert detector_env["KAFKA_SECURITY"] == "sasl_ssl" and "KAFKA_PASSWORD" not in detector_env
    assert detector["healthcheck"] == worker["healthcheck"]


@pytest.mark.parametrize("name", ["kafka", "worker", "detector", "prometheus", "alertmanager", "grafana"])
def test_long_running_services_have_a_healthcheck(services, name):
    healthcheck = services[name].get("healthcheck")
    assert healthcheck, f"{name} has no healthcheck"
    assert not healthcheck.get("disable")
    assert healthcheck["test"][0] in ("CMD", "CMD-SHELL")


def test_worker_healthcheck_asks_the_health_endpoint_with_python(services):
    # python:3.11-slim has no curl or wget; urlopen raises on a 503, so the check fails then.
    test = services["worker"]["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"]
    assert "urllib.request" in test[3]
    assert "/health" in test[3]
    assert "METRICS_PORT" in test[3]


@pytest.mark.parametrize(
    ("name", "dependency"),
    [
        ("worker", "kafka"),
        ("replay", "kafka"),
        ("prometheus", "worker"),
        ("prometheus", "alertmanager"),
        ("grafana", "prometheus"),
    ],
)
def test_services_wait_for_healthy_dependencies(services, name, dependency):
    depends_on = services[name].get("depends_on")
    assert isinstance(depends_on, dict), f"{name}: depends_on needs the long form to carry a condition"
    assert depends_on.get(dependency, {}).get("condition") == "service_healthy"


def test_every_dependency_with_a_healthcheck_is_waited_for(services):
    for name, service in services.items():
        depends_on = service.get("depends_on") or {}
        if isinstance(depends_on, list):
            depends_on = {dependency: {} for dependency in depends_on}
        for dependency, spec in depends_on.items():
            assert dependency in services, f"{name} depends on unknown service {dependency}"
            if services[dependency].get("healthcheck"):
                assert spec.get("condition") == "service_healthy", f"{name} → {dependency}"


def test_mounted_paths_exist_in_the_repository(services):
    missing_optional = []
    for name, service in services.items():
        for source, target, _mode in _bind_mounts(service):
            if not (REPO / source).exists():
                assert source in OPTIONAL_MOUNTS, f"{name} mounts {source} at {target}: no such path"
                missing_optional.append(source)
    if missing_optional:
        pytest.skip(f"not in the repository yet: {', '.join(missing_optional)}")


@pytest.mark.parametrize(
    ("name", "source", "target"),
    [
        ("prometheus", "./deploy/prometheus", "/etc/prometheus"),
        ("alertmanager", "./deploy/alertmanager", "/etc/alertmanager"),
        ("grafana", "./deploy/grafana/provisioning", "/etc/grafana/provisioning"),
        ("grafana", "./deploy/grafana/dashboards", "/var/lib/grafana/dashboards"),
        ("replay", "./feeds", "/feeds"),
    ],
)
def test_configuration_is_mounted_read_only(services, name, source, target):
    assert (source, target, "ro") in _bind_mounts(services[name])


def test_prometheus_reads_the_mounted_config(services):
    command = services["prometheus"]["command"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in command
    assert PROMETHEUS_FILE.is_file()


def test_grafana_home_dashboard_is_in_the_mounted_dashboards(services):
    env = _environment(services["grafana"])
    home = env["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == "/var/lib/grafana/dashboards/pipeline-overview.json"
    dashboards = REPO / "deploy" / "grafana" / "dashboards"
    if not dashboards.is_dir():
        pytest.skip("deploy/grafana/dashboards is not in the repository yet")
    assert (dashboards / Path(home).name).is_file()


def _internal_bootstrap(kafka: dict[str, Any]) -> str:
    """host:port of the listener the containers use: the inter-broker one, as advertised."""
    env = _environment(kafka)
    name = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    for listener in env["KAFKA_ADVERTISED_LISTENERS"].split(","):
        listener_name, _, address = listener.partition("://")
        if listener_name == name:
            return address
    raise AssertionError(f"{name} is not among KAFKA_ADVERTISED_LISTENERS")


@pytest.mark.parametrize("name", ["worker", "replay"])
def test_clients_use_the_internal_listener(services, name):
    bootstrap = _internal_bootstrap(services["kafka"])
    assert bootstrap.split(":")[0] == "kafka", "the internal listener must advertise the service name"
    assert _environment(services[name])["KAFKA_BOOTSTRAP"] == bootstrap


def test_kafka_retains_by_size_and_takes_large_messages(services):
    env = _environment(services["kafka"])
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_LOG_RETENTION_MS"] == "-1"
    assert int(env["KAFKA_LOG_RETENTION_BYTES"]) > 0
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) == 32 * 1024 * 1024
    assert int(env["KAFKA_REPLICA_FETCH_MAX_BYTES"]) >= int(env["KAFKA_MESSAGE_MAX_BYTES"])
    # The data volume is where the broker writes (the image's default is /tmp).
    volume_targets = [volume.split(":")[1] for volume in services["kafka"]["volumes"]]
    assert env["KAFKA_LOG_DIRS"] in volume_targets
    assert "EXTERNAL://localhost:9092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert "127.0.0.1:9092:9092" in services["kafka"]["ports"]


def test_replay_is_one_shot_with_speed_and_feed_from_the_environment(services):
    replay = services["replay"]
    assert replay["restart"] == "no"
    assert "replay" in replay["profiles"]
    assert replay["entrypoint"] == ["python", "-m", "replay"]
    command = replay["command"]
    assert command[0] == "send"
    speed = command[command.index("--speed") + 1]
    assert re.fullmatch(r"\$\{SPEED:-[0-9.]+\}", speed), speed
    assert command[command.index("--metrics-port") + 1] == str(REPLAY_METRICS_PORT)
    feed = re.fullmatch(r"\$\{FEED:-(/[^}]+)\}", command[1])
    assert feed, f"the feed argument should be ${{FEED:-...}}, not {command[1]!r}"
    # The default is the seed feed where deploy/Dockerfile copies the sources (WORKDIR /app).
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert "WORKDIR /app" in dockerfile
    assert "COPY replay ./replay" in dockerfile
    default = Path(feed.group(1))
    assert default.parts[:2] == ("/", "app")
    assert (REPO / default.relative_to("/app")).is_file()
    assert "ports" not in replay


def test_image_runs_both_programs(services):
    dockerfile = DOCKERFILE.read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["python", "-m"]' in dockerfile
    assert 'CMD ["pipeline", "worker"]' in dockerfile
    for name in ("worker", "replay"):
        assert services[name]["build"]["dockerfile"] == "deploy/Dockerfile"
        assert services[name]["image"] == services["worker"]["image"]


def test_package_data_covers_the_data_files():
    # The image installs the package; a data file outside package-data would be missing from it.
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"][
        "package-data"
    ]
    for package, patterns in package_data.items():
        for path in (REPO / package / "data").rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(REPO / package).as_posix()
                assert any(fnmatch.fnmatch(relative, pattern) for pattern in patterns), relative
    assert (REPO / "replay" / "data" / "seed_feed.jsonl").is_file()


@pytest.mark.parametrize(
    ("job_name", "service_names", "port"),
    [
        ("pipeline", ["worker", "detector"], WORKER_METRICS_PORT),
        ("replay", ["replay"], REPLAY_METRICS_PORT),
    ],
)
def test_prometheus_discovers_every_compose_replica(
    prometheus_config, services, job_name, service_names, port
):
    job = _job(prometheus_config, job_name)
    discovered = job.get("dns_sd_configs") or []
    assert discovered, f"job {job_name}: compose replicas need dns_sd_configs (a static name is one target)"
    names = [name for config in discovered for name in config["names"]]
    assert names == service_names
    assert set(names) <= set(services), "DNS names must be compose service names"
    for config in discovered:
        assert config.get("type", "SRV") == "A"
        assert config["port"] == port


@pytest.mark.parametrize(
    ("job_name", "target"),
    [("pipeline", f"127.0.0.1:{WORKER_METRICS_PORT}"), ("replay", f"127.0.0.1:{REPLAY_METRICS_PORT}")],
)
def test_prometheus_still_scrapes_the_local_stack(prometheus_config, job_name, target):
    static = _job(prometheus_config, job_name).get("static_configs") or []
    local = [config for config in static if config.get("labels") == {"stack": "local"}]
    assert any(target in config["targets"] for config in local)


def test_prometheus_config_names_only_compose_services(prometheus_config, services):
    for job in prometheus_config["scrape_configs"]:
        for config in job.get("dns_sd_configs") or []:
            for name in config["names"]:
                assert name in services, f"job {job['job_name']}: {name} is not a compose service"
        for config in job.get("static_configs") or []:
            for target in config["targets"]:
                host = target.rsplit(":", 1)[0]
                assert host == "127.0.0.1" or host in services, target


def _docker_compose(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    binary = _compose_binary()
    if binary is None:
        pytest.skip("docker-compose is not installed (scripts/system-deps.sh installs it on Debian)")
    environment = {key: value for key, value in os.environ.items() if key not in ("SPEED", "FEED")}
    return subprocess.run(
        [binary, "-f", str(COMPOSE_FILE), *args],
        cwd=REPO,
        env={**environment, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_docker_compose_accepts_the_file():
    checked = _docker_compose("config", "-q")
    assert checked.returncode == 0, checked.stderr


def test_docker_compose_interpolates_speed_and_feed():
    rendered = _docker_compose("config", SPEED="max", FEED="/feeds/week.jsonl")
    assert rendered.returncode == 0, rendered.stderr
    command = _yaml_loader()(rendered.stdout)["services"]["replay"]["command"]
    assert command[:4] == ["send", "/feeds/week.jsonl", "--speed", "max"]

    defaults = _docker_compose("config")
    assert defaults.returncode == 0, defaults.stderr
    command = _yaml_loader()(defaults.stdout)["services"]["replay"]["command"]
    assert command[1] == "/app/replay/data/seed_feed.jsonl"
    assert float(command[command.index("--speed") + 1]) > 0


# --- Security (issue 17): SASL_SSL Kafka, secrets from ./secrets, nothing published beyond 127.0.0.1 ---

COMPOSE_KAFKA = REPO / "deploy" / "kafka" / "compose-kafka.sh"
ACLS = REPO / "deploy" / "kafka" / "acls.sh"
SECURE_CLIENTS = {"worker": "worker", "replay": "replay"}  # service -> Kafka user


def _secrets(service: dict[str, Any]) -> set[str]:
    return {entry if isinstance(entry, str) else entry["source"] for entry in service.get("secrets") or []}


@pytest.mark.parametrize("name", SERVICES)
def test_published_ports_are_bound_to_loopback(services, name):
    for port in services[name].get("ports") or []:
        assert isinstance(port, str) and port.startswith("127.0.0.1:"), (
            f"{name} publishes {port!r} beyond 127.0.0.1"
        )


def test_the_ports_an_operator_reaches_are_published_on_loopback(services):
    published = {
        name: services[name].get("ports") for name in ("kafka", "prometheus", "alertmanager", "grafana")
    }
    assert published == {
        "kafka": ["127.0.0.1:9092:9092"],
        "prometheus": ["127.0.0.1:9090:9090"],
        "alertmanager": ["127.0.0.1:9093:9093"],
        "grafana": ["127.0.0.1:3000:3000"],
    }


def test_every_service_in_the_file_publishes_on_loopback_only(services):
    # Whatever services the file has, not only those this module knows; long syntax (host_ip) too.
    for name, service in services.items():
        for port in service.get("ports") or []:
            if isinstance(port, dict):
                assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port!r} beyond 127.0.0.1"
            else:
                assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port!r} beyond 127.0.0.1"


def test_kafka_speaks_only_sasl_ssl_with_acls(services):
    kafka = services["kafka"]
    assert kafka["command"] == ["/bin/bash", "/opt/iran2009/compose-kafka.sh"]
    assert ("./deploy/kafka", "/opt/iran2009", "ro") in _bind_mounts(kafka)
    env = _environment(kafka)
    protocols = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert protocols == {"INTERNAL": "SASL_SSL", "EXTERNAL": "SASL_SSL", "CONTROLLER": "SSL"}
    script = COMPOSE_KAFKA.read_text(encoding="utf-8")
    # What the broker really runs with (compose-kafka.sh writes it) agrees with the variables.
    for line in (
        "listener.security.protocol.map=INTERNAL:SASL_SSL,EXTERNAL:SASL_SSL,CONTROLLER:SSL",
        "sasl.enabled.mechanisms=SCRAM-SHA-512",
        f"authorizer.class.name={env['KAFKA_AUTHORIZER_CLASS_NAME']}",
        f"super.users={env['KAFKA_SUPER_USERS']}",
        "allow.everyone.if.no.acl.found=false",
        "listener.name.controller.ssl.client.auth=required",
        f"listeners={env['KAFKA_LISTENERS']}",
        f"advertised.listeners={env['KAFKA_ADVERTISED_LISTENERS']}",
        f"message.max.bytes={env['KAFKA_MESSAGE_MAX_BYTES']}",
        f"log.retention.ms={env['KAFKA_LOG_RETENTION_MS']}",
        f"log.dirs={env['KAFKA_LOG_DIRS']}".replace("/var/lib/kafka/data", "$data"),
    ):
        assert line in script, line
    assert env["KAFKA_AUTHORIZER_CLASS_NAME"] == "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
    assert env["KAFKA_ALLOW_EVERYONE_IF_NO_ACL_FOUND"] == "false"
    assert "PLAINTEXT" not in script
    assert {"kafka_ca", "kafka_broker_pem", "kafka_broker_password", "kafka_admin_password"} <= _secrets(
        kafka
    )
    # Healthy only once the ACLs are in place, checked as admin over SASL_SSL.
    health = " ".join(kafka["healthcheck"]["test"])
    assert "/tmp/iran2009/ready" in health and "--command-config" in health


@pytest.mark.parametrize(("name", "user"), sorted(SECURE_CLIENTS.items()))
def test_clients_log_in_with_their_own_user(services, name, user):
    service = services[name]
    env = _environment(service)
    assert env["KAFKA_SECURITY"] == "sasl_ssl"
    assert env["KAFKA_USERNAME"] == user
    assert env["KAFKA_PASSWORD_FILE"] == f"/run/secrets/kafka_{user}_password"
    assert env["KAFKA_CA"] == "/run/secrets/kafka_ca"
    assert "KAFKA_PASSWORD" not in env
    assert _secrets(service) == {"kafka_ca", f"kafka_{user}_password", "author_key"}


@pytest.mark.parametrize("name", ["worker", "replay"])
def test_the_replayer_and_the_workers_share_one_pseudonym_key(services, compose, name):
    # Two keys would give one author two pseudonyms: counts per author and account tactics would split.
    assert _environment(services[name])["AUTHOR_KEY_FILE"] == "/run/secrets/author_key"
    assert "AUTHOR_KEY" not in _environment(services[name])  # never the key itself in the environment
    assert compose["secrets"]["author_key"]["file"] == "./secrets/author.key"
    assert "secrets/author.key" in (REPO / "Makefile").read_text(encoding="utf-8")


def test_metrics_stay_open_inside_the_compose_network_only(services):
    worker, replay = services["worker"], services["replay"]
    assert _environment(worker)["METRICS_HOST"] == "0.0.0.0"
    assert replay["command"][replay["command"].index("--metrics-host") + 1] == "0.0.0.0"
    for service in (worker, replay):
        assert "ports" not in service and service["expose"]


def test_secrets_come_from_the_git_ignored_folder(compose):
    secrets = compose["secrets"]
    for name, spec in secrets.items():
        assert spec["file"].startswith("./secrets/"), name
    assert "/secrets/" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()
    makefile = (REPO / "Makefile").read_text(encoding="utf-8")
    assert "\nsecrets: ## " in makefile and "$(KAFKA) secrets secrets" in makefile
    # Every secret a service names is declared, and each declared one is used.
    used = {name for service in compose["services"].values() for name in _secrets(service)}
    assert used == set(secrets)


def test_grafana_has_no_default_password_and_no_anonymous_access(services):
    grafana = services["grafana"]
    env = _environment(grafana)
    assert env["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    assert "GF_AUTH_ANONYMOUS_ORG_ROLE" not in env
    assert "GF_SECURITY_ADMIN_PASSWORD" not in env
    assert env["GF_SECURITY_ADMIN_PASSWORD__FILE"] == "/run/secrets/grafana_admin_password"
    assert _secrets(grafana) == {"grafana_admin_password"}
    # Its users, sessions and settings survive a restart.
    assert "grafana-data:/var/lib/grafana" in grafana["volumes"]


def test_grafana_still_reads_prometheus_by_its_service_name():
    datasources = load_yaml(REPO / "deploy" / "grafana" / "provisioning" / "datasources" / "prometheus.yml")
    assert [source["url"] for source in datasources["datasources"]] == ["http://prometheus:9090"]


def test_prometheus_runs_without_the_lifecycle_api(services):
    command = services["prometheus"]["command"]
    assert not any(flag.startswith("--web.enable-lifecycle") for flag in command)
    assert not any(flag.startswith("--web.enable-admin-api") for flag in command)


def _acl_lines(**env: str) -> list[tuple[str, str, str, str, set[str]]]:
    listed = subprocess.run(
        ["bash", "-c", f". {ACLS} && acl_lines"],
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    acls = []
    for line in listed.stdout.splitlines():
        principal, kind, pattern, name, operations = line.split()
        acls.append((principal, kind, pattern, name, set(operations.split(","))))
    return acls


def _allowed(acls, user: str, kind: str, name: str) -> set[str]:
    """The operations ``user`` has on resource ``name`` (literal or prefixed matches)."""
    allowed: set[str] = set()
    for principal, acl_kind, pattern, acl_name, operations in acls:
        if principal != f"User:{user}" or acl_kind != kind:
            continue
        if (pattern == "LITERAL" and acl_name == name) or (
            pattern == "PREFIXED" and name.startswith(acl_name)
        ):
            allowed |= operations
    return allowed


def test_the_acls_give_each_user_what_it_needs_and_no_more():
    from pipeline.settings import Settings

    settings = Settings()
    acls = _acl_lines()
    app = settings.app_id
    topics = {
        settings.posts_topic: ({"WRITE", "CREATE"}, {"READ", "CREATE"}, set()),
        settings.classified_topic: (set(), {"WRITE", "CREATE"}, {"READ"}),
        settings.dead_letter_topic: (set(), {"WRITE", "CREATE"}, set()),
        settings.detect_topic: (set(), {"READ", "WRITE", "CREATE"}, set()),
        settings.alerts_topic: (set(), {"READ", "WRITE", "CREATE"}, {"READ"}),
        settings.parts_topic: (set(), {"READ", "WRITE", "CREATE"}, set()),
        f"{app}-detector-state-changelog": (set(), {"READ", "WRITE", "CREATE"}, set()),
        f"{app}-detect-shards-changelog": (set(), {"READ", "WRITE", "CREATE"}, set()),
        f"{app}-detect-merge-changelog": (set(), {"READ", "WRITE", "CREATE"}, set()),
        f"{app}-__assignor-__leader": (set(), {"READ", "WRITE", "CREATE"}, set()),  # Faust's own
    }
    for topic, (replay, worker, viewer) in topics.items():
        for user, needed in (("replay", replay), ("worker", worker), ("viewer", viewer)):
            allowed = _allowed(acls, user, "TOPIC", topic) - {"DESCRIBE", "DESCRIBE_CONFIGS"}
            assert allowed == needed, f"{user} on {topic}: {allowed} (needs {needed})"
    for group in (app, f"{app}-classify", f"{app}-detect", f"{app}-merge"):
        assert "READ" in _allowed(acls, "worker", "GROUP", group)
        assert not _allowed(acls, "replay", "GROUP", group) and not _allowed(acls, "viewer", "GROUP", group)
    # admin is a super user: no ACLs of its own.
    assert not [acl for acl in acls if acl[0] == "User:admin"]


def test_the_acls_follow_configured_topic_names():
    acls = _acl_lines(POSTS_TOPIC="p", ALERTS_TOPIC="a", PIPELINE_APP_ID="app2")
    assert "WRITE" in _allowed(acls, "replay", "TOPIC", "p")
    assert "READ" in _allowed(acls, "viewer", "TOPIC", "a")
    assert "READ" in _allowed(acls, "worker", "GROUP", "app2-classify")
    assert not _allowed(acls, "replay", "TOPIC", "posts")
