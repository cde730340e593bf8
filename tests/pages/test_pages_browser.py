"""Every page in a real headless Chromium, against the demo's data (its devices and the
scenario's uplinks up to now, through ingest): no console errors, no request leaving 127.0.0.1,
no sideways scrolling on a phone, and the CO2 a page shows is /v1/latest's (issue 12
acceptance).

With MEETNET_UPDATE_SCREENSHOTS=1 the test also writes the README's screenshots to
docs/screenshots/, every one of the demo's data (so the pictures always show the current pages
as a `meetnet demo` shows them; the pages' own tests keep their fixtures, escaping names and
all, out of the pictures; CI leaves the tree alone).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlencode

import psycopg
import pytest
from pages.browser import CHROMIUM, Browser, Page, save_screenshot
from pages.demo_data import Demo, seed, serve

from api.pages.render import LOCAL
from meetnet.demo import SCENARIO_SEED
from simulators.scenario.crossing import TRAFFIC_MODEL_KEY
from simulators.scenario.weather import Weather
from store import keys

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="needs Debian's chromium (.ci/run installs it)")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE = os.environ.get("MEETNET_UPDATE_SCREENSHOTS") == "1"
#: A phone's width in CSS pixels (a 6.1" phone held upright).
PHONE = 390
#: The address `meetnet demo` serves at: the front door's snippets in the pictures name it.
DEMO_URL = "http://127.0.0.1:8000"
#: The README's pictures: file name -> page name in `_pages`.
SHOTS = {"front-door": "front-door", "classroom": "classroom", "school": "school",
         "waste": "waste-nl", "waste-routes-en": "waste-routes-en", "crossing": "crossing-nl",
         "crossing-en": "crossing", "water": "water-nl", "water-en": "water"}


@pytest.fixture(scope="module")
def demo(module_db: str) -> Iterator[Demo]:
    with serve(seed(module_db), public_url=DEMO_URL) as running:
        yield running


@pytest.fixture(scope="module")
def waste_key(demo: Demo) -> str:
    """A reader key of the municipality that empties the demo's bins (its routes)."""
    with psycopg.connect(demo.seeded.dsn) as conn:
        return keys.create_key(conn, demo.seeded.of("waste")[0].organisation, "reader")[1]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with Browser() as running:
        yield running


def _school_day(demo: Demo) -> str:
    """The last weekday before the data's end: a day with lessons, for the pictures."""
    day = demo.seeded.end.astimezone(LOCAL).date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return str(day.isoformat())


def _water_window(demo: Demo) -> str:
    """The water page's period: around the scenario's cloudburst (two days before, one after)
    when the demo's data holds it, else the page's default (the last 7 days)."""
    start, end = demo.seeded.start, demo.seeded.end
    for year in sorted({start.year, end.year}):
        burst = Weather(SCENARIO_SEED).cloudburst(year).start
        if start + timedelta(days=2) <= burst <= end - timedelta(days=1):
            return "&" + urlencode({"from": (burst - timedelta(days=2)).isoformat(),
                                    "to": (burst + timedelta(days=1)).isoformat()})
    return ""


def _pages(demo: Demo) -> dict[str, str]:
    rooms = demo.seeded.of("classroom")
    radar = next(d for d in demo.seeded.of("crossing") if d.model_key == TRAFFIC_MODEL_KEY)
    water = _water_window(demo)
    pages = {"front-door-nl": "/", "front-door": "/?lang=en", "key": "/key",
             "school": f"/schools/{rooms[0].organisation}?lang=en",
             "school-nl": f"/schools/{rooms[0].organisation}",
             "classroom": f"/classrooms/{rooms[0].dev_eui}?lang=en&day={_school_day(demo)}",
             "waste-nl": "/waste", "waste-routes-en": "/waste?lang=en",
             "crossing-nl": f"/crossings/{radar.dev_eui}",
             "crossing": f"/crossings/{radar.dev_eui}?lang=en",
             "water-nl": f"/water?lang=nl{water}", "water": f"/water?lang=en{water}"}
    for room in rooms:
        pages[f"classroom-{room.dev_eui}"] = f"/classrooms/{room.dev_eui}"
    for crossing in demo.seeded.of("crossing"):
        pages[f"crossing-{crossing.dev_eui}"] = f"/crossings/{crossing.dev_eui}"
    return pages


