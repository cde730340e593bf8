"""Every registered model decodes its vendor's examples to the readings derived by hand in the
vector file (tests/vectors/devices/<file>, "readings"), and the registry and the vector files
match one to one (docs/architecture.md, "Habits": a model without vectors or a file without a model fails).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from decoders import MODELS, DecodeError, decode, decode_frame
from meetnet.catalog import METRICS, out_of_range
from meetnet.records import Reading

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "devices"
SLUG = re.compile(r"^[a-z0-9-]+/[a-z0-9-]+$")


def _load(name: str) -> dict[str, Any]:
    with (VECTORS / name).open(encoding="utf-8") as f:
        data: dict[str, Any] = json.load(f)
    return data


def _examples() -> list[Any]:
    cases = []
    for key, model in sorted(MODELS.items()):
        if not (VECTORS / model.vectors).is_file():
            continue  # reported by test_every_model_has_vectors
        for i, ex in enumerate(_load(model.vectors)["examples"]):
            cases.append(pytest.param(key, ex, id=f"{key}#{i}:{ex.get('description', '')[:40]}"))
    return cases


def _as_dict(readings: list[Reading]) -> dict[str, float | list[float]]:
    """Readings as {metric: value}; a metric read more than once (history records) as a list."""
    out: dict[str, float | list[float]] = {}
    for r in readings:
        if r.metric in out:
            prev = out[r.metric]
            out[r.metric] = [*prev, r.value] if isinstance(prev, list) else [prev, r.value]
        else:
            out[r.metric] = r.value
    return out


def _assert_readings(got: dict[str, float | list[float]], want: dict[str, Any]) -> None:
    assert sorted(got) == sorted(want), f"metrics differ: got {got}, want {want}"
    for metric, value in want.items():
        assert got[metric] == pytest.approx(value, rel=1e-9, abs=1e-9), metric


def test_model_keys_are_lowercase_slugs() -> None:
    bad = [key for key in MODELS if not SLUG.match(key)]
    assert not bad, f"model keys must match {SLUG.pattern}: {bad}"


def test_every_model_has_vectors() -> None:
    missing = [f"{key} -> {m.vectors}" for key, m in MODELS.items() if not (VECTORS / m.vectors).is_file()]
    assert not missing, f"registered models without a vector file: {missing}"


def test_every_vector_file_has_a_model() -> None:
    used = {m.vectors for m in MODELS.values()}
    orphans = sorted(p.name for p in VECTORS.glob("*.json") if p.name not in used)
    assert not orphans, f"vector files that no registered model uses: {orphans}"


def test_declared_metrics_are_in_the_catalog() -> None:
    for key, model in MODELS.items():
        unknown = [m for m in model.metrics if m not in METRICS]
        assert not unknown, f"{key} declares metrics outside the catalog: {unknown}"


def test_every_example_has_hand_derived_readings() -> None:
    for model in MODELS.values():
        if not (VECTORS / model.vectors).is_file():
            continue
        for ex in _load(model.vectors)["examples"]:
            if not ex.get("expected_errors"):
                assert "readings" in ex, f"{model.vectors}: {ex.get('description')} has no 'readings'"


@pytest.mark.parametrize(("key", "example"), _examples())
def test_vendor_example(key: str, example: dict[str, Any]) -> None:
    payload = bytes.fromhex(example["payload_hex"])
    # Passthrough examples carry the network server's decoded object and the device config
    # (its field map); the other models decode the bytes alone.
    config, decoded = example.get("config"), example.get("decoded")
    if example.get("expected_errors"):
        with pytest.raises(DecodeError):
            decode(key, example["f_port"], payload, config, decoded)
        return
    frame = decode_frame(key, example["f_port"], payload, config, decoded)
    readings = frame.readings
    _assert_readings(_as_dict(readings), example["readings"])
    # What the frame says about the device itself (versions, serial number, settings confirmed
    # by a downlink response) goes to the device's attributes, never to readings; an example
    # without "attributes" carries none.
    assert dict(frame.attributes) == example.get("attributes", {})
    for r in readings:
        # A passthrough model's metrics are whatever its device's field map names.
        declared = MODELS[key].metrics if MODELS[key].decode_object is None else (r.metric,)
        assert r.metric in declared, f"{key} emits undeclared metric {r.metric}"
        assert out_of_range(r.metric, r.value) is None, out_of_range(r.metric, r.value)


# Cases beyond the vendor's examples, each derived by hand from the payload spec the decoder
# cites: frames the vendors do not show (device information, history, error codes, other
# payload variants) and malformed input that must become a DecodeError.
_SPEC_CASES: list[tuple[str, int, str, dict[str, float | list[float]] | None]] = [
    # Milesight device-information frame after power-on: versions, serial, class; no readings.
    ("milesight-iot/em310-udl", 85, "ff0bff ff0101 ff166329c42903640033 ff090100 ff0a0101 ff0f00", {}),
    ("milesight-iot/em310-udl", 85, "ff0bff 01755c 03820f00 040000",
     {"battery": 92, "distance": 0.015, "tilt": 0}),
    ("milesight-iot/em310-udl", 85, "", None),  # empty
    ("milesight-iot/em310-udl", 85, "017564 0382", None),  # distance value cut off
    ("milesight-iot/em310-udl", 85, "0175", None),  # battery value missing
    ("milesight-iot/em310-udl", 85, "01755c03", None),  # truncated channel header
    # A pair the model does not document: stepped over when its type has Milesight's one size
    # (0x82, a uint16 distance), refused when not (0xE1: its length cannot be known).
    ("milesight-iot/em310-udl", 85, "017564 0582ffff", {"battery": 100}),
    ("milesight-iot/em310-udl", 85, "017564 05e1ffff", None),
    ("milesight-iot/em310-udl", 1, "01755c", None),  # wrong fPort
    # EM500-SWL: depth in cm; 0xFFFF (read failed) and 0xFFFD (out of range) give no reading;
    # a history record carries its own unix time (0x65920080 = 1704067200 = 2024-01-01T00:00Z).
    ("milesight-iot/em500-swl", 85, "017564 0377e803", {"battery": 100, "water_depth": 10.0}),
    ("milesight-iot/em500-swl", 85, "017564 0377ffff", {"battery": 100}),
    ("milesight-iot/em500-swl", 85, "0377fdff", {}),
    ("milesight-iot/em500-swl", 85, "20ce80009265 7b00 20ce3c0e9265 7c00",
     {"water_depth": [1.23, 1.24]}),
    ("milesight-iot/em500-swl", 85, "ff1b020a000000 03770a00", {"water_depth": 0.1}),
    ("milesight-iot/em500-swl", 85, "0377e8", None),
    # Elsys: negative temperature (0xFF38 = -200 -> -20.0), VDD 3600 mV, pressure 1013250 / 1000
    # hPa = 101325 Pa, TVOC 0x01F4 = 500 ppb; acceleration and external distance are skipped.
    ("elsys/ers-co2", 5, "01ff38 070e10 1400 0f 76 02 1c01f4",
     {"temperature": -20.0, "battery_voltage": 3.6, "pressure": 101325.0, "tvoc": 500}),
    ("elsys/ers-co2", 5, "0100e2 0301ff40 0e0bb8 0500", {"temperature": 22.6, "motion": 0}),
    ("elsys/ers-co2", 6, "3e4a0701080509010a00", {}),  # settings frame after reset
    ("elsys/ers-co2", 5, "0100e2 3e0102", {"temperature": 22.6}),
    ("elsys/ers-co2", 5, "0100", None),  # temperature cut off
    ("elsys/ers-co2", 5, "0100e2 2001", None),  # type 0x20 is not in the spec
    ("elsys/ers-co2", 5, "", None),
    ("elsys/ers-co2", 0, "0100e2", None),  # fPort 0 is MAC commands
    # IMBuildings: the same variant-6 body without header on fPort 26 (counter A 5, B 7,
    # battery 0x0126 = 2.94 V); variant 8 heartbeat on fPort 28; variant 7 totals only.
    ("imbuildings/imbuildings-people-counter", 26, "00 0126 0005 0007 20 000d 000a 6a",
     {"battery_voltage": 2.94, "pedestrian_count_in": 5, "pedestrian_count_out": 7,
      "pedestrian_count": 12}),
    ("imbuildings/imbuildings-people-counter", 28, "00 0126 20", {"battery_voltage": 2.94}),
    ("imbuildings/imbuildings-people-counter", 1, "0208 0004a30b00f0d40e 00 0126 20",
     {"battery_voltage": 2.94}),
    ("imbuildings/imbuildings-people-counter", 27, "20 000d 000a", {}),
    ("imbuildings/imbuildings-people-counter", 1, "0205 0004a30b00f0d40e 00 0100 0003 0004 20 6a",
     {"battery_voltage": 2.56, "pedestrian_count_in": 3, "pedestrian_count_out": 4,
      "pedestrian_count": 7}),
    ("imbuildings/imbuildings-people-counter", 10, "f101 0a1e0f", {}),  # downlink response
    ("imbuildings/imbuildings-people-counter", 26, "00 0126 0005", None),  # short
    ("imbuildings/imbuildings-people-counter", 1, "0206 0004a30b00f0d40e 00", None),
    ("imbuildings/imbuildings-people-counter", 1, "0103 0004a30b", None),  # comfort sensor
    ("imbuildings/imbuildings-people-counter", 1, "", None),
    # PCR2: a second 0A is the left-to-right field again, never right-to-left (Parametric's
    # PCR2 Application Payload V2 and pcr2.js: 0A = LTR, 16 = RTL), so a frame repeating it is
    # refused (tests/decoders/test_parametric.py); negative temperature (0xFF9A = -102 ->
    # -10.2); Cayenne LPP counts; device id frame of firmware 4 on 190.
    ("parametric/pcr2", 14, "0a0002 0a0001 010139", None),
    ("parametric/pcr2", 14, "0a0010 160013 01ff9a",
     {"vehicle_count_ltr": 16, "vehicle_count_rtl": 19, "vehicle_count": 35, "temperature": -10.2}),
    ("parametric/pcr2", 14, "006605 016603 0267",
     {"vehicle_count_ltr": 5, "vehicle_count_rtl": 3, "vehicle_count": 8}),
    ("parametric/pcr2", 14, "be0103 0001 0002 0003 0004 00 0000 0139",
     {"vehicle_count_ltr": 1, "vehicle_count_rtl": 2, "vehicle_count": 3, "temperature": 31.3}),
    ("parametric/pcr2", 190, "be0105d50040014200", {}),
    ("parametric/pcr2", 190, "be0103", None),  # no config version is 3 bytes long
    ("parametric/pcr2", 14, "be0104 0001 0002", None),  # V4 cut off
    ("parametric/pcr2", 14, "be0109 0001 0002 0003 0004 00 0000 0139", None),  # unknown version
    ("parametric/pcr2", 14, "0a00", None),
    ("parametric/pcr2", 14, "0a0001 050002", None),  # unknown field
    ("parametric/pcr2", 1, "0a0001160002010023", None),  # wrong fPort
    ("parametric/pcr2", 14, "", None),
    ("parametric/pcr2", 14, "be0101a5 0001 0002 0003", None),  # firmware 4 AppData: not supported
    # EM400-UDL alarm channels: value followed by an alarm-state byte (0x00FB = 251 -> 25.1 degC;
    # 0x0190 = 400 mm).
    ("milesight-iot/em400-udl", 85, "8367fb0001 84829001 00",
     {"temperature": 25.1, "distance": 0.4}),
    ("milesight-iot/em400-udl", 85, "0367f8ff 0482", None),
    # AM319: history record at 2024-01-01T00:00Z: 21.5 degC (0x00D7), 45 %RH (0x005A / 2), PIR 0,
    # light 2, CO2 812 ppm (0x032C), TVOC, 1013.2 hPa (0x2794), PM2.5 10, PM10 12 ug/m3, HCHO.
    ("milesight-iot/am319", 85, "20ce 80009265 d700 5a00 00 02 2c03 2500 9427 0a00 0c00 0400",
     {"temperature": 21.5, "humidity": 45.0, "co2": 812, "pressure": 101320.0, "pm2_5": 10.0,
      "pm10": 12.0}),
    ("milesight-iot/am319", 85, "0367 0001 08e6 3412", {"temperature": 25.6}),
    ("milesight-iot/am319", 85, "20ce 80009265 d700", None),  # history record cut off
    # Decentlab: flags select sensors; bits outside the model and trailing bytes are errors;
    # 0x6000 = 24576 -> (24576 - 16384) / 32768 = 0.25 bar = 25000 Pa = 2.54925 m of water;
    # 0x5F40 = 24384 -> (24384 - 384) * 0.003125 - 50 = 25.0 degC.
    ("decentlab/dl-pr26", 1, "020167 0001 6000 5f40",
     {"gauge_pressure": 25000.0, "water_depth": 2.54925, "temperature": 25.0}),
    ("decentlab/dl-pr26", 1, "020167 0004 0c7f", None),  # bit 2: no such sensor
    ("decentlab/dl-pr26", 1, "020167 0002 0c7f 00", None),  # trailing byte
    ("decentlab/dl-pr26", 1, "030167 0002 0c7f", None),  # protocol version 3
    ("decentlab/dl-pr26", 1, "020167 0003 6000", None),  # cut off
    ("decentlab/dl-pr26", 1, "", None),
    ("decentlab/dl-lp8p", 1, "020578 0004 8000 8000 8c3c 0bb8 0bb8 0000 0000 0000",
     {"co2": 0.0}),
    # Dragino LDDS75: full 8-byte frame (BAT flag bits masked: 0xCE1C & 0x3FFF = 3612 mV),
    # no-sensor code, invalid-reading code, status frame on fPort 5, bad lengths.
    ("dragino/ldds75", 2, "ce1c 0b05 00 0105 01", {"battery_voltage": 3.612, "distance": 2.821}),
    ("dragino/ldds75", 2, "0e1c 0000 00 0000 00", {"battery_voltage": 3.612}),
    ("dragino/ldds75", 2, "0e1c 0013 00", {"battery_voltage": 3.612}),
    ("dragino/ldds75", 5, "0c 0101 01 00 0e1c", {"battery_voltage": 3.612}),
    ("dragino/ldds75", 5, "0c01", None),
    ("dragino/ldds75", 2, "0e1c0b05000105", None),
    ("dragino/ldds75", 2, "", None),
]


@pytest.mark.parametrize(
    ("key", "f_port", "payload_hex", "readings"),
    _SPEC_CASES,
    ids=[f"{k}:{p}:{h.replace(' ', '')[:24] or 'empty'}" for k, p, h, _ in _SPEC_CASES],
)
def test_spec_case(key: str, f_port: int, payload_hex: str,
                   readings: dict[str, float | list[float]] | None) -> None:
    payload = bytes.fromhex(payload_hex.replace(" ", ""))
    if readings is None:
        with pytest.raises(DecodeError):
            MODELS[key].decode(f_port, payload)
        return
    decoded = MODELS[key].decode(f_port, payload)
    _assert_readings(_as_dict(decoded), readings)
    for r in decoded:
        assert r.metric in MODELS[key].metrics
        assert out_of_range(r.metric, r.value) is None, out_of_range(r.metric, r.value)


def test_history_records_keep_the_device_time() -> None:
    readings = MODELS["milesight-iot/em500-swl"].decode(85, bytes.fromhex("20ce800092657b00"))
    assert [r.time.isoformat() if r.time else None for r in readings] == ["2024-01-01T00:00:00+00:00"]


def test_docs_devices_lists_every_model() -> None:
    """docs/devices.md is where a buyer looks up what meetnet decodes: every registered model is
    in its table with its key and use case, and nothing else is."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "devices.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^\| [^|]+ \| `([^`]+)` \| (\w+) \|", doc, re.M))
    assert listed == {(key, m.use_case) for key, m in MODELS.items()}
