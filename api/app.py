"""The FastAPI application: ``create_app(settings)`` builds it; ``meetnet api`` serves it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, Depends, FastAPI, Response
from fastapi.dependencies.models import Dependant
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from psycopg_pool import ConnectionPool
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from api import deps, limits, pages, problems
from api.routes import (
    alerts,
    classrooms,
    crossings,
    devices,
    exports,
    fleet,
    health,
    latest,
    waste,
    water,
    webhooks,
)
from meetnet import __version__
from meetnet.settings import Settings

#: Where the docs pages' own files (Swagger UI and ReDoc, from the fastapi-offline wheel) are
#: served.
DOCS_ASSETS = "/static/docs"
#: The files in that wheel: it ships them as package data beside its code.
DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"

REQUESTS = Counter("meetnet_api_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("meetnet_api_request_seconds", "HTTP request latency", ["route"])

DESCRIPTION = """
Open data of the regional LoRaWAN network: waste bin fill levels, classroom air quality
(Meet de Klas), zebra crossing counts and surface water levels.

Datasets marked **open** are readable without a key; `Authorization: Bearer KEY` (or
`X-API-Key: KEY`) adds your organisation's own devices and those shared with it. Errors are
RFC 9457 problem details (`application/problem+json`) with a stable `type`. Requests are
rate-limited per key and per address without a key: over the limit the answer is a 429 with
`Retry-After`; every answer carries `RateLimit-Limit`, `RateLimit-Remaining` and
`RateLimit-Reset`.
"""


class CORS(CORSMiddleware):
    """Starlette's CORS (the Fetch standard's CORS protocol), whose refused preflight is a
    problem (RFC 9457) like every other 4xx instead of plain text."""

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code != 400:
            return response
        problem = problems.problem_response(
            400, "cors-refused", "CORS preflight refused",
            bytes(response.body).decode("utf-8", "replace"))
        for name in ("vary", "access-control-allow-methods", "access-control-max-age",
                     "access-control-allow-headers"):
            if name in response.headers:
                problem.headers[name] = response.headers[name]
        return problem


def _needs(dependant: Dependant, calls: set[Callable[..., Any]]) -> bool:
    return dependant.call in calls or any(_needs(d, calls) for d in dependant.dependencies)


def _document_role_refusals(routers: list[APIRouter]) -> None:
    """Every route that needs a writer or admin key answers a reader key with a 403 problem:
    documented here, once, from the routes' own dependencies."""
    refused = problems.responses(403)[403]
    for router in routers:
        for route in router.routes:
            if isinstance(route, APIRoute) and _needs(route.dependant, {deps.writer, deps.admin}):
                route.responses.setdefault(403, refused)


class RequestMetrics:
    """ASGI middleware counting requests and their latency per route template (one series per
    endpoint, not per device). Plain ASGI rather than ``@app.middleware("http")``: Starlette's
    BaseHTTPMiddleware runs the route in a task of its own, which cost every request and lost
    track of streamed exports whose client hung up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        watched = problems.WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        finally:
            status = 500 if watched.status is None else watched.status
            # The router leaves the matched route in the scope.
            route = getattr(scope.get("route"), "path", None)
            path = scope.get("path", "")
            if route is None:
                route = "unmatched"
            elif path.startswith("/v1/") and not route.startswith("/v1/"):
                route = "/v1" + route  # routers see their path without the mount prefix
            REQUESTS.labels(scope.get("method", ""), route, str(status)).inc()
            LATENCY.labels(route).observe(time.perf_counter() - started)


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

    # docs_url=None, redoc_url=None: FastAPI's own pages load Swagger UI and ReDoc from a CDN and
    # stay blank offline (a school network, a demo on a train). The fastapi-offline wheel ships
    # both (and a Swagger UI new enough for OpenAPI 3.1); they are served from here.
    app = FastAPI(title="meetnet", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan, docs_url=None, redoc_url=None)
    app.mount(DOCS_ASSETS, StaticFiles(directory=DOCS_ASSETS_DIR), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json", title="meetnet API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png")

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json", title="meetnet API",
            redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png", with_google_fonts=False)

    app.state.settings = settings
    app.state.pool = pool
    problems.install(app)
    # Every route may answer these, as RFC 9457 problems; routes document their own 404s etc.
    everywhere = problems.responses(400, 422, 429, 500, 503)
    app.include_router(health.router, responses=problems.responses(500))
    # Routers whose routes take the caller: the rate limiter learns each key's id from them, and
    # a bad key is a 401 on each of them.
    noted = [Depends(limits.note_caller)]
    keyed = {**everywhere, **problems.responses(401)}
    # fleet before devices: /devices/import must not be taken for a dev_eui.
    app.include_router(fleet.router, prefix="/v1", dependencies=noted, responses=keyed)
    app.include_router(devices.router, prefix="/v1", dependencies=noted, responses=keyed)
    app.include_router(exports.router, prefix="/v1", dependencies=noted, responses=keyed)
    # Webhooks are not rate-limited (see api/limits.py).
    app.include_router(webhooks.router, prefix="/v1", responses=problems.responses(400, 422, 500, 503))
    app.include_router(latest.router, prefix="/v1", dependencies=noted, responses=keyed)
    app.include_router(classrooms.router, prefix="/v1", dependencies=noted, responses=keyed)
    app.include_router(waste.router, prefix="/v1", dependencies=noted, responses=keyed)
    app.include_router(water.router, prefix="/v1", dependencies=noted, responses=keyed)
    app.include_router(crossings.router, prefix="/v1", dependencies=noted, responses=keyed)
    app.include_router(alerts.router, prefix="/v1", dependencies=noted, responses=keyed)

    # The pages people look at (/, /classrooms/..., /schools/...): HTML, not in the OpenAPI
    # document; after problems.install so a page's errors are pages too (api/pages).
    pages.install(app)

    _document_role_refusals([fleet.router, devices.router, exports.router, latest.router,
                             classrooms.router, waste.router, water.router, crossings.router,
                             alerts.router])
    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        document = problems.add_problem_schema(base_openapi())
        # A path parameter that names nothing the caller may see is a 404 problem on any route.
        not_found = problems.responses(404)[404]
        problem = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for path, operations in document.get("paths", {}).items():
            for operation in operations.values():
                answers = operation.setdefault("responses", {})
                if "{" in path:
                    answers.setdefault("404", not_found)
                # A route that documents an error by its description alone still answers it
                # as a problem.
                for status, answer in answers.items():
                    if status.startswith(("4", "5")) and not answer.get("content"):
                        answer["content"] = {"application/problem+json": problem}
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    # Inside the request counter, so 429s are counted; outside everything else, so a refused
    # request costs no hashing and no database.
    app.state.rate_limits = limits.RateLimits(settings.api_rate_limit_per_minute,
                                              settings.api_anonymous_rate_limit_per_minute)
    if app.state.rate_limits.enabled:
        app.add_middleware(limits.RateLimitMiddleware, limits=app.state.rate_limits)

    app.add_middleware(RequestMetrics)

    if settings.api_cors_origins:
        # Outermost: preflights are answered before any limit, and every answer (a 429 or a
        # 500 included) carries the CORS headers a browser app needs to read it.
        origins = settings.api_cors_origins
        app.add_middleware(
            CORS, allow_origins=origins, allow_credentials=False,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
            expose_headers=["Link", "Retry-After", "RateLimit-Limit", "RateLimit-Remaining",
                            "RateLimit-Reset", "X-RateLimit-Limit", "X-RateLimit-Remaining",
                            "X-RateLimit-Reset"],
            max_age=600)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

