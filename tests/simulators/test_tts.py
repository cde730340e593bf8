"""Simulated network-server messages have the real messages' shape and parse back exactly."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.envelopes import parse
from meetnet.records import Uplink
from simulators.scenario import SimDevice, scenario_devices
from simulators.tts import airtime_s, chirpstack_uplink, rfc3339, tts_uplink

ENVELOPES = Path(__file__).resolve().parents[1] / "vectors" / "envelopes"
DEVICES = scenario_devices()
BIN = next(d for d in DEVICES if d.device_id == "bin-breestraat-01")
AT = datetime(2025, 11, 21, 8, 15, 2, 305820, tzinfo=UTC)
# The EM310-UDL frame of the vector (battery 92 %, distance 2116 mm, tilt).
PAYLOAD = bytes.fromhex("01755c03824408040001")


def _vector(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ENVELOPES / name).read_text())
    return doc


def _shape(value: Any) -> Any:
    """The key structure of a JSON value: dicts by their keys, lists by their first element."""
    if isinstance(value, dict):
        return {k: _shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(value[0])] if value else []
    return type(value).__name__ if not isinstance(value, int | float) else "number"


def test_tts_message_has_the_key_structure_of_the_real_one() -> None:
    vector = _vector("tts-v3-uplink.json")
    expected = _shape(vector["payload"])
    # Present only when the application has a payload formatter; meetnet decodes itself.
    del expected["uplink_message"]["decoded_payload"]
    for device in DEVICES:
        _, body = tts_uplink(device, 85, PAYLOAD, 1423, AT)
        doc = json.loads(body)
        assert _shape(doc) == expected, device.device_id
        # Every gateway entry is shaped like the vector's first (GPS-equipped) gateway.
        for rx in doc["uplink_message"]["rx_metadata"]:
            assert _shape(rx) == expected["uplink_message"]["rx_metadata"][0]


def test_tts_topic_and_ids() -> None:
    topic, body = tts_uplink(BIN, 85, PAYLOAD, 7, AT)
    assert topic == "v3/meetnet-waste@ttn/devices/bin-breestraat-01/up"
    doc = json.loads(body)
    ids = doc["end_device_ids"]
    assert ids["dev_eui"] == BIN.dev_eui.upper()  # TTS writes EUIs in upper case
    assert ids["device_id"] == BIN.device_id
    assert ids["application_ids"] == {"application_id": "meetnet-waste"}
    up = doc["uplink_message"]
    assert up["version_ids"]["brand_id"] == "milesight-iot"
    assert up["version_ids"]["model_id"] == "em310-udl"
    assert up["received_at"] == "2025-11-21T08:15:02.30582Z"
    assert doc["received_at"].endswith("Z") and doc["received_at"] > up["received_at"]
    other, _ = tts_uplink(BIN, 85, PAYLOAD, 7, AT, tenant="meetnet")
    assert other == "v3/meetnet-waste@meetnet/devices/bin-breestraat-01/up"
    bare, _ = tts_uplink(BIN, 85, PAYLOAD, 7, AT, tenant=None)  # TTS open source form
    assert bare == "v3/meetnet-waste/devices/bin-breestraat-01/up"


@pytest.mark.parametrize("payload", [PAYLOAD, bytes(range(256))[:51], b"\x00", b"\xff" * 11],
                         ids=["em310", "51-bytes", "zero", "ff"])
def test_payload_base64_round_trips(payload: bytes) -> None:
    _, body = tts_uplink(BIN, 85, payload, 1, AT)
    assert base64.b64decode(json.loads(body)["uplink_message"]["frm_payload"]) == payload
    _, body = chirpstack_uplink(BIN, 85, payload, 1, AT)
    assert base64.b64decode(json.loads(body)["data"]) == payload


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.device_id)
def test_tts_message_parses_back_to_the_same_uplink(device: SimDevice) -> None:
    topic, body = tts_uplink(device, 85, PAYLOAD, 1423, AT)
    up = parse(topic, body)
    assert isinstance(up, Uplink)
    assert (up.dev_eui, up.device_id, up.application_id) == (
        device.dev_eui, device.device_id, device.application_id)
    assert (up.network, up.received_at, up.f_cnt, up.f_port, up.payload) == (
        "tts", AT, 1423, 85, PAYLOAD)
    assert up.model_key == device.model_key
    assert up.tenant_id == "ttn"
    assert up.rssi is not None and -140 < up.rssi < -30
    assert up.snr is not None and -20 <= up.snr <= 12
    rx = json.loads(body)["uplink_message"]["rx_metadata"]
    assert up.gateway_count == len(rx) >= 1


def test_frame_counter_zero_is_left_out_as_tts_does() -> None:
    topic, body = tts_uplink(BIN, 85, PAYLOAD, 0, AT)
    assert "f_cnt" not in json.loads(body)["uplink_message"]
    up = parse(topic, body)
    assert isinstance(up, Uplink) and up.f_cnt == 0


def test_same_arguments_same_bytes() -> None:
    assert tts_uplink(BIN, 85, PAYLOAD, 5, AT) == tts_uplink(BIN, 85, PAYLOAD, 5, AT)
    assert tts_uplink(BIN, 85, PAYLOAD, 5, AT) != tts_uplink(BIN, 85, PAYLOAD, 6, AT)
    assert chirpstack_uplink(BIN, 85, PAYLOAD, 5, AT) == chirpstack_uplink(BIN, 85, PAYLOAD, 5, AT)


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        tts_uplink(BIN, 85, PAYLOAD, 1, datetime(2025, 11, 21, 8, 15))


def test_times_are_go_rfc3339nano() -> None:
    assert rfc3339(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2025-01-02T03:04:05Z"
    assert rfc3339(datetime(2025, 1, 2, 3, 4, 5, 120000, tzinfo=UTC)) == "2025-01-02T03:04:05.12Z"


def test_airtime_matches_the_vector() -> None:
    """The vector's 10-byte frame at SF7/125 kHz consumed 0.061696 s."""
    vector = _vector("tts-v3-uplink.json")["payload"]["uplink_message"]
    sf = vector["settings"]["data_rate"]["lora"]["spreading_factor"]
    frame = base64.b64decode(vector["frm_payload"])
    assert f"{airtime_s(len(frame), sf):.6f}s" == vector["consumed_airtime"]


