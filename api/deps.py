"""Request dependencies shared by the routers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from psycopg_pool import ConnectionPool

from api.problems import Problem


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
