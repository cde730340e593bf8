"""Reads for exports (CSV, SenML): which metrics a set of devices has in a time range, and their
readings as narrow rows, fetched batch by batch from a server-side cursor.

The devices are always looked up through `store.queries` with the caller's organisation first,
so an export can only name devices the caller may see (docs/architecture.md "Who sees my data").
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg

#: Rows per FETCH from the server-side cursor: big enough that the round trips do not
#: dominate, small enough that a batch is a few hundred KiB of Python objects.
BATCH_ROWS = 5000


@dataclass(frozen=True, slots=True)
class Column:
    """One metric of an export: its catalog name and unit (a SenML unit symbol)."""

    metric: str
    unit: str


_READINGS = """SELECT r.time, d.dev_eui, m.name, r.value FROM readings r
    JOIN devices d ON d.id = r.device_id JOIN metrics m ON m.id = r.metric_id
    WHERE d.dev_eui = ANY(%s) AND m.name = ANY(%s) AND r.time >= %s AND r.time < %s"""
_BY_TIME = _READINGS + " ORDER BY r.time, d.dev_eui, m.id"
_BY_DEVICE = _READINGS + " ORDER BY d.dev_eui, r.time, m.id"

#: (time, dev_eui, metric, value): one reading.
Row = tuple[datetime, str, str, float]


def columns(conn: psycopg.Connection[Any], dev_euis: Sequence[str], start: datetime,
            end: datetime, metric: str | None = None) -> list[Column]:
    """The metrics with at least one reading of ``dev_euis`` in [start, end), in catalog order
    (the order of `meetnet/catalog.py`, mirrored in ``metrics.id``); only ``metric`` if given.

    One index probe per metric and device on the readings' primary key, so a year's range costs
    no more than an hour's."""
    rows = conn.execute(
        """SELECT m.name, m.unit FROM metrics m
           WHERE (%(metric)s::text IS NULL OR m.name = %(metric)s) AND EXISTS (
               SELECT 1 FROM devices d JOIN readings r ON r.device_id = d.id
               WHERE d.dev_eui = ANY(%(euis)s) AND r.metric_id = m.id
                 AND r.time >= %(start)s AND r.time < %(end)s)
           ORDER BY m.id""",
        {"metric": metric, "euis": list(dev_euis), "start": start, "end": end}).fetchall()
    return [Column(str(name), str(unit)) for name, unit in rows]


def readings(conn: psycopg.Connection[Any], dev_euis: Sequence[str], metrics: Sequence[str],
             start: datetime, end: datetime, *, order: Literal["time", "device"] = "time",
             batch: int = BATCH_ROWS) -> Iterator[list[Row]]:
    """Readings of ``dev_euis`` and ``metrics`` in [start, end) as batches of rows, in UTC.

    ``order="time"``: by time, then dev_eui, then catalog order of the metric (one uplink's
    readings are adjacent, for rows wide by metric); ``"device"``: by dev_eui, then time.

    A named (server-side) cursor in its own transaction: PostgreSQL keeps the result and hands
    out ``batch`` rows per FETCH, so however long the range only one batch is in this process.
    Closing the generator early closes the cursor and ends the transaction."""
    if not dev_euis or not metrics:
        return
    query = _BY_TIME if order == "time" else _BY_DEVICE
    with conn.transaction():
        # Times come back as UTC datetimes whatever the server's or role's TimeZone is.
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        with conn.cursor(name="meetnet_export") as cur:
            cur.execute(query, (list(dev_euis), list(metrics), start, end))
            while rows := cur.fetchmany(batch):
                yield rows