def test_chirpstack_message_has_the_key_structure_of_the_real_one() -> None:
    vector = _vector("chirpstack-v4-up.json")
    expected = _shape(vector["payload"])
    del expected["object"]  # the device-profile codec's output; meetnet decodes itself
    expected["deviceInfo"]["tags"] = "tags"  # a free-form map set by the user
    for device in DEVICES:
        topic, body = chirpstack_uplink(device, 85, PAYLOAD, 5312, AT)
        assert topic == f"application/{device.application_id}/device/{device.dev_eui}/event/up"
        doc = json.loads(body)
        got = _shape(doc)
        assert all(isinstance(v, str) for v in doc["deviceInfo"]["tags"].values())
        got["deviceInfo"]["tags"] = "tags"
        # proto3 JSON leaves out default values: "dr" is absent at DR0 (SF12).
        if "dr" not in got:
            got["dr"] = "number"
        assert got == expected, device.device_id


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.device_id)
def test_chirpstack_message_parses_back(device: SimDevice) -> None:
    topic, body = chirpstack_uplink(device, 2, PAYLOAD, 5312, AT)
    up = parse(topic, body)
    assert isinstance(up, Uplink)
    assert (up.dev_eui, up.device_id, up.application_id, up.network) == (
        device.dev_eui, device.device_id, device.application_id, "chirpstack")
    assert (up.received_at, up.f_cnt, up.f_port, up.payload) == (AT, 5312, 2, PAYLOAD)
    assert up.gateway_count >= 1
