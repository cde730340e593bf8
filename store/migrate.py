"""Ordered, idempotent schema migrations (``meetnet migrate``).

Files in ``store/migrations/`` are named ``NNNN_name.sql``; a step that differs between stock
PostgreSQL and TimescaleDB comes as ``NNNN_name.plain.sql`` and ``NNNN_name.timescale.sql`` and the
runner applies the one that fits the server. Applied versions are recorded in
``schema_migrations``; an advisory lock keeps two processes from migrating at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from meetnet.catalog import METRICS

log = logging.getLogger(__name__)

_LOCK_ID = 0x6D65_6574  # "meet": any constant shared by all meetnet processes


@dataclass(frozen=True)
class MigrationResult:
    timescale: bool
    applied: list[str]
    #: Why the TimescaleDB or the plain path was taken, in one line for people.
    timescale_note: str | None = None


@dataclass(frozen=True)
class TimescaleCheck:
    available: bool
    note: str


#: What an operator must do when TimescaleDB is installed but not loaded at server start.
ENABLE_TIMESCALE_HINT = (
    "To use it, add  shared_preload_libraries = 'timescaledb'  to postgresql.conf "
    "(`SHOW config_file` names the file), restart PostgreSQL, then run `meetnet migrate` again. "
    "Tables made now are plain PostgreSQL tables and stay plain: enable TimescaleDB before "
    "the first `meetnet migrate` of a database, or see the README on converting them later")


def _files() -> dict[str, dict[str, str]]:
    """version -> {"any"|"plain"|"timescale": sql text}."""
    out: dict[str, dict[str, str]] = {}
    for entry in resources.files("store.migrations").iterdir():
        name = entry.name
        if not name.endswith(".sql"):
            continue
        stem = name[: -len(".sql")]
        variant = "any"
        for v in ("plain", "timescale"):
            if stem.endswith("." + v):
                variant, stem = v, stem[: -len(v) - 1]
        out.setdefault(stem, {})[variant] = entry.read_text(encoding="utf-8")
    return dict(sorted(out.items()))


def versions() -> list[str]:
    """Every migration version shipped, in the order they apply."""
    return list(_files())


def _preloaded(setting: str) -> bool:
    # shared_preload_libraries is a comma-separated list of library names or paths, optionally
    # quoted (PostgreSQL docs, 20.11.4 "Shared Library Preloading").
    for item in setting.split(","):
        name = item.strip().strip('"').rsplit("/", 1)[-1]
        name = name[: -len(".so")] if name.endswith(".so") else name
        if name == "timescaledb" or name.startswith("timescaledb-"):
            return True
    return False


def check_timescale(conn: psycopg.Connection[TupleRow]) -> TimescaleCheck:
    """Whether this database can use TimescaleDB, creating the extension when it can.

    TimescaleDB must be loaded at server start (``shared_preload_libraries``); without that,
    ``CREATE EXTENSION timescaledb`` raises FATAL, which ends the session. So the catalog is
    asked first (``pg_extension``, then ``pg_available_extensions``, then the setting), and
    CREATE EXTENSION runs only when everything says it will work. If it fails anyway, the
    answer is "plain", and ``conn`` may be closed: the caller must check ``conn.closed`` /
    ``conn.broken`` and reconnect.
    """
    with conn.transaction():
        if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone():
            return TimescaleCheck(True, "the timescaledb extension is installed in this database")
        row = conn.execute("SELECT default_version FROM pg_available_extensions "
                           "WHERE name = 'timescaledb'").fetchone()
    if row is None:
        note = "TimescaleDB is not installed on this PostgreSQL server"
        log.info("%s: using plain PostgreSQL tables", note)
        return TimescaleCheck(False, note)
    preload: str | None = None
    try:
        with conn.transaction():
            got = conn.execute("SELECT current_setting('shared_preload_libraries')").fetchone()
            preload = str(got[0]) if got else ""
    except psycopg.errors.InsufficientPrivilege:
        # Superuser-only setting: a role that may not read it may still create the extension
        # (if a superuser allowed it), so go on and let CREATE EXTENSION decide.
        log.debug("may not read shared_preload_libraries; trying CREATE EXTENSION")
    if preload is not None and not _preloaded(preload):
        note = ("TimescaleDB is installed on this PostgreSQL server but not in its "
                "shared_preload_libraries")
        log.warning("%s; using plain PostgreSQL tables. %s", note, ENABLE_TIMESCALE_HINT)
        return TimescaleCheck(False, note)
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
    except psycopg.Error as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        note = f"CREATE EXTENSION timescaledb failed ({first})"
        log.warning("%s; using plain PostgreSQL tables", note)
        return TimescaleCheck(False, note)
    return TimescaleCheck(True, f"created the timescaledb extension (version {row[0]})")


def timescale_available(conn: psycopg.Connection[TupleRow]) -> bool:
    """True when the timescaledb extension exists or could be created here (see
    :func:`check_timescale`, which also says why)."""
    return check_timescale(conn).available


def _statements(text: str) -> list[str]:
    # Migration files hold plain statements separated by ';' at line end (no functions with
    # bodies), so splitting there is enough to run them one by one outside a transaction.
    parts, current = [], []
    for line in text.splitlines():
        if line.strip().startswith("--"):
            continue
        current.append(line)
        if line.rstrip().endswith(";"):
            parts.append("\n".join(current).strip())
            current = []
    if "\n".join(current).strip():
        parts.append("\n".join(current).strip())
    return parts


def sync_metrics(conn: psycopg.Connection[object]) -> None:
    """Mirror the metric catalog into the ``metrics`` table (names never change meaning)."""
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO metrics (name, unit, description, minimum, maximum, use_case)
               VALUES (%s, %s, %s, %s, %s, %s)
               ON CONFLICT (name) DO UPDATE SET unit = EXCLUDED.unit,
                   description = EXCLUDED.description, minimum = EXCLUDED.minimum,
                   maximum = EXCLUDED.maximum, use_case = EXCLUDED.use_case""",
            [(m.name, m.unit, m.description, m.minimum, m.maximum, m.use_case)
             for m in METRICS.values()],
        )


