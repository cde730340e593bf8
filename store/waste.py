"""Named read queries of the waste analytics (issue 11)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import psycopg

#: A bins listing reads at most this many readings; hourly fill, tilt and temperature of 200
#: bins over 14 days is ~200,000.
MAX_ROWS = 500_000


class SeriesRow(NamedTuple):
    dev_eui: str
    metric: str
    time: datetime
    value: float


def bin_series(conn: psycopg.Connection[Any], dev_euis: list[str], metrics: list[str], *,
               start: datetime, end: datetime) -> list[SeriesRow]:
    """Readings of ``metrics`` of the devices ``dev_euis`` in [start, end], oldest first. The
    caller passes only dev_euis it may see (from `store.queries.list_devices`)."""
    if not dev_euis or not metrics:
        return []
    rows = conn.execute(
        """SELECT d.dev_eui, m.name, r.time, r.value
           FROM readings r JOIN devices d ON d.id = r.device_id
           JOIN metrics m ON m.id = r.metric_id
           WHERE d.dev_eui = ANY(%s) AND m.name = ANY(%s) AND r.time >= %s AND r.time <= %s
           ORDER BY d.dev_eui, m.name, r.time LIMIT %s""",
        (dev_euis, metrics, start, end, MAX_ROWS)).fetchall()
    return [SeriesRow(*row) for row in rows]


def bin_configs(conn: psycopg.Connection[Any], dev_euis: list[str]) -> dict[str, dict[str, Any]]:
    """The stored configuration (``devices.config``) of each of ``dev_euis``; the caller passes
    only dev_euis it may see."""
    if not dev_euis:
        return {}
    rows = conn.execute("SELECT dev_eui, config FROM devices WHERE dev_eui = ANY(%s)",
                        (dev_euis,)).fetchall()
    return {eui: dict(config or {}) for eui, config in rows}
