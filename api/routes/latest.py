"""Latest values per device: what a map or a live dashboard shows."""

from __future__ import annotations

import re
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from api.deps import Caller, Conn
from api.problems import Problem
from api.schemas import LatestDevice
from store import queries

router = APIRouter(tags=["latest"])


#: dev_euis one /v1/latest request may name.
MAX_EUIS = 500
_EUI = re.compile(r"[0-9a-f]{16}")


def _euis(text: str) -> tuple[str, ...]:
    euis = tuple(e.strip().lower() for e in text.split(",") if e.strip())
    bad = [e for e in euis if not _EUI.fullmatch(e)]
    if bad or not euis or len(euis) > MAX_EUIS:
        raise Problem(400, "invalid-dev-eui", "Invalid dev_eui list",
                      f"dev_eui is a comma-separated list of 1 to {MAX_EUIS} EUIs of 16 hex "
                      f"digits" + (f"; not one: {bad[0][:40]!r}" if bad else ""))
    return euis


def _latest(conn: Conn, caller: Caller, use_case: str | None, dev_euis: tuple[str, ...] | None = None,
            limit: int | None = None, offset: int = 0) -> list[dict[str, Any]]:
    """Devices in the shape of `LatestDevice`, as plain dicts: the rows come typed from the
    store, and building a pydantic model per device and value (and FastAPI validating them
    again) was most of the route's time beside the SQL (bench/api.py)."""
    devices, rows = queries.latest(conn, use_case=use_case, organisation=caller.organisation,
                                   dev_euis=dev_euis, limit=limit, offset=offset)
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for r in rows:
        values.setdefault(r.dev_eui, {})[r.metric] = {"value": r.value, "unit": r.unit,
                                                      "time": r.time}
    return [{"dev_eui": d.dev_eui, "name": d.name, "organisation": d.organisation,
             "use_case": d.use_case, "model_key": d.model_key, "lat": d.lat, "lon": d.lon,
             "last_seen_at": d.last_seen_at, "readings": values.get(d.dev_eui, {})}
            for d in devices]


def _json(body: Any, media_type: str = "application/json",
          headers: dict[str, str] | None = None) -> Response:
    # OPT_UTC_Z: UTC times end in "Z", as pydantic writes them elsewhere in the API.
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type=media_type,
                    headers=headers)


#: One device of /v1/latest, as the docs show it.
_EXAMPLE = {"dev_eui": "24e124713c012345", "name": "Afvalbak Breestraat 1",
            "organisation": "gemeente-leiden", "use_case": "waste",
            "model_key": "milesight-iot/em310-udl", "lat": 52.1601, "lon": 4.4907,
            "last_seen_at": "2026-11-23T08:00:00Z",
            "readings": {"fill_level": {"value": 63.5, "unit": "%", "time": "2026-11-23T08:00:00Z"},
                         "battery": {"value": 87.0, "unit": "%", "time": "2026-11-23T08:00:00Z"}}}
_USE_CASE = Query(description="only this use case: waste, classroom, crossing or water",
                  examples=["classroom"], max_length=64)


@router.get("/latest", response_model=list[LatestDevice], summary="Newest value of every metric",
            responses={200: {"description": "One page of devices with their newest values; a "
                                            "full page has a `Link: <...>; rel=\"next\"` header",
                             "headers": {"Link": {"description": "the next page (RFC 8288)",
                                                  "schema": {"type": "string"}}},
                             "content": {"application/json": {"example": [_EXAMPLE]}}}})
def latest(
    request: Request,
    conn: Conn,
    caller: Caller,
    use_case: Annotated[str | None, _USE_CASE] = None,
    dev_eui: Annotated[str | None, Query(
        description=f"only these devices: 1 to {MAX_EUIS} comma-separated dev_euis",
        examples=["24e124713c012345,a81758fffe0399aa"], max_length=MAX_EUIS * 17)] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="devices per page",
                                examples=[100])] = 500,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="devices to skip: from the "
                                 "`next` link", examples=[0])] = 0,
) -> Response:
    """Pages of ``limit`` devices; a full page carries a ``Link: <...>; rel="next"`` header
    (RFC 8288) to the next one."""
    page = _latest(conn, caller, use_case, _euis(dev_eui) if dev_eui is not None else None,
                   limit, offset)
    headers = {}
    if len(page) == limit:
        nxt = request.url.include_query_params(offset=offset + limit)
        headers["Link"] = f'<{nxt}>; rel="next"'
    return _json(page, headers=headers)


_FEATURES = {"type": "FeatureCollection", "features": [{
    "type": "Feature", "geometry": {"type": "Point", "coordinates": [4.4907, 52.1601]},
    "properties": {"dev_eui": "24e124713c012345", "name": "Afvalbak Breestraat 1",
                   "use_case": "waste", "organisation": "gemeente-leiden", "fill_level": 63.5}}]}


@router.get("/latest.geojson", summary="Newest values as a GeoJSON FeatureCollection",
            response_class=JSONResponse, responses={200: {
                "description": "A FeatureCollection (RFC 7946): one Point per located device, "
                               "its newest values as properties",
                "content": {"application/geo+json": {
                    "schema": {"type": "object", "required": ["type", "features"],
                               "properties": {"type": {"const": "FeatureCollection"},
                                              "features": {"type": "array",
                                                           "items": {"type": "object"}}}},
                    "example": _FEATURES}}}})
def latest_geojson(conn: Conn, caller: Caller,
                   use_case: Annotated[str | None, _USE_CASE] = None) -> Response:
    """For maps: one Point feature per located device (RFC 7946, lon/lat order)."""
    features: list[dict[str, Any]] = []
    for d in _latest(conn, caller, use_case):
        if d["lat"] is None or d["lon"] is None:
            continue
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [d["lon"], d["lat"]]},
            "properties": {"dev_eui": d["dev_eui"], "name": d["name"],
                           "use_case": d["use_case"], "organisation": d["organisation"],
                           **{k: v["value"] for k, v in d["readings"].items()}},
        })
    return _json({"type": "FeatureCollection", "features": features},
                 media_type="application/geo+json")
