"""Named read queries with typed results: what the API and analytics ask of the database.

Visibility is part of every query (docs/architecture.md "who sees my data"): without an organisation only
devices marked ``open`` are returned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row


@dataclass(frozen=True, slots=True)
class DeviceRow:
    dev_eui: str
    device_id: str
    name: str
    organisation: str
    model_key: str
    use_case: str
    visibility: str
    lat: float | None
    lon: float | None
    last_seen_at: datetime | None
    battery_percent: float | None


@dataclass(frozen=True, slots=True)
class Point:
    time: datetime
    value: float


@dataclass(frozen=True, slots=True)
class LatestRow:
    dev_eui: str
    metric: str
    unit: str
    time: datetime
    value: float


_DEVICE_SELECT = """
    SELECT d.dev_eui, d.device_id, d.name, o.slug AS organisation, d.model_key, d.use_case,
           d.visibility, d.lat, d.lon, d.last_seen_at, d.battery_percent
    FROM devices d JOIN organisations o ON o.id = d.organisation_id
"""


def _visible(org_slug: str | None) -> tuple[str, list[Any]]:
    """Open devices for everyone; with an organisation also its own devices and the `shared`
    devices shared with it (table device_shares)."""
    if org_slug is None:
        return "d.visibility = 'open'", []
    return ("""(d.visibility = 'open' OR o.slug = %s OR (d.visibility = 'shared' AND EXISTS (
                 SELECT 1 FROM device_shares s JOIN organisations so ON so.id = s.organisation_id
                 WHERE s.device_id = d.id AND so.slug = %s)))""", [org_slug, org_slug])


def ping(conn: psycopg.Connection[Any]) -> bool:
    return conn.execute("SELECT 1").fetchone() == (1,)


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    """Narrows a device listing; every field optional. ``bbox`` is (min lon, min lat, max lon,
    max lat), the order of RFC 7946 section 5."""

    use_case: str | None = None
    owner: str | None = None  # organisation slug
    model_key: str | None = None
    bbox: tuple[float, float, float, float] | None = None
    q: str | None = None  # part of the name, any case
    dev_euis: tuple[str, ...] | None = None


def list_devices(conn: psycopg.Connection[Any], *, use_case: str | None = None,
                 organisation: str | None = None, where: DeviceFilter | None = None,
                 limit: int | None = None, offset: int = 0) -> list[DeviceRow]:
    """Devices the caller (``organisation``; None: anonymous) may see, narrowed by ``where``."""
    visible, params = _visible(organisation)
    query = _DEVICE_SELECT + " WHERE " + visible
    f = where or DeviceFilter()
    if use_case or f.use_case:
        query += " AND d.use_case = %s"
        params.append(use_case or f.use_case)
    if f.owner:
        query += " AND o.slug = %s"
        params.append(f.owner)
    if f.model_key:
        query += " AND d.model_key = %s"
        params.append(f.model_key)
    if f.bbox:
        query += " AND d.lon BETWEEN %s AND %s AND d.lat BETWEEN %s AND %s"
        params += [f.bbox[0], f.bbox[2], f.bbox[1], f.bbox[3]]
    if f.dev_euis is not None:
        query += " AND d.dev_eui = ANY(%s)"
        params.append(list(f.dev_euis))
    if f.q:
        # The search text is a literal: LIKE's own wildcards in it match themselves.
        escaped = f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query += " AND d.name ILIKE %s"
        params.append(f"%{escaped}%")
    query += " ORDER BY d.use_case, d.name, d.dev_eui"
    if limit is not None:
        query += " LIMIT %s OFFSET %s"
        params += [limit, offset]
    with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        return cur.execute(query, params).fetchall()


def get_device(conn: psycopg.Connection[Any], dev_eui: str, *,
               organisation: str | None = None) -> DeviceRow | None:
    where, params = _visible(organisation)
    with conn.cursor(row_factory=class_row(DeviceRow)) as cur:
        return cur.execute(_DEVICE_SELECT + " WHERE d.dev_eui = %s AND " + where,
                           [dev_eui, *params]).fetchone()


def device_attributes(conn: psycopg.Connection[Any], dev_eui: str) -> dict[str, Any]:
    """``devices.attributes`` (migration 0012) of a device the caller has checked it may see."""
    row = conn.execute("SELECT attributes FROM devices WHERE dev_eui = %s", (dev_eui,)).fetchone()
    return dict(row[0]) if row else {}


@dataclass(frozen=True, slots=True)
class AttributeRow:
    dev_eui: str
    organisation: str
    model_key: str
    name: str
    value: Any
    at: datetime


def fleet_attributes(conn: psycopg.Connection[Any], *, dev_eui: str | None = None,
                     organisation: str | None = None, name: str | None = None
                     ) -> list[AttributeRow]:
    """Every device's attributes (migration 0012), one row per device and name, for the
    operator's overview (`meetnet devices attributes`): no visibility filter, as the CLI runs
    with the database's own rights."""
    query = ["""SELECT d.dev_eui, o.slug AS organisation, d.model_key, a.key AS name,
                       a.value -> 'value' AS value, (a.value ->> 'at')::timestamptz AS at
                FROM devices d JOIN organisations o ON o.id = d.organisation_id,
                     jsonb_each(d.attributes) AS a
                WHERE true"""]
    params: list[Any] = []
    for column, value in (("d.dev_eui", dev_eui.lower() if dev_eui else None),
                          ("o.slug", organisation), ("a.key", name)):
        if value is not None:
            query.append(f"AND {column} = %s")
            params.append(value)
    query.append("ORDER BY o.slug, d.dev_eui, a.key")
    with conn.cursor(row_factory=class_row(AttributeRow)) as cur:
        return cur.execute(" ".join(query), params).fetchall()


