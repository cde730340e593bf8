"""Hostile page parameters (hypothesis): any language, refresh and day, NUL characters, huge
values and bytes that are no UTF-8 in the path get an HTML page with a 4xx (or the page
itself), never a 500 and never JSON."""

from __future__ import annotations

from urllib.parse import quote_from_bytes

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import devices as registry

ROOM = "a81758fffe0399e1"
SCHOOL = "obs-de-regenboog"

_text = st.one_of(st.text(max_size=40), st.text(max_size=2000),
                  st.sampled_from(["en", "EN", "nl", "", "\x00", "%00", "-1", "0", "3600",
                                   "3601", "2026-11-27", "9999-12-31", "0001-01-01",
                                   "1" * 400]))
_bytes = st.one_of(st.binary(max_size=64), st.binary(min_size=1000, max_size=3000),
                   st.sampled_from([b"\xff", b"\xc3\x28", b"\x00", b"..", b"/", b"%2F",
                                    ROOM.encode(), b"a81758fffe0399e1\x00"]))


@pytest.fixture
def room(api: httpx.Client, db: str) -> httpx.Client:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=ROOM, organisation=SCHOOL, model_key="elsys/ers-co2", name="lokaal 1",
            use_case="classroom", visibility="open"))
    return api


def _page(r: httpx.Response) -> None:
    assert r.status_code < 500, r.text[:300]
    assert r.status_code in (200, 400, 401, 404), r.status_code
    assert r.headers["content-type"].startswith("text/html"), (r.status_code, r.text[:200])
    assert r.text.startswith("<!doctype html>")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lang=_text, refresh=_text, day=_text, which=st.sampled_from(["/", "classroom", "school", "key"]))
def test_any_query_is_a_page(room: httpx.Client, lang: str, refresh: str, day: str,
                             which: str) -> None:
    path = {"/": "/", "classroom": f"/classrooms/{ROOM}", "school": f"/schools/{SCHOOL}",
            "key": "/key"}[which]
    _page(room.get(path, params={"lang": lang, "refresh": refresh, "day": day}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=_bytes, prefix=st.sampled_from(["/classrooms/", "/schools/"]),
       lang=st.sampled_from(["", "en"]))
def test_any_path_is_a_page(room: httpx.Client, raw: bytes, prefix: str, lang: str) -> None:
    # Percent-encoded, so the bytes reach the server as they are: NUL, invalid UTF-8, slashes.
    url = prefix + quote_from_bytes(raw, safe="") + (f"?lang={lang}" if lang else "")
    # A dot segment is removed by the client (RFC 3986 5.2.4), "/classrooms" redirected to
    # "/classrooms/" by the app: follow it to the page it ends on.
    r = room.get(url, follow_redirects=True)
    try:
        _page(r)
    except AssertionError as exc:
        raise AssertionError(f"{url!r}: {exc}") from None
    if lang == "en" and r.status_code != 200:
        assert '<html lang="en">' in r.text
