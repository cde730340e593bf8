"""Classroom air in Frisse Scholen classes (Meet de Klas)."""

from __future__ import annotations

import statistics
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field, ValidationError

from analytics.classroom import (
    FrisseScholen,
    Timetable,
    co2_class,
    lesson_class_shares,
    lesson_peaks,
    lesson_seconds,
    ventilation,
)
from api.deps import Caller, Conn, visible_device
from api.params import ReportFrom, ReportTo, report_window
from api.problems import Problem, responses
from decoders.config import ClassroomConfig
from store import devices as registry
from store import queries

router = APIRouter(tags=["classrooms"])

MAX_POINTS = 100_000
#: Longest period of one report (a school year and a day), for one room and for a school.
MAX_RANGE = timedelta(days=366)
#: Most rooms in one school report: each is a query and a pandas pass.
MAX_ROOMS = 100


class ClassroomReport(BaseModel):
    dev_eui: str = Field(examples=["a81758fffe0399aa"])
    name: str = Field(examples=["OBS De Regenboog, lokaal 1 (groep 3)"])
    start: datetime = Field(examples=["2026-11-16T08:00:00Z"])
    end: datetime = Field(examples=["2026-11-23T08:00:00Z"])
    readings: int = Field(description="CO2 readings in the window", examples=[2016])
    lesson_hours: float = Field(description="lesson time the readings cover, counted as for "
                                            "class_shares", examples=[27.5])
    co2_mean_ppm: float | None = Field(examples=[712.4])
    co2_max_ppm: float | None = Field(examples=[1384.0])
    class_shares: dict[str, float] = Field(
        description="Share of lesson time (the device config's timetable and holidays; default "
                    "Monday to Friday 08:30-15:00 Europe/Amsterdam) per Frisse Scholen CO2 class "
                    "(A <= 800, B <= 950, C <= 1200 ppm; '-' above); each reading counts until "
                    "the next, at most twice the uplink interval",
        examples=[{"A": 0.31, "B": 0.34, "C": 0.35}])
    current_class: str | None = Field(description="class of the newest reading",
                                      examples=["A"])
    peaks: list[Peak] = Field(description="per school day, the highest lesson-time CO2")
    ventilation: VentilationOut


class Peak(BaseModel):
    day: date = Field(alias="date", examples=["2026-11-16"])
    time: datetime = Field(examples=["2026-11-16T13:55:00Z"])
    co2_ppm: float = Field(examples=[1384.0])
    class_: str = Field(alias="class", examples=["-"])


class DecayEventOut(BaseModel):
    start: datetime = Field(examples=["2026-11-16T14:00:00Z"])
    end: datetime = Field(examples=["2026-11-16T14:45:00Z"])
    air_changes_per_hour: float = Field(examples=[2.4])
    r2: float = Field(examples=[0.99])


class VentilationOut(BaseModel):
    air_changes_per_hour: float | None = Field(
        description="median of the period's CO2 decay fits (Batterman 2017); null: none fitted",
        examples=[2.4])
    per_pupil_dm3_s: float | None = Field(
        description="outdoor air per pupil (needs room_volume_m3 and pupils in the device "
                    "config); the Bouwbesluit asks 8.5 (new) or 3.44 (existing schools)",
        examples=[4.3])
    meets_new_school: bool | None = Field(examples=[False])
    meets_existing_school: bool | None = Field(examples=[True])
    events: list[DecayEventOut]
    reason: str | None = Field(description="why no rate could be fitted", examples=[None])


ClassroomReport.model_rebuild()


@router.get("/classrooms/{dev_eui}/report", response_model=ClassroomReport,
            summary="Time per Frisse Scholen class", responses=responses(400, 404))
def classroom_report(
    dev_eui: Annotated[str, Path(description="the classroom sensor's dev_eui",
                                 examples=["a81758fffe0399aa"], max_length=64)],
    conn: Conn,
    caller: Caller,
    from_: ReportFrom = None,
    to: ReportTo = None,
) -> ClassroomReport:
    device = visible_device(conn, caller, dev_eui)
    start, end = report_window(from_, to, longest=MAX_RANGE)
    return _room_report(conn, device, start, end)


class SchoolRoom(BaseModel):
    dev_eui: str = Field(examples=["a81758fffe0399aa"])
    name: str = Field(examples=["OBS De Regenboog, lokaal 1 (groep 3)"])
    class_a_share: float = Field(description="share of the room's lesson time in class A",
                                 examples=[0.18])


class SchoolSummary(BaseModel):
    rooms: int = Field(description="classrooms in the report", examples=[2])
    lesson_hours: float = Field(description="lesson time covered, summed over the rooms",
                                examples=[55.0])
    class_shares: dict[str, float] = Field(
        description="share of the school's lesson time per Frisse Scholen class: the rooms' "
                    "class_shares weighted by their lesson_hours",
        examples=[{"A": 0.24, "B": 0.30, "C": 0.31, "-": 0.15}])
    worst_room: SchoolRoom | None = Field(
        description="the room with the smallest share of lesson time in class A (null: no "
                    "room has lesson-time readings)")
    median_air_changes_per_hour: float | None = Field(
        description="median over the rooms whose ventilation could be fitted; null: none",
        examples=[2.1])
    rooms_with_ventilation: int = Field(examples=[2])


class SchoolReport(BaseModel):
    organisation: str = Field(examples=["obs-de-regenboog"])
    start: datetime = Field(examples=["2026-11-16T08:00:00Z"])
    end: datetime = Field(examples=["2026-11-23T08:00:00Z"])
    truncated: bool = Field(description=f"true: the school has more than {MAX_ROOMS} visible "
                                        "classrooms and only the first (by name) are reported",
                            examples=[False])
    summary: SchoolSummary
    rooms: list[ClassroomReport] = Field(description="each classroom's report, by name")


