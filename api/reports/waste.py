"""Waste reports (docs/domain.md, "Waste bins", "Routing"): every bin's fill, rate, forecast
and whether it is due (the one assessment behind the bins listing, the route plans and
`meetnet waste`), and a collection day's bins, stops and the answer of its route plan."""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from datetime import date as dt_date
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
import psycopg
from pydantic import BaseModel, Field

from analytics import routing
from analytics.routing import RoutePlan, Stop
from analytics.waste import HISTORY, BinStatus, WastePolicy, assess
from store import queries
from store import waste as store_waste

METRICS = ["fill_level", "tilt", "temperature"]


class Bin(BaseModel):
    dev_eui: str = Field(examples=["24e124136b502217"])
    name: str = Field(examples=["Afvalbak Stationsplein (Leiden Centraal)"])
    lat: float | None = Field(examples=[52.1662])
    lon: float | None = Field(examples=[4.4821])
    fill_pct: float | None = Field(description="newest fill reading, %", examples=[63.5])
    rate_pct_per_day: float | None = Field(
        description="fill rate since the last emptying, percentage points per day: the bin's "
                    "mean over its weekly pattern, or the Theil-Sen fit (see `rate_basis`)",
        examples=[24.2])
    rate_basis: str = Field(description="`weekday-pattern` once the bin has three weeks of "
                                        "readings (the forecast then follows its weekly rhythm), "
                                        "else `theil-sen`", examples=["weekday-pattern"])
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


HISTORY_DAYS = HISTORY.days  # analytics.waste.HISTORY: why four weeks


def assess_bins(conn: psycopg.Connection[Any], organisation: str | None, *, at: datetime,
                next_round: datetime, threshold: float, days: int, owner: str | None = None
                ) -> list[tuple[queries.DeviceRow, BinStatus]]:
    """Every waste bin ``organisation`` may see (only those ``owner`` owns, when given),
    assessed at ``at`` for the round before ``next_round`` (`analytics.waste.assess`) over
    ``days`` of history: the one assessment behind the bins listing, the route plans and the
    CLI."""
    policy = WastePolicy(threshold_pct=threshold)
    devices = queries.list_devices(conn, use_case="waste", organisation=organisation,
                                   where=queries.DeviceFilter(owner=owner) if owner else None)
    series: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    for row in store_waste.bin_series(conn, [d.dev_eui for d in devices], METRICS,
                                      start=at - timedelta(days=days), end=at):
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
        last_seen = d.last_seen_at if d.last_seen_at is not None and d.last_seen_at <= at else None
        out.append((d, assess(fill if fill is not None else pd.Series(dtype=float), at=at,
                              next_round=next_round, tilt=as_series(d.dev_eui, "tilt"),
                              temperature=as_series(d.dev_eui, "temperature"),
                              last_seen=last_seen, policy=policy)))
    return out



def bins(conn: psycopg.Connection[Any], organisation: str | None, *, at: datetime,
         next_round: datetime, threshold: float, days: int) -> list[Bin]:
    """The bins listing (`GET /v1/waste/bins`): every bin ``organisation`` may see, as
    `assess_bins` assesses it."""
    return [Bin(dev_eui=d.dev_eui, name=d.name, lat=d.lat, lon=d.lon, fill_pct=s.fill_pct,
                rate_pct_per_day=s.rate_pct_per_day, rate_basis=s.rate_basis,
                last_emptied=s.last_emptied,
                threshold_at=s.threshold_at, full_at=s.full_at, due=s.due,
                due_reason=s.due_reason, stale=s.stale, last_seen=s.last_seen,
                fire_risk=s.fire_risk, fire_reason=s.fire_reason)
            for d, s in assess_bins(conn, organisation, at=at, next_round=next_round,
                                    threshold=threshold, days=days)]


def bins_geojson(listing: list[Bin]) -> dict[str, Any]:
    """For maps: a FeatureCollection of one Point per located bin (RFC 7946, lon/lat order),
    its other fields as the properties."""
    features: list[dict[str, Any]] = []
    for b in listing:
        if b.lat is None or b.lon is None:
            continue
        props = b.model_dump(mode="json", exclude={"lat", "lon"})
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
                         "properties": props})
    return {"type": "FeatureCollection", "features": features}


# --- Collection routes (POST /v1/waste/routes) ---


