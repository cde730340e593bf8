"""The front door, classroom and school pages over HTTP against the real app and database:
language, escaping, who sees what (no key, a key header, the key cookie), and errors as HTML
pages in the page's language (issue 12)."""

from __future__ import annotations

import contextlib
import html
import io
import re
from datetime import UTC, datetime, timedelta

import httpx
import pandas as pd
import psycopg
import pytest

from analytics.classroom import DECAY_MIN_EXCESS_PPM, DECAY_MIN_MINUTES
from api.pages import i18n
from store import Batch, ReadingRow, Writer, keys
from store import devices as registry

SCHOOL = "obs-de-regenboog"
OPEN_ROOM = "a81758fffe0399d1"
PRIVATE_ROOM = "a81758fffe0399d2"
OTHER_ROOM = "a81758fffe0399d3"  # another school's private room
BIN = "24e124713c0399d4"
HOSTILE = '<script>alert("x")</script> & co'


@pytest.fixture
def world(db: str) -> dict[str, str]:
    """Three classrooms (one open with a hostile name, one private, one of another school)
    and an open bin, each with an hour of readings; returns the keys of both schools."""
    now = datetime.now(UTC).replace(microsecond=0)
    rooms = {OPEN_ROOM: (SCHOOL, "open", HOSTILE, "classroom"),
             PRIVATE_ROOM: (SCHOOL, "private", "lokaal 2", "classroom"),
             OTHER_ROOM: ("andere-school", "private", "lokaal X", "classroom"),
             BIN: ("gemeente-leiden", "open", "bak", "waste")}
    with psycopg.connect(db) as conn:
        ids = {eui: registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation=org, model_key="elsys/ers-co2", name=name,
            use_case=use_case, visibility=vis, lat=52.16, lon=4.49))
            for eui, (org, vis, name, use_case) in rooms.items()}
        school_key = keys.create_key(conn, SCHOOL, "reader")[1]
        other_key = keys.create_key(conn, "andere-school", "reader")[1]
    with Writer(db) as w:
        rows = []
        for i, eui in enumerate(rooms):
            for minute in range(0, 60, 5):
                t = now - timedelta(minutes=60 - minute)
                rows += [ReadingRow(t, ids[eui], "co2", 700.0 + 300 * i + minute),
                         ReadingRow(t, ids[eui], "temperature", 20.5),
                         ReadingRow(t, ids[eui], "humidity", 45.0)]
        w.write(Batch(readings=rows))
    return {"school": school_key, "other": other_key}


def _html(r: httpx.Response, status: int = 200, lang: str = "nl") -> str:
    assert r.status_code == status, r.text[:500]
    assert r.headers["content-type"].startswith("text/html")
    assert f'<html lang="{lang}">' in r.text
    return r.text


def test_front_door_in_dutch_and_in_english(api: httpx.Client, world: dict[str, str]) -> None:
    dutch = _html(api.get("/"))
    assert "Wat meet dit netwerk?" in dutch and "/v1/use-cases/classroom/export.csv" in dutch
    english = _html(api.get("/", params={"lang": "en"}), lang="en")
    assert "What does this network measure?" in english
    # Links keep the language; the switch leads to the other one.
    assert f'href="/classrooms/{OPEN_ROOM}?lang=en"' in english
    assert 'class="lang" href="/"' in english and 'class="lang" href="/?lang=en"' in dutch
    # Any other language is the Dutch page, not an error.
    _html(api.get("/", params={"lang": "de"}))
    # The front door shows open data only, also to a key of the school.
    keyed = _html(api.get("/", headers={"X-API-Key": world["school"]}))
    assert PRIVATE_ROOM not in keyed and OPEN_ROOM in keyed