@router.get("/schools/{organisation}/report", response_model=SchoolReport,
            summary="Frisse Scholen classes of all of a school's classrooms",
            responses=responses(400, 404))
def school_report(
    organisation: Annotated[str, Path(description="the school's organisation slug",
                                      examples=["obs-de-regenboog"], max_length=64)],
    conn: Conn,
    caller: Caller,
    from_: ReportFrom = None,
    to: ReportTo = None,
) -> SchoolReport:
    """The classroom reports of the organisation's classroom devices the caller may see, side
    by side, and the school's figures over them. No visible classroom is a 404 whether the
    organisation exists or not, so the answer does not tell a private school from none."""
    start, end = report_window(from_, to, longest=MAX_RANGE)
    devices = queries.list_devices(
        conn, organisation=caller.organisation,
        where=queries.DeviceFilter(owner=organisation, use_case="classroom"),
        limit=MAX_ROOMS + 1)
    if not devices:
        raise Problem(404, "school-not-found", "School not found",
                      f"no visible classrooms of {organisation!r}")
    rooms = [_room_report(conn, d, start, end) for d in devices[:MAX_ROOMS]]
    return SchoolReport(organisation=organisation, start=start, end=end,
                        truncated=len(devices) > MAX_ROOMS, summary=_summary(rooms),
                        rooms=rooms)


def _summary(rooms: list[ClassroomReport]) -> SchoolSummary:
    weighted = [r for r in rooms if r.lesson_hours > 0 and r.class_shares]
    hours = sum(r.lesson_hours for r in weighted)
    shares: dict[str, float] = {}
    for r in weighted:
        for cls, share in r.class_shares.items():
            shares[cls] = shares.get(cls, 0.0) + share * r.lesson_hours / hours
    worst = min(weighted, key=lambda r: (r.class_shares.get("A", 0.0), r.name, r.dev_eui),
                default=None)
    rates = [r.ventilation.air_changes_per_hour for r in rooms
             if r.ventilation.air_changes_per_hour is not None]
    return SchoolSummary(
        rooms=len(rooms), lesson_hours=hours, class_shares=dict(sorted(shares.items())),
        worst_room=None if worst is None else SchoolRoom(
            dev_eui=worst.dev_eui, name=worst.name,
            class_a_share=worst.class_shares.get("A", 0.0)),
        median_air_changes_per_hour=statistics.median(rates) if rates else None,
        rooms_with_ventilation=len(rates))


def _room_report(conn: Conn, device: queries.DeviceRow, start: datetime,
                 end: datetime) -> ClassroomReport:
    """One classroom's report over [start, end): the room route's answer and a school's row."""
    eui = device.dev_eui
    points = queries.readings(conn, eui, "co2", start=start, end=end, limit=MAX_POINTS)
    series = pd.Series([p.value for p in points],
                       index=pd.DatetimeIndex([p.time for p in points], tz=UTC), dtype=float)
    cfg = _config(conn, eui)
    timetable = _timetable(cfg)
    holidays = [(h.start, h.end) for h in cfg.holidays]
    limits = FrisseScholen(outdoor_ppm=cfg.outdoor_co2_ppm)
    vent = ventilation(series, timetable=timetable, holidays=holidays,
                       outdoor_ppm=cfg.outdoor_co2_ppm, room_volume_m3=cfg.room_volume_m3,
                       pupils=cfg.pupils)
    finite = series[series.abs() < float("inf")]
    return ClassroomReport(
        dev_eui=eui, name=device.name, start=start, end=end, readings=len(points),
        lesson_hours=lesson_seconds(series, timetable=timetable, holidays=holidays,
                                    interval_s=cfg.uplink_interval_s) / 3600.0,
        co2_mean_ppm=float(finite.mean()) if len(finite) else None,
        co2_max_ppm=float(finite.max()) if len(finite) else None,
        class_shares=lesson_class_shares(series, timetable=timetable, holidays=holidays,
                                         interval_s=cfg.uplink_interval_s, limits=limits),
        current_class=co2_class(points[-1].value) if points else None,
        peaks=[Peak.model_validate(p) for p in lesson_peaks(series, timetable=timetable,
                                                            holidays=holidays, limits=limits)],
        ventilation=VentilationOut(
            air_changes_per_hour=vent.air_changes_per_hour,
            per_pupil_dm3_s=vent.per_pupil_dm3_s,
            meets_new_school=vent.meets_new, meets_existing_school=vent.meets_existing,
            events=[DecayEventOut(start=e.start, end=e.end,
                                  air_changes_per_hour=e.air_changes_per_hour, r2=e.r2)
                    for e in vent.events],
            reason=vent.reason),
    )


def _config(conn: Conn, eui: str) -> ClassroomConfig:
    """The device's classroom config; a config stored before these fields existed (or for
    another use case) falls back to the defaults rather than failing the report."""
    info = registry.get_device(conn, eui)
    try:
        return ClassroomConfig.model_validate(info.config if info else {})
    except ValidationError:
        return ClassroomConfig()


def _timetable(cfg: ClassroomConfig) -> Timetable:
    tt = cfg.timetable
    if tt is None:
        return Timetable()
    return Timetable(start=tt.start, end=tt.end, weekdays=tt.weekdays,
                     end_by_weekday=dict(tt.end_by_weekday), timezone=tt.timezone)
