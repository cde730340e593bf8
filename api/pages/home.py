"""/: the front door (see home.html)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.pages.render import PageCaller, page_lang, page_router, render

router = page_router()


@router.get("/")
def home(request: Request, who: PageCaller) -> HTMLResponse:
    return render(request, "home.html", lang=page_lang(request), who=who)
