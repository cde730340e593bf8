"""What every page shares: the Jinja2 environment (autoescape on), the page language, the
caller, rendering a template, and errors as HTML pages in the page's language.

A page module makes its router with `page_router()` and answers with `render(...)`; anything a
page raises on the way (a `Problem`: an invisible device, a bad key; invalid parameters; a
value the database refuses; the database away) becomes an HTML error page in the visitor's
language, never JSON and never a 500.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

import jinja2
import psycopg
from fastapi import APIRouter, Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api import limits
from api.deps import Conn, caller
from api.pages import i18n
from api.pages.i18n import Lang
from api.problems import Problem
from meetnet import __version__
from store import keys

TEMPLATES = Path(__file__).parent / "templates"
#: Times on the pages are local to the network (the Leiden region).
LOCAL = ZoneInfo("Europe/Amsterdam")
#: The cookie a browser keeps a key in (api/pages/access.py sets it with a form).
KEY_COOKIE = "meetnet_key"
#: Where the pages' own files (CSS) are served from.
STATIC = "/pages/static"
#: Every page's path template, filled in by api/pages/__init__.py from the page modules.
PATHS: set[str] = set()

ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,  # every template, whatever its file name
    undefined=jinja2.StrictUndefined,  # a misspelt variable fails the tests, not the visitor
    trim_blocks=True, lstrip_blocks=True)


def page_lang(request: Request) -> Lang:
    return i18n.lang_of(request.query_params.get("lang"))


def page_caller(request: Request, conn: Conn,
                from_header: Annotated[keys.Caller, Depends(caller)]) -> keys.Caller:
    """Who looks: the API's key headers (``Authorization: Bearer``, ``X-API-Key``) first, then
    the key cookie the key form sets; neither is an anonymous visitor (open data only). A key in
    the URL is never read: URLs end up in logs, histories and Referer headers."""
    if from_header.organisation is not None:
        return from_header
    secret = request.cookies.get(KEY_COOKIE)
    if not secret:
        return from_header
    found = keys.caller_for(conn, secret)
    if found is None:
        raise Problem(401, "unauthorized", "Unauthorized", "unknown or revoked API key")
    return found


PageCaller = Annotated[keys.Caller, Depends(page_caller)]


def href(path: str, lang: Lang, **params: str) -> str:
    """A link to another page, in the same language."""
    query = {**params, **({"lang": lang} if lang != i18n.DEFAULT else {})}
    return path + ("?" + urlencode(query) if query else "")


def local_time(value: datetime, fmt: str = "%H:%M") -> str:
    return value.astimezone(LOCAL).strftime(fmt)


def _nav(request: Request, lang: Lang) -> list[tuple[str, str]]:
    """The top navigation: the front door and whichever overview pages there are."""
    paths = PATHS
    items = [("/", "nav.home"), ("/waste", "nav.waste"), ("/water", "nav.water"),
             ("/key", "nav.key")]
    return [(href(p, lang), i18n.text(lang, k)) for p, k in items if p in paths]


def context(request: Request, lang: Lang, who: keys.Caller | None) -> dict[str, Any]:
    """What base.html needs, and the helpers every template may use."""
    other: Lang = "en" if lang == "nl" else "nl"
    params = {k: v for k, v in request.query_params.multi_items() if k != "lang"}
    if other != i18n.DEFAULT:
        params["lang"] = other
    return {
        "lang": lang,
        "t": lambda key, **values: i18n.text(lang, key, **values),
        "num": lambda value, decimals=0: i18n.number(value, lang, decimals),
        "pct": lambda share: i18n.percent(share, lang),
        "href": lambda path, **params: href(path, lang, **params),
        "local_time": local_time,
        "switch_url": request.url.path + ("?" + urlencode(params) if params else ""),
        "nav": _nav(request, lang),
        "who": who,
        "version": __version__,
        "static": STATIC,
        "now": datetime.now(UTC),
        "refresh": None,
    }


def render(request: Request, template: str, *, lang: Lang, who: keys.Caller | None,
           status: int = 200, headers: Mapping[str, str] | None = None,
           **values: Any) -> HTMLResponse:
    """The page ``template`` with base.html's context plus ``values``."""
    html = ENV.get_template(template).render({**context(request, lang, who), **values})
    answer = HTMLResponse(html, status_code=status, headers=headers)
    # Pages show what a key may see: never from a shared cache.
    answer.headers["Cache-Control"] = "private, no-cache"
    answer.headers["X-Content-Type-Options"] = "nosniff"
    tiles = tile_server(request)
    images = "'self' data:" + (f" {tiles[0]}" if tiles else "")
    answer.headers["Content-Security-Policy"] = (
        f"default-src 'none'; style-src 'self'; img-src {images}; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'")
    return answer


def tile_server(request: Request) -> tuple[str, str, str] | None:
    """(origin, URL template, attribution) of the configured map tiles, or None: no tiles
    unless ``MEETNET_PAGES_TILE_URL`` is an http(s) URL."""
    settings = request.app.state.settings
    url = (settings.pages_tile_url or "").strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}", url, settings.pages_tile_attribution


def error_page(request: Request, status: int, message: str | None = None,
               headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """An error as an HTML page in the request's language (``message`` already translated;
    default: the status's own sentence)."""
    lang = page_lang(request)
    key = f"error.{status}"
    if message is None:
        message = i18n.text(lang, key if key in i18n.STRINGS[lang] else "error.400")
    return render(request, "error.html", lang=lang, who=None, status=status, headers=headers,
                  status_code=status, message=message)


def _problem_message(request: Request, exc: Problem) -> str | None:
    lang = page_lang(request)
    if exc.kind == "device-not-found":
        return i18n.text(lang, "error.device_not_found",
                         dev_eui=request.path_params.get("dev_eui", ""))
    if exc.kind == "school-not-found":
        return i18n.text(lang, "error.school_not_found",
                         organisation=request.path_params.get("organisation", ""))
    return None


class PageRoute(APIRoute):
    """A route whose errors are HTML pages: FastAPI's handler raises parameter errors and the
    dependencies' problems (a bad key) out of the route, where the app would answer JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except Problem as exc:
                extra = exc.extra.get("headers") if isinstance(exc.extra, dict) else None
                return error_page(request, exc.status, _problem_message(request, exc),
                                  headers=extra if isinstance(extra, dict) else None)
            except RequestValidationError:
                return error_page(request, 400)
            except StarletteHTTPException as exc:
                return error_page(request, exc.status_code, headers=exc.headers)
            except psycopg.DataError:
                return error_page(request, 400)
            except psycopg.OperationalError:
                return error_page(request, 503)

        return page_handler


def page_router() -> APIRouter:
    """The router a page module adds its pages to: HTML errors, not in the OpenAPI document,
    rate-limited like the API (the key's bucket once its id is known)."""
    return APIRouter(route_class=PageRoute, include_in_schema=False,
                     dependencies=[Depends(limits.note_caller)])
