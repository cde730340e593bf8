from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.classroom import (
    NORMS,
    FrisseScholen,
    Timetable,
    class_shares,
    co2_class,
    lesson_class_shares,
    lesson_peaks,
    uplink_interval_s,
    ventilation,
)
from simulators.scenario import Scenario
from simulators.scenario import classroom as sim_classroom
from simulators.scenario.classroom import Room
from simulators.scenario.weather import Weather
from store.devices import config_problem


@pytest.mark.parametrize(("ppm", "cls"), [(420, "A"), (800, "A"), (801, "B"), (950, "B"),
                                          (1200, "C"), (1201, "-")])
def test_absolute_classes(ppm: float, cls: str) -> None:
    assert co2_class(ppm) == cls


def test_relative_classes_use_outdoor_air() -> None:
    limits = FrisseScholen(co2_limits={"A": 400, "B": 550, "C": 800}, relative=True)
    assert co2_class(820, limits) == "A"  # 400 above 420 outdoor
    assert co2_class(821, limits) == "B"


def test_shares_weight_by_time_held() -> None:
    idx = pd.to_datetime(["2026-11-23 08:00", "2026-11-23 08:10", "2026-11-23 08:40",
                          "2026-11-23 08:50"], utc=True)
    s = pd.Series([700.0, 1000.0, 900.0, 1300.0], index=idx)
    shares = class_shares(s)
    # 10 min A, 30 min C, 10 min B, last holds the median interval (10 min) as "-".
    assert shares == pytest.approx({"A": 10 / 60, "C": 30 / 60, "B": 10 / 60, "-": 10 / 60})
    assert class_shares(pd.Series(dtype=float)) == {}


# --- lesson time, ventilation (issue 11) ----------------------------------------------------

SIM_START = datetime(2025, 11, 17, tzinfo=UTC)  # a school week in the heating season


@pytest.fixture(scope="module")
def sim_week() -> dict[str, tuple[Room, pd.Series]]:
    scenario = Scenario(sim_classroom.models(71, Weather(71)), SIM_START)
    rows: dict[str, list[tuple[datetime, float]]] = {}
    for u in scenario.uplinks(SIM_START + timedelta(days=7)):
        rows.setdefault(u.device.device_id, []).append((u.time, u.values["co2"]))
    out = {}
    for room in sim_classroom.ROOMS:
        r = rows[sim_classroom.device_for(room).device_id]
        out[room.slug] = (room, pd.Series([v for _, v in r],
                                          index=pd.DatetimeIndex([t for t, _ in r])))
    return out


@pytest.mark.parametrize("slug", [r.slug for r in sim_classroom.ROOMS])
def test_decay_estimate_within_20_percent_of_the_simulated_air_change_rate(
        sim_week: dict[str, tuple[Room, pd.Series]], slug: str) -> None:
    room, co2 = sim_week[slug]
    truth = room.q_school * 3600 / room.volume_m3  # the school-day rate, windows shut
    v = ventilation(co2, room_volume_m3=room.volume_m3, pupils=room.pupils)
    assert v.air_changes_per_hour is not None and v.reason is None
    assert len(v.events) >= 4  # Mon, Tue, Thu, Fri; Wednesday at 15:00 is already fresh
    # The teacher stays until 16:00 in the scenario; the fit allows for that source. Errors
    # when written: lokaal-1 -12.6 %, lokaal-2 -0.2 %, lokaal-3 -3.2 % (a plain log-linear fit
    # from 15:00: -6.4, -16, -18 %).
    print(f"{slug}: {v.air_changes_per_hour:.2f} /h against {truth:.2f} /h")
    assert abs(v.air_changes_per_hour - truth) / truth < 0.15
    assert all(e.r2 > 0.9 for e in v.events)
    assert v.per_pupil_dm3_s == pytest.approx(
        v.air_changes_per_hour * room.volume_m3 / 3.6 / room.pupils)


def test_stuffy_lessons_show_although_nights_are_fresh(
        sim_week: dict[str, tuple[Room, pd.Series]]) -> None:
    _, co2 = sim_week["lokaal-1"]  # grilles only: far below the minimum
    all_hours = class_shares(co2)
    lessons = lesson_class_shares(co2)
    assert all_hours["A"] > 0.75  # what the week-round share made of it
    assert lessons["A"] < 0.3 and lessons["-"] > 0.5
    assert sum(lessons.values()) == pytest.approx(1.0)


