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

from meetnet.catalog import METRICS

log = logging.getLogger(__name__)

_LOCK_ID = 0x6D65_6574  # "meet": any constant shared by all meetnet processes


@dataclass(frozen=True)
class MigrationResult:
    timescale: bool
    applied: list[str]


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


def timescale_available(conn: psycopg.Connection[object]) -> bool:
    """True when the timescaledb extension exists or can be created here.

    The extension can be installed but not preloaded (``shared_preload_libraries``): then
    CREATE EXTENSION fails and we fall back to plain tables instead of failing the migration.
    """
    with conn.transaction():
        row = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'timescaledb'").fetchone()
    if row:
        return True
    try:
        with conn.transaction():
            conn.execute("CREATE EXTENSION IF NOT EXISTS timescaledb")
        return True
    except psycopg.Error as exc:
        log.info("timescaledb not available, using plain PostgreSQL tables: %s",
                 str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return False


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


def migrate(dsn: str) -> MigrationResult:
    """Bring the database at ``dsn`` to the newest schema; safe to run any number of times."""
    applied: list[str] = []
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_ID,))
        try:
            conn.execute(
                """CREATE TABLE IF NOT EXISTS schema_migrations (
                       version text PRIMARY KEY, variant text NOT NULL,
                       applied_at timestamptz NOT NULL DEFAULT now())"""
            )
            done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
            timescale = timescale_available(conn)
            for version, variants in _files().items():
                if version in done:
                    continue
                variant = "any" if "any" in variants else ("timescale" if timescale else "plain")
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
            conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_ID,))
    return MigrationResult(timescale=timescale, applied=applied)
