"""The classroom report over HTTP against a real database: lesson-time shares, peaks and the
ventilation estimate from a simulated week of the classroom scenario (issue 11)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.scenario import Scenario
from simulators.scenario import classroom as sim_classroom
from simulators.scenario.weather import Weather
from store import Batch, ReadingRow, Writer
from store import devices as registry

START = datetime(2025, 11, 17, tzinfo=UTC)
END = START + timedelta(days=7)
ROOM = sim_classroom.ROOMS[1]  # lokaal-2: the existing-school minimum, mechanical exhaust
OPEN = "a81758fffe0399b1"
PRIVATE = "a81758fffe0399b2"
RANGE = {"from": START.isoformat(), "to": END.isoformat()}


@pytest.fixture
def week(db: str) -> str:
    with psycopg.connect(db) as conn:
        ids = {eui: registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation=org, model_key="elsys/ers-co2", name=ROOM.name,
            use_case="classroom", visibility=vis,
            config={"room_volume_m3": ROOM.volume_m3, "pupils": ROOM.pupils,
                    "timetable": {"end_by_weekday": {"2": "12:00"}}}))
            for eui, org, vis in ((OPEN, "obs-de-regenboog", "open"),
                                  (PRIVATE, "bedrijf-x", "private"))}
    model = next(m for m in sim_classroom.models(71, Weather(71))
                 if isinstance(m, sim_classroom.ClassroomModel) and m.room == ROOM)
    uplinks = list(Scenario([model], START).uplinks(END))
    with Writer(db) as w:
        w.write(Batch(readings=[ReadingRow(u.time, dev, "co2", u.values["co2"])
                                for u in uplinks for dev in ids.values()]))
    return db


def test_report_has_lesson_shares_peaks_and_ventilation(api: httpx.Client, week: str) -> None:
    r = api.get(f"/v1/classrooms/{OPEN}/report", params=RANGE)
    assert r.status_code == 200, r.text
    body = r.json()
    truth = ROOM.q_school * 3600 / ROOM.volume_m3
    vent = body["ventilation"]
    assert vent["reason"] is None and len(vent["events"]) >= 4
    assert abs(vent["air_changes_per_hour"] - truth) / truth < 0.20
    assert vent["per_pupil_dm3_s"] == pytest.approx(
        vent["air_changes_per_hour"] * ROOM.volume_m3 / 3.6 / ROOM.pupils)
    assert vent["meets_new_school"] is False
    # Lesson time only: far from the week-round ~83 % class A.
    assert body["class_shares"]["A"] < 0.5
    assert sum(body["class_shares"].values()) == pytest.approx(1.0)
    assert len(body["peaks"]) == 5 and all(p["co2_ppm"] > 1000 for p in body["peaks"])
    assert {"date", "time", "co2_ppm", "class"} <= set(body["peaks"][0])


def test_private_classroom_is_a_404_and_an_empty_period_says_why(api: httpx.Client,
                                                                 week: str) -> None:
    assert api.get(f"/v1/classrooms/{PRIVATE}/report", params=RANGE).status_code == 404
    r = api.get(f"/v1/classrooms/{OPEN}/report",
                params={"from": "2020-01-01T00:00:00Z", "to": "2020-01-08T00:00:00Z"}).json()
    assert r["class_shares"] == {} and r["peaks"] == []
    assert r["ventilation"]["air_changes_per_hour"] is None and r["ventilation"]["reason"]


_junk = st.one_of(st.text(max_size=40), st.integers().map(str), st.floats().map(str),
                  st.sampled_from(["2026-13-01", "\x00", "9999-12-31T23:59:59Z",
                                   "0001-01-01T00:00:00Z", "2026-11-23T00:00:00+14:00"]))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(eui=st.one_of(st.just(OPEN), st.text(max_size=70)), start=_junk, end=_junk)
def test_hostile_parameters_are_never_a_500(api: httpx.Client, week: str, eui: str, start: str,
                                            end: str) -> None:
    try:
        r = api.get(f"/v1/classrooms/{eui}/report", params={"from": start, "to": end})
    except httpx.InvalidURL:
        return
    assert r.status_code < 500, r.text
