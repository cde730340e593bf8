"""Bearer tokens meetnet makes and keeps only hashed: API keys (`store.keys`) and ingest
secrets (`store.ingest_secrets`).

A token is a mark (``mn_``, ``mnw_``) and 32 random bytes (URL-safe base64) from `secrets`. With
that much entropy a plain SHA-256 is enough to store it (a slow password hash protects guessable
secrets; nobody guesses 256 random bits), and the lookup stays one index probe on the token's
first characters, which listings show and which are never enough to use the token. The stored
hash is compared in constant time (hmac.compare_digest).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg

#: Longer than any token we make; a longer header is not looked up at all.
MAX_LEN = 200


class UnknownOrganisation(ValueError):
    """No organisation has this slug."""


def digest(token: str) -> bytes:
    """SHA-256 of the token as stored (surrogates kept, so any presented string hashes)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


@dataclass(frozen=True, slots=True)
class TokenKind:
    """One kind of token: its mark and how many characters its lookup prefix keeps."""

    mark: str
    prefix_len: int

    def new(self) -> tuple[str, str, bytes]:
        """A fresh token: (the token, its lookup prefix, its hash). Only the last two are stored."""
        token = self.mark + secrets.token_urlsafe(32)
        return token, token[:self.prefix_len], digest(token)

    def prefix(self, presented: str) -> str | None:
        """The lookup prefix of a presented token, or None when it cannot be one of ours."""
        if not presented.startswith(self.mark) or len(presented) > MAX_LEN:
            return None
        return presented[:self.prefix_len]

    @staticmethod
    def matches(stored: bytes | memoryview, presented: str) -> bool:
        return hmac.compare_digest(bytes(stored), digest(presented))


def organisation_id(conn: psycopg.Connection[Any], slug: str) -> int:
    """The id of organisation ``slug``; UnknownOrganisation when there is none."""
    row = conn.execute("SELECT id FROM organisations WHERE slug = %s", (slug,)).fetchone()
    if row is None:
        raise UnknownOrganisation(f"no organisation {slug!r} (create it with `meetnet orgs create`)")
    return int(row[0])
