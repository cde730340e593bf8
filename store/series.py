"""Readings of one device and metric in time buckets: one aggregate per bucket.

Two kinds of bucket (the rule the API documents, docs/architecture.md "Time buckets"):

- **Fixed buckets** (``Nm``, ``Nh``): a fixed duration that divides 24 hours, on absolute time,
  counted from 2000-01-01T00:00:00Z (``date_bin`` on ``timestamptz``). So they align to UTC
  midnight, hours and quarters; for a time zone whose offset is a whole number of hours that
  is the local clock too. An hour bucket is always 60 minutes, also on a DST change.
- **Calendar buckets** (``Nd``, ``Nw``): whole local days of the time zone, on the wall clock
  (``date_bin`` on ``time AT TIME ZONE tz``, counted from Monday 2000-01-03, so ``1w`` is an
  ISO 8601 week, Monday to Sunday). The day of the spring DST change in Europe/Amsterdam is
  23 hours long, the autumn one 25 hours.

The SQL is stock PostgreSQL 14+ (``date_bin``), so it gives the same answers on TimescaleDB. On
TimescaleDB, buckets made of whole UTC hours are read from the hourly continuous aggregate
``readings_by_hour`` (migration 0007) instead of the raw readings, when it exists.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.rows import class_row

Agg = Literal["avg", "min", "max", "last", "count", "sum"]
AGGS: tuple[Agg, ...] = ("avg", "min", "max", "last", "count", "sum")

#: Fixed buckets count from here (date_bin's origin): UTC midnight.
FIXED_ORIGIN = "2000-01-01T00:00:00Z"
#: Calendar buckets count local days from here: a Monday, so that weeks are ISO weeks.
CALENDAR_ORIGIN = "2000-01-03T00:00:00"
#: The continuous aggregate of migration 0007 (TimescaleDB only).
HOURLY_VIEW = "readings_by_hour"

_DAY = timedelta(days=1)
_SYNTAX = re.compile(r"([1-9][0-9]{0,3})(m|h|d|w)")
_UNITS = {"m": timedelta(minutes=1), "h": timedelta(hours=1), "d": _DAY, "w": timedelta(weeks=1)}


class BucketError(ValueError):
    """A bucket or time zone the caller must change; the message says how."""


@dataclass(frozen=True, slots=True)
class Bucket:
    text: str
    #: The nominal length; a calendar bucket's real length changes with DST.
    stride: timedelta
    #: True: local days or weeks of the time zone; False: a fixed duration on absolute time.
    calendar: bool


@dataclass(frozen=True, slots=True)
class BucketRow:
    time: datetime  # the bucket's start
    value: float
    count: int  # readings in the bucket


def parse_bucket(text: str, *, longest: timedelta) -> Bucket:
    """``Nm`` / ``Nh`` (dividing 24 hours), ``Nd`` / ``Nw`` (local days and weeks), at most
    ``longest``; anything else raises :class:`BucketError`."""
    match = _SYNTAX.fullmatch(text)
    if match is None:
        raise BucketError(f"{text[:40]!r} is not a bucket: a whole number and a unit, m (minutes), "
                          "h (hours), d (local days) or w (local weeks), e.g. 15m, 1h, 1d")
    stride = int(match[1]) * _UNITS[match[2]]
    calendar = match[2] in ("d", "w")
    if not calendar and (stride > _DAY or _DAY % stride):
        raise BucketError(f"{text}: minutes and hours must divide 24 hours evenly "
                          "(e.g. 1m, 5m, 15m, 90m, 1h, 6h, 24h); use d for local days")
    if stride > longest:
        raise BucketError(f"{text}: a bucket is at most {longest.days} days")
    return Bucket(text=text, stride=stride, calendar=calendar)


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def zone(name: str) -> zoneinfo.ZoneInfo:
    """The IANA time zone ``name`` (tz database names, e.g. Europe/Amsterdam, UTC), or
    :class:`BucketError`. Only names of the tz database: no file paths, no POSIX TZ strings
    (PostgreSQL would read ``UTC+1`` as one hour *behind* UTC)."""
    if name not in _zone_names():
        raise BucketError(f"{name[:64]!r} is not an IANA time zone name, e.g. Europe/Amsterdam "
                          "or UTC")
    return zoneinfo.ZoneInfo(name)


def bucket_count(bucket: Bucket, start: datetime, end: datetime) -> int:
    """How many buckets [start, end) can touch at most (one more for a cut first bucket and
    one for a 23-hour day)."""
    if end <= start:
        return 0
    return -((start - end) // bucket.stride) + 2


_AGG_RAW = {
    "avg": "avg(b.value)",
    "min": "min(b.value)",
    "max": "max(b.value)",
    "sum": "sum(b.value)",
    "count": "count(*)::float8",
    # The value at the latest time in the bucket (times are unique per device and metric).
    "last": "(array_agg(b.value ORDER BY b.t DESC))[1]",
}
_COUNT_RAW = "count(*)"

# From hourly partial aggregates: a bucket of whole hours is the union of its hours. avg is
# recomputed from sum and count, never averaged averages; last is the last of the latest hour.
_AGG_HOURLY = {
    "avg": "sum(b.sum) / sum(b.n)",
    "min": "min(b.min)",
    "max": "max(b.max)",
    "sum": "sum(b.sum)",
    "count": "sum(b.n)::float8",
    "last": "(array_agg(b.last ORDER BY b.t DESC))[1]",
}
_COUNT_HOURLY = "sum(b.n)::bigint"


def _bucket_expr(bucket: Bucket) -> sql.Composable:
    if bucket.calendar:
        # Wall-clock local time has no DST: date_bin of whole days there gives local days, and
        # AT TIME ZONE turns the local midnight back into an instant.
        return sql.SQL("date_bin({stride}::interval, b.t AT TIME ZONE {tz}, {origin}::timestamp)"
                       " AT TIME ZONE {tz}").format(
            stride=sql.Placeholder("stride"), tz=sql.Placeholder("tz"),
            origin=sql.Placeholder("calendar_origin"))
    return sql.SQL("date_bin({stride}::interval, b.t, {origin}::timestamptz)").format(
        stride=sql.Placeholder("stride"), origin=sql.Placeholder("fixed_origin"))


def _whole_hours(tz: zoneinfo.ZoneInfo, start: datetime, end: datetime) -> bool:
    """Whether tz's UTC offset is a whole number of hours over [start, end]: then its local
    days are unions of UTC hours. Sampled every 6 hours, shorter than any real offset period."""
    steps = min((end - start) // timedelta(hours=6), 2000)  # 367 days are 1,468 steps
    try:
        offsets = [(start + i * timedelta(hours=6)).astimezone(tz).utcoffset()
                   for i in range(steps + 1)] + [end.astimezone(tz).utcoffset()]
    except OverflowError:  # next to year 1 or 9999: not worth a faster path
        return False
    return all(o is not None and not o % timedelta(hours=1) for o in offsets)


def _on_hour(t: datetime | None) -> bool:
    if t is None:
        return True
    utc = t.astimezone(UTC)  # 10:00+05:30 is not on a UTC hour
    return (utc.minute, utc.second, utc.microsecond) == (0, 0, 0)


def _hourly_view_exists(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (HOURLY_VIEW,)).fetchone()
    return bool(row and row[0])


def bucketed(conn: psycopg.Connection[Any], dev_eui: str, metric: str, *, bucket: Bucket,
             agg: Agg, tz: zoneinfo.ZoneInfo, start: datetime, end: datetime,
             after: datetime | None = None, limit: int = 1000,
             use_aggregate: bool = True) -> list[BucketRow]:
    """One row per non-empty bucket of the readings in [start, end), oldest first; ``after``
    is the cursor (buckets that start later than it). A bucket cut by ``start`` or ``end``
    holds only the readings inside. Visibility is the caller's job (check the device first).

    With ``use_aggregate`` and where it gives the same answer (TimescaleDB's
    ``readings_by_hour`` exists, the bucket is whole UTC hours, and start, end and after are on
    the hour), the hourly continuous aggregate is read instead of the raw readings. It gives
    the same answers, except that a reading stored late into an hour already materialized
    (backfill, reprocess) counts only after the aggregate's next refresh (migration 0007's
    policy, every 30 minutes).
    """
    hourly = (use_aggregate and bucket.stride % timedelta(hours=1) == timedelta(0)
              and _on_hour(start) and _on_hour(end) and _on_hour(after)
              and (not bucket.calendar or _whole_hours(tz, start, end))
              and _hourly_view_exists(conn))
    params: dict[str, Any] = {
        "dev_eui": dev_eui, "metric": metric, "start": start, "end": end, "limit": limit,
        "stride": bucket.stride, "tz": tz.key, "fixed_origin": FIXED_ORIGIN,
        "calendar_origin": CALENDAR_ORIGIN,
    }
    source: sql.Composable
    if hourly:
        source = sql.SQL(
            "SELECT h.bucket AS t, h.sum, h.n, h.min, h.max, h.last FROM {view} h "
            "WHERE h.device_id = (SELECT id FROM devices WHERE dev_eui = %(dev_eui)s) "
            "AND h.metric_id = (SELECT id FROM metrics WHERE name = %(metric)s) "
            "AND h.bucket >= %(start)s AND h.bucket < %(end)s").format(
            view=sql.Identifier(HOURLY_VIEW))
        value, count = _AGG_HOURLY[agg], _COUNT_HOURLY
    else:
        source = sql.SQL(
            "SELECT r.time AS t, r.value FROM readings r "
            "WHERE r.device_id = (SELECT id FROM devices WHERE dev_eui = %(dev_eui)s) "
            "AND r.metric_id = (SELECT id FROM metrics WHERE name = %(metric)s) "
            "AND r.time >= %(start)s AND r.time < %(end)s")
        value, count = _AGG_RAW[agg], _COUNT_RAW
    cursor: sql.Composable = sql.SQL("")
    if after is not None:
        params["after"] = after
        # Rows before the cursor cannot be in a later bucket: skip reading them at all.
        source += sql.SQL(" AND {} >= %(after)s").format(
            sql.SQL("h.bucket" if hourly else "r.time"))
        cursor = sql.SQL("WHERE bucket > %(after)s")
    query = sql.SQL(
        "SELECT bucket AS time, {value} AS value, {count} AS count FROM ("
        "SELECT {expr} AS bucket, b.* FROM ({source}) b) b {cursor} "
        "GROUP BY bucket ORDER BY bucket LIMIT %(limit)s").format(
        value=sql.SQL(value), count=sql.SQL(count), expr=_bucket_expr(bucket),
        source=source, cursor=cursor)
    with conn.cursor(row_factory=class_row(BucketRow)) as cur:
        return cur.execute(query, params).fetchall()
