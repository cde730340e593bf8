"""/waste over HTTP against a real database: the bins and due list the visitor may see with the
API's numbers, tomorrow's routes with a key, escaping, errors as pages, and the page in a real
headless Chromium over the demo's data (issue 12)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.pages import i18n
from api.pages.render import LOCAL
from api.reports import waste as reports
from store import keys
from support import SeedBin, seed_bins

ORG = "gemeente-leiden"
HOSTILE = '<script>alert("bin")</script> & Co'


def seed(db: str) -> dict[str, str]:
    """Bins of gemeente-leiden: two full (due now), one filling fast (due by forecast), one
    near-empty, one with a hostile name (open); another organisation's open bin and its
    private one. Hourly readings over the last 30 hours. Returns names -> dev_euis and a key."""
    other = "bedrijf-x"
    bins = {
        "full-a": SeedBin("24e1240000000c01", ORG, "Bak full-a", 52.1662, 4.4821, lambda h: 95.0),
        "full-b": SeedBin("24e1240000000c02", ORG, "Bak full-b", 52.1587, 4.4894, lambda h: 90.0,
                          "private"),
        "rising": SeedBin("24e1240000000c03", ORG, "Bak rising", 52.1604, 4.4910,
                          lambda h: 40.0 + 1.2 * h),
        "empty": SeedBin("24e1240000000c04", ORG, "Bak empty", 52.1650, 4.4950, lambda h: 20.0),
        "hostile": SeedBin("24e1240000000c05", ORG, HOSTILE, 52.1595, 4.4936, lambda h: 61.25),
        "other-open": SeedBin("24e1240000000d01", other, "Bak other-open", 52.1609, 4.4861,
                              lambda h: 99.0),
        "other-private": SeedBin("24e1240000000d02", other, "Bak other-private", 52.1581,
                                 4.4916, lambda h: 99.0, "private"),
    }
    key = seed_bins(db, bins, key_for=ORG)
    return {name: b.dev_eui for name, b in bins.items()} | {"key": key}


@pytest.fixture
def bins(db: str) -> dict[str, str]:
    return seed(db)


def _row(html: str, eui: str) -> str:
    found = re.search(rf'<tr data-dev-eui="{eui}">(.*?)</tr>', html, re.S)
    assert found, eui
    return found.group(1)


def test_open_bins_and_due_list_with_the_apis_numbers(api: httpx.Client,
                                                      bins: dict[str, str]) -> None:
    r = api.get("/waste")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    html = r.text
    listing = api.get("/v1/waste/bins").json()
    assert {b["dev_eui"] for b in listing} == {
        bins[n] for n in ("full-a", "rising", "empty", "hostile", "other-open")}
    # Every visible bin is on the map with its fill as the API gives it, in Dutch.
    for b in listing:
        assert f"{escape(b['name'])}: {i18n.number(b['fill_pct'], 'nl')} %" in html
    # The due list is the API's due bins, fullest first, each with its fill.
    due = sorted((b for b in listing if b["due"]), key=lambda b: -b["fill_pct"])
    assert [b["dev_eui"] for b in due] == [bins["other-open"], bins["full-a"], bins["rising"]]
    rows = re.findall(r'<tr data-dev-eui="([0-9a-f]+)">', html)
    assert rows == [b["dev_eui"] for b in due]
    for b in due:
        assert f"{i18n.number(b['fill_pct'], 'nl')} %" in _row(html, b["dev_eui"])
    # Private bins stay out; routes need a key.
    assert bins["full-b"] not in html and "Bak full-b" not in html
    assert bins["other-private"] not in html
    assert i18n.text("nl", "waste.routes.key") in html


def test_a_key_shows_its_own_bins_and_tomorrows_routes(api: httpx.Client,
                                                       bins: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {bins['key']}"}
    r = api.get("/waste", params={"lang": "en"}, headers=auth)
    assert r.status_code == 200, r.text
    html = r.text
    listing = {b["dev_eui"]: b for b in api.get("/v1/waste/bins", headers=auth).json()}
    assert bins["full-b"] in listing and bins["other-private"] not in listing
    assert f"Bak full-b: {i18n.number(listing[bins['full-b']]['fill_pct'], 'en')} %" in html
    # Tomorrow's routes over the organisation's own bins: every due bin it owns is a stop,
    # once; the other organisation's open bin, due as it is, is not.
    stops = re.findall(r'<li data-dev-eui="([0-9a-f]+)">', html)
    assert len(stops) == len(set(stops))
    for name in ("full-a", "full-b", "rising"):
        assert bins[name] in stops, name
    assert bins["other-open"] not in stops
    assert i18n.text("en", "waste.truck", truck=1) in html
    # Each truck's line is drawn on the map.
    assert html.count("<polyline") >= 1
    # The plan is kept: a reload shows the same plan, made at the same time.
    made = re.search(r"Planned at (\d\d:\d\d)", html)
    again = api.get("/waste", params={"lang": "en"}, headers=auth).text
    assert made and made.group(0) in again
    assert re.findall(r'<li data-dev-eui="([0-9a-f]+)">', again) == stops



def test_the_route_says_what_must_means(api: httpx.Client, bins: dict[str, str]) -> None:
    """The due list looks to the next round, the route's "must" to the round after tomorrow's:
    one line under the route says so, in the page's language."""
    auth = {"Authorization": f"Bearer {bins['key']}"}
    after = reports.round_times(reports.tomorrow())[1].astimezone(LOCAL)
    for lang in ("nl", "en"):
        html = api.get("/waste", params={"lang": lang}, headers=auth).text
        assert i18n.text(lang, "waste.stop.due.why", threshold="80",
                         after=after.strftime("%d-%m-%Y"), time="07:00") in html
    # Without a key there is no route, and so no line about it.
    assert 'id="must-why"' not in api.get("/waste").text


