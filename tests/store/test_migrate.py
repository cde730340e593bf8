"""How ``migrate`` decides between TimescaleDB and plain PostgreSQL, on real servers.

Three states of a PostgreSQL server matter (TimescaleDB docs, "Install TimescaleDB": the
library must be in ``shared_preload_libraries``): TimescaleDB not installed; installed but not
preloaded (the state right after installing the package), where ``CREATE EXTENSION`` raises
FATAL and ends the session; installed and preloaded. Without a TimescaleDB build on the machine,
the middle state is made with a stand-in ``timescaledb.control`` placed in the server's
extension directory for the length of one test (root only: it is a system directory).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from meetnet.runtime import PostgresServer, start_postgres
from store.migrate import check_timescale, migrate, versions
from support import tmpdir

_STAND_IN_MARK = "# meetnet test stand-in, not TimescaleDB"
_LOCK = Path("/tmp/meetnet-timescaledb-stand-in.lock")


def _pg_config(server: PostgresServer, flag: str) -> Path:
    assert server.bindir is not None
    out = subprocess.run([str(server.bindir / "pg_config"), flag], capture_output=True,
                         text=True, check=True).stdout
    return Path(out.strip())


def _extension_dir(server: PostgresServer) -> Path:
    if server.kind != "system" or server.bindir is None:
        pytest.skip("needs a system PostgreSQL (Debian's): the embedded one's extension "
                    "directory is inside a wheel")
    return _pg_config(server, "--sharedir") / "extension"


def _real_timescaledb(server: PostgresServer) -> bool:
    control = _extension_dir(server) / "timescaledb.control"
    return control.exists() and _STAND_IN_MARK not in control.read_text()


@contextlib.contextmanager
def _empty_database(server: PostgresServer) -> Iterator[str]:
    """A database with nothing migrated yet, dropped afterwards."""
    name = f"meetnet_mig_{os.getpid()}_{id(object())}"
    admin = make_conninfo(server.dsn, dbname="postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0").format(
            sql.Identifier(name)))
    try:
        yield make_conninfo(server.dsn, dbname=name)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))


@contextlib.contextmanager
def _stand_in_timescaledb(server: PostgresServer, script: str) -> Iterator[None]:
    """Make ``timescaledb`` an available extension of ``server``'s installation whose library
    does not exist and whose install script is ``script``."""
    ext = _extension_dir(server)
    if os.geteuid() != 0:
        pytest.skip("needs root: the stand-in timescaledb.control goes into PostgreSQL's "
                    f"extension directory {ext}")
    if _real_timescaledb(server):
        pytest.skip(f"a real TimescaleDB is installed in {ext}; the stand-in would replace it")
    control, script_file = ext / "timescaledb.control", ext / "timescaledb--0.0.0.sql"
    # Test runs on one machine share the directory: one stand-in at a time.
    with _LOCK.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            control.write_text(f"{_STAND_IN_MARK}\ncomment = 'stand-in'\n"
                               "default_version = '0.0.0'\n"
                               "module_pathname = '$libdir/timescaledb-meetnet-missing'\n"
                               "relocatable = false\nsuperuser = true\n")
            script_file.write_text(script)
            yield
        finally:
            control.unlink(missing_ok=True)
            script_file.unlink(missing_ok=True)


@contextlib.contextmanager
def _own_server(preload_timescaledb: bool) -> Iterator[PostgresServer]:
    """A PostgreSQL server of this test's own, optionally with timescaledb preloaded.

    Without a real TimescaleDB, "preloaded" is a copy of the contrib library auto_explain
    named timescaledb: the server starts, the setting names timescaledb, and CREATE EXTENSION
    still fails, which is the path under test.
    """
    root = tmpdir("meetnet-pg-tsdb-")
    server = start_postgres(root, fast=True, dbname="meetnet")
    try:
        if server.kind != "system":
            pytest.skip("needs a system PostgreSQL (Debian's) to set shared_preload_libraries")
        if preload_timescaledb:
            library = "timescaledb"
            if not _real_timescaledb(server):
                lib = root / "lib" / "timescaledb.so"
                lib.parent.mkdir()
                shutil.copy(_pg_config(server, "--pkglibdir") / "auto_explain.so", lib)
                lib.parent.chmod(0o755)
                lib.chmod(0o755)
                library = str(lib.with_suffix(""))
            with psycopg.connect(server.dsn, autocommit=True) as conn:
                conn.execute(sql.SQL("ALTER SYSTEM SET shared_preload_libraries = {}").format(
                    sql.Literal(library)))
            server.restart()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _variants(dsn: str) -> dict[str, str]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("SELECT version, variant FROM schema_migrations").fetchall())


def test_stock_postgresql_takes_the_plain_path(pg_server: PostgresServer,
                                                caplog: pytest.LogCaptureFixture) -> None:
    with _empty_database(pg_server) as dsn:
        with psycopg.connect(dsn) as conn:
            if conn.execute("SELECT 1 FROM pg_available_extensions "
                            "WHERE name = 'timescaledb'").fetchone():
                pytest.skip("TimescaleDB is installed on this PostgreSQL server")
        with caplog.at_level(logging.INFO, logger="store.migrate"):
            first = migrate(dsn)
        assert not first.timescale
        assert first.timescale_note == "TimescaleDB is not installed on this PostgreSQL server"
        assert first.applied == versions()
        assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
        again = migrate(dsn)
        assert (again.timescale, again.applied) == (False, [])
        assert again.timescale_note == first.timescale_note
        assert _variants(dsn)["0002_time_series"] == "plain"


def test_installed_but_not_preloaded_takes_the_plain_path_and_says_how_to_enable(
        pg_server: PostgresServer, caplog: pytest.LogCaptureFixture) -> None:
    # The script would end the session if it ever ran: the catalog checks must stop before.
    with (_stand_in_timescaledb(pg_server, "SELECT pg_terminate_backend(pg_backend_pid());\n"),
          _empty_database(pg_server) as dsn):
        with psycopg.connect(dsn, autocommit=True) as conn:
            assert conn.execute("SELECT 1 FROM pg_available_extensions "
                                "WHERE name = 'timescaledb'").fetchone() == (1,)
            check = check_timescale(conn)
            assert not check.available and "not in its shared_preload_libraries" in check.note
            assert not conn.closed and conn.execute("SELECT 1").fetchone() == (1,)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="store.migrate"):
            first = migrate(dsn)
        assert (first.timescale, first.applied) == (False, versions())
        assert "not in its shared_preload_libraries" in (first.timescale_note or "")
        warning = " ".join(r.getMessage() for r in caplog.records
                           if r.levelno == logging.WARNING)
        assert "shared_preload_libraries = 'timescaledb'" in warning
        assert "postgresql.conf" in warning and "restart" in warning
        assert "stay plain" in warning
        again = migrate(dsn)
        assert (again.timescale, again.applied) == (False, [])
        assert _variants(dsn)["0002_time_series"] == "plain"


def test_create_extension_that_ends_the_session_falls_back_to_plain() -> None:
    """The setting names timescaledb, yet CREATE EXTENSION dies with FATAL (here: its script
    ends its own session): migrate reconnects and finishes on plain tables."""
    with _own_server(preload_timescaledb=True) as server:
        with _stand_in_timescaledb(server, "SELECT pg_terminate_backend(pg_backend_pid());\n"):
            with psycopg.connect(server.dsn) as conn:
                preload = conn.execute("SHOW shared_preload_libraries").fetchone()
            assert preload is not None and "timescaledb" in preload[0]
            first = migrate(server.dsn)
            assert (first.timescale, first.applied) == (False, versions())
            assert first.timescale_note is not None
            assert first.timescale_note.startswith("CREATE EXTENSION timescaledb failed")
            again = migrate(server.dsn)
            assert (again.timescale, again.applied) == (False, [])
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT count(*) FROM metrics").fetchone() != (0,)
            # The advisory lock went with the session, or was released: a third run gets it.
        assert migrate(server.dsn).applied == []


def _skip_without_real_timescaledb() -> None:
    root = tmpdir("meetnet-pg-probe-")
    probe = start_postgres(root, fast=True, dbname="meetnet")
    try:
        real = probe.kind == "system" and _real_timescaledb(probe)
    finally:
        probe.stop()
        shutil.rmtree(root, ignore_errors=True)
    if not real:
        pytest.skip("TimescaleDB is not installed for the system PostgreSQL")


def _hypertables(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables")}


def test_real_timescaledb_preloaded_makes_hypertables() -> None:
    """Runs only where a real TimescaleDB is installed for the system PostgreSQL."""
    _skip_without_real_timescaledb()
    with _own_server(preload_timescaledb=True) as server:
        first = migrate(server.dsn)
        assert first.timescale and first.applied == versions()
        assert first.timescale_note is not None
        assert first.timescale_note.startswith("created the timescaledb extension")
        again = migrate(server.dsn)
        assert (again.timescale, again.applied) == (True, [])
        assert {"readings", "uplinks"} <= _hypertables(server.dsn)
        assert _variants(server.dsn)["0002_time_series"] == "timescale"
        assert _continuous_aggregates(server.dsn) == {"readings_by_hour"}


def test_real_timescaledb_enabled_later_converts_as_the_readme_says() -> None:
    """Installed, not preloaded: plain tables and a warning. Preloaded later: the tables stay
    plain until their migration is forgotten and run again (README), which keeps the rows."""
    _skip_without_real_timescaledb()
    with _own_server(preload_timescaledb=False) as server:
        plain = migrate(server.dsn)
        assert not plain.timescale and "not in its shared_preload_libraries" in (plain.timescale_note or "")
        with psycopg.connect(server.dsn) as conn:
            conn.execute("INSERT INTO uplinks (received_at, dev_eui, f_cnt, payload, network) "
                         "VALUES (now(), '24e124713c012345', 1, '\\x01', 'tts')")
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'timescaledb'")
        server.restart()
        later = migrate(server.dsn)
        assert later.timescale and later.applied == []
        assert "stay plain" in (later.timescale_note or "")
        assert _hypertables(server.dsn) == set()
        with psycopg.connect(server.dsn) as conn:
            conn.execute("DELETE FROM schema_migrations WHERE version IN "
                         "('0002_time_series', '0007_local_aggregates')")
        converted = migrate(server.dsn)
        assert converted.applied == ["0002_time_series", "0007_local_aggregates"]
        assert {"readings", "uplinks"} <= _hypertables(server.dsn)
        assert _variants(server.dsn)["0007_local_aggregates"] == "timescale"
        # 0007 dropped the UTC aggregates that 0002 makes again; the hourly one is what is left.
        assert _continuous_aggregates(server.dsn) == {"readings_by_hour"}
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT count(*) FROM uplinks").fetchone() == (1,)
        # Every TimescaleDB file runs again without error over what it made (idempotent).
        with psycopg.connect(server.dsn) as conn:
            conn.execute("DELETE FROM schema_migrations WHERE variant = 'timescale'")
        assert migrate(server.dsn).applied == ["0002_time_series", "0007_local_aggregates"]
        assert _continuous_aggregates(server.dsn) == {"readings_by_hour"}


def _continuous_aggregates(dsn: str) -> set[str]:
    with psycopg.connect(dsn) as conn:
        return {r[0] for r in conn.execute(
            "SELECT view_name FROM timescaledb_information.continuous_aggregates")}