#: Rounds start at 07:00 local time (as the scenario's rounds, simulators/scenario/waste.py).
ROUND_START = time(7, 0)
ROUND_ZONE = ZoneInfo("Europe/Amsterdam")
#: A bin's volume when its config names none (docs/domain.md): an underground container
#: (sensor-to-bottom depth of 1.5 m or more) 5 m3, otherwise a street litter bin of 120 L.
UNDERGROUND_DEPTH_M = 1.5
UNDERGROUND_VOLUME_L = 5000.0
LITTER_VOLUME_L = 120.0
#: What visiting a bin that may wait is worth, in km of driving, when it is predicted at the
#: collection threshold; it grows with the square of the predicted fill (*choice*,
#: docs/domain.md): a bin nearly at the threshold is worth a short detour, a near-empty one
#: only a stop on the way.
OPTIONAL_PRIZE_KM = 2.0


def bin_volume_l(config: dict[str, Any]) -> float:
    """Litres of a full bin: ``bin_volume_l`` from its config, else by its depth
    (``UNDERGROUND_DEPTH_M``): an underground container or a litter bin."""
    volume = config.get("bin_volume_l")
    if isinstance(volume, int | float) and not isinstance(volume, bool) and volume > 0:
        return float(volume)
    depth = config.get("bin_depth_m")
    if isinstance(depth, int | float) and depth >= UNDERGROUND_DEPTH_M:
        return UNDERGROUND_VOLUME_L
    return LITTER_VOLUME_L


def round_times(day: date) -> tuple[datetime, datetime]:
    """Start of the round on ``day`` and of the next day's round (07:00 Europe/Amsterdam)."""
    start = datetime.combine(day, ROUND_START, ROUND_ZONE)
    return start, datetime.combine(day + timedelta(days=1), ROUND_START, ROUND_ZONE)


def tomorrow() -> date:
    return datetime.now(ROUND_ZONE).date() + timedelta(days=1)


@dataclass(frozen=True)
class RoundBin:
    """A bin as the round sees it: its predicted fill at the round's start and its load."""

    dev_eui: str
    name: str
    lat: float
    lon: float
    fill_pct: float
    due: bool
    load_l: float


def round_bins(conn: psycopg.Connection[Any], organisation: str, day: date, *,
               threshold: float = 80.0, days: int = HISTORY_DAYS, now: datetime | None = None
               ) -> tuple[list[RoundBin], list[NotPlanned]]:
    """The bins ``organisation`` owns (the ones it empties), assessed for the round on ``day``
    (`assess_bins`: due when over ``threshold`` or forecast to pass it before the next day's
    round), with the fill predicted at the round's start by the bin's rate, and the bins
    that cannot be planned (no position or no fill reading) with the reason."""
    start, next_round = round_times(day)
    at = min(now or datetime.now(UTC), start)
    planned, left = [], []
    for d, s in assess_bins(conn, organisation, owner=organisation, at=at,
                            next_round=next_round, threshold=threshold, days=days):
        if d.lat is None or d.lon is None:
            left.append(NotPlanned(dev_eui=d.dev_eui, name=d.name, reason="no position"))
            continue
        if s.fill_pct is None:
            left.append(NotPlanned(dev_eui=d.dev_eui, name=d.name,
                                   reason=f"no fill reading in the {days} days before"))
            continue
        ahead = max(s.rate_pct_per_day or 0.0, 0.0) * (start - at).total_seconds() / 86_400
        fill = min(100.0, max(0.0, s.fill_pct + ahead))
        planned.append(RoundBin(dev_eui=d.dev_eui, name=d.name, lat=d.lat, lon=d.lon,
                                fill_pct=fill, due=s.due, load_l=0.0))
    configs = store_waste.bin_configs(conn, [b.dev_eui for b in planned])
    return [dataclasses.replace(b, load_l=bin_volume_l(configs.get(b.dev_eui, {}))
                                * b.fill_pct / 100) for b in planned], left


def stops_for(bins: list[RoundBin], threshold: float) -> list[Stop]:
    """Due bins are required stops; the others optional with a prize of
    ``OPTIONAL_PRIZE_KM`` x (predicted fill / threshold)^2."""
    return [Stop(id=b.dev_eui, lat=b.lat, lon=b.lon, load=b.load_l, required=b.due,
                 prize=0.0 if b.due else OPTIONAL_PRIZE_KM * (b.fill_pct / threshold) ** 2)
            for b in bins]


