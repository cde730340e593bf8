"""GET /v1/water/{dev_eui}/report over HTTP against a real database, fed the water scenario's
levels around a cloudburst (issue 11, "Water")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.scenario import Scenario
from simulators.scenario import water as sim_water
from simulators.scenario.weather import Weather
from store import Batch, ReadingRow, Writer, keys
from store import devices as registry

SEED = 71
STORM_START = datetime(2025, 8, 10, 14, tzinfo=UTC)
FROM = STORM_START - timedelta(days=2)
TO = STORM_START + timedelta(days=1)
GAUGE = "24e124fffe0a0001"
OPEN_GAUGE = "24e124fffe0a0002"
ORG = "hoogheemraadschap-rijnland"
SPIKE_AT = STORM_START - timedelta(days=1)


class StormWeather(Weather):
    def rain(self, t: float) -> float:
        storm = STORM_START.timestamp() <= t < STORM_START.timestamp() + 2 * 3600
        return super().rain(t) + (20.0 if storm else 0.0)


@pytest.fixture
def seeded(db: str) -> str:
    """A private gauge with the scenario's Galgewater levels, one injected spike, and a
    seasonal target; an open gauge without a target. Returns a reader key of the owner."""
    with psycopg.connect(db) as conn:
        keys.create_organisation(conn, ORG, "Hoogheemraadschap van Rijnland")
        dev = registry.upsert_device(conn, registry.NewDevice(
            dev_eui=GAUGE, organisation=ORG, model_key="milesight-iot/em500-swl",
            name="Peilmeting Galgewater", use_case="water", visibility="private",
            config={"sensor_depth_nap_m": -1.6, "target_summer_nap_m": -0.61,
                    "target_winter_nap_m": -0.64}))
        other = registry.upsert_device(conn, registry.NewDevice(
            dev_eui=OPEN_GAUGE, organisation=ORG, model_key="milesight-iot/em500-swl",
            name="Peilmeting Zijlpoort", use_case="water", visibility="open",
            config={"sensor_depth_nap_m": -1.75, "rise_alarm_cm_h": 50}))
        _, secret = keys.create_key(conn, ORG, "reader")
    model = sim_water.models(SEED, StormWeather(SEED))[0]
    scenario = Scenario([model], FROM - timedelta(days=1))
    rows = []
    for u in scenario.uplinks(TO):
        if u.time < FROM:
            continue
        level = u.values["water_depth"] + u.device.config["sensor_depth_nap_m"]
        if abs(u.time - SPIKE_AT) < timedelta(minutes=5):
            level += 0.5  # a fouled reading: half a metre for ten minutes
        rows += [ReadingRow(u.time, dev, "water_level", level),
                 ReadingRow(u.time, other, "water_level", level)]
    with Writer(db) as w:
        w.write(Batch(readings=rows))
    return secret


def test_report_shows_the_storm_alarm_and_drops_the_spike(api: httpx.Client, seeded: str) -> None:
    r = api.get(f"/v1/water/{GAUGE}/report", params={"from": FROM.isoformat(),
                                                     "to": TO.isoformat()},
                headers={"Authorization": f"Bearer {seeded}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["readings"] == 3 * 24 * 6
    assert body["spikes_removed"] == 1
    assert body["target"] == {"lower_nap_m": -0.61, "upper_nap_m": -0.61, "kind": "seasonal"}
    assert body["level_nap_m"] == pytest.approx(-0.61 + body["deviation_cm"] / 100)
    assert body["rise_threshold_cm_h"] == 5.0
    assert len(body["alarms"]) == 1
    alarm = body["alarms"][0]
    assert STORM_START <= datetime.fromisoformat(alarm["start"]) <= STORM_START + timedelta(hours=2)
    assert alarm["max_rate_cm_h"] == pytest.approx(body["max_rise_cm_h"])
    assert body["max_rise_cm_h"] >= 5.0
    # A day later the boezem pumps are lowering the water again.
    assert body["rise_cm_h"] < 5.0


def test_gauge_threshold_and_no_target(api: httpx.Client, seeded: str) -> None:
    body = api.get(f"/v1/water/{OPEN_GAUGE}/report",
                   params={"from": FROM.isoformat(), "to": TO.isoformat()}).json()
    assert body["rise_threshold_cm_h"] == 50.0
    assert body["alarms"] == []
    assert body["target"] is None and body["deviation_cm"] is None


def test_private_gauge_is_404_without_its_key_and_empty_windows_are_empty(
        api: httpx.Client, seeded: str) -> None:
    r = api.get(f"/v1/water/{GAUGE}/report")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert api.get("/v1/water/ffffffffffffffff/report").status_code == 404
    body = api.get(f"/v1/water/{OPEN_GAUGE}/report",
                   params={"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}).json()
    assert body["readings"] == 0 and body["level_nap_m"] is None and body["alarms"] == []
    r = api.get(f"/v1/water/{OPEN_GAUGE}/report",
                params={"from": "2020-01-02T00:00:00Z", "to": "2020-01-01T00:00:00Z"})
    assert r.status_code == 400


_hostile = (st.text(max_size=30)
            | st.sampled_from(["\x00", "1e999", "NaN", "inf", "-1", "9999-12-31T23:59:59Z",
                               "0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z",
                               "2026-11-23T08:00:00", "9" * 5000, "\ud800"]))


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(frm=_hostile, to=_hostile, eui=st.sampled_from([OPEN_GAUGE, GAUGE, "x", "%00", "%ff"]))
def test_junk_parameters_never_500(api: httpx.Client, seeded: str, frm: str, to: str,
                                   eui: str) -> None:
    def q(v: str) -> str:
        return quote(v.encode("utf-8", "surrogatepass"), safe="")

    r = api.get(f"/v1/water/{eui}/report?from={q(frm)}&to={q(to)}")
    assert r.status_code < 500, (frm, to, eui, r.text[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
