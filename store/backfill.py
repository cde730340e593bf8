"""What the TTS backfill (ingest/backfill.py) asks the database: where each application's stored
uplinks end, so that a starting ingest knows where its gap began."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import psycopg

# Bounded below by ``since`` (the longest window a backfill fetches): the time index (BRIN, or
# the hypertable's chunks) keeps this to the last few days of uplinks instead of all of them.
_NEWEST = """
    SELECT application_id, max(received_at)
    FROM uplinks
    WHERE network = 'tts' AND application_id = ANY(%(apps)s) AND received_at >= %(since)s
    GROUP BY application_id
"""


def newest_uplinks(conn: psycopg.Connection, applications: Sequence[str], since: datetime
                   ) -> dict[str, datetime]:
    """The newest stored ``received_at`` of each The Things Stack application, looking back to
    ``since`` only; an application with nothing stored since then is absent."""
    rows = conn.execute(_NEWEST, {"apps": list(applications), "since": since}).fetchall()
    return {app: newest for app, newest in rows if newest is not None}
