"""Each waste bin's latest assessment (table ``bin_status``, migration 0011), written by the alert
runner every evaluation so that Grafana, which cannot run the pandas analytics, shows the same
due list as the API (view ``grafana.bin_status``; docs/grafana.md, "Waste: the due list")."""

from __future__ import annotations

import math
from dataclasses import astuple, dataclass
from datetime import datetime
from typing import Any

import psycopg


@dataclass(frozen=True, slots=True)
class BinStatusRow:
    """One bin's assessment at ``assessed_at`` (analytics.waste.BinStatus's fields)."""

    device_id: int
    assessed_at: datetime
    fill_pct: float | None
    rate_pct_per_day: float | None
    last_emptied: datetime | None
    full_at: datetime | None
    threshold_at: datetime | None
    due: bool
    due_reason: str | None
    stale: bool
    last_seen: datetime | None
    rate_basis: str | None


def upsert(conn: psycopg.Connection[Any], rows: list[BinStatusRow]) -> None:
    """Replace the stored assessment of each bin in ``rows``; an older assessment (a runner
    that was slower than another) never overwrites a newer one."""
    if not rows:
        return
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO bin_status (device_id, assessed_at, fill_pct, rate_pct_per_day,
                                       last_emptied, full_at, threshold_at, due, due_reason,
                                       stale, last_seen, rate_basis)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
               ON CONFLICT (device_id) DO UPDATE SET
                   assessed_at = EXCLUDED.assessed_at, fill_pct = EXCLUDED.fill_pct,
                   rate_pct_per_day = EXCLUDED.rate_pct_per_day,
                   last_emptied = EXCLUDED.last_emptied, full_at = EXCLUDED.full_at,
                   threshold_at = EXCLUDED.threshold_at, due = EXCLUDED.due,
                   due_reason = EXCLUDED.due_reason, stale = EXCLUDED.stale,
                   last_seen = EXCLUDED.last_seen, rate_basis = EXCLUDED.rate_basis
               WHERE bin_status.assessed_at <= EXCLUDED.assessed_at""",
            [tuple(_finite(v) for v in astuple(r)) for r in rows])


def _finite(value: object) -> object:
    # A NaN or infinite figure from the analytics is "unknown" to a dashboard, not a number.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def get(conn: psycopg.Connection[Any], device_id: int) -> BinStatusRow | None:
    """The stored assessment of one bin, or None."""
    row = conn.execute(
        """SELECT device_id, assessed_at, fill_pct, rate_pct_per_day, last_emptied, full_at,
                  threshold_at, due, due_reason, stale, last_seen, rate_basis
           FROM bin_status WHERE device_id = %s""", (device_id,)).fetchone()
    return None if row is None else BinStatusRow(*row)
