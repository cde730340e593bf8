"""/water over HTTP against a real database fed the water scenario's levels around a
cloudburst: each visible gauge's level, target, rise and alarms equal the water report's, a
private gauge stays off the page without its key, and the page in a real headless Chromium
(issue 12)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.pages import i18n
from simulators.scenario import Scenario
from simulators.scenario import water as sim_water
from simulators.scenario.weather import Weather
from store import Batch, ReadingRow, Writer, keys
from store import devices as registry

SEED = 71
STORM_START = datetime(2025, 8, 10, 14, tzinfo=UTC)
FROM = STORM_START - timedelta(days=2)
TO = STORM_START + timedelta(days=1)
WINDOW = {"from": FROM.isoformat(), "to": TO.isoformat()}
GAUGE = "24e124fffe0a0001"
OPEN_GAUGE = "24e124fffe0a0002"
HOSTILE_GAUGE = "24e124fffe0a0003"
ORG = "hoogheemraadschap-rijnland"
HOSTILE = "Peil <b>bij</b> \"de\" sluis & co"


class StormWeather(Weather):
    def rain(self, t: float) -> float:
        storm = STORM_START.timestamp() <= t < STORM_START.timestamp() + 2 * 3600
        return super().rain(t) + (20.0 if storm else 0.0)


@pytest.fixture(scope="module")
def site(module_db: str) -> Iterator[tuple[httpx.Client, str]]:
    """A private gauge with the scenario's Galgewater levels through a cloudburst and a
    seasonal target; an open gauge with a target band and a high alarm threshold; an open
    gauge with a hostile name and no readings. Yields the live app and a reader key of the owner."""
    from demo_data import Seeded, serve

    with psycopg.connect(module_db) as conn:
        keys.create_organisation(conn, ORG, "Hoogheemraadschap van Rijnland")
        dev = registry.upsert_device(conn, registry.NewDevice(
            dev_eui=GAUGE, organisation=ORG, model_key="milesight-iot/em500-swl",
            name="Peilmeting Galgewater (Oude Rijn), Leiden", use_case="water",
            visibility="private", lat=52.15985, lon=4.48150,
            config={"sensor_depth_nap_m": -1.6, "target_summer_nap_m": -0.61,
                    "target_winter_nap_m": -0.64}))
        other = registry.upsert_device(conn, registry.NewDevice(
            dev_eui=OPEN_GAUGE, organisation=ORG, model_key="milesight-iot/em500-swl",
            name="Peilmeting Zijlsingel bij de Zijlpoort, Leiden", use_case="water",
            visibility="open",
            config={"sensor_depth_nap_m": -1.75, "rise_alarm_cm_h": 50,
                    "target_lower_nap_m": -0.66, "target_upper_nap_m": -0.58}))
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=HOSTILE_GAUGE, organisation=ORG, model_key="milesight-iot/em500-swl",
            name=HOSTILE, use_case="water", visibility="open",
            config={"sensor_depth_nap_m": -1.75}))
        _, secret = keys.create_key(conn, ORG, "reader")
    model = sim_water.models(SEED, StormWeather(SEED))[0]
    rows = []
    for u in Scenario([model], FROM - timedelta(days=1)).uplinks(TO):
        if u.time < FROM:
            continue
        level = u.values["water_depth"] + u.device.config["sensor_depth_nap_m"]
        rows += [ReadingRow(u.time, dev, "water_level", level),
                 ReadingRow(u.time, other, "water_level", level + 0.01)]
    with Writer(module_db) as w:
        w.write(Batch(readings=rows))
    with serve(Seeded(dsn=module_db, start=FROM, end=TO, devices=(), uplinks=0)) as demo:
        yield demo.api, secret


def _section(html: str, eui: str) -> str:
    found = re.search(rf'<section class="gauge" id="gauge-{eui}".*?</section>', html, re.S)
    assert found, eui
    return found.group(0)


def test_gauges_with_the_reports_level_target_rise_and_alarms(
        site: tuple[httpx.Client, str]) -> None:
    api, secret = site
    auth = {"Authorization": f"Bearer {secret}"}
    r = api.get("/water", params=WINDOW, headers=auth)
    assert r.status_code == 200, r.text
    html = r.text
    for eui in (GAUGE, OPEN_GAUGE):
        report = api.get(f"/v1/water/{eui}/report", params=WINDOW, headers=auth).json()
        section = _section(html, eui)
        assert (f'<strong class="level">{i18n.number(report["level_nap_m"], "nl", 2)} m NAP'
                f"</strong>") in section
        assert (f'<strong class="rise">{i18n.number(report["rise_cm_h"], "nl", 1)} cm/u'
                f"</strong>") in section
        lower, upper = (i18n.number(report["target"][k], "nl", 2)
                        for k in ("lower_nap_m", "upper_nap_m"))
        assert (f'<p class="big">{lower} m NAP</p>' if lower == upper else
                i18n.text("nl", "water.target.band", lower=lower, upper=upper)) in section
        assert section.count('<li class="notice alarm">') == len(report["alarms"])
        for a in report["alarms"]:
            assert f"{i18n.number(a['max_rate_cm_h'], 'nl', 1)} cm/u" in section
        # The level against its target band, drawn on the server.
        assert "<polyline" in section and "<rect" in section
    # The cloudburst's alarm on the gauge with the 5 cm/h threshold, none at 50 cm/h.
    assert _section(html, GAUGE).count('<li class="notice alarm">') == 1
    assert i18n.text("nl", "water.alarms.none") in _section(html, OPEN_GAUGE)


def test_without_a_key_only_the_open_gauge_in_english(site: tuple[httpx.Client, str]) -> None:
    api, _ = site
    r = api.get("/water", params={**WINDOW, "lang": "en"})
    assert r.status_code == 200
    assert GAUGE not in r.text and "Galgewater" not in r.text
    report = api.get(f"/v1/water/{OPEN_GAUGE}/report", params=WINDOW).json()
    assert (f'<strong class="level">{i18n.number(report["level_nap_m"], "en", 2)} m NAP'
            "</strong>") in _section(r.text, OPEN_GAUGE)
    assert i18n.text("en", "water.intro", count=2) in r.text


def test_names_are_escaped(site: tuple[httpx.Client, str]) -> None:
    api, _ = site
    html = api.get("/water", params=WINDOW).text
    assert HOSTILE not in html and "<b>bij</b>" not in html
    assert "Peil &lt;b&gt;bij&lt;/b&gt; &#34;de&#34; sluis &amp; co" in html
    # A gauge without readings in the period is shown as such, not left out.
    assert i18n.text("nl", "water.level.none") in _section(html, HOSTILE_GAUGE)


def test_bad_periods_and_keys_are_html_4xx(site: tuple[httpx.Client, str]) -> None:
    api, _ = site
    for params in ({"from": "gisteren"}, {"from": TO.isoformat(), "to": FROM.isoformat()},
                   {"to": "2025-08-10T00:00:00"}, {"from": "2020-01-01T00:00:00Z"}):
        r = api.get("/water", params=params)
        assert r.status_code == 400, params
        assert r.headers["content-type"].startswith("text/html")
    r = api.get("/water", headers={"X-API-Key": "mn_nope"})
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")


@settings(max_examples=50, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["from", "to", "lang"]),
                              st.one_of(st.text(max_size=40),
                                        st.datetimes(timezones=st.just(UTC)).map(
                                            lambda d: d.isoformat())), max_size=3))
def test_any_parameters_are_a_page_never_a_500(site: tuple[httpx.Client, str],
                                               params: dict[str, str]) -> None:
    api, _ = site
    r = api.get("/water", params=params)
    assert r.status_code in (200, 400), (params, r.status_code)
    assert r.headers["content-type"].startswith("text/html")


def test_water_page_in_chromium(site: tuple[httpx.Client, str]) -> None:
    browser = pytest.importorskip("browser")
    if browser.CHROMIUM is None:
        pytest.skip("needs Debian's chromium (.ci/run installs it)")
    api, secret = site
    base = str(api.base_url).rstrip("/")
    report = api.get(f"/v1/water/{GAUGE}/report", params=WINDOW,
                     headers={"X-API-Key": secret}).json()
    query = f"from={FROM.isoformat()}&to={TO.isoformat()}".replace("+", "%2B")
    with browser.Browser() as chromium:
        for lang in ("nl", "en"):
            page = chromium.load(f"{base}/water?{query}&lang={lang}",
                                 headers={"X-API-Key": secret})
            assert page.status == 200
            assert page.console_errors == []
            assert page.foreign_requests() == []
            assert f"{i18n.number(report['level_nap_m'], lang, 2)} m NAP" in page.dom


def test_the_deviation_band_is_in_the_pages_language(site: tuple[httpx.Client, str]) -> None:
    """The report's deviation_band is English ("within 5 cm"); the page says the band from the
    report's band numbers in its own language."""
    api, secret = site
    auth = {"X-API-Key": secret}
    for eui in (GAUGE, OPEN_GAUGE):
        report = api.get(f"/v1/water/{eui}/report", params=WINDOW, headers=auth).json()
        lower, upper = report["deviation_band_lower_cm"], report["deviation_band_upper_cm"]
        assert report["deviation_band"] == (f"within {upper:g} cm" if lower == 0
                                            else f">= {lower:g} cm")
        for lang in ("nl", "en"):
            section = _section(api.get("/water", params={**WINDOW, "lang": lang},
                                       headers=auth).text, eui)
            band = (i18n.text(lang, "water.deviation.within", cm=i18n.number(upper, lang))
                    if lower == 0 else
                    i18n.text(lang, "water.deviation.over", cm=i18n.number(lower, lang)))
            assert i18n.text(lang, "water.deviation", band=band,
                             cm=i18n.number(report["deviation_cm"], lang, 1)) in section
            if lang == "nl":
                assert report["deviation_band"] not in section
