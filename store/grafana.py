"""Which data a Grafana database role reads (migration 0009, docs/architecture.md "Who sees my
data"): the views of schema ``grafana`` show open devices to any role granted them, plus the
private and shared-with devices of the organisations configured for the role here."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql


class GrafanaAccessError(ValueError):
    """A role or organisation that does not exist, or access that was never granted."""


def grant(conn: psycopg.Connection[Any], role: str, organisation: str | None = None) -> None:
    """Let a database role read the ``grafana`` views: open data, and with ``organisation``
    (a slug) also that organisation's own devices and those shared with it. Idempotent; a role
    may be granted several organisations."""
    with conn.transaction():
        _role_exists(conn, role)
        if organisation is not None:
            org = conn.execute("SELECT id FROM organisations WHERE slug = %s",
                               (organisation,)).fetchone()
            if org is None:
                raise GrafanaAccessError(f"no organisation {organisation!r}")
            conn.execute("INSERT INTO grafana_access (role_name, organisation_id) "
                         "VALUES (%s, %s) ON CONFLICT DO NOTHING", (role, org[0]))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA grafana TO {}").format(sql.Identifier(role)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA grafana TO {}").format(
            sql.Identifier(role)))


def revoke(conn: psycopg.Connection[Any], role: str, organisation: str | None = None) -> None:
    """With ``organisation``: the role no longer sees that organisation's non-open devices (it
    still reads open data). Without: the role reads nothing of the ``grafana`` views any more
    and every organisation configured for it is forgotten."""
    with conn.transaction():
        _role_exists(conn, role)
        if organisation is not None:
            gone = conn.execute(
                """DELETE FROM grafana_access g USING organisations o
                   WHERE o.id = g.organisation_id AND g.role_name = %s AND o.slug = %s""",
                (role, organisation)).rowcount
            if not gone:
                raise GrafanaAccessError(f"role {role!r} was not granted {organisation!r}")
            return
        conn.execute("DELETE FROM grafana_access WHERE role_name = %s", (role,))
        conn.execute(sql.SQL("REVOKE SELECT ON ALL TABLES IN SCHEMA grafana FROM {}").format(
            sql.Identifier(role)))
        conn.execute(sql.SQL("REVOKE USAGE ON SCHEMA grafana FROM {}").format(
            sql.Identifier(role)))


def access(conn: psycopg.Connection[Any]) -> list[tuple[str, list[str]]]:
    """Every role that may read the ``grafana`` views, with the organisations configured for
    it (none: open data only), by role name."""
    rows = conn.execute(
        """SELECT r.rolname::text,
                  COALESCE(array_agg(o.slug ORDER BY o.slug)
                           FILTER (WHERE o.slug IS NOT NULL), '{}')
           FROM pg_roles r
           LEFT JOIN grafana_access g ON g.role_name = r.rolname::text
           LEFT JOIN organisations o ON o.id = g.organisation_id
           WHERE has_schema_privilege(r.oid, 'grafana', 'USAGE')
             AND has_table_privilege(r.oid, 'grafana.readings', 'SELECT')
             AND NOT r.rolsuper AND r.rolname !~ '^pg_'
             AND r.rolname <> current_user
           GROUP BY r.rolname ORDER BY 1""").fetchall()
    return [(str(name), list(slugs)) for name, slugs in rows]


def _role_exists(conn: psycopg.Connection[Any], role: str) -> None:
    if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
        raise GrafanaAccessError(f"no database role {role!r} (create it first, e.g. with "
                                 "deploy/timescaledb/grafana-reader.sh)")