def _connect_locked(dsn: str) -> psycopg.Connection[TupleRow]:
    conn = psycopg.connect(dsn, autocommit=True)
    try:
        # Session-level: held until unlocked or the session ends, also if it ends by a FATAL.
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
    except BaseException:
        conn.close()
        raise
    return conn


def migrate(dsn: str) -> MigrationResult:
    """Bring the database at ``dsn`` to the newest schema; safe to run any number of times."""
    applied: list[str] = []
    conn = _connect_locked(dsn)
    try:
        conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version text PRIMARY KEY, variant text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        check = check_timescale(conn)
        if conn.closed or conn.broken:
            # A failed CREATE EXTENSION can end the session (FATAL), and the advisory lock
            # with it: take both again before reading what is done.
            conn.close()
            conn = _connect_locked(dsn)
        timescale = check.available
        done: dict[str, str] = {str(v): str(kind) for v, kind in conn.execute(
            "SELECT version, variant FROM schema_migrations")}
        note = check.note
        if timescale and "plain" in done.values():
            note += "; tables made earlier without it stay plain PostgreSQL tables"
            log.warning("TimescaleDB is available now, but migrations %s made plain PostgreSQL "
                        "tables earlier; they stay plain (see the README on converting them)",
                        ", ".join(v for v, kind in done.items() if kind == "plain"))
        # Later TimescaleDB files (0007's continuous aggregate) need 0002's hypertables: a
        # database whose tables were made plain stays on the plain path throughout.
        hypertables = timescale and done.get("0002_time_series") != "plain"
        for version, variants in _files().items():
            if version in done:
                continue
            variant = "any" if "any" in variants else ("timescale" if hypertables else "plain")
            text = variants.get(variant)
            if text is None:
                raise RuntimeError(f"migration {version} has no {variant} variant")
            log.info("applying migration %s (%s)", version, variant)
            if variant == "timescale":
                # Continuous aggregates cannot be created inside a transaction.
                for stmt in _statements(text):
                    conn.execute(sql.SQL(stmt))
                conn.execute(
                    "INSERT INTO schema_migrations (version, variant) VALUES (%s, %s)",
                    (version, variant),
                )
            else:
                with conn.transaction():
                    conn.execute(sql.SQL(text))
                    conn.execute(
                        "INSERT INTO schema_migrations (version, variant) VALUES (%s, %s)",
                        (version, variant),
                    )
            applied.append(version)
        sync_metrics(conn)
    finally:
        if not (conn.closed or conn.broken):
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
        conn.close()
    return MigrationResult(timescale=timescale, applied=applied, timescale_note=note)