def readings(conn: psycopg.Connection[Any], dev_eui: str, metric: str, *,
             start: datetime | None, end: datetime | None, after: datetime | None = None,
             limit: int = 1000) -> list[Point]:
    """Readings of one device and metric in [start, end), oldest first; ``after`` is the cursor
    (the time of the last reading of the previous page)."""
    conds = ["d.dev_eui = %s", "m.name = %s"]
    params: list[Any] = [dev_eui, metric]
    for cond, value in (("r.time >= %s", start), ("r.time < %s", end), ("r.time > %s", after)):
        if value is not None:
            conds.append(cond)
            params.append(value)
    params.append(limit)
    query = sql.SQL(
        "SELECT r.time, r.value FROM readings r JOIN devices d ON d.id = r.device_id "
        "JOIN metrics m ON m.id = r.metric_id WHERE {} ORDER BY r.time LIMIT %s"
    ).format(sql.SQL(" AND ").join(sql.SQL(c) for c in conds))
    with conn.cursor(row_factory=class_row(Point)) as cur:
        return cur.execute(query, params).fetchall()


def latest(conn: psycopg.Connection[Any], *, use_case: str | None = None,
           organisation: str | None = None, dev_euis: tuple[str, ...] | None = None,
           limit: int | None = None, offset: int = 0
           ) -> tuple[list[DeviceRow], list[LatestRow]]:
    """Visible devices (optionally only ``dev_euis``, a page of ``limit`` from ``offset``) and
    the newest value of each of their metrics."""
    devices = list_devices(conn, use_case=use_case, organisation=organisation,
                           where=DeviceFilter(dev_euis=dev_euis), limit=limit, offset=offset)
    if not devices:
        return devices, []
    with conn.cursor(row_factory=class_row(LatestRow)) as cur:
        rows = cur.execute(
            """SELECT d.dev_eui, m.name AS metric, m.unit, l.time, l.value
               FROM latest_readings l JOIN devices d ON d.id = l.device_id
               JOIN metrics m ON m.id = l.metric_id
               WHERE d.dev_eui = ANY(%s) ORDER BY d.dev_eui, m.name""",
            ([d.dev_eui for d in devices],),
        ).fetchall()
    return devices, rows


def metric_unit(conn: psycopg.Connection[Any], metric: str) -> str | None:
    row = conn.execute("SELECT unit FROM metrics WHERE name = %s", (metric,)).fetchone()
    return str(row[0]) if row else None

