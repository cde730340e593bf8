"""Device attributes end to end (issue 13, item 1): a Milesight frame that carries device
information beside its measurements keeps both -- the measurements as readings, the information
as the device's attributes, newest per name -- and a frame that breaks off at a channel of unknown
length keeps what came before it and is kept itself as a dead letter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest

from ingest.direct import DirectIngest
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry

T0 = datetime(2026, 11, 3, 8, tzinfo=UTC)
BIN = SimDevice(dev_eui="24e124713c03cc01", device_id="bin-attr-1",
                application_id="meetnet-waste", model_key="milesight-iot/em310-udl",
                organisation="gemeente-leiden", use_case="waste", name="bin", lat=52.16,
                lon=4.49, config={"bin_depth_m": 1.5}, interval_s=600)


@pytest.fixture(autouse=True)
def _registered(db: str) -> None:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            device_id=BIN.device_id, application_id=BIN.application_id, config=BIN.config,
            visibility="open"))


def _message(payload_hex: str, f_cnt: int, at: datetime) -> tuple[str, bytes]:
    return tts_uplink(BIN, 85, bytes.fromhex(payload_hex.replace(" ", "")), f_cnt=f_cnt,
                      received_at=at)


def _one(db: str, sql: str, *params: Any) -> Any:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql, params).fetchone()
        assert row is not None
        return row[0]


def _readings(db: str) -> list[tuple[str, float]]:
    with psycopg.connect(db) as conn:
        return [(m, v) for m, v in conn.execute(
            "SELECT m.name, r.value FROM readings r JOIN metrics m ON m.id = r.metric_id "
            "ORDER BY r.time, m.name").fetchall()]


def test_device_information_becomes_attributes_and_measurements_readings(db: str) -> None:
    direct = DirectIngest(db)
    try:
        # Firmware v1.10, serial number, class A beside battery 100 % and distance 0.03 m.
        result = direct.ingest([_message("ff0a0110 ff166329c42903640033 ff0f00 017564 03821e00",
                                         1, T0)])
        assert (result.uplinks, result.dead_letters) == (1, 0)
        assert _readings(db) == [("battery", 100.0), ("distance", 0.03), ("fill_level", 98.0)]
        attrs = _one(db, "SELECT attributes FROM devices WHERE dev_eui = %s", BIN.dev_eui)
        assert attrs == {
            "firmware_version": {"value": "v1.10", "at": T0.isoformat()},
            "sn": {"value": "6329c42903640033", "at": T0.isoformat()},
            "lorawan_class": {"value": "Class A", "at": T0.isoformat()},
        }
    finally:
        direct.close()


def test_the_newest_report_of_an_attribute_wins_whatever_the_order_of_arrival(db: str) -> None:
    direct = DirectIngest(db)
    try:
        direct.ingest([_message("ff0a0110 017564", 1, T0 + timedelta(hours=2))])
        # An older frame redelivered late (v1.9) must not put the old version back; its other
        # attribute, never reported since, is taken.
        direct.ingest([_message("ff0a0109 ff0f02", 2, T0)])
        attrs = _one(db, "SELECT attributes FROM devices WHERE dev_eui = %s", BIN.dev_eui)
        assert attrs["firmware_version"]["value"] == "v1.10"
        assert attrs["lorawan_class"] == {"value": "Class C", "at": T0.isoformat()}
        # A newer one replaces it.
        direct.ingest([_message("ff0a0111", 3, T0 + timedelta(hours=3))])
        attrs = _one(db, "SELECT attributes FROM devices WHERE dev_eui = %s", BIN.dev_eui)
        assert attrs["firmware_version"] == {"value": "v1.11",
                                             "at": (T0 + timedelta(hours=3)).isoformat()}
    finally:
        direct.close()


def test_a_frame_broken_off_keeps_its_readings_and_is_a_dead_letter_once(db: str) -> None:
    direct = DirectIngest(db)
    try:
        message = _message("ff0a0110 017564 05e1ffff 03821e00", 1, T0)
        result = direct.ingest([message])
        assert result.dead_letters == 1 and result.dead_stages == {"decode": 1}
        assert _readings(db) == [("battery", 100.0)]
        reason = _one(db, "SELECT reason FROM dead_letters WHERE stage = 'decode'")
        assert "unknown channel 0x05 type 0xe1" in reason
        assert _one(db, "SELECT attributes -> 'firmware_version' ->> 'value' FROM devices "
                        "WHERE dev_eui = %s", BIN.dev_eui) == "v1.10"
        # Redelivered: no second reading, the one dead letter counted twice.
        direct.ingest([message])
        assert _readings(db) == [("battery", 100.0)]
        assert _one(db, "SELECT count(*) FROM dead_letters") == 1
        assert _one(db, "SELECT times_seen FROM dead_letters") == 2
    finally:
        direct.close()


def test_the_api_shows_the_attributes_to_whoever_sees_the_device(db: str, api: httpx.Client) -> None:
    direct = DirectIngest(db)
    try:
        direct.ingest([_message("ff090110 ff0a0110 017564", 1, T0)])
    finally:
        direct.close()
    got = api.get(f"/v1/devices/{BIN.dev_eui}/attributes")
    assert got.status_code == 200, got.text
    assert got.json() == {"dev_eui": BIN.dev_eui, "attributes": {
        "hardware_version": {"value": "v1.1", "at": "2026-11-03T08:00:00Z"},
        "firmware_version": {"value": "v1.10", "at": "2026-11-03T08:00:00Z"},
    }}
    assert api.get("/v1/devices/0000000000000000/attributes").status_code == 404


def test_only_values_jsonb_can_hold_reach_the_batch() -> None:
    from ingest.pipeline import storable_attributes

    got = storable_attributes({"firmware_version": "v1.10", "bad\x00name": 1, "nul": "a\x00b",
                               "long": "x" * 201, "nan": float("nan"), "inf": float("inf"),
                               "interval": 600, "ratio": 0.5, "enabled": True})
    assert got == {"firmware_version": "v1.10", "interval": 600, "ratio": 0.5, "enabled": True}


def test_the_cli_lists_the_fleets_attributes(db: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from meetnet.cli import app

    direct = DirectIngest(db)
    try:
        direct.ingest([_message("ff0a0110 ff0f00 017564", 1, T0)])
    finally:
        direct.close()
    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    runner = CliRunner()
    got = runner.invoke(app, ["devices", "attributes", "--name", "firmware_version"])
    assert got.exit_code == 0, got.output
    assert got.output.splitlines() == [
        f"{BIN.dev_eui}  gemeente-leiden  milesight-iot/em310-udl  firmware_version = v1.10  "
        f"({T0.isoformat()})"]
    everything = runner.invoke(app, ["devices", "attributes", BIN.dev_eui.upper()])
    assert "lorawan_class = Class A" in everything.output
    assert "firmware_version" in everything.output
    none = runner.invoke(app, ["devices", "attributes", "--org", "somebody-else"])
    assert none.exit_code == 0 and none.output.strip() == "no attributes reported"
