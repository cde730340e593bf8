"""Classroom air in Frisse Scholen classes (Meet de Klas)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from analytics.classroom import class_shares, co2_class
from api.deps import Caller, Conn
from api.problems import Problem
from store import queries

router = APIRouter(tags=["classrooms"])

MAX_POINTS = 100_000


class ClassroomReport(BaseModel):
    dev_eui: str
    name: str
    start: datetime
    end: datetime
    readings: int
    co2_mean_ppm: float | None
    co2_max_ppm: float | None
    class_shares: dict[str, float] = Field(
        description="Share of time per Frisse Scholen CO2 class (A <= 800, B <= 950, "
                    "C <= 1200 ppm; '-' above)",
        examples=[{"A": 0.72, "B": 0.18, "C": 0.08, "-": 0.02}])
    current_class: str | None


@router.get("/classrooms/{dev_eui}/report", response_model=ClassroomReport,
            summary="Time per Frisse Scholen class")
def classroom_report(
    dev_eui: str,
    conn: Conn,
    caller: Caller,
    from_: Annotated[datetime | None, Query(alias="from", description="default: 7 days ago")] = None,
    to: Annotated[datetime | None, Query(description="default: now")] = None,
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
