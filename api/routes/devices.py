"""Devices and their readings."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.deps import Caller, Conn
from api.problems import Problem
from api.schemas import Device, ReadingPoint, ReadingsPage
from store import queries

router = APIRouter(tags=["devices"])


@router.get("/devices", response_model=list[Device], summary="Devices you may see")
def list_devices(conn: Conn, caller: Caller, use_case: str | None = None) -> list[Device]:
    """Devices whose data is open, plus, with an API key, the key's organisation's own devices;
    optionally of one use case (waste, classroom, crossing, water)."""
    return [Device.model_validate(d, from_attributes=True)
            for d in queries.list_devices(conn, use_case=use_case,
                                          organisation=caller.organisation)]


@router.get("/devices/{dev_eui}", response_model=Device, summary="One device")
def get_device(dev_eui: str, conn: Conn, caller: Caller) -> Device:
    row = queries.get_device(conn, dev_eui.lower(), organisation=caller.organisation)
    if row is None:
        raise Problem(404, "device-not-found", "Device not found",
                      f"no visible device with dev_eui {dev_eui}")
    return Device.model_validate(row, from_attributes=True)


@router.get("/devices/{dev_eui}/readings", response_model=ReadingsPage,
            summary="Readings of one metric of one device")
def device_readings(
    dev_eui: str,
    request: Request,
    conn: Conn,
    caller: Caller,
    metric: Annotated[str, Query(description="catalog metric name", examples=["co2"])],
    from_: Annotated[datetime | None, Query(alias="from", description="inclusive, RFC 3339")] = None,
    to: Annotated[datetime | None, Query(description="exclusive, RFC 3339")] = None,
    after: Annotated[datetime | None, Query(description="cursor: from the `next` link")] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> ReadingsPage:
    eui = dev_eui.lower()
    if queries.get_device(conn, eui, organisation=caller.organisation) is None:
        raise Problem(404, "device-not-found", "Device not found",
                      f"no visible device with dev_eui {dev_eui}")
    unit = queries.metric_unit(conn, metric)
    if unit is None:
        raise Problem(400, "unknown-metric", "Unknown metric", f"{metric!r} is not in the catalog")
    for value, name in ((from_, "from"), (to, "to"), (after, "after")):
        if value is not None and value.tzinfo is None:
            raise Problem(400, "naive-time", "Time without timezone",
                          f"`{name}` needs a UTC offset, e.g. 2026-11-23T08:00:00Z")
    points = queries.readings(conn, eui, metric, start=from_, end=to, after=after,
                              limit=limit + 1)
    nxt = None
    if len(points) > limit:
        points = points[:limit]
        nxt = str(request.url.include_query_params(after=points[-1].time.isoformat()))
    return ReadingsPage(dev_eui=eui, metric=metric, unit=unit, next=nxt,
                        readings=[ReadingPoint(time=p.time, value=p.value) for p in points])

