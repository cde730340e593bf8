"""The FastAPI application: ``create_app(settings)`` builds it; ``meetnet api`` serves it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import swagger_ui_bundle
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from psycopg_pool import ConnectionPool

from api import problems
from api.routes import classrooms, devices, exports, fleet, health, latest, webhooks
from meetnet import __version__
from meetnet.settings import Settings

#: Where Swagger UI's own files (from the swagger-ui-bundle wheel) are served.
SWAGGER_UI = "/static/swagger-ui"

REQUESTS = Counter("meetnet_api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("meetnet_api_request_seconds", "HTTP request latency", ["route"])

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

    # docs_url=None: FastAPI's /docs loads Swagger UI from a CDN and stays blank offline (a
    # school network, a demo on a train). The swagger-ui-bundle wheel ships its files; they are
    # served from here. No ReDoc: it has no such wheel.
    app = FastAPI(title="meetnet", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount(SWAGGER_UI, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path),
              name="swagger-ui")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="meetnet API",
            swagger_js_url=f"{SWAGGER_UI}/swagger-ui-bundle.js",
            swagger_css_url=f"{SWAGGER_UI}/swagger-ui.css",
            swagger_favicon_url=f"{SWAGGER_UI}/favicon-32x32.png")

    app.state.settings = settings
    app.state.pool = pool
    problems.install(app)
    app.include_router(health.router)
    # fleet before devices: /devices/import must not be taken for a dev_eui.
    app.include_router(fleet.router, prefix="/v1")
    app.include_router(devices.router, prefix="/v1")
    app.include_router(exports.router, prefix="/v1")
    app.include_router(webhooks.router, prefix="/v1")
    app.include_router(latest.router, prefix="/v1")
    app.include_router(classrooms.router, prefix="/v1")

    @app.middleware("http")
    async def count_requests(request: Request,
                             call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # The route template, not the raw path: one series per endpoint, not per device.
        route = getattr(request.scope.get("route"), "path", None)
        if route is None:
            route = "unmatched"
        elif request.url.path.startswith("/v1/") and not route.startswith("/v1/"):
            route = "/v1" + route  # routers see their path without the mount prefix
        REQUESTS.labels(request.method, route, str(response.status_code)).inc()
        LATENCY.labels(route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

