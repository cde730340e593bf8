"""Pages people look at, served by the API app: server-rendered HTML (Jinja2), Dutch by default
and English with ``?lang=en``, charts and maps as SVG drawn on the server, no JavaScript and
nothing loaded from another server (docs/pages.md).

A page module has a ``router`` made by `api.pages.render.page_router`; adding a page module is
one entry in `MODULES` below. `install` puts the pages on the app (api/app.py).
"""

from __future__ import annotations

import re

from fastapi import APIRouter, FastAPI
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from api.pages import access, assets, classrooms, crossings, home, render, waste, water
from api.pages.render import error_page

#: The page modules, each with its ``router``.
MODULES = (assets, access, home, classrooms, waste, crossings, water)

router = APIRouter(include_in_schema=False)
for _module in MODULES:
    router.include_router(_module.router)
    # The module's own routes (FastAPI keeps an included router's routes inside it).
    render.PATHS.update(getattr(r, "path", "") for r in _module.router.routes)


def _page_paths() -> tuple[frozenset[str], tuple[str, ...]]:
    """The pages' exact paths and the prefixes of their parameterised paths."""
    exact, prefixes = set(), set()
    for path in render.PATHS:
        if "{" in path:
            prefixes.add(path[:path.index("{")])
        else:
            exact.add(path)
    return frozenset(exact), tuple(sorted(prefixes))


#: Characters no page's path can hold: a dev_eui or an organisation slug never has them.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class PageGuard:
    """ASGI middleware outside the app's NUL check (api/problems.py `RefuseNul`, which answers
    JSON) for the pages' URLs: a NUL in a page's path or query is an HTML 400 page, and another
    control character in its path (which Starlette's path parameters do not match, so the app
    would answer a JSON 404) an HTML 404 page."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.exact, self.prefixes = _page_paths()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            # The scope's path as it came, not request.url.path: urllib's URL parsing drops
            # tabs and newlines (WHATWG URL), and the router sees them.
            path = str(scope.get("path", ""))
            if path in self.exact or path.startswith(self.prefixes):
                if "\x00" in path or any("\x00" in k or "\x00" in v
                                         for k, v in request.query_params.multi_items()):
                    await error_page(request, 400)(scope, receive, send)
                    return
                if _CONTROL.search(path):
                    await error_page(request, 404)(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def install(app: FastAPI) -> None:
    """The pages on ``app``: call after `api.problems.install`, so a NUL in a page's URL is
    answered here, as a page, before the app's own check answers it as JSON."""
    app.include_router(router)
    app.add_middleware(PageGuard)
