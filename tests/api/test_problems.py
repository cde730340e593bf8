"""Every error answer is an RFC 9457 problem with a stable `type` (issue 10, item 7): unknown
paths, wrong methods, too-large bodies, rate limits, and any unexpected exception (a 500 that is
logged with its traceback and tells the caller nothing of the inside)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest
from fastapi import HTTPException

from api import create_app
from meetnet.settings import Settings
from support import LiveServer

BASE = "https://meetnet.example/problems/"


@pytest.fixture
def test_api(db: str) -> Iterator[httpx.Client]:
    """The real app plus routes that fail in the ways the real routes must never leak."""
    app = create_app(Settings(database_url=db, api_rate_limit_per_minute=0,  # type: ignore[arg-type]
                              api_anonymous_rate_limit_per_minute=0, api_cors_origins=["*"]), db)

    @app.get("/test/boom")
    def boom() -> None:
        raise RuntimeError("password=hunter2 in /srv/meetnet/secret.py")

    @app.get("/test/too-large")
    def too_large() -> None:
        raise HTTPException(413, "the body is larger than 64 KiB")

    with LiveServer(app) as client:
        yield client


def _problem(r: httpx.Response, status: int, kind: str) -> dict[str, object]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body: dict[str, object] = r.json()
    assert body["type"] == BASE + kind and body["status"] == status and body["title"]
    return body


def test_an_unexpected_error_is_a_500_problem_without_internals(
        test_api: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="api.problems"):
        r = test_api.get("/test/boom", headers={"Origin": "https://student.example"})
    body = _problem(r, 500, "internal-error")
    assert "hunter2" not in r.text and "RuntimeError" not in r.text and "secret" not in r.text
    assert body["instance"] == "/test/boom"
    # Still inside the CORS middleware: a browser app can read the error.
    assert r.headers["access-control-allow-origin"] == "*"
    [record] = [rec for rec in caplog.records if rec.name == "api.problems"]
    assert record.exc_info is not None and "hunter2" in str(record.exc_info[1])
    # The server goes on answering.
    assert test_api.get("/healthz").status_code == 200


def test_unknown_paths_and_methods_are_problems(test_api: httpx.Client) -> None:
    _problem(test_api.get("/v1/nothing-here"), 404, "not-found")
    _problem(test_api.get("/nothing"), 404, "not-found")
    r = test_api.put("/v1/latest")
    _problem(r, 405, "method-not-allowed")
    assert r.headers["allow"] == "GET"  # RFC 9110, section 15.5.6
    _problem(test_api.post("/healthz"), 405, "method-not-allowed")


def test_too_large_is_a_problem(test_api: httpx.Client) -> None:
    body = _problem(test_api.get("/test/too-large"), 413, "payload-too-large")
    assert body["detail"] == "the body is larger than 64 KiB"


def test_invalid_parameters_are_a_422_problem(test_api: httpx.Client) -> None:
    _problem(test_api.get("/v1/latest", params={"limit": "many"}), 422, "invalid-parameters")
