"""Ingest's heartbeat in ``ingest_status`` (migration 0005): written by each ingest every few
seconds, read by the API's ``/readyz``.

Times are the database server's own clock (``now()``), never the ingest host's: the age of the
last commit is sent as a duration and subtracted on the server, so a skewed host clock cannot
make an ingest look fresh or stale.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

#: Heartbeats older than this mean the ingest is gone (crashed, hung, or cut off from the
#: database), whatever state it last wrote.
FRESH_S = 30.0

_REGISTER = """
    INSERT INTO ingest_status (client_id, host, pid, started_at, heartbeat_at, last_commit_at,
                               state)
    VALUES (%(client_id)s, %(host)s, %(pid)s::int, now(), now(), NULL, %(state)s)
    ON CONFLICT (client_id) DO UPDATE
       SET host = excluded.host, pid = excluded.pid, started_at = excluded.started_at,
           heartbeat_at = excluded.heartbeat_at, state = excluded.state
"""

# A row removed in the meantime (by hand, or a restored database) is written again: the upsert
# keeps the heartbeat self-healing without a second statement.
_BEAT = """
    INSERT INTO ingest_status (client_id, host, pid, heartbeat_at, last_commit_at, state)
    VALUES (%(client_id)s, %(host)s, %(pid)s, now(),
            now() - make_interval(secs => %(commit_age_s)s::float8), %(state)s)
    ON CONFLICT (client_id) DO UPDATE
       SET host = excluded.host, pid = excluded.pid, heartbeat_at = excluded.heartbeat_at,
           last_commit_at = coalesce(excluded.last_commit_at, ingest_status.last_commit_at),
           state = excluded.state
"""

_READ = """
    SELECT client_id, host, pid, state,
           extract(epoch FROM now() - heartbeat_at)::float8,
           extract(epoch FROM now() - last_commit_at)::float8,
           extract(epoch FROM now() - started_at)::float8
    FROM ingest_status
    ORDER BY heartbeat_at DESC
    LIMIT %(limit)s
"""


@dataclass(frozen=True, slots=True)
class IngestStatus:
    client_id: str
    host: str
    pid: int | None
    state: str
    heartbeat_age_s: float
    last_commit_age_s: float | None
    uptime_s: float

    @property
    def fresh(self) -> bool:
        return self.heartbeat_age_s < FRESH_S


def register(conn: psycopg.Connection, client_id: str, host: str, pid: int, state: str) -> None:
    """First heartbeat of an ingest process: its start time is now."""
    conn.execute(_REGISTER, {"client_id": client_id, "host": host, "pid": pid, "state": state})


def beat(conn: psycopg.Connection, client_id: str, host: str, pid: int, state: str,
         commit_age_s: float | None) -> None:
    """One heartbeat: alive now, in ``state``, last commit ``commit_age_s`` ago (None: none
    yet in this process, keep the earlier one)."""
    conn.execute(_BEAT, {"client_id": client_id, "host": host, "pid": pid, "state": state,
                         "commit_age_s": commit_age_s})


def read(conn: psycopg.Connection, limit: int = 50) -> list[IngestStatus]:
    """The ingests that wrote a heartbeat, freshest first."""
    return [IngestStatus(*row) for row in conn.execute(_READ, {"limit": limit}).fetchall()]


def seconds_since_seen(conn: psycopg.Connection, client_id: str) -> float | None:
    """How long ago the ingest with this MQTT client id last wrote its heartbeat (database
    clock), or None if it never did: tells a starting ingest whether the broker should still
    hold a session for it."""
    row = conn.execute("SELECT extract(epoch FROM now() - heartbeat_at)::float8 FROM ingest_status"
                       " WHERE client_id = %s", (client_id,)).fetchone()
    return None if row is None or row[0] is None else float(row[0])
