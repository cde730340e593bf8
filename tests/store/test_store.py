"""Migrations and the write path against a real PostgreSQL server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from timescale_support import timescale_server

from store import Batch, DeadLetterRow, ReadingRow, UplinkRow, Writer, migrate
from store import devices as registry
from store.migrate import versions as migration_versions
from store.rows import DeviceSeen

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _device(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return registry.upsert_device(conn, registry.NewDevice(
            dev_eui="24e124713c012345", organisation="gemeente-leiden",
            model_key="milesight-iot/em310-udl", use_case="waste", visibility="open"))


def _uplink(f_cnt: int, device_id: int | None, at: datetime = T0) -> UplinkRow:
    return UplinkRow(at, "24e124713c012345", f_cnt, 85, b"\x01\x75\x5c", "tts", "app",
                     device_id, -90.0, 7.0, 1, None)


def test_migrations_are_idempotent(db: str) -> None:
    again = migrate(db)
    assert again.applied == []
    with psycopg.connect(db) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY 1")]
        assert versions == migration_versions()
        assert versions[:2] == ["0001_initial", "0002_time_series"]
        n_metrics = conn.execute("SELECT count(*) FROM metrics").fetchone()
        assert n_metrics is not None and n_metrics[0] > 10


def test_replaying_a_batch_changes_nothing(db: str) -> None:
    dev = _device(db)
    batch = Batch(
        uplinks=[_uplink(1, dev), _uplink(1, dev), _uplink(2, dev, T0 + timedelta(minutes=1))],
        readings=[ReadingRow(T0, dev, "distance", 1.2), ReadingRow(T0, dev, "distance", 1.2),
                  ReadingRow(T0 + timedelta(minutes=1), dev, "distance", 1.1)],
        dead_letters=[DeadLetterRow("parse", "not JSON", "v3/x/devices/y/up", b"{")],
    )
    with Writer(db) as writer:
        first = writer.write(batch)
        second = writer.write(batch)
    assert (first.uplinks, first.readings) == (2, 2)
    assert (second.uplinks, second.readings) == (0, 0)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM uplinks").fetchone() == (2,)
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (2,)
        # The same refused message stored twice is one dead letter, seen twice.
        assert conn.execute("SELECT count(*), max(times_seen) FROM dead_letters").fetchone() == (
            1, 2)


def test_a_batch_partly_stored_before_adds_only_its_new_rows(db: str) -> None:
    """The first batch is all new (copied straight in); the second repeats one uplink and its
    reading among new ones (the savepoint falls back to skipping stored rows)."""
    dev = _device(db)
    t1 = T0 + timedelta(minutes=1)
    with Writer(db) as writer:
        first = writer.write(Batch(uplinks=[_uplink(1, dev)],
                                   readings=[ReadingRow(T0, dev, "distance", 1.2)]))
        second = writer.write(Batch(
            uplinks=[_uplink(1, dev), _uplink(2, dev, t1)],
            readings=[ReadingRow(T0, dev, "distance", 1.2), ReadingRow(t1, dev, "distance", 1.0)]))
        third = writer.write(Batch(uplinks=[_uplink(3, dev, T0 + timedelta(minutes=2))]))
    assert (first.uplinks, first.readings) == (1, 1)
    assert (second.uplinks, second.readings) == (1, 1)
    assert (third.uplinks, third.readings) == (1, 0)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM uplinks").fetchone() == (3,)
        assert conn.execute("SELECT time, value FROM readings ORDER BY time").fetchall() == [
            (T0, 1.2), (t1, 1.0)]
        assert conn.execute("SELECT time, value FROM latest_readings").fetchall() == [(t1, 1.0)]


def test_rows_encoded_ahead_on_another_connection(db: str) -> None:
    """The ingest pipeline encodes a batch's COPY data on its own connection while the writer
    commits the previous batch; the data must store the same rows, on the direct path and on
    the path that skips stored rows."""
    dev = _device(db)
    t1 = T0 + timedelta(minutes=1)
    first = Batch(uplinks=[_uplink(1, dev)], readings=[ReadingRow(T0, dev, "distance", 1.2)])
    again = Batch(uplinks=[_uplink(1, dev), _uplink(2, dev, t1)._replace(decoded={"d": 1.0})],
                  readings=[ReadingRow(T0, dev, "distance", 1.2), ReadingRow(t1, dev, "battery", 80)])
    with Writer(db) as writer, psycopg.connect(db, autocommit=True) as other:
        for batch in (first, again):
            writer.encode(batch, other)
            assert batch.encoded is not None and batch.encoded[0].startswith(b"PGCOPY\n")
        assert (writer.write(first).uplinks, writer.write(again).uplinks) == (1, 1)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT f_cnt, decoded FROM uplinks ORDER BY f_cnt").fetchall() == [
            (1, None), (2, {"d": 1.0})]
        assert conn.execute("SELECT m.name, r.value FROM readings r JOIN metrics m ON m.id = "
                            "r.metric_id ORDER BY r.time").fetchall() == [("distance", 1.2),
                                                                          ("battery", 80.0)]


def test_latest_is_never_overwritten_by_an_older_reading(db: str) -> None:
    dev = _device(db)
    with Writer(db) as writer:
        writer.write(Batch(readings=[ReadingRow(T0 + timedelta(hours=1), dev, "distance", 0.5)]))
        writer.write(Batch(readings=[ReadingRow(T0, dev, "distance", 2.0)]))
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT value FROM latest_readings").fetchone()
    assert row == (0.5,)


def test_latest_of_a_batch_is_its_newest_reading_whatever_the_order(db: str) -> None:
    dev = _device(db)
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)
    batch = Batch(readings=[ReadingRow(t1, dev, "distance", 1.1), ReadingRow(t2, dev, "distance", 1.0),
                            ReadingRow(T0, dev, "distance", 1.2), ReadingRow(T0, dev, "battery", 90.0)],
                  seen=[DeviceSeen(dev, t1, 91.0), DeviceSeen(dev, t2), DeviceSeen(dev, T0, 92.0)])
    with Writer(db) as writer:
        writer.write(batch)
    with psycopg.connect(db) as conn:
        assert conn.execute(
            "SELECT m.name, l.time, l.value FROM latest_readings l JOIN metrics m ON m.id = l.metric_id"
            " ORDER BY m.name").fetchall() == [("battery", T0, 90.0), ("distance", t2, 1.0)]
        # The newest sighting had no battery level: the newest one known before it is kept.
        assert conn.execute("SELECT last_seen_at, battery_percent FROM devices").fetchone() == (
            t2, 91.0)


def test_whole_numbers_and_fractions_in_one_batch(db: str) -> None:
    """An int value (Reading.value admits one) beside floats in one batch: the binary
    latest-values array refused the mix, and the batch was retried message by message."""
    dev = _device(db)
    with psycopg.connect(db) as conn:
        other = registry.upsert_device(conn, registry.NewDevice(
            dev_eui="24e124713c054321", organisation="gemeente-leiden",
            model_key="milesight-iot/em310-udl"))
    batch = Batch(readings=[ReadingRow(T0, dev, "pedestrian_count", 3),
                            ReadingRow(T0, dev, "distance", 1.25)],
                  seen=[DeviceSeen(dev, T0, 80), DeviceSeen(other, T0, 79.5)])
    with Writer(db) as writer:
        assert writer.write(batch).readings == 2
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM latest_readings").fetchone() == (2,)
        assert conn.execute("SELECT battery_percent FROM devices ORDER BY id").fetchall() == [
            (80.0,), (79.5,)]


def test_a_failed_batch_stores_nothing(db: str) -> None:
    dev = _device(db)
    bad = Batch(uplinks=[_uplink(1, dev)], readings=[ReadingRow(T0, dev, "no_such_metric", 1)])
    with Writer(db) as writer, pytest.raises(KeyError):
        writer.write(bad)
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM uplinks").fetchone() == (0,)


def test_timescaledb_path() -> None:
    """With TimescaleDB preloaded, migrate makes readings and uplinks hypertables, the one
    continuous aggregate readings_by_hour (0007 dropped 0002's UTC ones) with its refresh
    policy, and the compression and retention policies."""
    with timescale_server() as server, psycopg.connect(server.dsn) as conn:
        kinds = {r[0] for r in conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables")}
        caggs = dict(conn.execute(
            "SELECT view_name, materialized_only FROM "
            "timescaledb_information.continuous_aggregates").fetchall())
        jobs = set(conn.execute(
            "SELECT proc_name, coalesce(hypertable_name, '') FROM timescaledb_information.jobs "
            "WHERE proc_name <> 'policy_telemetry'").fetchall())
        refresh = conn.execute(
            "SELECT config FROM timescaledb_information.jobs j "
            "JOIN timescaledb_information.continuous_aggregates c "
            "ON (c.materialization_hypertable_schema, c.materialization_hypertable_name) "
            "= (j.hypertable_schema, j.hypertable_name) "
            "WHERE j.proc_name = 'policy_refresh_continuous_aggregate'").fetchone()
    assert {"readings", "uplinks"} <= kinds
    assert caggs == {"readings_by_hour": False}  # real-time: recent hours come from readings
    assert {("policy_compression", "readings"), ("policy_compression", "uplinks"),
            ("policy_retention", "uplinks")} <= jobs
    assert [name for name, _ in jobs].count("policy_refresh_continuous_aggregate") == 1
    assert refresh is not None
    assert refresh[0]["start_offset"] is None and refresh[0]["end_offset"] == "01:00:00"


def test_plain_path_has_brin_indexes(db: str) -> None:
    with psycopg.connect(db) as conn:
        variant = conn.execute("SELECT variant FROM schema_migrations WHERE version = "
                               "'0002_time_series'").fetchone()
        if variant != ("plain",):
            pytest.skip("TimescaleDB path in use")
        idx = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE indexdef "
                                          "ILIKE '%USING brin%'")}
    assert {"readings_time_brin", "uplinks_time_brin"} <= idx


def test_rows_updated_every_batch_get_hot_updates(db: str) -> None:
    """devices and latest_readings leave room on their pages so that the per-batch updates
    stay HOT (migration 0004)."""
    writer = Writer(db)
    with psycopg.connect(db) as conn:
        dev_id = registry.upsert_device(conn, registry.NewDevice(
            dev_eui="00000000000000ab", organisation="o", model_key="milesight-iot/em310-udl"))
        # The tables, not schema grafana's views of the same names (migration 0009).
        opts = dict(conn.execute("SELECT relname, reloptions FROM pg_class WHERE relname IN "
                                 "('devices', 'latest_readings') "
                                 "AND relnamespace = 'public'::regnamespace").fetchall())
    assert opts == {"devices": ["fillfactor=50"], "latest_readings": ["fillfactor=50"]}
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(50):
        at = t0 + timedelta(minutes=i)
        writer.write(Batch(readings=[ReadingRow(at, dev_id, "battery", 90.0)],
                           seen=[DeviceSeen(dev_id, at, 90.0)]))
    writer.close()
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("SELECT pg_stat_force_next_flush()")
        stats = dict((r[0], (r[1], r[2])) for r in conn.execute(
            "SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables "
            "WHERE relname IN ('devices', 'latest_readings')"))
    for table, (updated, hot) in stats.items():
        assert updated >= 49 and hot >= 0.9 * updated, (table, updated, hot)
