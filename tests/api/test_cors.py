"""CORS for students' browser apps (issue 10, item 7): off unless origins are configured."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import create_app
from meetnet.settings import Settings
from support import LiveServer

APP = "https://groep7.example"


@contextmanager
def serve(db: str, origins: list[str]) -> Iterator[httpx.Client]:
    app = create_app(Settings(database_url=db, api_cors_origins=origins,  # type: ignore[arg-type]
                              api_anonymous_rate_limit_per_minute=60), db)
    with LiveServer(app) as client:
        yield client


def preflight(api: httpx.Client, origin: str) -> httpx.Response:
    return api.options("/v1/latest", headers={
        "Origin": origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})


def test_no_origins_no_cors_headers(db: str) -> None:
    with serve(db, []) as api:
        r = api.get("/v1/latest", headers={"Origin": APP})
        assert r.status_code == 200
        assert not [h for h in r.headers if h.startswith("access-control-")]
        assert "access-control-allow-origin" not in preflight(api, APP).headers


def test_named_origins_only(db: str) -> None:
    with serve(db, [APP, "http://localhost:5173"]) as api:
        ok = preflight(api, APP)
        assert ok.status_code == 200
        assert ok.headers["access-control-allow-origin"] == APP
        assert "authorization" in ok.headers["access-control-allow-headers"].lower()
        assert "GET" in ok.headers["access-control-allow-methods"]
        # A preflight is not a request: it costs nothing of the rate limit.
        assert "ratelimit-remaining" not in ok.headers

        simple = api.get("/v1/latest", headers={"Origin": APP})
        assert simple.status_code == 200
        assert simple.headers["access-control-allow-origin"] == APP
        exposed = simple.headers["access-control-expose-headers"].lower()
        assert "retry-after" in exposed and "ratelimit-remaining" in exposed and "link" in exposed

        refused = preflight(api, "https://elsewhere.example")
        assert refused.status_code == 400
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/cors-refused")
        assert "origin" in refused.json()["detail"].lower()
        other = api.get("/v1/latest", headers={"Origin": "https://elsewhere.example"})
        assert "access-control-allow-origin" not in other.headers


def test_any_origin(db: str) -> None:
    with serve(db, ["*"]) as api:
        assert preflight(api, "https://anyone.example").headers[
            "access-control-allow-origin"] == "*"
        r = api.get("/v1/devices", headers={"Origin": "https://anyone.example"})
        assert r.headers["access-control-allow-origin"] == "*"


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(origin=st.binary(max_size=200).map(lambda b: bytes(c for c in b if c == 9 or 32 <= c != 127)),
       method=st.sampled_from(["GET", "PUT", "TRACE", "get", "X" * 100]))
def test_any_origin_header_never_answers_500(cors_api: httpx.Client, origin: bytes,
                                             method: str) -> None:
    r = cors_api.options("/v1/latest", headers={"Origin": origin.strip(b" \t"),
                                                "Access-Control-Request-Method": method})
    assert r.status_code < 500
    if r.status_code >= 400:
        assert r.headers["content-type"] == "application/problem+json"


@pytest.fixture
def cors_api(db: str) -> Iterator[httpx.Client]:
    with serve(db, [APP]) as api:
        yield api
