"""The FastAPI application: ``create_app(settings)`` builds it; ``meetnet api`` serves it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import ConnectionPool

from api import problems
from api.routes import devices, health, latest
from meetnet import __version__
from meetnet.settings import Settings

DESCRIPTION = """
Open data of the regional LoRaWAN network: waste bin fill levels, classroom air quality
(Meet de Klas), zebra crossing counts and surface water levels.

Datasets marked **open** are readable without a key. Errors are RFC 9457 problem details.
"""


def create_app(settings: Settings, dsn: str | None = None) -> FastAPI:
    """Build the API for the database at ``dsn`` (default: ``settings.database_url``)."""
    dsn = dsn or settings.database_dsn()
    if not dsn:
        raise ValueError("no database configured: set MEETNET_DATABASE_URL")
    pool = ConnectionPool(dsn, min_size=1, max_size=8, open=False,
                          kwargs={"autocommit": True})

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool.open(wait=False)
        try:
            yield
        finally:
            pool.close()

    app = FastAPI(title="meetnet", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.settings = settings
    app.state.pool = pool
    problems.install(app)
    app.include_router(health.router)
    app.include_router(devices.router, prefix="/v1")
    app.include_router(latest.router, prefix="/v1")

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

