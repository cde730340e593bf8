"""Organisations' API keys (table ``api_keys``): ``mn_`` tokens, made once, stored hashed,
checked in constant time (`store.tokens`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row

from store.devices import ensure_organisation
from store.tokens import TokenKind, UnknownOrganisation, organisation_id

__all__ = ["ANONYMOUS", "ROLES", "Caller", "KeyInfo", "Role", "UnknownOrganisation", "caller_for",
           "create_key", "create_organisation", "list_keys", "list_organisations", "revoke_key"]

Role = Literal["reader", "writer", "admin"]
ROLES: tuple[Role, ...] = ("reader", "writer", "admin")
KEYS = TokenKind("mn_", 11)  # the mark and 8 characters are the lookup prefix


@dataclass(frozen=True, slots=True)
class KeyInfo:
    id: int
    organisation: str
    prefix: str
    role: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: an organisation and its key's role; both None for an anonymous caller."""

    organisation: str | None = None
    role: str | None = None
    #: The key's row id: what the API's rate limit counts a keyed caller by (never the secret).
    key_id: int | None = None


ANONYMOUS = Caller()


def create_organisation(conn: psycopg.Connection[Any], slug: str, name: str) -> int:
    """Create (or rename) an organisation; returns its id."""
    return ensure_organisation(conn, slug, name)


def list_organisations(conn: psycopg.Connection[Any]) -> list[tuple[str, str, int]]:
    """(slug, name, devices) of every organisation."""
    return [(str(r[0]), str(r[1]), int(r[2])) for r in conn.execute(
        """SELECT o.slug, o.name, count(d.id) FROM organisations o
           LEFT JOIN devices d ON d.organisation_id = o.id GROUP BY o.id ORDER BY o.slug""")]


def create_key(conn: psycopg.Connection[Any], organisation: str, role: Role,
               name: str = "") -> tuple[int, str]:
    """A new key for ``organisation``: returns (id, the key). The key itself is not stored and
    cannot be shown again."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    org = organisation_id(conn, organisation)
    secret, prefix, digest = KEYS.new()
    created = conn.execute(
        """INSERT INTO api_keys (organisation_id, prefix, key_hash, role, name)
           VALUES (%s, %s, %s, %s, %s) RETURNING id""",
        (org, prefix, digest, role, name)).fetchone()
    assert created is not None
    return int(created[0]), secret


def list_keys(conn: psycopg.Connection[Any], organisation: str) -> list[KeyInfo]:
    with conn.cursor(row_factory=class_row(KeyInfo)) as cur:
        return cur.execute(
            """SELECT k.id, o.slug AS organisation, k.prefix, k.role, k.name, k.created_at,
                      k.revoked_at
               FROM api_keys k JOIN organisations o ON o.id = k.organisation_id
               WHERE o.slug = %s ORDER BY k.id""", (organisation,)).fetchall()


def revoke_key(conn: psycopg.Connection[Any], key_id: int) -> bool:
    """Revoke a key; False if there is no such key (or it was revoked already)."""
    cur = conn.execute("UPDATE api_keys SET revoked_at = now() WHERE id = %s "
                       "AND revoked_at IS NULL", (key_id,))
    return cur.rowcount == 1


def caller_for(conn: psycopg.Connection[Any], secret: str) -> Caller | None:
    """The organisation and role of a presented key, or None when it is unknown or revoked.
    The hash is compared in constant time."""
    if (prefix := KEYS.prefix(secret)) is None:
        return None
    row = conn.execute(
        """SELECT k.key_hash, o.slug, k.role, k.id FROM api_keys k
           JOIN organisations o ON o.id = k.organisation_id
           WHERE k.prefix = %s AND k.revoked_at IS NULL""",
        (prefix,)).fetchone()
    if row is None or not KEYS.matches(row[0], secret):
        return None
    return Caller(str(row[1]), str(row[2]), int(row[3]))
