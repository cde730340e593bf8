"""Organisations' ingest secrets (table ``ingest_secrets``): what a network server's HTTP
integration presents when it posts uplinks to ``/v1/ingest/tts`` or ``/v1/ingest/chirpstack``.

``mnw_`` tokens, made and checked like API keys (`store.tokens`). A different mark and table from
API keys: a secret pasted into a network
server's console reads nothing, and a reader's API key writes nothing.

A secret speaks for one organisation: `foreign_owner` says when a message names a device or an
application of another organisation, which the webhook then keeps as a dead letter instead of
storing it into that organisation's device.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row

from store.tokens import TokenKind, organisation_id

Network = Literal["tts", "chirpstack"]
NETWORKS: tuple[Network, ...] = ("tts", "chirpstack")
SECRETS = TokenKind("mnw_", 12)  # the mark and 8 characters are the lookup prefix
PREFIX = SECRETS.mark


@dataclass(frozen=True, slots=True)
class SecretInfo:
    id: int
    organisation: str
    prefix: str
    network: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Sender:
    """Whose network server posts: the organisation of the presented secret."""

    secret_id: int
    organisation_id: int
    organisation: str
    network: str | None  # the only network the secret may post for; None: either


def create_secret(conn: psycopg.Connection[Any], organisation: str,
                  network: Network | None = None, name: str = "") -> tuple[int, str]:
    """A new ingest secret for ``organisation``: returns (id, the secret). The secret itself is
    not stored and cannot be shown again."""
    if network is not None and network not in NETWORKS:
        raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {network!r}")
    org = organisation_id(conn, organisation)
    secret, prefix, digest = SECRETS.new()
    created = conn.execute(
        """INSERT INTO ingest_secrets (organisation_id, prefix, secret_hash, network, name)
           VALUES (%s, %s, %s, %s, %s) RETURNING id""",
        (org, prefix, digest, network, name)).fetchone()
    assert created is not None
    return int(created[0]), secret


def list_secrets(conn: psycopg.Connection[Any], organisation: str | None = None
                 ) -> list[SecretInfo]:
    """Every ingest secret (their first characters only), or one organisation's."""
    with conn.cursor(row_factory=class_row(SecretInfo)) as cur:
        return cur.execute(
            """SELECT s.id, o.slug AS organisation, s.prefix, s.network, s.name, s.created_at,
                      s.revoked_at
               FROM ingest_secrets s JOIN organisations o ON o.id = s.organisation_id
               WHERE %(org)s::text IS NULL OR o.slug = %(org)s::text
               ORDER BY s.id""", {"org": organisation}).fetchall()


def revoke_secret(conn: psycopg.Connection[Any], secret_id: int) -> bool:
    """Revoke a secret; False if there is no such secret (or it was revoked already)."""
    cur = conn.execute("UPDATE ingest_secrets SET revoked_at = now() WHERE id = %s "
                       "AND revoked_at IS NULL", (secret_id,))
    return cur.rowcount == 1


def sender_for(conn: psycopg.Connection[Any], secret: str) -> Sender | None:
    """The organisation of a presented secret, or None when it is unknown or revoked. The hash
    is compared in constant time."""
    if (prefix := SECRETS.prefix(secret)) is None:
        return None
    row = conn.execute(
        """SELECT s.secret_hash, s.id, o.id, o.slug, s.network FROM ingest_secrets s
           JOIN organisations o ON o.id = s.organisation_id
           WHERE s.prefix = %s AND s.revoked_at IS NULL""",
        (prefix,)).fetchone()
    if row is None or not SECRETS.matches(row[0], secret):
        return None
    return Sender(int(row[1]), int(row[2]), str(row[3]), row[4])


def foreign_owner(conn: psycopg.Connection[Any], organisation_id: int, *, dev_eui: str,
                  network: str, application_id: str) -> str | None:
    """Why a message posted with ``organisation_id``'s secret must not be stored, or None.

    The registered device decides; a device nobody registered yet is decided by who owns its
    network application (auto-registration would give it to that organisation). A device and
    application nobody owns are left to ingest (kept without a device, as a dead letter). The
    reason never names the other organisation.
    """
    row = conn.execute(
        """SELECT (SELECT organisation_id FROM devices WHERE dev_eui = %s),
                  (SELECT organisation_id FROM applications
                   WHERE network = %s AND application_id = %s)""",
        (dev_eui, network, application_id)).fetchone()
    device_org, application_org = row if row is not None else (None, None)
    if device_org is not None:
        if device_org != organisation_id:
            return (f"application mismatch: device {dev_eui} belongs to another organisation "
                    "than the ingest secret the message came with")
        return None
    if application_org is not None and application_org != organisation_id:
        return (f"application mismatch: {network} application {application_id!r} belongs to "
                "another organisation than the ingest secret the message came with")
    return None


def dead_letter_reason(conn: psycopg.Connection[Any], stage: str, message_hash: bytes
                       ) -> str | None:
    """The reason a just-committed dead letter was kept with (for the webhook's answer), by its
    deduplication key (stage, message hash)."""
    row = conn.execute("SELECT reason FROM dead_letters WHERE stage = %s AND message_hash = %s",
                       (stage, message_hash)).fetchone()
    return None if row is None else str(row[0])
