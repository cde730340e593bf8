"""Classroom air in Frisse Scholen classes (Meet de Klas)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from analytics.classroom import class_shares, co2_class
from api.deps import Caller, Conn
from api.problems import Problem, responses
from store import queries

router = APIRouter(tags=["classrooms"])

MAX_POINTS = 100_000


class ClassroomReport(BaseModel):
    dev_eui: str = Field(examples=["a81758fffe0399aa"])
    name: str = Field(examples=["OBS De Regenboog, lokaal 1 (groep 3)"])
    start: datetime = Field(examples=["2026-11-16T08:00:00Z"])
    end: datetime = Field(examples=["2026-11-23T08:00:00Z"])
    readings: int = Field(description="CO2 readings in the window", examples=[2016])
    co2_mean_ppm: float | None = Field(examples=[712.4])
    co2_max_ppm: float | None = Field(examples=[1384.0])
    class_shares: dict[str, float] = Field(
        description="Share of time per Frisse Scholen CO2 class (A <= 800, B <= 950, "
                    "C <= 1200 ppm; '-' above)",
        examples=[{"A": 0.72, "B": 0.18, "C": 0.08, "-": 0.02}])
    current_class: str | None = Field(description="class of the newest reading",
                                      examples=["A"])


@router.get("/classrooms/{dev_eui}/report", response_model=ClassroomReport,
            summary="Time per Frisse Scholen class", responses=responses(404))
def classroom_report(
    dev_eui: Annotated[str, Path(description="the classroom sensor's dev_eui",
                                 examples=["a81758fffe0399aa"], max_length=64)],
    conn: Conn,
    caller: Caller,
    from_: Annotated[datetime | None, Query(alias="from", description="RFC 3339; default: 7 "
                                            "days before `to`",
                                            examples=["2026-11-16T08:00:00Z"])] = None,
    to: Annotated[datetime | None, Query(description="RFC 3339; default: now",
                                         examples=["2026-11-23T08:00:00Z"])] = None,
) -> ClassroomReport:
    eui = dev_eui.lower()
    device = queries.get_device(conn, eui, organisation=caller.organisation)
    if device is None:
        raise Problem(404, "device-not-found", "Device not found", f"no visible device {dev_eui}")
    end = to or datetime.now(UTC)
    start = from_ or end - timedelta(days=7)
    points = queries.readings(conn, eui, "co2", start=start, end=end, limit=MAX_POINTS)
    series = pd.Series([p.value for p in points], index=pd.DatetimeIndex([p.time for p in points]),
                       dtype=float)
    return ClassroomReport(
        dev_eui=eui, name=device.name, start=start, end=end, readings=len(points),
        co2_mean_ppm=float(series.mean()) if len(series) else None,
        co2_max_ppm=float(series.max()) if len(series) else None,
        class_shares=class_shares(series),
        current_class=co2_class(points[-1].value) if points else None,
    )
