"""Envelope parsing against the real network-server examples (tests/vectors/envelopes/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.envelopes import EnvelopeError, Ignored, parse
from meetnet.records import DeviceEvent, Uplink

VECTORS = Path(__file__).parent.parent / "vectors" / "envelopes"


def load(name: str) -> tuple[str, bytes]:
    doc = json.loads((VECTORS / name).read_text())
    return doc["topic"], json.dumps(doc["payload"]).encode()


def test_tts_uplink_with_version_ids() -> None:
    up = parse(*load("tts-v3-uplink.json"))
    assert isinstance(up, Uplink)
    assert up.network == "tts"
    assert up.dev_eui == "24e124713c012345"
    assert up.device_id == "em310-bin-001"
    assert up.application_id == "meetnet-waste"
    assert up.tenant_id == "ttn"
    assert up.f_cnt == 1423 and up.f_port == 85
    assert up.payload == bytes.fromhex("01755c03824408040001")
    assert up.model_key == "milesight-iot/em310-udl"
    assert up.received_at == datetime(2024, 11, 21, 8, 15, 2, 305820, tzinfo=UTC)
    # The best of two gateways.
    assert up.rssi == -97 and up.snr == 7.5 and up.gateway_count == 2
    assert up.decoded == {"battery": 92, "distance": 2116, "tilt": "tilt"}


def test_tts_open_source_topic_without_tenant_or_decoder() -> None:
    up = parse(*load("tts-v3-uplink-opensource-nodecoder.json"))
    assert isinstance(up, Uplink)
    assert up.tenant_id is None and up.decoded is None and up.model_key is None
    assert up.payload == bytes.fromhex("0100e202290400270506060308")
    assert up.f_cnt == 87


def test_chirpstack_uplink() -> None:
    up = parse(*load("chirpstack-v4-up.json"))
    assert isinstance(up, Uplink)
    assert up.network == "chirpstack"
    assert up.dev_eui == "0004a30b00f0d40e"
    assert up.device_id == "zebrapad-kerkstraat"
    assert up.application_id == "6b1f3c2e-9a7d-4c55-8e21-0f4b7d9a3c10"
    assert up.f_cnt == 5312 and up.f_port == 1
    assert up.payload == bytes.fromhex("02060004a30b00f0d40e0001000000000020000d000a6a")
    assert up.rssi == -104 and up.snr == 3.8
    # Nanoseconds are cut to microseconds, not rounded into the next second.
    assert up.received_at == datetime(2024, 11, 21, 8, 31, 17, 402913, tzinfo=UTC)


@pytest.mark.parametrize("name", ["tts-v3-join.json", "chirpstack-v4-join.json"])
def test_joins_are_device_events(name: str) -> None:
    ev = parse(*load(name))
    assert isinstance(ev, DeviceEvent) and ev.kind == "join"


def test_chirpstack_status_carries_battery() -> None:
    ev = parse(*load("chirpstack-v4-status.json"))
    assert isinstance(ev, DeviceEvent)
    assert ev.kind == "status" and ev.battery_percent == 88.3 and ev.margin_db == 7


def test_other_events_are_ignored_explicitly() -> None:
    with pytest.raises(Ignored):
        parse("v3/app@ttn/devices/dev/down/queued", b"{}")
    with pytest.raises(Ignored):
        parse("application/x/device/0004a30b00f0d40e/event/ack", b"{}")


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        ("v3/app/devices/d/up", b"{not json", "not JSON"),
        ("v3/app/devices/d/up", b"[1, 2]", "not an object"),
        ("v3/app/devices/d/up", b'{"end_device_ids": {"dev_eui": "xyz"}}', "16 hex"),
        ("v3/app/devices/d/up",
         b'{"end_device_ids": {"dev_eui": "0004a30b00f0d40e"}}', "uplink_message"),
        ("v3/app/devices/d/up",
         b'{"end_device_ids": {"dev_eui": "0004a30b00f0d40e"}, "uplink_message": '
         b'{"frm_payload": "!!", "received_at": "2024-01-01T00:00:00Z"}}', "base64"),
        ("v3/app/devices/d/up",
         b'{"end_device_ids": {"dev_eui": "0004a30b00f0d40e"}, "uplink_message": '
         b'{"frm_payload": "AQ==", "received_at": "yesterday"}}', "timestamp"),
        ("somewhere/else", b"{}", "neither"),
        ("v3/app/devices/d/up", b"\xff\xfe", "not JSON"),
    ],
)
def test_malformed_messages_say_why(topic: str, payload: bytes, reason: str) -> None:
    with pytest.raises(EnvelopeError, match=reason):
        parse(topic, payload)
