"""The school report over HTTP against a real database: two simulated classrooms of one school,
the school's figures checked against the rooms' own reports, and who sees which rooms
(issue 11)."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.scenario import Scenario
from simulators.scenario import classroom as sim_classroom
from simulators.scenario.weather import Weather
from store import Batch, ReadingRow, Writer, keys
from store import devices as registry

START = datetime(2025, 11, 17, tzinfo=UTC)
END = START + timedelta(days=7)
RANGE = {"from": START.isoformat(), "to": END.isoformat()}
SCHOOL = "obs-de-regenboog"
OPEN_ROOM = "a81758fffe0399c1"  # lokaal-1, open data
PRIVATE_ROOM = "a81758fffe0399c2"  # lokaal-2, the school's own
OTHER_SCHOOL_ROOM = "a81758fffe0399c3"  # another organisation's open room: never in the report


@pytest.fixture
def school(db: str) -> str:
    """The school's two rooms with a simulated week each; returns the school's reader key."""
    rooms = {OPEN_ROOM: (sim_classroom.ROOMS[0], SCHOOL, "open"),
             PRIVATE_ROOM: (sim_classroom.ROOMS[1], SCHOOL, "private"),
             OTHER_SCHOOL_ROOM: (sim_classroom.ROOMS[2], "basisschool-elders", "open")}
    with psycopg.connect(db) as conn:
        ids = {eui: registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation=org, model_key="elsys/ers-co2", name=room.name,
            use_case="classroom", visibility=vis,
            config={"room_volume_m3": room.volume_m3, "pupils": room.pupils}))
            for eui, (room, org, vis) in rooms.items()}
        # A school device of another use case is not a classroom.
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui="a81758fffe0399c4", organisation=SCHOOL, model_key="elsys/ers-co2",
            name="gang", use_case="environment", visibility="open"))
        key = keys.create_key(conn, SCHOOL, "reader")[1]
    models = {m.room: m for m in sim_classroom.models(71, Weather(71))
              if isinstance(m, sim_classroom.ClassroomModel)}
    with Writer(db) as w:
        for eui, (room, _, _) in rooms.items():
            uplinks = list(Scenario([models[room]], START).uplinks(END))
            w.write(Batch(readings=[ReadingRow(u.time, ids[eui], "co2", u.values["co2"])
                                    for u in uplinks]))
    return key


def _school(api: httpx.Client, key: str | None = None, **params: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return api.get(f"/v1/schools/{SCHOOL}/report", params=params or RANGE, headers=headers)


def test_summary_is_what_the_room_reports_say(api: httpx.Client, school: str) -> None:
    r = _school(api, school)
    assert r.status_code == 200, r.text
    body = r.json()
    rooms = body["rooms"]
    assert [room["dev_eui"] for room in rooms] == [OPEN_ROOM, PRIVATE_ROOM]  # by name
    # Each row is the room's own report, not a second computation.
    for room in rooms:
        own = api.get(f"/v1/classrooms/{room['dev_eui']}/report", params=RANGE,
                      headers={"Authorization": f"Bearer {school}"})
        assert own.json() == room
    summary = body["summary"]
    hours = [room["lesson_hours"] for room in rooms]
    assert all(h > 20 for h in hours)  # a school week of 08:30-15:00
    assert summary["rooms"] == 2
    assert summary["lesson_hours"] == pytest.approx(sum(hours))
    for cls in {c for room in rooms for c in room["class_shares"]}:
        expected = sum(room["class_shares"].get(cls, 0.0) * room["lesson_hours"]
                       for room in rooms) / sum(hours)
        assert summary["class_shares"][cls] == pytest.approx(expected)
    assert sum(summary["class_shares"].values()) == pytest.approx(1.0)
    worst = min(rooms, key=lambda room: room["class_shares"].get("A", 0.0))
    assert summary["worst_room"] == {"dev_eui": worst["dev_eui"], "name": worst["name"],
                                     "class_a_share": worst["class_shares"].get("A", 0.0)}
    rates = [room["ventilation"]["air_changes_per_hour"] for room in rooms]
    assert None not in rates and summary["rooms_with_ventilation"] == 2
    assert summary["median_air_changes_per_hour"] == pytest.approx(statistics.median(rates))
    assert body["truncated"] is False and body["organisation"] == SCHOOL


def test_callers_see_only_the_rooms_they_may(api: httpx.Client, school: str) -> None:
    anonymous = _school(api)
    assert anonymous.status_code == 200, anonymous.text
    assert [room["dev_eui"] for room in anonymous.json()["rooms"]] == [OPEN_ROOM]
    assert anonymous.json()["summary"]["rooms"] == 1
    assert PRIVATE_ROOM not in anonymous.text
    owner = _school(api, school).json()
    assert {room["dev_eui"] for room in owner["rooms"]} == {OPEN_ROOM, PRIVATE_ROOM}


def test_no_visible_classroom_is_school_not_found(api: httpx.Client, school: str,
                                                  db: str) -> None:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui="a81758fffe0399c5", organisation="prive-school", model_key="elsys/ers-co2",
            name="lokaal", use_case="classroom", visibility="private"))
    for org in ("prive-school", "bestaat-niet"):
        r = api.get(f"/v1/schools/{org}/report", params=RANGE)
        assert r.status_code == 404, r.text
        assert r.json()["type"].endswith("/school-not-found")
    # Same body apart from the name: a private school and none look alike.
    private, none = (api.get(f"/v1/schools/{o}/report", params=RANGE).json()
                     for o in ("prive-school", "bestaat-niet"))
    assert {k for k in private if private[k] != none[k]} <= {"detail", "instance"}


def test_range_is_bounded_and_checked(api: httpx.Client, school: str) -> None:
    for params in ({"from": "2024-01-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
                   {"from": END.isoformat(), "to": START.isoformat()},
                   {"from": "2025-11-17T00:00:00", "to": "2025-11-20T00:00:00"}):
        for route in (f"/v1/schools/{SCHOOL}/report", f"/v1/classrooms/{OPEN_ROOM}/report"):
            r = api.get(route, params=params)
            assert r.status_code == 400, (route, params, r.text)
    r = _school(api, **{"from": "2025-01-01T00:00:00Z", "to": "2025-01-02T00:00:00Z"})
    assert r.status_code == 200  # a period without readings: rooms, but no figures
    summary = r.json()["summary"]
    assert summary["class_shares"] == {} and summary["worst_room"] is None
    assert summary["median_air_changes_per_hour"] is None


_junk = st.one_of(st.text(max_size=40), st.integers().map(str), st.floats().map(str),
                  st.sampled_from(["2026-13-01", "\x00", "9999-12-31T23:59:59Z",
                                   "0001-01-01T00:00:00Z", "2026-11-23T00:00:00+14:00",
                                   "x" * 10_000]))


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(org=st.one_of(st.just(SCHOOL), st.text(max_size=70), st.just("\x00"),
                     st.just("s" * 5000)),
       start=_junk, end=_junk)
def test_hostile_parameters_are_never_a_500(api: httpx.Client, school: str, org: str,
                                            start: str, end: str) -> None:
    try:
        r = api.get(f"/v1/schools/{org}/report", params={"from": start, "to": end})
    except httpx.InvalidURL:
        return
    assert r.status_code < 500, r.text
