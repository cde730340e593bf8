"""Errors as RFC 9457 problem details (``application/problem+json``) with a stable ``type``."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://meetnet.example/problems/"

_TITLES = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
           405: "method-not-allowed", 422: "invalid-parameters", 503: "unavailable"}


class Problem(Exception):
    def __init__(self, status: int, kind: str, title: str, detail: str = "",
                 **extra: Any) -> None:
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail, self.extra = status, kind, title, detail, extra


def problem_response(status: int, kind: str, title: str, detail: str = "",
                     instance: str | None = None, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": PROBLEM_BASE + kind, "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type="application/problem+json")


def install(app: FastAPI) -> None:
    @app.exception_handler(Problem)
    async def _problem(request: Request, exc: Problem) -> JSONResponse:
        extra = dict(exc.extra)
        headers = extra.pop("headers", None)  # e.g. WWW-Authenticate on a 401 (RFC 9110)
        response = problem_response(exc.status, exc.kind, exc.title, exc.detail,
                                    request.url.path, **extra)
        if headers:
            response.headers.update(headers)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = _TITLES.get(exc.status_code, "error")
        return problem_response(exc.status_code, kind, kind.replace("-", " ").capitalize(),
                                str(exc.detail), request.url.path)

    @app.middleware("http")
    async def _refuse_nul(request: Request,
                          call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        # PostgreSQL text cannot hold a NUL character: a parameter carrying one (?metric=%00)
        # reached the database and answered 500. Refused here, once, for every route.
        if "\x00" in request.url.path or any(
                "\x00" in key or "\x00" in value
                for key, value in request.query_params.multi_items()):
            return problem_response(400, "bad-request", "Bad request",
                                    "the request's path or a query parameter contains a NUL "
                                    "character", request.url.path.replace("\x00", "\\x00"))
        return await call_next(request)

    @app.exception_handler(psycopg.DataError)
    async def _data(request: Request, exc: psycopg.DataError) -> JSONResponse:
        # A value the database cannot take that no parameter check caught: the caller's input,
        # so a 400 with the reason, never a 500.
        return problem_response(400, "bad-request", "Bad request",
                                str(exc).splitlines()[0] if str(exc) else "invalid value",
                                request.url.path)

    @app.exception_handler(psycopg.OperationalError)
    async def _database_down(request: Request, exc: psycopg.OperationalError) -> JSONResponse:
        log.warning("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
        return problem_response(503, "unavailable", "Database unavailable",
                                "the database does not answer; try again later",
                                request.url.path)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", "")} for e in exc.errors()]
        return problem_response(422, "invalid-parameters", "Invalid parameters",
                                "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                                          for e in errors), request.url.path, errors=errors)
