"""A PostgreSQL server with a real TimescaleDB loaded, for the tests of TimescaleDB-only paths.

The shared ``pg_server`` fixture never preloads TimescaleDB, so on it ``meetnet migrate`` takes
the plain path even where TimescaleDB is installed. Tests of hypertables and of the continuous
aggregate start their own server with ``shared_preload_libraries = 'timescaledb'`` (TimescaleDB
docs, "Install TimescaleDB": the library must be loaded at server start) and skip, saying why,
where no real TimescaleDB is installed for the system PostgreSQL (CI, most laptops).
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from meetnet.runtime import PostgresServer, start_postgres, system_pg_bindir
from store.migrate import migrate
from support import tmpdir

#: First line of the stand-in timescaledb.control that tests/store/test_migrate.py writes.
STAND_IN_MARK = "# meetnet test stand-in, not TimescaleDB"


def extension_dir(bindir: Path) -> Path:
    out = subprocess.run([str(bindir / "pg_config"), "--sharedir"], capture_output=True,
                         text=True, check=True).stdout
    return Path(out.strip()) / "extension"


def real_timescaledb_installed() -> bool:
    """Whether a real TimescaleDB (not test_migrate's stand-in) is installed for the system
    PostgreSQL that ``start_postgres`` uses."""
    bindir = system_pg_bindir()
    if bindir is None or not (bindir / "pg_config").exists():
        return False
    control = extension_dir(bindir) / "timescaledb.control"
    return control.exists() and STAND_IN_MARK not in control.read_text()


def skip_without_timescaledb() -> None:
    if not real_timescaledb_installed():
        pytest.skip("TimescaleDB is not installed for the system PostgreSQL: this checks a "
                    "TimescaleDB-only path (the plain path is checked by the other tests)")


@contextlib.contextmanager
def timescale_server() -> Iterator[PostgresServer]:
    """A server of its own with TimescaleDB preloaded and the ``meetnet`` database migrated
    (the TimescaleDB path), or a skip where there is no real TimescaleDB."""
    skip_without_timescaledb()
    root = tmpdir("meetnet-pg-tsdb-")
    server = start_postgres(root, fast=True, dbname="meetnet")
    try:
        if server.kind != "system":
            pytest.skip("TimescaleDB is installed for the system PostgreSQL, which is not in use")
        with psycopg.connect(server.dsn, autocommit=True) as conn:
            conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'timescaledb'")
        # No telemetry calls home from a test server. ALTER SYSTEM refuses the setting until
        # the library is loaded; the configuration file takes it at start.
        with (server.data_dir / "postgresql.conf").open("a") as conf:
            conf.write("\ntimescaledb.telemetry_level = off\n")
        server.restart()
        result = migrate(server.dsn)
        assert result.timescale, result.timescale_note
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