def test_the_api_around_the_pages_still_answers(api: httpx.Client) -> None:
    for path in ("/docs", "/redoc", "/healthz", "/metrics", "/v1/latest", "/openapi.json"):
        assert api.get(path).status_code == 200, path
    paths = api.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith(("/v1/", "/healthz", "/readyz"))], paths
    css = api.get("/pages/static/pages.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert api.get("/pages/static/../app.py").status_code == 404


def test_a_device_name_is_text_never_markup(api: httpx.Client, world: dict[str, str]) -> None:
    for path in ("/", f"/classrooms/{OPEN_ROOM}", f"/schools/{SCHOOL}"):
        page = _html(api.get(path))
        assert "<script" not in page, path
        assert "&lt;script&gt;alert(" in page, path


def test_classroom_page_shows_the_latest_co2(api: httpx.Client, world: dict[str, str]) -> None:
    page = _html(api.get(f"/classrooms/{OPEN_ROOM}", params={"lang": "en"}), lang="en")
    latest = api.get("/v1/latest", params={"dev_eui": OPEN_ROOM}).json()[0]["readings"]
    co2 = latest["co2"]["value"]
    assert f'data-co2="{co2}"' in page
    assert f">{co2:,.0f}<" in page  # the big number, as English writes it
    # 755 ppm is class A: the advice says so, in the page's language.
    assert "The air is good: 755 ppm, class A." in page
    dutch = _html(api.get(f"/classrooms/{OPEN_ROOM}"))
    assert "De lucht is goed: 755 ppm, klasse A." in dutch
    assert '<meta http-equiv="refresh" content="300">' in dutch
    assert "http-equiv" not in _html(api.get(f"/classrooms/{OPEN_ROOM}", params={"refresh": 0}))


def test_advice_to_open_a_window(api: httpx.Client, world: dict[str, str]) -> None:
    # The other school's room is at 1,355 ppm: above class C.
    page = _html(api.get(f"/classrooms/{OTHER_ROOM}", params={"lang": "en"},
                         headers={"X-API-Key": world["other"]}), lang="en")
    assert "Open a window: 1,355 ppm, above class C." in page
    dutch = _html(api.get(f"/classrooms/{OTHER_ROOM}", headers={"X-API-Key": world["other"]}))
    assert "Zet een raam open: 1.355 ppm, boven klasse C." in dutch


def test_an_invisible_device_is_a_404_page(api: httpx.Client, world: dict[str, str]) -> None:
    hidden = _html(api.get(f"/classrooms/{PRIVATE_ROOM}"), 404)
    assert "Fout 404" in hidden and f"geen zichtbaar apparaat met dev_eui {PRIVATE_ROOM}" in hidden
    english = _html(api.get(f"/classrooms/{PRIVATE_ROOM}", params={"lang": "en"}), 404, "en")
    assert "There is no visible device" in english
    # A device that does not exist looks the same (apart from its dev_eui).
    missing = _html(api.get("/classrooms/a81758fffe0399ff"), 404)
    assert missing.replace("a81758fffe0399ff", PRIVATE_ROOM) == hidden
    # Another school's key does not open it; the school's own key does.
    _html(api.get(f"/classrooms/{PRIVATE_ROOM}", headers={"X-API-Key": world["other"]}), 404)
    _html(api.get(f"/classrooms/{PRIVATE_ROOM}",
                  headers={"Authorization": f"Bearer {world['school']}"}))
    # A bin is no classroom, and a malformed dev_eui is the same 404 page.
    for eui in (BIN, "xyz", "a81758fffe0399d1%2F..", ""):
        _html(api.get(f"/classrooms/{eui}"), 404)


def test_school_page_shows_the_rooms_the_visitor_may_see(api: httpx.Client,
                                                         world: dict[str, str]) -> None:
    anonymous = _html(api.get(f"/schools/{SCHOOL}"))
    assert OPEN_ROOM in anonymous and PRIVATE_ROOM not in anonymous
    keyed = _html(api.get(f"/schools/{SCHOOL}", headers={"X-API-Key": world["school"]}))
    assert OPEN_ROOM in keyed and PRIVATE_ROOM in keyed and OTHER_ROOM not in keyed
    # A school with no visible room and no school at all are the same 404 page.
    private = _html(api.get("/schools/andere-school"), 404)
    none = _html(api.get("/schools/bestaat-niet"), 404)
    assert private.replace("andere-school", "X") == none.replace("bestaat-niet", "X")
    _html(api.get("/schools/Not A Slug"), 404)


def test_a_bad_key_is_a_401_page(api: httpx.Client, world: dict[str, str]) -> None:
    for headers in ({"X-API-Key": "mn_nope"}, {"Authorization": "Basic abc"}):
        page = _html(api.get(f"/classrooms/{OPEN_ROOM}", headers=headers), 401)
        assert "Fout 401" in page
    # The key is never taken from the URL.
    _html(api.get(f"/classrooms/{PRIVATE_ROOM}", params={"key": world["school"]}), 404)


def test_the_key_form_keeps_a_key_in_a_cookie(api: httpx.Client, world: dict[str, str]) -> None:
    base = str(api.base_url).rstrip("/")
    form = _html(api.get("/key"))
    assert 'name="key"' in form and "geen sleutel" in form
    refused = api.post("/key", data={"key": "mn_wrong"}, headers={"Origin": base})
    assert refused.status_code == 401 and "set-cookie" not in refused.headers
    # Another site's form may not set a key for this browser.
    cross = api.post("/key", data={"key": world["school"]},
                     headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403 and "set-cookie" not in cross.headers
    ok = api.post("/key", data={"key": world["school"]}, headers={"Origin": base})
    assert ok.status_code == 303, ok.text
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    with httpx.Client(base_url=base, cookies=ok.cookies) as browser:
        _html(browser.get(f"/classrooms/{PRIVATE_ROOM}"))
        assert SCHOOL in _html(browser.get("/key"))
        # The API itself never reads the cookie.
        assert browser.get(f"/v1/classrooms/{PRIVATE_ROOM}/report").status_code == 404
        forget = browser.post("/key", data={"forget": "1"}, headers={"Origin": base})
        assert forget.status_code == 303
        assert 'max-age=0' in forget.headers["set-cookie"].lower() or \
            "expires=" in forget.headers["set-cookie"].lower()
    # A cookie with a revoked or unknown key: a 401 page, and the form still opens to forget it.
    with httpx.Client(base_url=base, cookies={"meetnet_key": "mn_gone"}) as stale:
        _html(stale.get("/"), 401)
        assert "Deze sleutel kennen we niet" in _html(stale.get("/key"))


def test_nul_and_bad_parameters_are_html_pages(api: httpx.Client, world: dict[str, str]) -> None:
    for url in ("/?lang=%00", f"/classrooms/{OPEN_ROOM}%00", "/schools/a%00b"):
        _html(api.get(url), 400)
    for params in ({"refresh": "-1"}, {"refresh": "soon"}, {"day": "gisteren"},
                   {"day": "2999-01-01"}, {"day": "1999-12-31"}):
        page = _html(api.get(f"/classrooms/{OPEN_ROOM}", params={**params, "lang": "en"}), 400,
                     "en")
        assert "Error 400" in page
    assert re.search(r"<h2>CO2 on \d\d-\d\d-\d{4}</h2>", _html(api.get(
        f"/classrooms/{OPEN_ROOM}", params={"lang": "en", "day": "2025-11-28"}), lang="en"))


def test_the_front_doors_pandas_snippets_run(api: httpx.Client, world: dict[str, str]) -> None:
    """Each dataset's pandas snippet, copied from the page as a student would, runs against
    this server and reads its rows."""
    page = _html(api.get("/"))
    snippets = [html.unescape(s) for s in re.findall(r'<code class="pandas">(.*?)</code>',
                                                     page, re.S)]
    assert len(snippets) == 4
    for snippet in snippets:
        names: dict[str, object] = {}
        with contextlib.redirect_stdout(io.StringIO()):
            exec(snippet, names)  # the page's own text
        frames = [v for v in names.values() if isinstance(v, pd.DataFrame)]
        assert len(frames) == 1, snippet
        if "classroom" in snippet:
            assert set(frames[0]["name"]) == {HOSTILE}  # open rooms only, with their names
            assert frames[0]["time"].dt.tz is not None and len(frames[0]) == 12


def test_why_no_ventilation_is_in_the_pages_language(api: httpx.Client, db: str,
                                                     world: dict[str, str]) -> None:
    """The report's reason is English; the page says it from the report's stable reason_code."""
    empty_room = "a81758fffe0399d5"
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=empty_room, organisation=SCHOOL, model_key="elsys/ers-co2", name="leeg",
            use_case="classroom", visibility="open", lat=52.16, lon=4.49))
    # An hour of rising CO2 has readings but no decay; a room without readings has neither.
    for eui, code in ((OPEN_ROOM, "no-decay"), (empty_room, "no-readings")):
        vent = api.get(f"/v1/classrooms/{eui}/report").json()["ventilation"]
        assert vent["air_changes_per_hour"] is None and vent["reason"]
        assert vent["reason_code"] == code
        for lang in ("nl", "en"):
            page = _html(api.get(f"/classrooms/{eui}", params={"lang": lang}), lang=lang)
            reason = i18n.text(lang, f"room.ventilation.reason.{code}",
                               minutes=i18n.number(DECAY_MIN_MINUTES, lang),
                               excess=i18n.number(DECAY_MIN_EXCESS_PPM, lang))
            assert html.escape(i18n.text(lang, "room.ventilation.none", reason=reason)) in page
            assert html.escape(vent["reason"]) not in page


@pytest.mark.parametrize(("public_url", "shown"), [
    ("https://meetnet.example.org/", "https://meetnet.example.org"),
    ("javascript:alert(1)", None),  # not an http(s) URL: the request's own address
])
def test_the_snippets_use_the_public_url(db: str, public_url: str, shown: str | None) -> None:
    from pages.demo_data import Seeded, serve

    now = datetime.now(UTC)
    with serve(Seeded(dsn=db, start=now, end=now, devices=(), uplinks=0),
               public_url=public_url) as demo:
        page = _html(demo.api.get("/"))
        base = shown or demo.url
        assert f"{base}/v1/use-cases/classroom/export.csv" in page
        assert f"{base}/v1/devices" in page
        assert "javascript:" not in page and (shown is None or demo.url not in page)
