"""Water reports (docs/domain.md, "Water level"): one gauge's level against its target, rate of
rise and alarms; and measuring points compared with a reference gauge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import psycopg
from pydantic import BaseModel, Field

from analytics import water
from store import devices, queries

MAX_POINTS = 100_000
#: Most gauges in one comparison: each is a query and a pandas pass.
MAX_GAUGES = 20


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
    deviation_band_lower_cm: float | None = Field(
        description="deviation_band as numbers: the band the deviation's size is in, "
                    "[lower, upper) cm; 0 for within the first band", examples=[0.0])
    deviation_band_upper_cm: float | None = Field(
        description="upper end of the band (cm); null above the widest band", examples=[5.0])
    rise_threshold_cm_h: float = Field(examples=[5.0])
    rise_cm_h: float | None = Field(description="rate of rise now (1 h least-squares slope)",
                                    examples=[0.4])
    max_rise_cm_h: float | None = Field(description="highest rate of rise in the window",
                                        examples=[7.2])
    alarms: list[RiseAlarm] = Field(description="periods with a rise at or above the threshold")


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _levels(conn: psycopg.Connection[Any], eui: str, start: datetime, end: datetime
            ) -> tuple[pd.Series, int]:
    points = queries.readings(conn, eui, "water_level", start=start, end=end, limit=MAX_POINTS)
    return pd.Series([p.value for p in points],
                     index=pd.DatetimeIndex([p.time for p in points]), dtype=float), len(points)


def report(conn: psycopg.Connection[Any], device: queries.DeviceRow, start: datetime,
           end: datetime) -> WaterReport:
    """One gauge over [start, end): spikes removed (Hampel), rate of rise (1 h slope), alarms
    at the gauge's ``rise_alarm_cm_h`` (default 5 cm/h) and the newest level against its
    target (docs/domain.md, "Water level"). ``device`` is one the reader may see."""
    eui = device.dev_eui
    info = devices.get_device(conn, eui)
    config = info.config if info is not None and isinstance(info.config, dict) else {}
    try:
        target = water.target_from_config(config)
    except ValueError:
        target = None  # a config stored before validation: report without a target
    threshold = config.get("rise_alarm_cm_h")
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        threshold = water.RISE_ALARM_CM_H
    series, count = _levels(conn, eui, start, end)
    kept, removed = water.filter_spikes(series)
    rate = water.rate_of_rise(kept)
    alarms = water.rise_alarms(rate, float(threshold))
    level = float(kept.iloc[-1]) if len(kept) else None
    level_time = kept.index[-1].to_pydatetime() if len(kept) else None
    target_out = deviation = band = None
    band_range: tuple[float | None, float | None] = (None, None)
    if target is not None:
        when = kept.index[-1] if len(kept) else end
        lower, upper = target.band_at(when)
        kind = ("fixed" if target.fixed is not None
                else "seasonal" if target.summer is not None else "band")
        target_out = WaterTarget(lower_nap_m=lower, upper_nap_m=upper, kind=kind)
        if len(kept):
            deviation = float(water.deviation(kept.iloc[-1:], target).iloc[0])
            band = water.deviation_band(deviation)
            band_range = _band_range(deviation)
    return WaterReport(
        dev_eui=eui, name=device.name, start=start, end=end, readings=count,
        spikes_removed=removed, level_nap_m=level, level_time=level_time, target=target_out,
        deviation_cm=deviation, deviation_band=band, deviation_band_lower_cm=band_range[0],
        deviation_band_upper_cm=band_range[1], rise_threshold_cm_h=float(threshold),
        rise_cm_h=_finite(rate.iloc[-1]) if len(rate) else None,
        max_rise_cm_h=_finite(rate.max()) if rate.notna().any() else None,
        alarms=[RiseAlarm(start=a.start.to_pydatetime(), end=a.end.to_pydatetime(),
                          max_rate_cm_h=a.max_rate_cm_h) for a in alarms],
    )


def _band_range(deviation_cm: float) -> tuple[float, float | None]:
    """The water board's deviation band (``analytics.water.DEVIATION_BANDS_CM``, the bands of
    ``water.deviation_band``) that ``deviation_cm``'s size is in, as [lower, upper) cm."""
    edges = [0.0, *sorted(water.DEVIATION_BANDS_CM)]
    lower = max(e for e in edges if abs(deviation_cm) >= e)
    upper = next((e for e in edges if e > lower), None)
    return lower, upper


