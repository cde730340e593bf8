"""`meetnet reprocess`: a config change re-derives history; dead letters replay once the cause
is fixed. Both idempotent."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from ingest.pipeline import Pipeline
from meetnet.cli import app
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import Batch, Writer
from store import devices as registry

T0 = datetime(2026, 11, 20, tzinfo=UTC)
BIN = SimDevice(dev_eui="24e124713c03bbbb", device_id="bin-re", application_id="re",
                model_key="milesight-iot/em310-udl", organisation="gemeente-leiden",
                use_case="waste", name="bin", lat=52.1, lon=4.5)
runner = CliRunner()


def _ingest(db: str, messages: list[tuple[str, bytes]]) -> None:
    pipeline = Pipeline(db)
    batch = Batch()
    for topic, body in messages:
        pipeline.handle(topic, body, batch)
    with Writer(db) as w:
        w.write(batch)
    pipeline.close()


def _fill(db: str) -> dict[datetime, float]:
    with psycopg.connect(db) as conn:
        rows = conn.execute("""SELECT r.time, r.value FROM readings r JOIN metrics m
                               ON m.id = r.metric_id WHERE m.name = 'fill_level'""").fetchall()
    return dict(rows)


def test_config_change_rederives_history(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            config={"bin_depth_m": 1.0}))
    msgs = []
    for i in range(6):
        port, payload = ENCODERS[BIN.model_key]({"distance": 0.9 - 0.1 * i, "battery": 90,
                                                 "tilt": 0})
        msgs.append(tts_uplink(BIN, port, payload, f_cnt=i, received_at=T0 + timedelta(hours=i)))
    _ingest(db, msgs)
    assert sorted(_fill(db).values()) == pytest.approx([10, 20, 30, 40, 50, 60])

    # The bin turns out to be 2 m deep: fix the config, re-derive from the third uplink on.
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE devices SET config = %s WHERE dev_eui = %s",
                     (json.dumps({"bin_depth_m": 2.0}), BIN.dev_eui))
    since = (T0 + timedelta(hours=2)).isoformat()
    for _ in range(2):  # twice: idempotent
        result = runner.invoke(app, ["reprocess", "--device", BIN.dev_eui, "--from", since])
        assert result.exit_code == 0, result.output
        assert "4 uplinks -> 16 readings" in result.output  # battery, distance, tilt, fill
    fill = _fill(db)
    assert [round(fill[T0 + timedelta(hours=i)], 6) for i in range(6)] == pytest.approx(
        [10, 20, 65, 70, 75, 80])
    with psycopg.connect(db) as conn:
        latest = conn.execute("""SELECT l.value FROM latest_readings l JOIN metrics m
                                 ON m.id = l.metric_id WHERE m.name = 'fill_level'""").fetchone()
    assert latest == (pytest.approx(80),)


def test_dead_letters_replay_after_registration(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    port, payload = ENCODERS[BIN.model_key]({"distance": 0.5, "battery": 90, "tilt": 0})
    topic, body = tts_uplink(BIN, port, payload, f_cnt=1, received_at=T0)
    doc = json.loads(body)
    doc["uplink_message"].pop("version_ids")  # nothing to auto-register it by
    # The oversize message is kept cut to 64 KiB: it cannot be replayed, and is not tried.
    _ingest(db, [(topic, json.dumps(doc).encode()), ("v3/x/devices/y/up", b"garbage"),
                 ("v3/x/devices/y/up", b" " * 70_000)])
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (0,)
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key))
    result = runner.invoke(app, ["reprocess", "--dead-letters"])
    assert result.exit_code == 0, result.output
    assert "2 replayed, 1 stored, 1 still refused" in result.output
    again = runner.invoke(app, ["reprocess", "--dead-letters"])
    assert "1 replayed, 0 stored, 1 still refused" in again.output
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (3,)
        assert conn.execute("SELECT count(*) FROM dead_letters WHERE reprocessed_at IS NOT NULL"
                            ).fetchone() == (1,)
        (reason,) = conn.execute("SELECT reason FROM dead_letters WHERE payload_length > 65536"
                                 ).fetchone() or ("",)
        assert "larger than the limit" in reason


def test_reprocess_keeps_what_a_broken_off_frame_held(db: str, monkeypatch: pytest.MonkeyPatch
                                                      ) -> None:
    """A frame that broke off at a channel of unknown length kept its readings in ingest; a
    reprocess of its window must keep them too (derived with the new config), not delete them."""
    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            config={"bin_depth_m": 1.0}))
    # Battery 100 %, distance 0.5 m, then a channel of unknown length (05/e1).
    _ingest(db, [tts_uplink(BIN, 85, bytes.fromhex("0175640382f401" "05e1ffff"), f_cnt=1,
                            received_at=T0)])
    assert _fill(db) == {T0: pytest.approx(50.0)}
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE devices SET config = %s WHERE dev_eui = %s",
                     (json.dumps({"bin_depth_m": 2.0}), BIN.dev_eui))
    result = runner.invoke(app, ["reprocess", "--device", BIN.dev_eui, "--from", T0.isoformat()])
    assert result.exit_code == 0, result.output
    assert _fill(db) == {T0: pytest.approx(75.0)}
