"""The write path: one transaction per batch; rows go in with COPY, deduplicated on the dedup
keys (docs/architecture.md, step 7).

COPY rather than executemany because it sends rows as one stream instead of one round trip per
row (psycopg docs, "Using COPY TO and COPY FROM"). COPY cannot skip a row that is already
stored, so a batch is first copied straight into the tables inside a savepoint (the common case:
all new), and only if that hits a stored row is it copied into session-local staging tables and
moved with ``INSERT .. SELECT .. ON CONFLICT DO NOTHING``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg.copy import Copy, FileWriter
from psycopg.types.json import set_json_dumps

from store.rows import Batch, DeadLetterRow, attribute_updates, dead_letter

_STAGING = """
CREATE TEMP TABLE IF NOT EXISTS stage_readings (
    time timestamptz, device_id bigint, metric_id smallint, value double precision
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS stage_uplinks (LIKE uplinks INCLUDING DEFAULTS)
    ON COMMIT DELETE ROWS;
"""

_UPLINK_COLUMNS = ("received_at, dev_eui, f_cnt, f_port, payload, network, application_id, "
                   "device_id, rssi, snr, gateway_count, decoded")


# Binary COPY with declared types: measured ~0.5 us of Python per row against ~3.5-4 us for
# text COPY, which formats every value in Python (the write path's largest client-side cost).
_UPLINK_TYPES = ["timestamptz", "text", "int8", "int2", "bytea", "text", "text", "int8", "float4",
                 "float4", "int2", "jsonb"]
_READING_TYPES = ["timestamptz", "int8", "int2", "float8"]

# jsonb values are dumped with orjson (several times faster than the json module).
set_json_dumps(lambda obj: orjson.dumps(obj).decode())


@dataclass(frozen=True, slots=True)
class WriteResult:
    uplinks: int  # new raw uplinks stored (duplicates excluded)
    readings: int  # new readings stored
    dead_letters: int


class Writer:
    """Stores batches over one dedicated connection (not shared: it holds temp tables)."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conn = self._connect()
        with self.conn.transaction():
            rows = self.conn.execute("SELECT name, id FROM metrics").fetchall()
        self.metric_ids: dict[str, int] = {str(name): int(mid) for name, mid in rows}  # type: ignore[call-overload]

    def _connect(self) -> psycopg.Connection[tuple[object, ...]]:
        conn = psycopg.connect(self.dsn, autocommit=False)
        with conn.transaction():
            conn.execute(_STAGING)
        return conn

    def reconnect(self) -> None:
        """After a lost connection: a new session (the temp tables are per session)."""
        try:
            self.conn.close()
        finally:
            self.conn = self._connect()

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def write(self, batch: Batch) -> WriteResult:
        """Store the batch atomically; replaying the same batch changes nothing."""
        n_up = n_read = 0
        with self.conn.transaction(), self.conn.cursor() as cur:
            if batch.uplinks or batch.readings:
                try:
                    # Almost every batch is new data: COPY it straight into the tables, which
                    # costs the server about half of going through staging tables with
                    # ON CONFLICT. A row stored before (a redelivery after a crash, a network
                    # server's retry) makes the COPY fail; then the savepoint undoes it and
                    # the batch takes the path that skips stored rows.
                    with self.conn.transaction():
                        n_up, n_read = self._copy_new(cur, batch)
                except psycopg.errors.UniqueViolation:
                    n_up, n_read = self._copy_skipping_stored(cur, batch)
            latest, seen = batch.seal()
            if latest.device_ids:
                ids = self.metric_ids
                # Latest value per (device, metric); an old message replayed late never
                # overwrites a newer value. Arrays in binary (%b): dumped ~8x faster than text.
                cur.execute("""
                    INSERT INTO latest_readings (device_id, metric_id, time, value)
                    SELECT * FROM unnest(%b::bigint[], %b::smallint[], %b::timestamptz[],
                                         %b::float8[])
                    ON CONFLICT (device_id, metric_id) DO UPDATE
                        SET time = EXCLUDED.time, value = EXCLUDED.value
                        WHERE latest_readings.time <= EXCLUDED.time""",
                    (latest.device_ids, [ids[m] for m in latest.metrics], latest.times,
                     latest.values))
            if batch.dead_letters:
                cur.executemany(
                    """INSERT INTO dead_letters (stage, reason, topic, dev_eui, payload,
                                                 message_hash, payload_length, payload_sha256)
                       VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
                       ON CONFLICT ON CONSTRAINT dead_letters_dedup DO UPDATE
                           SET times_seen = dead_letters.times_seen + 1,
                               last_seen_at = now(), reason = EXCLUDED.reason""",
                    [_dead_letter_params(d) for d in batch.dead_letters],
                )
            if seen:
                # One statement for the whole batch (arrays), not one round trip per device.
                cur.execute(
                    """UPDATE devices d SET last_seen_at = GREATEST(d.last_seen_at, s.at),
                           battery_percent = COALESCE(s.battery, d.battery_percent)
                       FROM unnest(%b::bigint[], %b::timestamptz[], %b::real[]) AS s(id, at, battery)
                       WHERE d.id = s.id""",
                    ([x.device_id for x in seen], [x.at for x in seen],
                     [x.battery_percent for x in seen]),
                )
            if batch.attributes:
                # Newest value per attribute name: a frame redelivered late never puts an old
                # firmware version back (each value carries the time its frame was received).
                attr_ids, attr_values = attribute_updates(batch.attributes)
                cur.execute(
                    """UPDATE devices d SET attributes = d.attributes || (
                           SELECT COALESCE(jsonb_object_agg(e.key, e.value), '{}'::jsonb)
                           FROM jsonb_each(a.attrs) AS e
                           WHERE NOT (d.attributes ? e.key)
                              OR (d.attributes -> e.key ->> 'at')::timestamptz
                                 <= (e.value ->> 'at')::timestamptz)
                       FROM unnest(%s::bigint[], %s::jsonb[]) AS a(id, attrs)
                       WHERE d.id = a.id""",
                    (attr_ids, attr_values),
                )
        return WriteResult(n_up, n_read, len(batch.dead_letters))

    def encode(self, batch: Batch, conn: psycopg.Connection[Any] | None = None
               ) -> tuple[bytes, bytes]:
        """Format the batch's uplink and reading rows as binary COPY data now, so that `write`
        only sends it (PostgreSQL docs, "COPY: Binary Format").

        The ingest pipeline calls this on its building thread while this writer commits the
        previous batch: formatting thousands of rows is the writer's largest Python cost, and
        the writer's thread is the ingest chain's bottleneck. ``conn`` (the caller's own
        connection; default this writer's) only lends its type adaptation: nothing is sent on
        it (psycopg's offline `Copy` with a `FileWriter`)."""
        conn = conn or self.conn
        ids = self.metric_ids
        batch.encoded = (
            _binary_copy(conn, batch.uplinks, _UPLINK_TYPES),  # UplinkRow is in column order
            _binary_copy(conn, [(r.time, r.device_id, ids[r.metric], r.value)
                                for r in batch.readings], _READING_TYPES),
        )
        return batch.encoded

    def _copy_rows(self, cur: psycopg.Cursor[tuple[object, ...]], batch: Batch, uplinks: str,
                   readings: str) -> None:
        uplink_data, reading_data = batch.encoded or self.encode(batch)
        if batch.uplinks:
            with cur.copy(f"COPY {uplinks} ({_UPLINK_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(uplink_data)
        if batch.readings:
            with cur.copy(f"COPY {readings} (time, device_id, metric_id, value) "
                          "FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(reading_data)

    def _copy_new(self, cur: psycopg.Cursor[tuple[object, ...]], batch: Batch) -> tuple[int, int]:
        # A row stored before, or the same row twice in this batch, fails the COPY on
        # uplinks_dedup or readings_pkey: never stored twice (write() then skips it).
        self._copy_rows(cur, batch, "uplinks", "readings")
        return len(batch.uplinks), len(batch.readings)

    def _copy_skipping_stored(self, cur: psycopg.Cursor[tuple[object, ...]], batch: Batch
                              ) -> tuple[int, int]:
        """COPY into session-local staging tables (COPY itself cannot skip a conflicting row),
        then ``INSERT .. SELECT .. ON CONFLICT DO NOTHING`` on the dedup keys."""
        self._copy_rows(cur, batch, "stage_uplinks", "stage_readings")
        n_up = n_read = 0
        if batch.uplinks:
            cur.execute(f"INSERT INTO uplinks ({_UPLINK_COLUMNS}) "  # noqa: S608 - constant
                        f"SELECT {_UPLINK_COLUMNS} FROM stage_uplinks "
                        "ON CONFLICT ON CONSTRAINT uplinks_dedup DO NOTHING")
            n_up = cur.rowcount
        if batch.readings:
            cur.execute("INSERT INTO readings (time, device_id, metric_id, value) "
                        "SELECT time, device_id, metric_id, value FROM stage_readings "
                        "ON CONFLICT ON CONSTRAINT readings_pkey DO NOTHING")
            n_read = cur.rowcount
        # The staging tables empty themselves at commit (ON COMMIT DELETE ROWS); a batch that
        # comes here twice in one transaction does not happen.
        return n_up, n_read


def _dead_letter_params(d: DeadLetterRow) -> tuple[object, ...]:
    if not d.message_hash:  # a row built by hand, not by store.rows.dead_letter
        d = dead_letter(d.stage, d.reason, d.topic, d.payload, d.dev_eui)
    return (d.stage, d.reason, d.topic, d.dev_eui, d.payload, d.message_hash, d.length,
            d.payload_sha256)


def _binary_copy(conn: psycopg.Connection[Any], rows: Iterable[Sequence[Any]],
                 types: list[str]) -> bytes:
    """Rows as a whole binary COPY stream: signature, rows, trailer."""
    out = io.BytesIO()
    with conn.cursor() as cur, Copy(cur, binary=True, writer=FileWriter(out)) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)
    return out.getvalue()
