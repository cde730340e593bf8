"""Waste analytics over the API (issue 11): which bins to empty."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from analytics.waste import WastePolicy, assess
from api.deps import Caller, Conn
from api.problems import Problem, responses
from store import queries
from store import waste as store_waste

router = APIRouter(tags=["waste"])

METRICS = ["fill_level", "tilt", "temperature"]


class Bin(BaseModel):
    dev_eui: str = Field(examples=["24e124136b502217"])
    name: str = Field(examples=["Afvalbak Stationsplein (Leiden Centraal)"])
    lat: float | None = Field(examples=[52.1662])
    lon: float | None = Field(examples=[4.4821])
    fill_pct: float | None = Field(description="newest fill reading, %", examples=[63.5])
    rate_pct_per_day: float | None = Field(
        description="fill rate since the last emptying (Theil-Sen), percentage points per day",
        examples=[24.2])
    last_emptied: datetime | None = Field(examples=["2026-11-23T07:10:00Z"])
    threshold_at: datetime | None = Field(description="forecast: reaches the threshold",
                                          examples=["2026-11-24T22:00:00Z"])
    full_at: datetime | None = Field(description="forecast: reaches 100 %",
                                     examples=["2026-11-25T12:00:00Z"])
    due: bool = Field(examples=[True])
    due_reason: str | None = Field(description="`over-threshold` or `forecast-over-threshold`",
                                   examples=["forecast-over-threshold"])
    stale: bool = Field(description="no uplink for 24 h", examples=[False])
    last_seen: datetime | None = Field(examples=["2026-11-24T08:00:00Z"])
    fire_risk: bool | None = Field(description="null: the sensor reports no temperature",
                                   examples=[None])
    fire_reason: str | None = Field(examples=[None])


_AT = Query(description="evaluate as of this time (RFC 3339); default: now",
            examples=["2026-11-24T08:00:00Z"])
_NEXT = Query(description="start of the next round (RFC 3339); default: `at` + 24 h",
              examples=["2026-11-25T07:00:00Z"])
_THRESHOLD = Query(gt=0, le=100, description="collection threshold, %", examples=[80])
_DAYS = Query(ge=1, le=60, description="days of history to read", examples=[14])


def _bins(conn: Conn, caller: Caller, at: datetime | None, next_round: datetime | None,
          threshold: float, days: int) -> list[Bin]:
    for name, value in (("at", at), ("next_round", next_round)):
        if value is not None and value.tzinfo is None:
            raise Problem(400, "bad-request", "Bad request", f"`{name}` needs a time zone")
    now = at or datetime.now(UTC)
    try:
        horizon = next_round or now + timedelta(days=1)
        start = now - timedelta(days=days)
    except OverflowError as exc:
        raise Problem(400, "bad-request", "Bad request", "`at` is out of range") from exc
    policy = WastePolicy(threshold_pct=threshold)
    devices = queries.list_devices(conn, use_case="waste", organisation=caller.organisation)
    series: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for row in store_waste.bin_series(conn, [d.dev_eui for d in devices], METRICS,
                                      start=start, end=now):
        series[(row.dev_eui, row.metric)].append((row.time, row.value))

    def as_series(eui: str, metric: str) -> pd.Series | None:
        points = series.get((eui, metric))
        if not points:
            return None
        return pd.Series([v for _, v in points], index=pd.DatetimeIndex([t for t, _ in points]),
                         dtype=float)

    out = []
    for d in devices:
        fill = as_series(d.dev_eui, "fill_level")
        last_seen = d.last_seen_at if d.last_seen_at is not None and d.last_seen_at <= now else None
        s = assess(fill if fill is not None else pd.Series(dtype=float), at=now,
                   next_round=horizon, tilt=as_series(d.dev_eui, "tilt"),
                   temperature=as_series(d.dev_eui, "temperature"), last_seen=last_seen,
                   policy=policy)
        out.append(Bin(dev_eui=d.dev_eui, name=d.name, lat=d.lat, lon=d.lon, fill_pct=s.fill_pct,
                       rate_pct_per_day=s.rate_pct_per_day, last_emptied=s.last_emptied,
                       threshold_at=s.threshold_at, full_at=s.full_at, due=s.due,
                       due_reason=s.due_reason, stale=s.stale, last_seen=s.last_seen,
                       fire_risk=s.fire_risk, fire_reason=s.fire_reason))
    return out


@router.get("/waste/bins", response_model=list[Bin], summary="Fill, rate and due per bin",
            responses=responses(400, 401, 422))
def waste_bins(conn: Conn, caller: Caller,
               at: Annotated[datetime | None, _AT] = None,
               next_round: Annotated[datetime | None, _NEXT] = None,
               threshold: Annotated[float, _THRESHOLD] = 80.0,
               days: Annotated[int, _DAYS] = 14) -> list[Bin]:
    """Every waste bin the caller may see: its fill, fill rate since the last emptying, the
    forecast times to the threshold and to full, and whether it is due on the next round
    (docs/domain.md, "Waste bins")."""
    return _bins(conn, caller, at, next_round, threshold, days)


@router.get("/waste/bins.geojson", summary="Bins as a GeoJSON FeatureCollection",
            response_class=JSONResponse, responses={200: {
                "description": "A FeatureCollection (RFC 7946): one Point per located bin",
                "content": {"application/geo+json": {"example": {
                    "type": "FeatureCollection", "features": [{
                        "type": "Feature",
                        "geometry": {"type": "Point", "coordinates": [4.4821, 52.1662]},
                        "properties": {"dev_eui": "24e124136b502217", "fill_pct": 63.5,
                                       "due": True}}]}}}},
                **responses(400, 401, 422)})
def waste_bins_geojson(conn: Conn, caller: Caller,
                       at: Annotated[datetime | None, _AT] = None,
                       next_round: Annotated[datetime | None, _NEXT] = None,
                       threshold: Annotated[float, _THRESHOLD] = 80.0,
                       days: Annotated[int, _DAYS] = 14) -> JSONResponse:
    """For maps: one Point feature per located bin (RFC 7946, lon/lat order)."""
    features: list[dict[str, Any]] = []
    for b in _bins(conn, caller, at, next_round, threshold, days):
        if b.lat is None or b.lon is None:
            continue
        props = b.model_dump(mode="json", exclude={"lat", "lon"})
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
                         "properties": props})
    return JSONResponse({"type": "FeatureCollection", "features": features},
                        media_type="application/geo+json")