def _clean(page: Page) -> None:
    assert page.status == 200, page.url
    assert page.console_errors == [], page.url
    assert page.foreign_requests() == [], page.url
    assert any(u.endswith("/pages/static/pages.css") for u in page.requests), page.url


def test_every_page_loads_offline_without_errors(demo: Demo, browser: Browser,
                                                 waste_key: str) -> None:
    shots = {page: file for file, page in SHOTS.items()}
    for name, path in _pages(demo).items():
        # Tomorrow's routes need the municipality's key; every other page is open data.
        headers = {"X-API-Key": waste_key} if name == "waste-routes-en" else None
        page = browser.load(demo.url + path, headers=headers)
        _clean(page)
        assert "<svg" in page.dom or name == "key", name
        if headers:
            assert "<polyline" in page.dom and 'id="must-why"' in page.dom
        if UPDATE and name in shots:
            save_screenshot(page, SCREENSHOTS / f"{shots[name]}.png")
        phone = browser.load(demo.url + path, width=PHONE, screenshot=False, headers=headers)
        _clean(phone)
        assert phone.scroll_width <= PHONE, (name, phone.scroll_width)


def test_every_picture_is_of_a_demo_page(demo: Demo) -> None:
    """The README's pictures are the ones this test writes, no other test's."""
    assert set(SHOTS.values()) <= set(_pages(demo))
    assert {p.stem for p in SCREENSHOTS.glob("*.png")} == set(SHOTS)


def test_the_co2_shown_is_the_apis(demo: Demo, browser: Browser) -> None:
    rooms = demo.seeded.of("classroom")
    latest = {d["dev_eui"]: d["readings"]["co2"]["value"] for d in demo.api.get(
        "/v1/latest", params={"use_case": "classroom"}).json()}
    assert set(latest) == {r.dev_eui for r in rooms}
    for room in rooms:
        page = browser.load(f"{demo.url}/classrooms/{room.dev_eui}?lang=en", screenshot=False)
        _clean(page)
        shown = re.search(r'class="metric co2[^"]*" data-co2="([^"]+)">.*?class="value">([^<]+)<',
                          page.dom, re.S)
        assert shown is not None
        assert float(shown.group(1)) == latest[room.dev_eui]
        # The big number is that value as English writes it.
        assert shown.group(2) == f"{latest[room.dev_eui]:,.0f}"
    school = browser.load(f"{demo.url}/schools/{rooms[0].organisation}", screenshot=False)
    on_school = {eui: float(v) for eui, v in re.findall(
        r'id="room-([0-9a-f]{16})".*?data-co2="([^"]+)"', school.dom, re.S)}
    assert on_school == latest


def test_the_school_page_is_the_school_report(demo: Demo, browser: Browser) -> None:
    org = demo.seeded.of("classroom")[0].organisation
    report = demo.api.get(f"/v1/schools/{org}/report").json()
    page = browser.load(f"{demo.url}/schools/{org}?lang=en", screenshot=False)
    _clean(page)
    hours = f"{report['summary']['lesson_hours']:,.1f} lesson hours"
    assert hours in page.dom
    for room in report["rooms"]:
        assert f'id="room-{room["dev_eui"]}"' in page.dom
        mean = f"mean {room['co2_mean_ppm']:,.0f} ppm, highest {room['co2_max_ppm']:,.0f} ppm"
        assert mean in page.dom


def test_an_error_page_is_a_page(demo: Demo, browser: Browser) -> None:
    page = browser.load(f"{demo.url}/classrooms/0000000000000000?lang=en", screenshot=False)
    assert page.status == 404 and page.foreign_requests() == []
    assert "There is no visible device with dev_eui 0000000000000000." in page.dom
    # The browser reports the 404 of the document itself, and nothing else.
    assert len(page.console_errors) == 1 and "404" in page.console_errors[0]
