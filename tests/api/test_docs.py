"""The API's docs work offline (issue 10, item 7): /docs (Swagger UI) and /redoc (ReDoc) load
every file from meetnet itself, never from a CDN."""

from __future__ import annotations

import re

import httpx
import pytest


def _references(page: str) -> list[str]:
    urls = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", page)
    urls += re.findall(r"""url:\s*['"]([^'"]+)['"]""", page)
    return urls


@pytest.mark.parametrize(("page", "script", "marker"), [
    ("/docs", "swagger-ui-bundle.js", "SwaggerUIBundle"),
    ("/redoc", "redoc.standalone.js", "Redoc"),
])
def test_docs_pages_load_only_local_files(api: httpx.Client, page: str, script: str,
                                          marker: str) -> None:
    html = api.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    # No absolute URL at all on the page: nothing can point at another host.
    assert not re.findall(r"(?:https?:)?//[\w.-]+", re.sub(r"<!--.*?-->", "", html.text,
                                                           flags=re.S)), html.text
    urls = _references(html.text)
    assert any(u.endswith(script) for u in urls), urls
    assert "/openapi.json" in urls
    kinds = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}
    for url in urls:
        r = api.get(url)
        assert r.status_code == 200, url
        expected = next(v for k, v in kinds.items() if url.endswith(k))
        assert expected in r.headers["content-type"], (url, r.headers["content-type"])
        if url.endswith(script):
            assert marker in r.text[:2_000_000]
    assert api.get("/openapi.json").json()["info"]["title"] == "meetnet"


def test_docs_pages_are_not_api_operations(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p in ("/docs", "/redoc", "/metrics")
                or p.startswith("/static")]