def test_names_are_escaped(api: httpx.Client, bins: dict[str, str]) -> None:
    html = api.get("/waste").text
    assert HOSTILE not in html and "<script>" not in html
    assert escape(HOSTILE) in html


def test_a_bad_key_is_an_html_401(api: httpx.Client, bins: dict[str, str]) -> None:
    r = api.get("/waste", headers={"Authorization": "Bearer mn_not-a-key"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("text/html")
    assert i18n.text("nl", "error.401") in r.text


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["lang", "at", "threshold", "x"]),
                              st.text(max_size=30), max_size=3))
def test_any_parameters_are_a_page_never_a_500(api: httpx.Client,
                                               params: dict[str, str]) -> None:
    r = api.get("/waste", params=params)
    assert r.status_code < 500
    assert r.headers["content-type"].startswith("text/html")


# --- the demo's data in a real browser ---


@pytest.fixture(scope="module")
def demo(module_db: str) -> Iterator[object]:
    from demo_data import seed, serve

    with serve(seed(module_db)) as running:
        yield running


def test_waste_page_in_chromium(demo: object) -> None:
    browser = pytest.importorskip("browser")
    if browser.CHROMIUM is None:
        pytest.skip("needs Debian's chromium (.ci/run installs it)")
    from demo_data import Demo

    assert isinstance(demo, Demo)
    with psycopg.connect(demo.seeded.dsn) as conn:
        _, key = keys.create_key(conn, ORG, "reader")
    listing = demo.api.get("/v1/waste/bins").json()
    assert listing
    with browser.Browser() as chromium:
        for lang, headers in (("nl", None), ("en", {"X-API-Key": key})):
            page = chromium.load(f"{demo.url}/waste?lang={lang}", headers=headers)
            assert page.status == 200
            assert page.console_errors == []
            assert page.foreign_requests() == []
            for b in listing:
                assert f"{escape(b['name'])}: {i18n.number(b['fill_pct'], lang)} %" in page.dom
            if headers:
                assert "<polyline" in page.dom
