"""What `meetnet reprocess` reads and rewrites: stored raw uplinks, one device's readings in a
time window, and dead letters waiting for a replay."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import class_row

from store.rows import ReadingRow


@dataclass(frozen=True, slots=True)
class RawUplink:
    received_at: datetime
    f_port: int | None
    payload: bytes
    decoded: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: int
    stage: str
    topic: str
    payload: bytes


def raw_uplinks(conn: psycopg.Connection[Any], dev_eui: str, start: datetime,
                end: datetime | None) -> Iterator[RawUplink]:
    """The device's stored uplinks received in [start, end), oldest first, streamed."""
    with conn.cursor(row_factory=class_row(RawUplink), name="raw_uplinks") as cur:
        cur.execute(
            """SELECT received_at, f_port, payload, decoded FROM uplinks
               WHERE dev_eui = %s AND received_at >= %s AND (%s::timestamptz IS NULL OR received_at < %s)
               ORDER BY received_at""",
            (dev_eui, start, end, end),
        )
        yield from cur


def replace_readings(conn: psycopg.Connection[Any], device_id: int, start: datetime,
                     end: datetime | None, rows: list[ReadingRow]) -> int:
    """Replace the device's readings in [start, end) with ``rows`` and recompute its latest
    values. Metrics a new config no longer derives disappear; running it twice changes nothing."""
    with conn.transaction():
        conn.execute(
            """DELETE FROM readings WHERE device_id = %s AND time >= %s
               AND (%s::timestamptz IS NULL OR time < %s)""",
            (device_id, start, end, end),
        )
        if rows:
            conn.execute(
                """INSERT INTO readings (time, device_id, metric_id, value)
                   SELECT r.t, %s, m.id, r.v
                   FROM unnest(%s::timestamptz[], %s::text[], %s::float8[]) AS r(t, name, v)
                   JOIN metrics m ON m.name = r.name
                   ON CONFLICT ON CONSTRAINT readings_pkey DO UPDATE SET value = EXCLUDED.value""",
                (device_id, [r.time for r in rows], [r.metric for r in rows],
                 [r.value for r in rows]),
            )
        conn.execute("DELETE FROM latest_readings WHERE device_id = %s", (device_id,))
        conn.execute(
            """INSERT INTO latest_readings (device_id, metric_id, time, value)
               SELECT DISTINCT ON (metric_id) device_id, metric_id, time, value
               FROM readings WHERE device_id = %s ORDER BY metric_id, time DESC""",
            (device_id,),
        )
    return len(rows)


def pending_dead_letters(conn: psycopg.Connection[Any], stage: str | None) -> list[DeadLetter]:
    with conn.cursor(row_factory=class_row(DeadLetter)) as cur:
        return cur.execute(
            """SELECT id, stage, topic, payload FROM dead_letters
               WHERE reprocessed_at IS NULL AND (%s::text IS NULL OR stage = %s)
                 -- a message cut to its first 64 KiB cannot be replayed: only its
                 -- network server still has it whole
                 AND (payload_length IS NULL OR payload_length = length(payload))
               ORDER BY id""",
            (stage, stage),
        ).fetchall()


def mark_dead_letter(conn: psycopg.Connection[Any], dl_id: int, *, resolved: bool,
                     reason: str | None = None) -> None:
    if resolved:
        conn.execute("UPDATE dead_letters SET reprocessed_at = now() WHERE id = %s", (dl_id,))
    else:
        conn.execute("UPDATE dead_letters SET reason = %s, last_seen_at = now() WHERE id = %s",
                     (reason, dl_id))
