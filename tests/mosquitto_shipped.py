"""Run the SHIPPED broker: deploy/mosquitto/ (mosquitto.conf, aclfile, conf.d) started by the
mosquitto service's own command from docker-compose.yml, with /mosquitto/ moved to a temporary
directory and the listener to a free port on 127.0.0.1. Not a test module: the fixtures of
tests/test_compose.py and tests/test_mosquitto.py use it."""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from meetnet.runtime import free_port

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy" / "mosquitto"
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
MOSQUITTO_SERVICE: dict[str, Any] = COMPOSE["services"]["mosquitto"]

#: The role users' fixed names (deploy/mosquitto/aclfile) and their test passwords.
INGEST = ("meetnet-ingest", "ingest-pw-for-test")
SIMULATOR = ("meetnet-simulator", "simulator-pw-for-test")


def needs_mosquitto() -> str | None:
    """Why the shipped broker cannot run here, or None."""
    missing = [b for b in ("mosquitto", "mosquitto_passwd") if not shutil.which(b)]
    return f"needs {', '.join(missing)} (apt-get install mosquitto)" if missing else None


@dataclass
class ShippedBroker:
    port: int
    root: Path
    log: Path
    tls_port: int | None = None
    users: dict[str, str] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _moved(text: str, root: Path) -> str:
    return text.replace("/mosquitto/", f"{root}/")


@contextlib.contextmanager
def run_shipped(*, site_users: dict[str, str] | None = None,
                simulator_password: str | None = SIMULATOR[1],
                tls: tuple[Path, Path, Path] | None = None) -> Iterator[ShippedBroker]:
    """Start the shipped broker. ``site_users`` go into conf.d/site.passwd, made with
    ``mosquitto_passwd`` as deploy/mosquitto/README.md says; ``simulator_password`` None leaves
    MQTT_SIMULATOR_PASSWORD unset. ``tls`` = (ca, cert, key) copies conf.d/tls.conf.example in
    as tls.conf, on a second free port."""
    root = Path(tempfile.mkdtemp(prefix="meetnet-mq-shipped-", dir="/tmp"))
    port = free_port()
    config, data, confd = root / "config", root / "data", root / "config" / "conf.d"
    confd.mkdir(parents=True)
    data.mkdir()
    lines = []
    for raw in _moved((DEPLOY / "mosquitto.conf").read_text(encoding="utf-8"),
                      root).splitlines():
        lines.append(f"listener {port} 127.0.0.1" if raw.startswith("listener ") else raw)
    (config / "mosquitto.conf").write_text("\n".join(lines) + "\n")
    # The aclfile as it is: it names no paths.
    shutil.copy(DEPLOY / "aclfile", config / "aclfile")
    users = {INGEST[0]: INGEST[1]}
    if simulator_password is not None:
        users[SIMULATOR[0]] = simulator_password
    if site_users:
        site = confd / "site.passwd"
        for i, (user, password) in enumerate(site_users.items()):
            subprocess.run(["mosquitto_passwd", *(["-c"] if i == 0 else []), "-b", str(site),
                            user, password], check=True, capture_output=True)
        users.update(site_users)
    tls_port = None
    if tls:
        tls_port = free_port()
        certs = root / "certs"
        certs.mkdir()
        for source, name in zip(tls, ("ca.crt", "server.crt", "server.key"), strict=True):
            shutil.copy(source, certs / name)
        text = _moved((DEPLOY / "conf.d" / "tls.conf.example").read_text(encoding="utf-8"), root)
        text = text.replace("listener 8883", f"listener {tls_port} 127.0.0.1")
        (confd / "tls.conf").write_text(text)
    as_root = os.geteuid() == 0
    owner = None
    if as_root:
        # Started as root, Mosquitto drops to its own user, as in the image, whose entrypoint
        # gives /mosquitto to that user.
        with contextlib.suppress(KeyError):
            owner = pwd.getpwnam("mosquitto")
        if owner:
            for p in [root, *root.rglob("*")]:
                os.chown(p, owner.pw_uid, owner.pw_gid)
    script = _moved(MOSQUITTO_SERVICE["command"][2].replace("$$", "$"), root)
    if owner is None:
        script = script.replace("chown mosquitto:mosquitto", "true")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MQTT_")}
    env["MQTT_INGEST_PASSWORD"] = INGEST[1]
    if simulator_password is not None:
        env["MQTT_SIMULATOR_PASSWORD"] = simulator_password
    log = root / "out.log"
    with log.open("wb") as out:
        # sh execs mosquitto at the end: proc is the broker itself.
        proc = subprocess.Popen([*MOSQUITTO_SERVICE["command"][:2], script], env=env,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        for listening in (port, tls_port):
            if listening is None:
                continue
            deadline = time.monotonic() + 20
            while True:
                if proc.poll() is not None:
                    raise RuntimeError("the shipped broker did not start:\n"
                                       + log.read_text(errors="replace"))
                try:
                    with socket.create_connection(("127.0.0.1", listening), 0.2):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        yield ShippedBroker(port, root, log, tls_port, users)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)
