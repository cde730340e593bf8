"""The deployment files: docker-compose.yml, Dockerfile, .dockerignore and deploy/mosquitto.

No Docker engine is needed: the files are parsed and checked against the code they configure
(Settings fields, CLI commands, the broker settings of meetnet/runtime.py). The Mosquitto config
is also started in a real Mosquitto when one is installed (its ACLs and size limit:
tests/test_mosquitto.py).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import typer.main
import yaml
from mosquitto_shipped import INGEST, SIMULATOR, ShippedBroker, needs_mosquitto, run_shipped
from paho.mqtt.enums import CallbackAPIVersion

import meetnet
from meetnet.cli import app as cli_app
from meetnet.runtime import MOSQUITTO_CONF, mqtt_max_packet_size
from meetnet.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
MOSQUITTO_CONF_PATH = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
ACLFILE_TEXT = (ROOT / "deploy" / "mosquitto" / "aclfile").read_text(encoding="utf-8")

#: The commands the compose services may run: `meetnet <words>` (docs/architecture.md, "Running").
CLI_COMMANDS = {("migrate",), ("ingest",), ("api",), ("simulate",), ("demo",),
                ("devices", "import"), ("dashboards", "push")}
MEETNET_SERVICES = {"migrate", "ingest", "api", "simulator"}

# ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?error}, ${VAR?error}; $$ is a literal $.
_INTERPOLATION = re.compile(r"\$\$|\$\{(?P<name>\w+)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's variable substitution, enough for this file; a missing required variable
    raises KeyError like `docker compose` refuses to start."""

    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name, op, arg = m.group("name"), m.group("op"), m.group("arg")
        have = env.get(name)
        if op in (":-", "-"):
            return have if have or (op == "-" and have is not None) else arg
        if op in (":?", "?") and not have:
            raise KeyError(f"{name}: {arg}")
        return have or ""

    return _INTERPOLATION.sub(sub, value)


def environment(service: str) -> dict[str, str]:
    env = SERVICES[service].get("environment") or {}
    assert isinstance(env, dict), f"{service}: write environment as a mapping"
    return {str(k): str(v) for k, v in env.items()}


def conf_pairs(text: str) -> list[tuple[str, str]]:
    """Mosquitto's config format: one `key value` per line, # comments, blank lines."""
    pairs = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        key, _, value = line.partition(" ")
        assert re.fullmatch(r"[a-z_0-9]+", key), f"line {number}: {raw!r} is not `key value`"
        pairs.append((key, value.strip()))
    return pairs


# ------------------------------------------------------------------------------------ compose


def test_every_service_exists() -> None:
    assert set(SERVICES) >= {"timescaledb", "mosquitto", "grafana", "migrate", "ingest", "api",
                             "simulator"}


def test_images_are_pinned() -> None:
    for name, service in SERVICES.items():
        image = service.get("image")
        assert image, f"{name}: no image"
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: {image} is not pinned to a tag"
        # A version, not a moving name like "2" or "lts": at least major.minor.
        assert re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned to a version"
        if "build" in service:
            assert tag == meetnet.__version__, (
                f"{name}: built image tagged {tag}, package version {meetnet.__version__}")


def test_every_meetnet_variable_is_a_setting() -> None:
    fields = set(Settings.model_fields)
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    names = set(re.findall(r"MEETNET_[A-Z0-9_]+", COMPOSE_TEXT + dockerfile))
    assert names, "no MEETNET_* variables found"
    unknown = sorted(n for n in names if n.removeprefix("MEETNET_").lower() not in fields)
    assert not unknown, f"not fields of meetnet.settings.Settings: {unknown}"


