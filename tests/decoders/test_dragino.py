"""Dragino LDDS75, LDDS45 and DDS75-LB beyond the vendors' examples, each case derived by hand
from the user manuals' "Uplink Payload", "Datalog" and "Device Status" sections (decoders/dragino.py):
distance codes, flag bits, the status frame's attributes, datalog times, and malformed frames."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from decoders import MODELS, DecodeError, decode_frame
from meetnet.catalog import out_of_range

DISTANCE_MODELS = ("dragino/ldds75", "dragino/ldds45", "dragino/dds75-lb")

# (model, fPort, payload, readings as {metric: value}); None = DecodeError.
_CASES: list[tuple[str, int, str, dict[str, float] | None]] = [
    # BAT flag bits (top two) are masked: 0xC000 | 3300 mV.
    *[(m, 2, "cce4 0118 00 0000 01", {"battery_voltage": 3.3, "distance": 0.28}) for m in DISTANCE_MODELS],
    # 0x0014 (20 mm) is the manuals' invalid-reading code, not a distance; 21 mm is a distance.
    *[(m, 2, "0ce4 0014 00 0000 01", {"battery_voltage": 3.3}) for m in DISTANCE_MODELS],
    *[(m, 2, "0ce4 0015 00 0000 01", {"battery_voltage": 3.3, "distance": 0.021}) for m in DISTANCE_MODELS],
    # No probe: distance 0, sensor flag 0.
    *[(m, 2, "0ce4 0000 00 0000 00", {"battery_voltage": 3.3}) for m in DISTANCE_MODELS],
    # Interrupt uplink with a negative DS18B20 (0xFF3F = -19.3 degC, not stored), 7500 mm.
    *[(m, 2, "0ce4 1d4c 01 ff3f 01", {"battery_voltage": 3.3, "distance": 7.5}) for m in DISTANCE_MODELS],
    # LDDS75 / LDDS45 firmware before v1.1.4: BAT + distance (+ interrupt flag).
    *[(m, 2, "0ce4 0af0", {"battery_voltage": 3.3, "distance": 2.8}) for m in DISTANCE_MODELS[:2]],
    *[(m, 2, "0ce4 0af0 01", {"battery_voltage": 3.3, "distance": 2.8}) for m in DISTANCE_MODELS[:2]],
    # ... which the DDS75-LB never sends.
    ("dragino/dds75-lb", 2, "0ce4 0af0", None),
    ("dragino/dds75-lb", 2, "0ce4 0af0 01", None),
    # Truncated, overlong and empty frames; unknown ports.
    *[(m, 2, "0ce4 0af0 00 0000", None) for m in DISTANCE_MODELS],
    *[(m, 2, "0ce4 0af0 00 0000 01 00", None) for m in DISTANCE_MODELS],
    *[(m, 2, "", None) for m in DISTANCE_MODELS],
    *[(m, 5, "27 0130 01 ff 0c", None) for m in DISTANCE_MODELS],
    *[(m, 1, "0ce4 0af0 00 0000 01", None) for m in DISTANCE_MODELS],
    *[(m, 3, "0ce4 0af0 00 0000 01 65920080", None) for m in DISTANCE_MODELS[:2]],
    # Datalog: a record with the no-sensor code keeps its battery; records must be whole.
    ("dragino/dds75-lb", 3, "0ce4 0000 0000 00 65920080", {"battery_voltage": 3.3}),
    ("dragino/dds75-lb", 3, "0ce4 0af0 0105 01 659200", None),
    ("dragino/dds75-lb", 3, "", None),
    # Detect mode: uint16 distances without times, no readings; an odd length is not a list.
    ("dragino/dds75-lb", 6, "0b05", {}),
    ("dragino/dds75-lb", 6, "0b05 0a", None),
    ("dragino/dds75-lb", 6, "", None),
]


def _readings(key: str, f_port: int, payload: bytes) -> dict[str, float]:
    out: dict[str, float] = {}
    for r in MODELS[key].decode(f_port, payload):
        assert r.metric not in out, f"{r.metric} read twice"
        assert r.metric in MODELS[key].metrics
        assert out_of_range(r.metric, r.value) is None, out_of_range(r.metric, r.value)
        out[r.metric] = r.value
    return out


@pytest.mark.parametrize(
    ("key", "f_port", "payload_hex", "want"),
    _CASES,
    ids=[f"{k}:{p}:{h.replace(' ', '') or 'empty'}" for k, p, h, _ in _CASES],
)
def test_spec_case(key: str, f_port: int, payload_hex: str, want: dict[str, float] | None) -> None:
    payload = bytes.fromhex(payload_hex.replace(" ", ""))
    if want is None:
        with pytest.raises(DecodeError):
            MODELS[key].decode(f_port, payload)
        return
    got = _readings(key, f_port, payload)
    assert sorted(got) == sorted(want)
    for metric, value in want.items():
        assert got[metric] == pytest.approx(value, abs=1e-9), metric


@pytest.mark.parametrize("key", DISTANCE_MODELS)
def test_status_frame_describes_the_device(key: str) -> None:
    # Model 0x27, firmware 0x0121 = 1.2.1, band 0x04 = AU915, sub-band 2, BAT 0x0E10 = 3600 mV.
    frame = decode_frame(key, 5, bytes.fromhex("27 0121 04 02 0e10".replace(" ", "")))
    assert [(r.metric, r.value) for r in frame.readings] == [("battery_voltage", 3.6)]
    assert dict(frame.attributes) == {
        "sensor_model": "DDS75-LB", "firmware_version": "1.2.1", "frequency_band": "AU915",
        "sub_band": 2,
    }


def test_status_frame_gives_unknown_codes_in_hex() -> None:
    # Model 0x0C (no name in Dragino's decoders), band 0x0F (not in the band table), no sub-band.
    frame = decode_frame("dragino/ldds75", 5, bytes.fromhex("0c01010fff0e1c"))
    assert dict(frame.attributes) == {
        "sensor_model": "0x0c", "firmware_version": "1.0.1", "frequency_band": "0x0f",
    }


def test_data_frames_carry_no_attributes() -> None:
    for key in DISTANCE_MODELS:
        frame = decode_frame(key, 2, bytes.fromhex("0ce40af0000000" "01"))
        assert frame.attributes == {}


def test_datalog_readings_keep_the_device_time() -> None:
    # Two records, Unix time 0x65920080 = 2024-01-01T00:00Z and 0x6592_0E90 = 01:00Z.
    payload = bytes.fromhex("0cf60b0501050165920080" "0cf50af001040165920e90")
    readings = MODELS["dragino/dds75-lb"].decode(3, payload)
    first = datetime(2024, 1, 1, tzinfo=UTC)
    second = datetime(2024, 1, 1, 1, tzinfo=UTC)
    assert [(r.metric, r.value, r.time) for r in readings] == [
        ("battery_voltage", 3.318, first), ("distance", 2.821, first),
        ("battery_voltage", 3.317, second), ("distance", 2.8, second),
    ]


def test_the_three_models_share_the_data_frame() -> None:
    payload = bytes.fromhex("8d3b0aef01ff3f01")
    decoded = {key: MODELS[key].decode(2, payload) for key in DISTANCE_MODELS}
    assert decoded["dragino/ldds75"] == decoded["dragino/ldds45"] == decoded["dragino/dds75-lb"]