class GaugeDifference(BaseModel):
    dev_eui: str = Field(examples=["24e124fffe0a0002"])
    name: str = Field(examples=["Peilmeting Zijlpoort"])
    readings: int = Field(description="water_level readings in the window", examples=[432])
    spikes_removed: int = Field(examples=[0])
    mean_level_nap_m: float | None = Field(description="mean of the compared buckets",
                                           examples=[-0.63])
    difference_cm: DifferenceStats | None = Field(
        description="this gauge minus the reference in the common buckets; null for the "
                    "reference itself and when no bucket is common")


class DifferenceStats(BaseModel):
    mean: float = Field(examples=[-1.8])
    median: float = Field(examples=[-1.7])
    min: float = Field(examples=[-4.2])
    max: float = Field(examples=[0.6])
    newest: float = Field(description="in the newest common bucket", examples=[-2.1])
    newest_time: datetime = Field(examples=["2026-11-23T07:50:00Z"])


class WaterComparison(BaseModel):
    reference: str = Field(description="dev_eui the others are compared with",
                           examples=["24e124fffe0a0001"])
    start: datetime = Field(examples=["2026-11-16T08:00:00Z"])
    end: datetime = Field(examples=["2026-11-23T08:00:00Z"])
    bucket_minutes: int = Field(description="readings are averaged per bucket; only buckets "
                                            "in which every gauge reads are compared",
                                examples=[10])
    common_buckets: int = Field(examples=[1008])
    gauges: list[GaugeDifference] = Field(description="in the order asked, reference first")


GaugeDifference.model_rebuild()


def compare(conn: psycopg.Connection[Any], gauges: Sequence[queries.DeviceRow],
            start: datetime, end: datetime, *, reference: str | None = None,
            bucket: pd.Timedelta = pd.Timedelta(minutes=10)) -> WaterComparison:
    """Measuring points side by side (``analytics.water.compare_gauges``): spikes removed per
    gauge, levels averaged per ``bucket``, differences (cm) from ``reference`` (default the
    first) over the buckets all gauges share, so one gauge's gap is no false difference.
    ``gauges`` are distinct devices the reader may see; ``reference`` is one of them."""
    ref = reference if reference is not None else gauges[0].dev_eui
    order = [ref] + [g.dev_eui for g in gauges if g.dev_eui != ref]
    by_eui = {g.dev_eui: g for g in gauges}
    kept: dict[str, pd.Series] = {}
    counts: dict[str, tuple[int, int]] = {}
    for eui in order:
        series, count = _levels(conn, eui, start, end)
        kept[eui], removed = water.filter_spikes(series)
        counts[eui] = count, removed
    frame = pd.DataFrame({eui: s.resample(bucket).mean() for eui, s in kept.items()}).dropna()
    differences = water.compare_gauges(kept, reference=ref, tolerance=bucket)
    out = []
    for eui in order:
        stats = None
        if eui != ref and len(differences):
            d = differences[eui]
            stats = DifferenceStats(mean=float(d.mean()), median=float(d.median()),
                                    min=float(d.min()), max=float(d.max()),
                                    newest=float(d.iloc[-1]),
                                    newest_time=d.index[-1].to_pydatetime())
        out.append(GaugeDifference(
            dev_eui=eui, name=by_eui[eui].name, readings=counts[eui][0],
            spikes_removed=counts[eui][1],
            mean_level_nap_m=float(frame[eui].mean()) if len(frame) else None,
            difference_cm=stats))
    return WaterComparison(reference=ref, start=start, end=end,
                           bucket_minutes=int(bucket / pd.Timedelta(minutes=1)),
                           common_buckets=len(frame), gauges=out)