@pytest.mark.parametrize("service", sorted(MEETNET_SERVICES))
def test_meetnet_environment_gives_valid_settings(service: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    secrets = {"POSTGRES_PASSWORD": "pg-secret", "MQTT_INGEST_PASSWORD": "mq-ingest",
               "MQTT_SIMULATOR_PASSWORD": "mq-sim"}
    for key in list(os.environ):
        if key.startswith("MEETNET_"):
            monkeypatch.delenv(key)
    for key, value in environment(service).items():
        monkeypatch.setenv(key, interpolate(value, secrets))
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    if service in ("migrate", "ingest", "api"):
        assert settings.database_dsn() == (
            "postgresql://meetnet:pg-secret@timescaledb:5432/meetnet")
    if service in ("ingest", "simulator"):
        target = settings.mqtt_target()
        assert target is not None
        # Each logs in as its role's user (deploy/mosquitto/aclfile), with that user's password
        # as the mosquitto service writes it into the password file.
        user, password = {"ingest": ("meetnet-ingest", "mq-ingest"),
                          "simulator": ("meetnet-simulator", "mq-sim")}[service]
        assert (target.host, target.port) == ("mosquitto", 1883)
        assert (target.username, target.password) == (user, password)
        script = " ".join(SERVICES["mosquitto"]["command"])
        variable = {"ingest": "MQTT_INGEST_PASSWORD", "simulator": "MQTT_SIMULATOR_PASSWORD"}
        assert f'/mosquitto/config/passwd {user} "$${variable[service]}"' in script
        assert SERVICES["mosquitto"]["environment"][variable[service]].startswith(
            "${" + variable[service])
        assert re.search(rf"^user {user}$", ACLFILE_TEXT, re.M), f"no ACL for {user}"
    if service == "ingest":
        assert settings.mqtt_shared_group == "meetnet"
    if service == "api":
        assert (settings.api_host, settings.api_port) == ("0.0.0.0", 8000)


def _resolve(words: list[str]) -> tuple[tuple[str, ...], Any, list[str]]:
    """Walk the real CLI (typer's click commands) down ``words``: (command path, the command,
    the arguments left for it)."""
    command: Any = typer.main.get_command(cli_app)
    path: list[str] = []
    while hasattr(command, "commands") and words and words[0] in command.commands:
        path.append(words[0])
        command = command.commands[words[0]]
        words = words[1:]
    return tuple(path), command, words


@pytest.mark.parametrize("service", sorted(MEETNET_SERVICES))
def test_commands_are_real_cli_commands(service: str) -> None:
    spec = SERVICES[service]
    assert "build" in spec, f"{service} should run the meetnet image built here"
    words = spec["command"]
    assert isinstance(words, list), "exec form, so no shell sits between SIGTERM and meetnet"
    path, command, args = _resolve(words)
    assert path in CLI_COMMANDS, f"{service}: `meetnet {' '.join(words)}` is not a known command"
    # The options must parse as the real command line does.
    command.make_context(" ".join(path), list(args))
    # And so must the one the comments suggest for a simulator with history.
    if service == "simulator":
        assert "simulate --backfill-days 2" in COMPOSE_TEXT
        _, sim, rest = _resolve(["simulate", "--backfill-days", "2"])
        sim.make_context("simulate", rest)


def test_dockerfile_entrypoint_is_meetnet() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert re.search(r'^ENTRYPOINT \["meetnet"\]$', text, re.M)
    assert re.search(r"^FROM python:3\.11-slim-bookworm\b", text, re.M)


def test_dockerfile_runs_as_non_root() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users, "no USER: the services would run as root"
    assert users[-1].split(":")[0] not in ("root", "0")


def test_dockerignore_keeps_secrets_and_venv_out() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for entry in (".env", ".venv", ".git", "deploy/mosquitto/conf.d/*.conf",
                  "deploy/mosquitto/conf.d/*.passwd", "deploy/mosquitto/certs"):
        assert entry in lines


def test_startup_order() -> None:
    def needs(service: str) -> dict[str, str]:
        return {k: v["condition"] for k, v in SERVICES[service].get("depends_on", {}).items()}

    assert needs("migrate") == {"timescaledb": "service_healthy"}
    assert needs("ingest") == {"migrate": "service_completed_successfully",
                               "mosquitto": "service_healthy"}
    assert needs("api")["migrate"] == "service_completed_successfully"
    assert needs("grafana")["timescaledb"] == "service_healthy"
    for service in ("timescaledb", "mosquitto", "api"):
        assert "healthcheck" in SERVICES[service], service
    assert "pg_isready" in str(SERVICES["timescaledb"]["healthcheck"]["test"])
    assert "/healthz" in str(SERVICES["api"]["healthcheck"]["test"])


def test_restart_policies() -> None:
    assert SERVICES["migrate"]["restart"] == "no"  # one-shot
    for name, service in SERVICES.items():
        if name != "migrate":
            assert service.get("restart") in ("unless-stopped", "always"), name


def test_simulator_only_in_the_demo_profile() -> None:
    assert SERVICES["simulator"]["profiles"] == ["demo"]
    for name, service in SERVICES.items():
        if name != "simulator":
            assert "profiles" not in service, f"{name} must run in production"


def test_bind_mounts_exist() -> None:
    mounts: dict[str, dict[str, str]] = {}
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source, target = volume.split(":")[:2]
            if source.startswith("./"):
                assert (ROOT / source).exists(), f"{name}: {source} does not exist"
            mounts.setdefault(name, {})[target] = source
    assert mounts["mosquitto"]["/mosquitto/config/mosquitto.conf"] == (
        "./deploy/mosquitto/mosquitto.conf")
    assert (ROOT / "deploy/mosquitto/conf.d").is_dir()
    grafana = mounts["grafana"]
    assert grafana["/etc/grafana/provisioning/datasources"] == (
        "./dashboards/provisioning/datasources")
    assert grafana["/etc/grafana/provisioning/dashboards"] == "./dashboards/provisioning/dashboards"
    assert grafana["/var/lib/grafana/dashboards"] == "./dashboards/json"
    # Named volumes keep the state of the database, the broker and Grafana.
    assert mounts["timescaledb"]["/var/lib/postgresql/data"] == "timescaledb-data"
    assert mounts["mosquitto"]["/mosquitto/data"] == "mosquitto-data"
    assert set(COMPOSE["volumes"]) == {"timescaledb-data", "mosquitto-data", "grafana-data"}
    script = mounts["timescaledb"]["/docker-entrypoint-initdb.d/100-grafana-reader.sh"]
    assert os.access(ROOT / script, os.X_OK), "the image sources a non-executable script"


_SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|_KEY$", re.I)
_REQUIRED_REF = re.compile(r"\$\{\w+:\?[^}]+\}")
# Required, or empty when unset: an optional broker user that is then not created (compose
# interpolates every service, also those of inactive profiles, so the demo-only simulator's
# password cannot be required).
_SECRET_REF = re.compile(r"\$\{\w+(:\?[^}]+|-)\}")
_OPTIONAL_SECRETS = {"MQTT_SIMULATOR_PASSWORD"}


def test_no_secret_values_in_the_file() -> None:
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            value = str(value)
            if _SECRET_NAME.search(key) and key != "GF_SECURITY_ADMIN_USER":
                assert _SECRET_REF.fullmatch(value), (
                    f"{name}.{key} must be ${{VAR:?message}}, not a value or a default")
                if value.endswith("-}"):
                    assert value[2:-2] in _OPTIONAL_SECRETS, f"{name}.{key} must be required"
            # Credentials inside URLs too: scheme://user:password@host
            for password in re.findall(r"://[^:/@\s]+:([^@\s]+)@", value):
                assert _REQUIRED_REF.fullmatch(password), f"{name}.{key} embeds a password"
    # Nothing interpolates a secret with a fallback value (${POSTGRES_PASSWORD:-...}).
    assert not re.search(r"\$\{\w*(PASSWORD|SECRET|TOKEN)\w*:?-[^}]", COMPOSE_TEXT)
    assert not re.search(r"\$\{\w*(PASSWORD|SECRET|TOKEN)\w*:-", COMPOSE_TEXT)
    with pytest.raises(KeyError, match="POSTGRES_PASSWORD"):
        interpolate(environment("api")["MEETNET_DATABASE_URL"], {})


# ---------------------------------------------------------------------------------- mosquitto


def test_mosquitto_conf_parses_as_key_value_lines() -> None:
    pairs = conf_pairs(MOSQUITTO_CONF_PATH.read_text(encoding="utf-8"))
    conf = dict(pairs)
    assert conf["listener"] == "1883"
    assert conf["allow_anonymous"] == "false"
    assert conf["password_file"] == "/mosquitto/config/passwd"
    assert conf["acl_file"] == "/mosquitto/config/aclfile"
    assert conf["persistence"] == "true"
    assert conf["persistence_location"] == "/mosquitto/data/"
    # QoS 0 from the network server must reach ingest at its subscription's QoS 1.
    assert conf["upgrade_outgoing_qos"] == "true"
    assert conf["include_dir"] == "/mosquitto/config/conf.d"
    assert pairs[-1][0] == "include_dir", "bridge sections must follow the general settings"
    # Deprecated in Mosquitto 2.0, and it bounds a payload only after reading all of it.
    assert "message_size_limit" not in conf
    readme = (ROOT / "deploy/mosquitto/README.md").read_text(encoding="utf-8")
    assert "mosquitto_passwd" in readme


def test_mosquitto_queue_settings_equal_the_tested_ones() -> None:
    shipped = dict(conf_pairs(MOSQUITTO_CONF_PATH.read_text(encoding="utf-8")))
    tested = dict(conf_pairs(MOSQUITTO_CONF))
    for key in ("max_queued_messages", "max_queued_bytes", "max_inflight_messages",
                "persistence", "autosave_interval"):
        assert shipped[key] == tested[key], key
    assert int(shipped["max_queued_messages"]) > 1000  # the default lost messages


def test_mosquitto_size_limit_equals_the_tested_one() -> None:
    shipped = dict(conf_pairs(MOSQUITTO_CONF_PATH.read_text(encoding="utf-8")))
    default = Settings.model_fields["max_message_bytes"].default
    assert default == 65536
    assert int(shipped["max_packet_size"]) == mqtt_max_packet_size(default)
    # The tests' and the demo's broker take it from Settings.max_message_bytes.
    assert dict(conf_pairs(MOSQUITTO_CONF))["max_packet_size"] == "{max_packet_size}"
    env_example = (ROOT / ".env.example").read_text(encoding="utf-8")
    assert f"MEETNET_MAX_MESSAGE_BYTES={default}" in env_example.splitlines()


def test_aclfile_is_mounted_and_names_every_role() -> None:
    volumes = SERVICES["mosquitto"]["volumes"]
    assert "./deploy/mosquitto/aclfile:/mosquitto/config/aclfile:ro" in volumes
    users = re.findall(r"^user (\S+)$", ACLFILE_TEXT, re.M)
    assert users == ["meetnet-ingest", "meetnet-simulator", "chirpstack"]
    # The per-application pattern is the only pattern, and it only writes.
    assert re.findall(r"^pattern .*$", ACLFILE_TEXT, re.M) == ["pattern write v3/%u/#"]
    # ...so every role user closes the prefix that pattern would give it.
    for user in users:
        assert f"topic deny v3/{user}/#" in ACLFILE_TEXT, user


def test_site_examples_are_not_loaded_and_site_files_are_ignored() -> None:
    confd = ROOT / "deploy/mosquitto/conf.d"
    example = confd / "bridge.conf.example"
    pairs = dict(conf_pairs(example.read_text(encoding="utf-8")))
    assert pairs["connection"] == "tts"
    tls = dict(conf_pairs((confd / "tls.conf.example").read_text(encoding="utf-8")))
    assert tls["listener"] == "8883"
    assert tls["require_certificate"] == "false"
    assert tls["tls_version"] == "tlsv1.2"
    assert {"cafile", "certfile", "keyfile"} <= set(tls)
    for path in confd.iterdir():
        if path.name != ".gitignore":
            assert path.name.endswith(".example"), path  # include_dir loads *.conf only
    ignored = (confd / ".gitignore").read_text(encoding="utf-8").splitlines()
    assert "*.conf" in ignored and "*.passwd" in ignored
    assert "certs/" in (ROOT / "deploy/mosquitto/.gitignore").read_text(encoding="utf-8")


@pytest.fixture
def shipped_mosquitto() -> Iterator[ShippedBroker]:
    """deploy/mosquitto/ in a real Mosquitto, started by the compose service's command."""
    if reason := needs_mosquitto():
        pytest.skip(reason)
    with run_shipped() as broker:
        yield broker


def _connect_code(port: int, user: str | None, password: str | None) -> int:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    if user:
        client.username_pw_set(user, password)
    codes: list[int] = []
    client.on_connect = lambda c, u, flags, reason, props: codes.append(reason.value)
    client.connect("127.0.0.1", port)
    deadline = time.monotonic() + 10
    while not codes and time.monotonic() < deadline:
        client.loop(0.1)
    client.disconnect()
    assert codes, "no CONNACK"
    return codes[0]


def test_mosquitto_runs_the_shipped_conf(shipped_mosquitto: ShippedBroker) -> None:
    port = shipped_mosquitto.port
    assert _connect_code(port, *INGEST) == 0
    assert _connect_code(port, *SIMULATOR) == 0
    assert _connect_code(port, None, None) != 0, "anonymous clients must be refused"
    assert _connect_code(port, INGEST[0], "wrong") != 0


def test_simulator_user_exists_only_with_its_password() -> None:
    if reason := needs_mosquitto():
        pytest.skip(reason)
    with run_shipped(simulator_password=None) as broker:
        assert _connect_code(broker.port, *INGEST) == 0
        assert _connect_code(broker.port, SIMULATOR[0], "") != 0
        passwd = (broker.root / "config" / "passwd").read_text()
        assert [line.split(":")[0] for line in passwd.splitlines()] == [INGEST[0]]


def test_compose_healthcheck_passes_on_a_healthy_broker(
        shipped_mosquitto: ShippedBroker) -> None:
    if not shutil.which("mosquitto_sub"):
        pytest.skip("needs mosquitto_sub (apt-get install mosquitto-clients)")
    port = shipped_mosquitto.port
    test = SERVICES["mosquitto"]["healthcheck"]["test"]
    assert test[0] == "CMD-SHELL"
    command = test[1].replace("$$", "$").replace("mosquitto_sub ", f"mosquitto_sub -p {port} ", 1)
    env = {**os.environ, "MQTT_INGEST_PASSWORD": INGEST[1]}
    ok = subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=30)
    assert ok.returncode == 0, ok.stderr.decode(errors="replace")
    env["MQTT_INGEST_PASSWORD"] = "wrong"
    bad = subprocess.run(["sh", "-c", command], env=env, capture_output=True, timeout=30)
    assert bad.returncode != 0
