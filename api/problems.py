"""Errors as RFC 9457 problem details (``application/problem+json``) with a stable ``type``."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://meetnet.example/problems/"

#: The `type` of a problem raised as a plain HTTPException (Starlette's 404 for an unknown path,
#: 405 for a method a route does not take, ...), by status.
_TITLES = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found",
           405: "method-not-allowed", 406: "not-acceptable", 409: "conflict",
           413: "payload-too-large", 415: "unsupported-media-type", 422: "invalid-parameters",
           429: "rate-limited", 500: "internal-error", 503: "unavailable"}


class ProblemDetail(BaseModel):
    """An error answer (RFC 9457, ``application/problem+json``); some carry more members, such
    as ``errors`` on a 422."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str = Field(description="stable URI of the kind of problem; program against this",
                      examples=[PROBLEM_BASE + "device-not-found"])
    title: str = Field(examples=["Device not found"])
    status: int = Field(examples=[404])
    detail: str | None = Field(default=None, description="what went wrong, for people",
                               examples=["no visible device with dev_eui 24e124713c012345"])
    instance: str | None = Field(default=None, description="the path that was asked for",
                                 examples=["/v1/devices/24e124713c012345"])


#: What each documented error status means, for `responses`.
_MEANING = {
    400: ("A parameter is malformed (a NUL byte, a bad list or range)", "bad-request"),
    401: ("The API key is unknown, revoked or malformed (no key: open data only)", "unauthorized"),
    403: ("The key's role may not do this", "forbidden"),
    404: ("No such device, or not one you may see", "device-not-found"),
    409: ("It exists already", "conflict"),
    413: ("The request body is too large", "payload-too-large"),
    422: ("A parameter or the body does not match its schema", "invalid-parameters"),
    429: ("Too many requests: see Retry-After", "rate-limited"),
    500: ("The server failed; it has been logged", "internal-error"),
    503: ("The database does not answer; try again later", "unavailable"),
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses: each an RFC 9457 problem, with its schema
    (component ``Problem``, see `add_problem_schema`) and an example."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        description, kind = _MEANING[status]
        example = {"type": PROBLEM_BASE + kind, "title": kind.replace("-", " ").capitalize(),
                   "status": status, "detail": description}
        doc: dict[str, Any] = {"description": description, "content": {
            "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"},
                                         "example": example}}}
        if status == 429:
            doc["headers"] = {"Retry-After": {"description": "seconds to wait (RFC 9110)",
                                              "schema": {"type": "integer"}}}
        out[status] = doc
    return out


def add_problem_schema(openapi: dict[str, Any]) -> dict[str, Any]:
    """Put the ``Problem`` schema that `responses` refers to into an OpenAPI document."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    schemas.setdefault("Problem", ProblemDetail.model_json_schema())
    return openapi


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


def internal_error(path: str) -> JSONResponse:
    """The 500 answer: says what happened and when to retry, never what failed inside."""
    return problem_response(500, "internal-error", "Internal server error",
                            "the server failed to answer this request; it has been logged",
                            path)


class WatchedSend:
    """An ASGI ``send`` that remembers the status of the response once it has started (None
    before): what the middleware around a route needs to know of its answer."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
        await self._send(message)


class CatchAll:
    """ASGI middleware, innermost of ours: an exception no handler took becomes a 500 problem,
    logged with its traceback, so the middleware around it (metrics, rate limit headers, CORS)
    still sees a response. An answer already under way (a streamed export) cannot be turned into
    a problem any more: that is logged and the connection is closed by the server."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        watched = WatchedSend(send)
        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unhandled error answering %s %s", scope.get("method"),
                          scope.get("path"))
            if watched.status is not None:
                raise
            await internal_error(scope.get("path", ""))(scope, receive, send)


class RefuseNul:
    """ASGI middleware: PostgreSQL text cannot hold a NUL character, and a parameter carrying
    one (?metric=%00) reached the database and answered 500. Refused here, once, for every
    route. Plain ASGI, not ``@app.middleware("http")``: Starlette's BaseHTTPMiddleware runs the
    route in a task of its own, which costs every request and lost track of streamed exports
    whose client hung up."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            if "\x00" in request.url.path or any(
                    "\x00" in key or "\x00" in value
                    for key, value in request.query_params.multi_items()):
                await problem_response(
                    400, "bad-request", "Bad request",
                    "the request's path or a query parameter contains a NUL character",
                    request.url.path.replace("\x00", "\\x00"))(scope, receive, send)
                return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """Every error answer of ``app`` becomes an RFC 9457 problem with a stable ``type``."""
    app.add_middleware(CatchAll)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Reached only for an error in a middleware outside CatchAll; Starlette's outermost
        # middleware logs it and sends this answer.
        return internal_error(request.url.path)

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
        response = problem_response(exc.status_code, kind, kind.replace("-", " ").capitalize(),
                                    str(exc.detail), request.url.path)
        if exc.headers:  # e.g. Allow on a 405 (RFC 9110, section 15.5.6)
            response.headers.update(exc.headers)
        return response

    app.add_middleware(RefuseNul)

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