class RouteStop(BaseModel):
    dev_eui: str = Field(examples=["24e124136b502217"])
    name: str = Field(examples=["Afvalbak Stationsplein (Leiden Centraal)"])
    fill_pct: float = Field(description="predicted fill at the round's start, %",
                            examples=[84.0])
    due: bool = Field(examples=[True])
    load_l: float = Field(description="what emptying it puts in the truck", examples=[100.8])


class TruckPlan(BaseModel):
    truck: int = Field(examples=[1])
    km: float = Field(examples=[12.4])
    load_l: float = Field(examples=[5400.0])
    stops: list[RouteStop]


class NotPlanned(BaseModel):
    dev_eui: str = Field(examples=["24e124136b502217"])
    name: str = Field(examples=["Afvalbak Stationsplein (Leiden Centraal)"])
    reason: str = Field(examples=["no position"])


class RoutePlanOut(BaseModel):
    date: dt_date = Field(examples=["2026-11-25"])
    trucks: list[TruckPlan]
    km: float = Field(description="all trucks, depot to depot", examples=[24.8])
    skipped: list[str] = Field(description="bins that may wait and are left out",
                               examples=[["24e1241111111111"]])
    unserved: list[str] = Field(description="due bins the trucks cannot take (capacity)",
                                examples=[[]])
    not_planned: list[NotPlanned] = Field(description="bins without a position or a reading")
    feasible: bool = Field(description="every due bin is on a route", examples=[True])
    iterations: int = Field(examples=[41000])
    runtime_s: float = Field(examples=[5.0])
    geojson: dict[str, Any] = Field(description="FeatureCollection (RFC 7946): a LineString "
                                    "per truck and a Point per bin planned")


def plan_answer(day: date, bins: list[RoundBin], left: list[NotPlanned], result: RoutePlan
                ) -> RoutePlanOut:
    """The answer of a plan: trucks with their ordered stops, and the GeoJSON of it."""
    by_eui = {b.dev_eui: b for b in bins}
    trucks = [TruckPlan(truck=r.truck, km=round(r.km, 3), load_l=round(r.load, 1), stops=[
        RouteStop(dev_eui=e, name=by_eui[e].name, fill_pct=round(by_eui[e].fill_pct, 1),
                  due=by_eui[e].due, load_l=round(by_eui[e].load_l, 1)) for e in r.stops])
        for r in result.routes]
    features: list[dict[str, Any]] = [
        {"type": "Feature", "geometry": {"type": "LineString",
                                         "coordinates": [list(p) for p in r.line]},
         "properties": {"truck": r.truck, "km": round(r.km, 3), "load_l": round(r.load, 1)}}
        for r in result.routes]
    where: dict[str, tuple[str, int | None, int | None]] = {}
    for r in result.routes:
        for n, e in enumerate(r.stops, start=1):
            where[e] = ("route", r.truck, n)
    where.update({e: ("skipped", None, None) for e in result.skipped})
    where.update({e: ("unserved", None, None) for e in result.unserved})
    for b in bins:
        status, truck, order = where.get(b.dev_eui, ("skipped", None, None))
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [b.lon, b.lat]},
                         "properties": {"dev_eui": b.dev_eui, "name": b.name, "status": status,
                                        "truck": truck, "order": order,
                                        "fill_pct": round(b.fill_pct, 1), "due": b.due}})
    return RoutePlanOut(date=day, trucks=trucks, km=round(result.km, 3),
                        skipped=list(result.skipped), unserved=list(result.unserved),
                        not_planned=left, feasible=result.feasible,
                        iterations=result.iterations, runtime_s=round(result.runtime_s, 3),
                        geojson={"type": "FeatureCollection", "features": features})


def plan_day(conn: psycopg.Connection[Any], organisation: str, day: date, *,
             depot: routing.Depot, trucks: int, capacity: float, detour_factor: float,
             time_limit_s: float, threshold: float = 80.0,
             on_progress: Callable[[float], None] | None = None) -> RoutePlanOut:
    """The collection plan of ``organisation``'s bins for ``day``: `round_bins`, `stops_for`,
    `analytics.routing.plan` and `plan_answer`, the one sequence behind `POST
    /v1/waste/routes`, the waste page and `meetnet waste route`. The solve is CPU-bound: an
    async caller runs this in a worker thread."""
    bins, left = round_bins(conn, organisation, day, threshold=threshold)
    result = routing.plan(depot, stops_for(bins, threshold), trucks=trucks, capacity=capacity,
                          detour_factor=detour_factor, time_limit_s=time_limit_s,
                          on_progress=on_progress)
    return plan_answer(day, bins, left, result)
