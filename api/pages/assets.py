"""The pages' own static files (api/pages/static/), served by the app itself: no CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response

from api.pages.render import STATIC

DIRECTORY = Path(__file__).parent / "static"
_TYPES = {".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
#: Read once: a fixed set of names, so no path from a request ever reaches the file system.
FILES = {p.name: (p.read_bytes(), _TYPES[p.suffix]) for p in sorted(DIRECTORY.iterdir())
         if p.suffix in _TYPES}

router = APIRouter(include_in_schema=False)


@router.get(STATIC + "/{name}")
def asset(name: str) -> Response:
    found = FILES.get(name)
    if found is None:
        return Response(b"not found", status_code=404, media_type="text/plain; charset=utf-8")
    body, media_type = found
    return Response(body, media_type=media_type, headers={"Cache-Control": "public, max-age=3600"})
