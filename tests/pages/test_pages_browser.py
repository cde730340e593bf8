"""Every page of the front door, the classrooms and the schools in a real headless Chromium,
against the demo's data (its devices and the scenario's uplinks up to now, through ingest):
no console errors, no request leaving 127.0.0.1, no sideways scrolling on a phone, and the CO2
a page shows is /v1/latest's (issue 12 acceptance).

With MEETNET_UPDATE_SCREENSHOTS=1 the test also writes the README's screenshots to
docs/screenshots/ (so the pictures always show the current pages; CI leaves the tree alone).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from pages.browser import CHROMIUM, Browser, Page, save_screenshot
from pages.demo_data import Demo, seed, serve

from api.pages.render import LOCAL

pytestmark = pytest.mark.skipif(CHROMIUM is None,
                                reason="needs Debian's chromium (.ci/run installs it)")

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
UPDATE = os.environ.get("MEETNET_UPDATE_SCREENSHOTS") == "1"
#: A phone's width in CSS pixels (a 6.1" phone held upright).
PHONE = 390


@pytest.fixture(scope="module")
def demo(module_db: str) -> Iterator[Demo]:
    with serve(seed(module_db)) as running:
        yield running


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


def _pages(demo: Demo) -> dict[str, str]:
    rooms = demo.seeded.of("classroom")
    pages = {"front-door-nl": "/", "front-door": "/?lang=en", "key": "/key",
             "school": f"/schools/{rooms[0].organisation}?lang=en",
             "school-nl": f"/schools/{rooms[0].organisation}",
             "classroom": f"/classrooms/{rooms[0].dev_eui}?lang=en&day={_school_day(demo)}"}
    for room in rooms:
        pages[f"classroom-{room.dev_eui}"] = f"/classrooms/{room.dev_eui}"
    return pages


def _clean(page: Page) -> None:
    assert page.status == 200, page.url
    assert page.console_errors == [], page.url
    assert page.foreign_requests() == [], page.url
    assert any(u.endswith("/pages/static/pages.css") for u in page.requests), page.url


def test_every_page_loads_offline_without_errors(demo: Demo, browser: Browser) -> None:
    for name, path in _pages(demo).items():
        page = browser.load(demo.url + path)
        _clean(page)
        assert "<svg" in page.dom or name == "key", name
        if UPDATE and name in ("front-door", "classroom", "school"):
            save_screenshot(page, SCREENSHOTS / f"{name}.png")
        phone = browser.load(demo.url + path, width=PHONE, screenshot=False)
        _clean(phone)
        assert phone.scroll_width <= PHONE, (name, phone.scroll_width)


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
