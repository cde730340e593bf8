"""Water analytics over the API (issue 11): level against target, rate of rise and its alarms
(docs/domain.md, "Water level")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from analytics import water
from api.deps import Caller, Conn, visible_device
from api.params import ReportFrom, ReportTo, report_window
from api.problems import responses
from store import devices, queries

router = APIRouter(tags=["water"])

MAX_POINTS = 100_000


class RiseAlarm(BaseModel):
    start: datetime = Field(examples=["2026-11-20T14:20:00Z"])
    end: datetime = Field(examples=["2026-11-20T16:30:00Z"])
    max_rate_cm_h: float = Field(examples=[7.2])


class WaterTarget(BaseModel):
    lower_nap_m: float = Field(description="lower end of the target (m NAP); equal to upper "
                                           "for a single level", examples=[-0.64])
    upper_nap_m: float = Field(examples=[-0.64])
    kind: str = Field(description="fixed, seasonal or band", examples=["seasonal"])


class WaterReport(BaseModel):
    dev_eui: str = Field(examples=["24e124fffe0a1b2c"])
    name: str = Field(examples=["Peilmeting Galgewater (Oude Rijn), Leiden"])
    start: datetime = Field(examples=["2026-11-16T08:00:00Z"])
    end: datetime = Field(examples=["2026-11-23T08:00:00Z"])
    readings: int = Field(description="water_level readings in the window", examples=[1008])
    spikes_removed: int = Field(description="readings the spike filter (Hampel, 1 h) dropped",
                                examples=[1])
    level_nap_m: float | None = Field(description="newest level after spike filtering (m NAP)",
                                      examples=[-0.62])
    level_time: datetime | None = Field(examples=["2026-11-23T07:55:00Z"])
    target: WaterTarget | None = Field(description="from the gauge's config; null: none set")
    deviation_cm: float | None = Field(description="newest level minus target (outside a "
                                                   "band: distance to it), cm", examples=[2.0])
    deviation_band: str | None = Field(examples=["within 5 cm"])
    rise_threshold_cm_h: float = Field(examples=[5.0])
    rise_cm_h: float | None = Field(description="rate of rise now (1 h least-squares slope)",
                                    examples=[0.4])
    max_rise_cm_h: float | None = Field(description="highest rate of rise in the window",
                                        examples=[7.2])
    alarms: list[RiseAlarm] = Field(description="periods with a rise at or above the threshold")


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


@router.get("/water/{dev_eui}/report", response_model=WaterReport,
            summary="Water level against target, rate of rise and alarms",
            responses=responses(404))
def water_report(
    dev_eui: Annotated[str, Path(description="the water gauge's dev_eui",
                                 examples=["24e124fffe0a1b2c"], max_length=64)],
    conn: Conn,
    caller: Caller,
    from_: ReportFrom = None,
    to: ReportTo = None,
) -> WaterReport:
    device = visible_device(conn, caller, dev_eui)
    eui = device.dev_eui
    start, end = report_window(from_, to)
    info = devices.get_device(conn, eui)
    config = info.config if info is not None and isinstance(info.config, dict) else {}
    try:
        target = water.target_from_config(config)
    except ValueError:
        target = None  # a config stored before validation: report without a target
    threshold = config.get("rise_alarm_cm_h")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        threshold = water.RISE_ALARM_CM_H
    points = queries.readings(conn, eui, "water_level", start=start, end=end, limit=MAX_POINTS)
    series = pd.Series([p.value for p in points],
                       index=pd.DatetimeIndex([p.time for p in points]), dtype=float)
    kept, removed = water.filter_spikes(series)
    rate = water.rate_of_rise(kept)
    alarms = water.rise_alarms(rate, float(threshold))
    level = float(kept.iloc[-1]) if len(kept) else None
    level_time = kept.index[-1].to_pydatetime() if len(kept) else None
    target_out = deviation = band = None
    if target is not None:
        when = kept.index[-1] if len(kept) else end
        lower, upper = target.band_at(when)
        kind = ("fixed" if target.fixed is not None
                else "seasonal" if target.summer is not None else "band")
        target_out = WaterTarget(lower_nap_m=lower, upper_nap_m=upper, kind=kind)
        if len(kept):
            deviation = float(water.deviation(kept.iloc[-1:], target).iloc[0])
            band = water.deviation_band(deviation)
    return WaterReport(
        dev_eui=eui, name=device.name, start=start, end=end, readings=len(points),
        spikes_removed=removed, level_nap_m=level, level_time=level_time, target=target_out,
        deviation_cm=deviation, deviation_band=band, rise_threshold_cm_h=float(threshold),
        rise_cm_h=_finite(rate.iloc[-1]) if len(rate) else None,
        max_rise_cm_h=_finite(rate.max()) if rate.notna().any() else None,
        alarms=[RiseAlarm(start=a.start.to_pydatetime(), end=a.end.to_pydatetime(),
                          max_rate_cm_h=a.max_rate_cm_h) for a in alarms],
    )
