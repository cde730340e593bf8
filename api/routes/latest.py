"""Latest values per device: what a map or a live dashboard shows."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from api.deps import Caller, Conn
from api.schemas import LatestDevice, LatestValue
from store import queries

router = APIRouter(tags=["latest"])


def _latest(conn: Conn, caller: Caller, use_case: str | None) -> list[LatestDevice]:
    devices, rows = queries.latest(conn, use_case=use_case, organisation=caller.organisation)
    values: dict[str, dict[str, LatestValue]] = {}
    for r in rows:
        values.setdefault(r.dev_eui, {})[r.metric] = LatestValue(value=r.value, unit=r.unit,
                                                                 time=r.time)
    return [LatestDevice(dev_eui=d.dev_eui, name=d.name, organisation=d.organisation,
                         use_case=d.use_case, model_key=d.model_key, lat=d.lat, lon=d.lon,
                         last_seen_at=d.last_seen_at, readings=values.get(d.dev_eui, {}))
            for d in devices]


@router.get("/latest", response_model=list[LatestDevice], summary="Newest value of every metric")
def latest(
    conn: Conn,
    caller: Caller,
    use_case: Annotated[str | None, Query(description="waste, classroom, crossing or water")] = None,
) -> list[LatestDevice]:
    return _latest(conn, caller, use_case)


@router.get("/latest.geojson", summary="Newest values as a GeoJSON FeatureCollection",
            response_class=JSONResponse)
def latest_geojson(conn: Conn, caller: Caller, use_case: str | None = None) -> JSONResponse:
    """For maps: one Point feature per located device (RFC 7946, lon/lat order)."""
    features: list[dict[str, Any]] = []
    for d in _latest(conn, caller, use_case):
        if d.lat is None or d.lon is None:
            continue
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [d.lon, d.lat]},
            "properties": {"dev_eui": d.dev_eui, "name": d.name, "use_case": d.use_case,
                           "organisation": d.organisation,
                           **{k: v.value for k, v in d.readings.items()}},
        })
    return JSONResponse({"type": "FeatureCollection", "features": features},
                        media_type="application/geo+json")
