"""Named reads of the crossing analytics (issue 11): a radar's raw frames, whose speed-class
histograms the stored readings do not keep (analytics/crossing.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from store.reprocess import raw_uplinks


def radar_frames(conn: psycopg.Connection[Any], dev_eui: str, start: datetime, end: datetime
                 ) -> list[tuple[datetime, int | None, bytes]]:
    """(received_at, f_port, payload) of the device's stored uplinks in [start, end), oldest
    first. The caller has checked that the device may be seen. In a transaction of its own
    because the read streams through a server-side cursor, which needs one."""
    with conn.transaction():
        return [(u.received_at, u.f_port, u.payload)
                for u in raw_uplinks(conn, dev_eui, start, end)]