def test_lesson_time_weights_cap_gaps_and_skip_holidays() -> None:
    # Monday 23 Nov 2026, 09:00 local = 08:00 UTC: readings every 10 min, then a 3 h gap.
    idx = pd.to_datetime(["2026-11-23 08:00", "2026-11-23 08:10", "2026-11-23 08:20",
                          "2026-11-23 11:20", "2026-11-23 11:30", "2026-11-23 20:00"], utc=True)
    s = pd.Series([700.0, 700.0, 1300.0, 900.0, 900.0, 2000.0], index=idx)
    shares = lesson_class_shares(s, interval_s=600)
    # A 20 min, "-" capped at 2 x 10 min, B 10 min + 20 min (12:30 local holds until the
    # 21:00 reading: capped); 21:00 local is not lesson time.
    assert shares == pytest.approx({"A": 2 / 7, "-": 2 / 7, "B": 3 / 7})
    holiday = [(date(2026, 11, 23), date(2026, 11, 27))]
    assert lesson_class_shares(s, interval_s=600, holidays=holiday) == {}
    late = Timetable(start=time(12, 0), end=time(13, 0))
    assert lesson_class_shares(s, interval_s=600, timetable=late) == {"B": 1.0}
    peaks = lesson_peaks(s)
    assert [(p["date"], p["co2_ppm"], p["class"]) for p in peaks] == [
        (date(2026, 11, 23), 1300.0, "-")]


def test_no_decay_gives_a_reason() -> None:
    idx = pd.date_range("2026-11-23 13:00", periods=48, freq="5min", tz="UTC")
    v = ventilation(pd.Series(450.0, index=idx))
    assert v.air_changes_per_hour is None and v.events == [] and v.reason
    assert ventilation(pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))).reason


def test_norms_table_has_sources() -> None:
    keys = {n.key for n in NORMS}
    assert {"co2_class_a", "co2_class_b", "co2_class_c", "temperature_comfort",
            "temperature_too_warm", "humidity_comfort"} <= keys
    assert all(n.source for n in NORMS)


_values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(1e308),
                    st.just(-1e308), st.integers(-10**6, 10**6).map(float))
_times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                      timezones=st.just(UTC))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_times, _values), max_size=60))
def test_junk_series_never_raise(points: list[tuple[datetime, float]]) -> None:
    s = pd.Series([v for _, v in points], index=pd.DatetimeIndex([t for t, _ in points]),
                  dtype=float)
    # Duplicated times on purpose.
    s = pd.concat([s, s.iloc[: len(s) // 2]])
    for shares in (class_shares(s), lesson_class_shares(s)):
        assert all(math.isfinite(x) and 0 <= x <= 1 for x in shares.values())
    lesson_peaks(s)
    v = ventilation(s, room_volume_m3=170, pupils=26)
    assert (v.air_changes_per_hour is None) == (v.reason is not None)
    uplink_interval_s(s)


def test_a_series_without_times_is_a_clear_value_error() -> None:
    with pytest.raises(ValueError, match="DatetimeIndex"):
        lesson_class_shares(pd.Series([1.0, 2.0]))


_json = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                     lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(timetable=_json, holidays=_json, pupils=_json,
       zone=st.sampled_from(["Europe/Amsterdam", "Mars/Base", "../../etc/passwd", "", "\x00"]))
def test_classroom_config_junk_is_refused_with_a_reason(timetable: object, holidays: object,
                                                        pupils: object, zone: str) -> None:
    for tt in (timetable, {"timezone": zone, "end_by_weekday": timetable}):
        problem = config_problem("classroom", {"timetable": tt, "holidays": holidays,
                                               "pupils": pupils})
        assert problem is None or isinstance(problem, str)


def test_classroom_config_reads_a_school_year() -> None:
    cfg = {"room_volume_m3": 170, "pupils": 26,
           "timetable": {"start": "08:30", "end": "15:00", "end_by_weekday": {"2": "12:00"}},
           "holidays": [{"start": "2026-12-19", "end": "2027-01-03"}]}
    assert config_problem("classroom", cfg) is None
    assert config_problem("classroom", {**cfg, "holidays": [{"start": "2027-01-03",
                                                             "end": "2026-12-19"}]})
    assert config_problem("classroom", {"timetable": {"timezone": "Mars/Base"}})
