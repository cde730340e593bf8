"""Organisations' API keys (table ``api_keys``): made once, stored hashed, checked in constant
time.

A key is ``mn_`` + 32 random bytes (URL-safe base64) from `secrets`: with that much entropy a
plain SHA-256 is enough to store it (a slow password hash protects guessable secrets; nobody
guesses 256 random bits), and the lookup stays one index probe on the key's first characters.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row

from store.devices import ensure_organisation

Role = Literal["reader", "writer", "admin"]
ROLES: tuple[Role, ...] = ("reader", "writer", "admin")
_PREFIX_LEN = 11  # "mn_" and 8 characters: shown in listings, never enough to use the key


class UnknownOrganisation(ValueError):
    """No organisation has this slug."""


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


def _hash(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).digest()


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
    row = conn.execute("SELECT id FROM organisations WHERE slug = %s", (organisation,)).fetchone()
    if row is None:
        raise UnknownOrganisation(f"no organisation {organisation!r} "
                                  "(create it with `meetnet orgs create`)")
    secret = "mn_" + secrets.token_urlsafe(32)
    created = conn.execute(
        """INSERT INTO api_keys (organisation_id, prefix, key_hash, role, name)
           VALUES (%s, %s, %s, %s, %s) RETURNING id""",
        (row[0], secret[:_PREFIX_LEN], _hash(secret), role, name)).fetchone()
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
    The hash is compared in constant time (hmac.compare_digest)."""
    if not secret.startswith("mn_") or len(secret) > 200:
        return None
    row = conn.execute(
        """SELECT k.key_hash, o.slug, k.role, k.id FROM api_keys k
           JOIN organisations o ON o.id = k.organisation_id
           WHERE k.prefix = %s AND k.revoked_at IS NULL""",
        (secret[:_PREFIX_LEN],)).fetchone()
    if row is None or not hmac.compare_digest(bytes(row[0]), _hash(secret)):
        return None
    return Caller(str(row[1]), str(row[2]), int(row[3]))
