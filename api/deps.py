"""Request dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from api.problems import Problem
from store import keys, queries


def connection(request: Request) -> Iterator[psycopg.Connection[Any]]:
    """One pooled connection per request; a database that cannot be reached is a 503."""
    pool: ConnectionPool = request.app.state.pool
    try:
        with pool.connection(timeout=5) as conn:
            yield conn
    except psycopg.OperationalError as exc:
        raise Problem(503, "database-unavailable", "Database unavailable",
                      str(exc).splitlines()[0] if str(exc) else "") from exc


Conn = Annotated[psycopg.Connection[Any], Depends(connection)]


def caller(request: Request, conn: Conn) -> keys.Caller:
    """Who asks: ``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; no key is an anonymous
    caller (open data only), an unknown or revoked key a 401 (never silently anonymous)."""
    auth = request.headers.get("authorization")
    secret = request.headers.get("x-api-key")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem(401, "unauthorized", "Unauthorized",
                          "use `Authorization: Bearer <key>` or `X-API-Key: <key>`",
                          headers={"WWW-Authenticate": "Bearer"})
        secret = token.strip()
    if secret is None:
        return keys.ANONYMOUS
    found = keys.caller_for(conn, secret)
    if found is None:
        raise Problem(401, "unauthorized", "Unauthorized", "unknown or revoked API key",
                      headers={"WWW-Authenticate": "Bearer"})
    return found


Caller = Annotated[keys.Caller, Depends(caller)]


def writer(caller: Caller) -> keys.Caller:
    """A caller whose key may change its organisation's devices: no key is a 401, a reader key
    a 403."""
    if caller.organisation is None:
        raise Problem(401, "unauthorized", "Unauthorized", "changing data needs an API key",
                      headers={"WWW-Authenticate": "Bearer"})
    if caller.role not in ("writer", "admin"):
        raise Problem(403, "forbidden", "Forbidden",
                      f"a {caller.role} key may read, not change; use a writer or admin key")
    return caller


Writer = Annotated[keys.Caller, Depends(writer)]


def admin(caller: Caller) -> keys.Caller:
    """A caller whose key may decide who else reads its organisation's devices (sharing): no
    key is a 401, a reader or writer key a 403."""
    if caller.organisation is None:
        raise Problem(401, "unauthorized", "Unauthorized", "sharing needs an admin API key",
                      headers={"WWW-Authenticate": "Bearer"})
    if caller.role != "admin":
        raise Problem(403, "forbidden", "Forbidden",
                      f"a {caller.role} key may not change sharing; use an admin key")
    return caller


Admin = Annotated[keys.Caller, Depends(admin)]


def visible_device(conn: psycopg.Connection[Any], caller: keys.Caller,
                   dev_eui: str) -> queries.DeviceRow:
    """The device if ``caller`` may see it; otherwise a 404 (never a 403: whether a private
    device exists is not the caller's to know)."""
    row = queries.get_device(conn, dev_eui.lower(), organisation=caller.organisation)
    if row is None:
        raise Problem(404, "device-not-found", "Device not found",
                      f"no visible device with dev_eui {dev_eui}")
    return row
