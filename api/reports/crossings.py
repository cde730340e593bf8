"""Zebra crossing reports (docs/domain.md, "Zebra crossings"): counts per bucket and direction
and the approach speeds from a radar's merged speed-class histograms. Only aggregates: no
per-vehicle or per-person data exists in meetnet."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import pandas as pd
import psycopg
from pydantic import BaseModel, Field

from analytics import crossing
from api.problems import Problem
from store import crossings, devices, queries

#: Readings of one metric a report reads at most: a year of 5-minute counts is ~105,000.
MAX_POINTS = 200_000
#: A report answers at most this many buckets (15-minute buckets: 104 days).
MAX_BUCKETS = 10_000
#: Radars whose uplinks carry a speed-class histogram; their raw frames are merged per period.
SPEED_RADARS = frozenset({"parametric/tcr"})
TIMEZONE = "Europe/Amsterdam"
_BUCKET_SECONDS = {"15m": 900, "1h": 3600, "1d": 86400}
_PEOPLE = {"pedestrians_in": "pedestrian_count_in", "pedestrians_out": "pedestrian_count_out"}
_VEHICLES = {"vehicles_ltr": "vehicle_count_ltr", "vehicles_rtl": "vehicle_count_rtl"}

#: A report's bucket: 15 minutes, an hour or a local day.
Bucket = Literal["15m", "1h", "1d"]


class CountBucket(BaseModel):
    start: datetime = Field(description="bucket start, local time (Europe/Amsterdam) with offset",
                            examples=["2026-11-16T08:00:00+01:00"])
    pedestrians_in: int | None = Field(description="null: the device does not count people",
                                       examples=[41])
    pedestrians_out: int | None = Field(examples=[37])
    vehicles_ltr: int | None = Field(description="left to right; null: the device does not "
                                                 "count vehicles", examples=[212])
    vehicles_rtl: int | None = Field(examples=[158])


class SpeedClassOut(BaseModel):
    lower_kmh: float = Field(description="window, estimated from the class averages unless "
                                         "configured", examples=[29.8])
    upper_kmh: float = Field(examples=[34.7])
    mean_kmh: float = Field(examples=[32.2])
    vehicles: int = Field(examples=[3120])


class DirectionSpeeds(BaseModel):
    direction: str = Field(description="ltr (left to right) or rtl", examples=["ltr"])
    vehicles: int = Field(examples=[10452])
    v85_kmh: float | None = Field(description="85th percentile of the period's merged "
                                              "speed-class histogram; null without vehicles",
                                  examples=[34.3])
    mean_kmh: float | None = Field(description="count-weighted", examples=[29.1])
    share_over_limit: float | None = Field(description="0..1", examples=[0.42])
    share_over_limit_margin: float | None = Field(description="0..1, faster than limit + margin",
                                                  examples=[0.11])
    classes: list[SpeedClassOut]


class CrossingReport(BaseModel):
    dev_eui: str = Field(examples=["70b3d5c1d2e3f4a5"])
    name: str = Field(examples=["Zebrapad Lange Voort, Oegstgeest, radar verkeersteller"])
    model: str = Field(examples=["parametric/tcr"])
    start: datetime = Field(examples=["2026-11-16T08:00:00Z"])
    end: datetime = Field(examples=["2026-11-23T08:00:00Z"])
    bucket: str = Field(examples=["1h"])
    timezone: str = Field(examples=[TIMEZONE])
    speed_limit_kmh: float = Field(description="device config speed_limit_kmh, else 30",
                                   examples=[30.0])
    margin_kmh: float = Field(examples=[5.0])
    totals: dict[str, int] = Field(description="the period's counts per series",
                                   examples=[{"vehicles_ltr": 10452, "vehicles_rtl": 9871}])
    buckets: list[CountBucket]
    speeds: list[DirectionSpeeds] = Field(description="per direction; empty for a device "
                                                      "without speed classes")
    frames_skipped: int = Field(description="stored radar uplinks that are no application "
                                            "frame (dead letters)", examples=[0])


def _series(conn: psycopg.Connection[Any], eui: str, metrics: dict[str, str], start: datetime,
            end: datetime) -> pd.DataFrame:
    rows = []
    for series, metric in metrics.items():
        rows += [(p.time, series, p.value) for p in
                 queries.readings(conn, eui, metric, start=start, end=end, limit=MAX_POINTS)]
    return pd.DataFrame(rows, columns=["time", "series", "count"])


def build_report(conn: psycopg.Connection[Any], info: devices.DeviceInfo, name: str,
                 start: datetime, end: datetime, bucket: Bucket,
                 margin_kmh: float = crossing.DEFAULT_MARGIN_KMH) -> CrossingReport:
    """The report of one crossing counter over [start, end) (API and CLI). The caller has
    checked that the device may be seen and is a crossing device."""
    if (end - start).total_seconds() / _BUCKET_SECONDS[bucket] > MAX_BUCKETS:
        raise Problem(400, "too-many-buckets", "Too many buckets",
                      f"at most {MAX_BUCKETS} buckets per report; take a larger bucket")
    config = info.config if isinstance(info.config, dict) else {}
    limit = crossing.limit_from_config(config)
    counts = [_series(conn, info.dev_eui, _PEOPLE, start, end)]
    speeds: list[DirectionSpeeds] = []
    skipped = 0
    if info.model_key in SPEED_RADARS:
        frames = crossings.radar_frames(conn, info.dev_eui, start, end)
        hist, skipped = crossing.tcr_histograms(frames)
        counts.append(crossing.vehicle_counts(hist))
        for direction in crossing.DIRECTIONS:
            s = crossing.speed_stats(hist, direction, limit_kmh=limit, margin_kmh=margin_kmh)
            speeds.append(DirectionSpeeds(
                direction=direction, vehicles=s.vehicles, v85_kmh=s.v85_kmh, mean_kmh=s.mean_kmh,
                share_over_limit=s.share_over_limit, share_over_limit_margin=s.share_over_margin,
                classes=[SpeedClassOut(lower_kmh=c.lower, upper_kmh=c.upper, mean_kmh=m,
                                       vehicles=c.count)
                         for c, m in zip(s.classes, s.class_means_kmh, strict=True)]))
    else:
        counts.append(_series(conn, info.dev_eui, _VEHICLES, start, end))
    frame = pd.concat([c for c in counts if not c.empty]) if any(
        not c.empty for c in counts) else counts[0]
    wide = crossing.per_bucket(frame, bucket, TIMEZONE)
    present = set(wide.columns)

    def cell(row: pd.Series, series: str) -> int | None:
        return int(row[series]) if series in present else None

    return CrossingReport(
        dev_eui=info.dev_eui, name=name, model=info.model_key, start=start, end=end,
        bucket=bucket, timezone=TIMEZONE, speed_limit_kmh=limit, margin_kmh=margin_kmh,
        totals={str(k): int(v) for k, v in wide.sum().items()},
        buckets=[CountBucket(start=t.to_pydatetime(), **{s: cell(row, s) for s in
                                                          (*_PEOPLE, *_VEHICLES)})
                 for t, row in wide.iterrows()],
        speeds=speeds, frames_skipped=skipped,
    )
