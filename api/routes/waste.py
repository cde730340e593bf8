"""Waste analytics over the API (issue 11): which bins to empty, and in what route. The
builders are in api/reports/waste.py, shared with `meetnet waste`."""

from __future__ import annotations

import math
import threading
from datetime import UTC, datetime, timedelta
from datetime import date as dt_date
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from analytics.routing import Depot
from api.deps import Caller, Conn
from api.problems import Problem, responses
from api.reports import waste as reports
from api.reports.waste import HISTORY_DAYS, ROUND_ZONE, Bin, RoutePlanOut
from meetnet.settings import Settings

router = APIRouter(tags=["waste"])

_AT = Query(description="evaluate as of this time (RFC 3339); default: now",
            examples=["2026-11-24T08:00:00Z"])
_NEXT = Query(description="start of the next round (RFC 3339); default: `at` + 24 h",
              examples=["2026-11-25T07:00:00Z"])
_THRESHOLD = Query(gt=0, le=100, description="collection threshold, %", examples=[80])
_DAYS = Query(ge=1, le=60, description="days of history to read (the weekly fill pattern needs 21)",
              examples=[HISTORY_DAYS])


def _bins(conn: Conn, caller: Caller, at: datetime | None, next_round: datetime | None,
          threshold: float, days: int) -> list[Bin]:
    for name, value in (("at", at), ("next_round", next_round)):
        if value is not None and value.tzinfo is None:
            raise Problem(400, "bad-request", "Bad request", f"`{name}` needs a time zone")
    now = at or datetime.now(UTC)
    try:
        horizon = next_round or now + timedelta(days=1)
        _ = now - timedelta(days=days)  # the history's start must be a representable time
    except OverflowError as exc:
        raise Problem(400, "bad-request", "Bad request", "`at` is out of range") from exc
    return reports.bins(conn, caller.organisation, at=now, next_round=horizon,
                        threshold=threshold, days=days)


@router.get("/waste/bins", response_model=list[Bin], summary="Fill, rate and due per bin",
            responses=responses(400, 401, 422))
def waste_bins(conn: Conn, caller: Caller,
               at: Annotated[datetime | None, _AT] = None,
               next_round: Annotated[datetime | None, _NEXT] = None,
               threshold: Annotated[float, _THRESHOLD] = 80.0,
               days: Annotated[int, _DAYS] = HISTORY_DAYS) -> list[Bin]:
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
                       days: Annotated[int, _DAYS] = HISTORY_DAYS) -> JSONResponse:
    """For maps: one Point feature per located bin (RFC 7946, lon/lat order)."""
    return JSONResponse(reports.bins_geojson(_bins(conn, caller, at, next_round, threshold, days)),
                        media_type="application/geo+json")


# --- Collection routes (POST /v1/waste/routes; docs/domain.md, "Waste bins", "Routing") ---

#: Route plans solving at once; more are answered 503 (each holds a core and a connection).
MAX_CONCURRENT_SOLVES = 2
_solves = threading.BoundedSemaphore(MAX_CONCURRENT_SOLVES)


class DepotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lat: float = Field(ge=-90, le=90, examples=[52.1652])
    lon: float = Field(ge=-180, le=180, examples=[4.4893])


class RouteRequest(BaseModel):
    """A collection day to plan; every field optional (defaults: MEETNET_WASTE_* settings)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"date": "2026-11-25", "trucks": 2, "capacity_l": 20000, "time_limit_s": 5}]})

    date: dt_date | None = Field(default=None, description="the collection day (local); "
                                 "default: tomorrow in Europe/Amsterdam")
    trucks: int | None = Field(default=None, ge=1, le=50)
    capacity_l: float | None = Field(default=None, ge=1, le=1_000_000,
                                     description="litres one truck takes")
    depot: DepotIn | None = None
    time_limit_s: float | None = Field(default=None, gt=0, le=600,
                                       description="solver time; at most the server's "
                                       "MEETNET_WASTE_ROUTE_MAX_TIME_LIMIT_S")
    detour_factor: float | None = Field(default=None, ge=1, le=3,
                                        description="road over great-circle distance")
    threshold: float = Field(default=80.0, gt=0, le=100, description="collection threshold, %")


@router.post("/waste/routes", response_model=RoutePlanOut, summary="Collection routes for a day",
             responses=responses(400, 401, 422, 503))
async def waste_routes(request: Request, conn: Conn, caller: Caller,
                       body: RouteRequest | None = None) -> RoutePlanOut:
    """Routes for the trucks of the caller's organisation on a collection day, over the bins
    it owns (the ones it empties): due bins (`GET /v1/waste/bins`'s `due`, for the round at
    07:00 local) must be visited; the others may be, worth more the fuller they are predicted.
    Solved by PyVRP as a prize-collecting capacitated VRP within the time limit, distances
    haversine x the detour factor (docs/domain.md, "Waste bins", "Routing"). Needs an API key."""
    if caller.organisation is None:
        raise Problem(401, "unauthorized", "Unauthorized", "route plans need an API key",
                      headers={"WWW-Authenticate": "Bearer"})
    settings: Settings = request.app.state.settings
    req = body or RouteRequest()
    limit = req.time_limit_s or settings.waste_route_time_limit_s
    if limit > settings.waste_route_max_time_limit_s:
        raise Problem(422, "invalid-parameters", "Invalid parameters",
                      f"time_limit_s is at most {settings.waste_route_max_time_limit_s:g}")
    day = req.date or reports.tomorrow()
    if abs((day - datetime.now(ROUND_ZONE).date()).days) > 366:
        raise Problem(422, "invalid-parameters", "Invalid parameters",
                      "date must be within a year of today")
    organisation = caller.organisation
    depot = (Depot(req.depot.lat, req.depot.lon) if req.depot
             else Depot(settings.waste_depot_lat, settings.waste_depot_lon))
    if not _solves.acquire(blocking=False):
        raise Problem(503, "solver-busy", "Solver busy",
                      f"{MAX_CONCURRENT_SOLVES} route plans are being solved; try again",
                      headers={"Retry-After": str(math.ceil(limit))})
    try:
        # CPU-bound: in a worker thread, so the event loop keeps answering other requests.
        return await run_in_threadpool(
            reports.plan_day, conn, organisation, day, depot=depot,
            trucks=req.trucks or settings.waste_trucks,
            capacity=req.capacity_l or settings.waste_truck_capacity_l,
            detour_factor=req.detour_factor or settings.waste_detour_factor,
            time_limit_s=limit, threshold=req.threshold)
    finally:
        _solves.release()
