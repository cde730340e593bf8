"""Devices and their readings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
from fastapi import APIRouter, Query, Request, Response

from api.deps import Caller, Conn, Writer, visible_device
from api.problems import Problem
from api.schemas import Device, DeviceAttributes, DeviceIn, DevicePatch, ReadingsPage
from store import devices as registry
from store import queries, series

router = APIRouter(tags=["devices"])

#: Without `from`, readings start this long before `to` (or now): a year of 5-minute data must
#: not be one careless request.
DEFAULT_WINDOW = timedelta(hours=24)
#: The longest from..to of raw readings one request may ask for (paged by `limit` within it).
MAX_RAW_RANGE = timedelta(days=31)
#: Bucketed requests: a leap year and a day, so that any local calendar year fits in one ...
MAX_BUCKETED_RANGE = timedelta(days=367)
#: ... and at most this many buckets, which bounds the database's work per request (a year of
#: hours is 8,784).
MAX_BUCKETS = 10_000
#: Day buckets are local days here unless the caller names another zone (`tz`).
DEFAULT_TZ = "Europe/Amsterdam"


@router.get("/devices", response_model=list[Device], summary="Devices you may see")
def list_devices(
    conn: Conn,
    caller: Caller,
    use_case: Annotated[str | None, Query(description="waste, classroom, crossing or water",
                                          max_length=64)] = None,
    organisation: Annotated[str | None, Query(description="owner's slug", max_length=64)] = None,
    model: Annotated[str | None, Query(description="model key, e.g. elsys/ers-co2",
                                       max_length=128)] = None,
    bbox: Annotated[str | None, Query(description="min lon,min lat,max lon,max lat (WGS 84)",
                                      examples=["4.45,52.13,4.52,52.18"], max_length=200)] = None,
    q: Annotated[str | None, Query(description="part of the name, any case",
                                   max_length=100)] = None,
) -> list[Device]:
    """Devices whose data is open, plus, with an API key, the key's organisation's own devices
    and those shared with it; narrowed by the filters given."""
    box = _bbox(bbox) if bbox else None
    where = queries.DeviceFilter(use_case=use_case, owner=organisation, model_key=model,
                                 bbox=box, q=q)
    return [Device.model_validate(d, from_attributes=True)
            for d in queries.list_devices(conn, organisation=caller.organisation, where=where)]


def _bbox(text: str) -> tuple[float, float, float, float]:
    """RFC 7946 section 5 order: west, south, east, north, in degrees."""
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise Problem(400, "invalid-bbox", "Invalid bbox",
                      "bbox is four numbers: min lon,min lat,max lon,max lat") from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise Problem(400, "invalid-bbox", "Invalid bbox",
                      "bbox needs -180 <= min lon <= max lon <= 180 and "
                      "-90 <= min lat <= max lat <= 90")
    return west, south, east, north


@router.get("/devices/{dev_eui}", response_model=Device, summary="One device")
def get_device(dev_eui: str, conn: Conn, caller: Caller) -> Device:
    return Device.model_validate(visible_device(conn, caller, dev_eui), from_attributes=True)


@router.get("/devices/{dev_eui}/attributes", response_model=DeviceAttributes,
            summary="What the device said about itself: versions, serial number, settings")
def device_attributes(dev_eui: str, conn: Conn, caller: Caller) -> DeviceAttributes:
    """The newest value of each attribute the device reported beside its measurements (a
    Milesight device-information or downlink-response channel, a Dragino status frame), with the
    time it was reported. Whoever may see the device may see these."""
    row = visible_device(conn, caller, dev_eui)
    return DeviceAttributes(dev_eui=row.dev_eui,
                            attributes=queries.device_attributes(conn, row.dev_eui))


@router.get("/devices/{dev_eui}/readings", response_model=ReadingsPage,
            summary="Readings of one metric of one device, raw or in time buckets")
def device_readings(
    dev_eui: str,
    request: Request,
    conn: Conn,
    caller: Caller,
    metric: Annotated[str, Query(description="catalog metric name", examples=["co2"])],
    from_: Annotated[datetime | None, Query(
        alias="from", description="inclusive, RFC 3339; default: 24 h before `to`")] = None,
    to: Annotated[datetime | None, Query(description="exclusive, RFC 3339; default: now")] = None,
    after: Annotated[datetime | None, Query(description="cursor: from the `next` link")] = None,
    limit: Annotated[int, Query(ge=1, le=10000, description="readings (or buckets) per page")
                     ] = 1000,
    bucket: Annotated[str | None, Query(
        description="one point per time bucket: `Nm` or `Nh` (dividing 24 h; fixed length, "
                    "aligned to UTC), `Nd` or `Nw` (local days or weeks of `tz`)",
        examples=["15m", "1h", "1d"])] = None,
    agg: Annotated[series.Agg | None, Query(
        description="aggregate per bucket (needs `bucket`); default avg")] = None,
    tz: Annotated[str | None, Query(
        description=f"IANA time zone of day and week buckets and of the times returned; "
                    f"default {DEFAULT_TZ} with `bucket`, UTC without",
        examples=["Europe/Amsterdam", "UTC"])] = None,
) -> Response:
    """Raw readings in [`from`, `to`), oldest first, paged by `limit` (follow `next`); at most
    31 days per request.

    With `bucket`, each point is one non-empty bucket: `time` is the bucket's start with the
    UTC offset of `tz` (e.g. `2026-03-29T00:00:00+01:00`), `value` the `agg` of its readings,
    `count` how many there are. `Nd` and `Nw` buckets are local days and ISO weeks of `tz`:
    in Europe/Amsterdam the day of the spring DST change is 23 hours long, the autumn one 25.
    `Nm` and `Nh` buckets are fixed lengths that divide 24 hours, counted from midnight UTC
    (the local clock for a whole-hour offset such as Amsterdam's); an hour is always an hour.
    A bucket cut by `from` or `to` holds only the readings inside. Bucketed requests span at
    most 367 days and 10,000 buckets, and page like raw ones (`limit` buckets per page).
    """
    eui = visible_device(conn, caller, dev_eui).dev_eui
    unit = queries.metric_unit(conn, metric)
    if unit is None:
        raise Problem(400, "unknown-metric", "Unknown metric", f"{metric!r} is not in the catalog")
    for value, name in ((from_, "from"), (to, "to"), (after, "after")):
        if value is not None and value.tzinfo is None:
            raise Problem(400, "naive-time", "Time without timezone",
                          f"`{name}` needs a UTC offset, e.g. 2026-11-23T08:00:00Z")
    if agg is not None and bucket is None:
        raise Problem(400, "bucket-required", "Aggregate without bucket",
                      "`agg` needs `bucket`, e.g. bucket=1h&agg=max")
    zone = None
    if tz is not None or bucket is not None:
        try:
            zone = series.zone(DEFAULT_TZ if tz is None else tz)
        except series.BucketError as exc:
            raise Problem(400, "invalid-timezone", "Invalid time zone", str(exc)) from None
    try:
        # In UTC from here on; 0001-01-01T00:00+14:00 is no time at all.
        from_, to, after = (None if t is None else t.astimezone(UTC) for t in (from_, to, after))
        end = to or datetime.now(UTC)
        start = from_ or end - DEFAULT_WINDOW
    except OverflowError:
        raise Problem(400, "invalid-time", "Time out of range",
                      "times must lie between the years 1 and 9999 in UTC") from None
    if bucket is not None:
        assert zone is not None
        return _bucketed(request, conn, eui, metric, unit, bucket=bucket, agg=agg or "avg",
                         zone=zone, start=start, end=end, after=after, limit=limit)
    if end - start > MAX_RAW_RANGE:
        raise Problem(400, "range-too-long", "Range too long",
                      f"at most {MAX_RAW_RANGE.days} days of raw readings per request; "
                      "ask for consecutive windows, or for buckets")
    points = queries.readings(conn, eui, metric, start=start, end=to, after=after,
                              limit=limit + 1)
    nxt = None
    if len(points) > limit:
        points = points[:limit]
        nxt = str(request.url.include_query_params(after=points[-1].time.isoformat()))
    page: dict[str, Any] = {
        "dev_eui": eui, "metric": metric, "unit": unit,
        "readings": [{"time": p.time.astimezone(zone) if zone else p.time, "value": p.value}
                     for p in points], "next": nxt}
    if tz is not None:
        page["tz"] = tz
    return _page(page)


def _page(page: dict[str, Any]) -> Response:
    """A `ReadingsPage`, serialised straight from plain values: a pydantic model per point
    (validated once more by FastAPI) cost twice the SQL for a year of hourly buckets
    (bench/api.py). OPT_UTC_Z: UTC times end in "Z", as pydantic writes them."""
    return Response(orjson.dumps(page, option=orjson.OPT_UTC_Z), media_type="application/json")


def _bucketed(request: Request, conn: psycopg.Connection[Any], eui: str, metric: str,
              unit: str, *, bucket: str, agg: series.Agg, zone: ZoneInfo, start: datetime,
              end: datetime, after: datetime | None, limit: int) -> Response:
    try:
        spec = series.parse_bucket(bucket, longest=MAX_BUCKETED_RANGE)
    except series.BucketError as exc:
        raise Problem(400, "invalid-bucket", "Invalid bucket", str(exc)) from None
    if end - start > MAX_BUCKETED_RANGE:
        raise Problem(400, "range-too-long", "Range too long",
                      f"at most {MAX_BUCKETED_RANGE.days} days of buckets per request; "
                      "ask for consecutive windows")
    if series.bucket_count(spec, start, end) > MAX_BUCKETS:
        raise Problem(400, "too-many-buckets", "Too many buckets",
                      f"{bucket} buckets from {start.isoformat()} to {end.isoformat()} are more "
                      f"than {MAX_BUCKETS:,}; ask for larger buckets or a shorter range")
    rows = series.bucketed(conn, eui, metric, bucket=spec, agg=agg, tz=zone, start=start,
                           end=end, after=after, limit=limit + 1)
    nxt = None
    if len(rows) > limit:
        rows = rows[:limit]
        nxt = str(request.url.include_query_params(
            after=rows[-1].time.astimezone(zone).isoformat()))
    return _page({"dev_eui": eui, "metric": metric, "unit": unit,
                  "readings": [{"time": r.time.astimezone(zone), "value": r.value,
                                "count": r.count} for r in rows],
                  "next": nxt, "bucket": bucket, "agg": agg, "tz": zone.key})


def _checked_config(use_case: str, config: dict[str, object]) -> dict[str, object]:
    # The same check as both CSV imports (store/devices.py config_problem).
    problem = registry.config_problem(use_case, config)
    if problem:
        raise Problem(422, "invalid-config", "Invalid device config", problem)
    return config


@router.post("/devices", response_model=Device, status_code=201,
             summary="Register a device for your organisation")
def create_device(body: DeviceIn, conn: Conn, caller: Writer) -> Device:
    """Writer or admin key. The device belongs to the key's organisation; a dev_eui that is
    registered already (by anyone) is a 409: change it with PATCH, or ask its owner."""
    from decoders import MODELS
    from store.codecs import list_codecs

    eui = body.dev_eui.lower()
    if body.model_key not in MODELS and body.model_key not in {c.model_key
                                                               for c in list_codecs(conn)}:
        raise Problem(422, "unknown-model", "Unknown model",
                      f"{body.model_key!r} is neither a built-in model nor a stored codec")
    config = _checked_config(body.use_case, body.config)
    assert caller.organisation is not None
    with conn.transaction():
        if registry.owner_of(conn, eui) is not None:
            raise Problem(409, "device-exists", "Device exists",
                          f"dev_eui {eui} is registered already")
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation=caller.organisation, model_key=body.model_key,
            device_id=body.device_id, application_id=body.application_id, name=body.name,
            use_case=body.use_case, visibility=body.visibility, config=config, lat=body.lat,
            lon=body.lon, network=body.network, tenant_id=body.tenant_id))
    row = queries.get_device(conn, eui, organisation=caller.organisation)
    assert row is not None
    return Device.model_validate(row, from_attributes=True)


@router.patch("/devices/{dev_eui}", response_model=Device,
              summary="Change one of your organisation's devices")
def patch_device(dev_eui: str, body: DevicePatch, conn: Conn, caller: Writer) -> Device:
    eui = dev_eui.lower()
    assert caller.organisation is not None
    # null clears a location; for the other fields it means "leave as is".
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items()
               if v is not None or k in ("lat", "lon")}
    if changes.get("config") is not None:
        current = queries.get_device(conn, eui, organisation=caller.organisation)
        changes["config"] = _checked_config(current.use_case if current else "any",
                                            changes["config"])
    if not registry.update_device(conn, eui, caller.organisation, changes):
        raise Problem(404, "device-not-found", "Device not found",
                      f"no device {dev_eui} of {caller.organisation}")
    row = queries.get_device(conn, eui, organisation=caller.organisation)
    assert row is not None
    return Device.model_validate(row, from_attributes=True)


@router.delete("/devices/{dev_eui}", status_code=204, response_class=Response,
               summary="Remove one of your organisation's devices and its readings")
def delete_device(dev_eui: str, conn: Conn, caller: Writer) -> Response:
    assert caller.organisation is not None
    if not registry.delete_device(conn, dev_eui, caller.organisation):
        raise Problem(404, "device-not-found", "Device not found",
                      f"no device {dev_eui} of {caller.organisation}")
    return Response(status_code=204)
