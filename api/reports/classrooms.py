"""Classroom reports (Meet de Klas): one room's lesson-time Frisse Scholen classes, peaks and
ventilation, and a school's rooms side by side (docs/domain.md, "Classrooms")."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import psycopg
from pydantic import BaseModel, Field, ValidationError

from analytics.classroom import (
    FrisseScholen,
    Timetable,
    clean,
    co2_class,
    lesson_class_shares,
    lesson_peaks,
    lesson_seconds,
    ventilation,
)
from decoders.config import ClassroomConfig
from store import devices as registry
from store import queries

MAX_POINTS = 100_000
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
    reason_code: str | None = Field(
        description="the reason as a stable code, for a program or a translation: "
                    "'no-readings' (no CO2 readings in the period) or 'no-decay' (no decay of "
                    ">= 20 min well above outdoor air after the school day); null when fitted",
        examples=[None])


ClassroomReport.model_rebuild()


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


def school_report(conn: psycopg.Connection[Any], organisation: str,
                  rooms: Sequence[queries.DeviceRow], start: datetime,
                  end: datetime) -> SchoolReport:
    """The room reports of ``rooms`` (the organisation's classrooms the reader may see, at most
    MAX_ROOMS + 1 to tell truncation) and the school's figures over them."""
    reports = [room_report(conn, d, start, end) for d in rooms[:MAX_ROOMS]]
    return SchoolReport(organisation=organisation, start=start, end=end,
                        truncated=len(rooms) > MAX_ROOMS, summary=_summary(reports),
                        rooms=reports)


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


def room_report(conn: psycopg.Connection[Any], device: queries.DeviceRow, start: datetime,
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
            reason=vent.reason, reason_code=_reason_code(series, vent.reason)),
    )


def _reason_code(series: pd.Series, reason: str | None) -> str | None:
    """The code of ``analytics.classroom.ventilation``'s reason: it fits nothing without a
    (clean) reading, and otherwise only when no day's decay passes."""
    if reason is None:
        return None
    return "no-readings" if clean(series).empty else "no-decay"


def _config(conn: psycopg.Connection[Any], eui: str) -> ClassroomConfig:
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
