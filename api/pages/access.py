"""/key: a small form that keeps an API key in a cookie, so a browser shows an organisation's
own devices on the pages without a header. The cookie is HttpOnly (no script reads it) and
SameSite=Strict (no other site's link or form sends it), Secure over HTTPS; the form refuses a
POST from another origin (RFC 6454 ``Origin``), so no other site can set a key for a visitor.
The API itself never reads this cookie: it takes keys from headers only.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import Caller, Conn
from api.pages import i18n
from api.pages.render import KEY_COOKIE, href, page_lang, page_router, render
from store import keys

router = page_router()

#: A key is "mn_" and 43 URL-safe base64 characters; anything much longer is not one.
MAX_FORM_BYTES = 4096
#: How long a browser keeps the key: a school term.
COOKIE_MAX_AGE_S = 120 * 24 * 3600


@router.get("/key")
def key_form(request: Request, conn: Conn, from_header: Caller) -> HTMLResponse:
    """The form, and whose key this browser uses. Unlike the other pages a cookie with an
    unknown or revoked key is no 401 here: this is where the visitor forgets it."""
    lang = page_lang(request)
    who, message = from_header, None
    secret = request.cookies.get(KEY_COOKIE)
    if who.organisation is None and secret:
        found = keys.caller_for(conn, secret)
        if found is None:
            message = i18n.text(lang, "key.bad")
        else:
            who = found
    return render(request, "key.html", lang=lang, who=who, message=message)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        # Browsers send Origin on every POST; a missing one is a non-browser client, which
        # could send the header itself anyway. "null" (a sandboxed or file: page) is not us.
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


@router.post("/key")
async def key_submit(request: Request, conn: Conn) -> Response:
    lang = page_lang(request)
    if not _same_origin(request):
        return render(request, "key.html", lang=lang, who=None, status=403,
                      message=i18n.text(lang, "key.cross_site"))
    body = await request.body()
    form = parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace"), max_num_fields=4)
    if "forget" in form:
        answer = RedirectResponse(href("/key", lang), status_code=303)
        answer.delete_cookie(KEY_COOKIE, path="/")
        return answer
    secret = (form.get("key") or [""])[0].strip()
    found = keys.caller_for(conn, secret) if secret and "\x00" not in secret else None
    if found is None:
        return render(request, "key.html", lang=lang, who=None, status=401,
                      message=i18n.text(lang, "key.bad"))
    answer = RedirectResponse(href("/key", lang), status_code=303)
    answer.set_cookie(KEY_COOKIE, secret, max_age=COOKIE_MAX_AGE_S, path="/", httponly=True,
                      samesite="strict", secure=request.url.scheme == "https")
    return answer
