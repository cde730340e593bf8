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


def test_every_error_answer_is_documented_as_a_problem(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status"} <= set(problem["required"])
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, answer in operation["responses"].items():
                if status.startswith(("4", "5")) and path != "/healthz":
                    assert "application/problem+json" in answer.get("content", {}), \
                        (method, path, status)
            if path.startswith("/v1/") and not path.startswith("/v1/ingest/"):
                assert {"401", "429", "500"} <= set(operation["responses"]), (method, path)
            if "{" in path:
                assert "404" in operation["responses"], (method, path)


@pytest.mark.parametrize(("path", "status"), [("/v1/latest", "200"),
                                              ("/v1/latest.geojson", "200"),
                                              ("/v1/classrooms/{dev_eui}/report", "404"),
                                              ("/readyz", "200"), ("/readyz", "503")])
def test_routes_show_examples(api: httpx.Client, path: str, status: str) -> None:
    answer = api.get("/openapi.json").json()["paths"][path]["get"]["responses"][status]
    assert any("example" in media or "examples" in media
               for media in answer["content"].values()), answer
