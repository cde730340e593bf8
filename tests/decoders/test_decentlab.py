"""Decentlab protocol v2 (decoders/decentlab.py): frames beyond the vendor's examples, derived by
hand from the datasheets' "Payload" section and the sensor definitions Decentlab publishes
(decentlab/decentlab-decoders, TTN vendor/decentlab/dl-*.js), and the claim that a model of the
family is nothing but its sensor table."""

from __future__ import annotations

import json
import struct
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from decoders import MODELS, DecodeError
from decoders import decentlab as dl
from decoders.decentlab import BATTERY, TABLES, Sensor, Table, Value
from meetnet.catalog import out_of_range
from simulators.encoders import ENCODERS, RESOLUTION
from simulators.encoders import decentlab as enc

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "devices"

M = 10.197  # m of fresh water per bar

# (model key, fPort, payload, readings or None for a DecodeError, check catalog ranges)
_CASES: list[tuple[str, int, str, dict[str, float] | None]] = [
    # Header only (flags 0): a valid frame with no sensor in it (datasheet: minimum 5 bytes).
    ("decentlab/dl-pr26", 1, "020167 0000", {}),
    # DL-PR26, 0..1 bar over raw 16384..49152: the range's ends; 0x0180 = 384 -> -50 degC,
    # 0x5F40 = 24384 -> 25 degC.
    ("decentlab/dl-pr26", 1, "020167 0001 4000 0180",
     {"water_depth": 0.0, "gauge_pressure": 0.0, "temperature": -50.0}),
    ("decentlab/dl-pr26", 1, "020167 0001 c000 5f40",
     {"water_depth": M, "gauge_pressure": 100_000.0, "temperature": 25.0}),
    # DL-PR21, -1..10 bar: 0x6000 = 24576 -> 8192 / 32768 * 11 - 1 = 1.75 bar.
    ("decentlab/dl-pr21", 1, "020167 0003 6000 5f40 0bb8",
     {"water_depth": 1.75 * M, "gauge_pressure": 175_000.0, "temperature": 25.0,
      "battery_voltage": 3.0}),
    # DL-PR36, kp = 8192: 0x8000 is 0 bar and 0 degC; 0xA000 = 40960 -> 1 bar;
    # 0x9900 = 39168 -> 6400 / 256 = 25 degC; 0x7600 = 30208 -> -10 degC.
    ("decentlab/dl-pr36", 1, "02032b 0001 8000 8000",
     {"water_depth": 0.0, "gauge_pressure": 0.0, "temperature": 0.0}),
    ("decentlab/dl-pr36", 1, "02032b 0001 a000 9900",
     {"water_depth": M, "gauge_pressure": 100_000.0, "temperature": 25.0}),
    ("decentlab/dl-pr36", 1, "02032b 0001 a000 7600",
     {"water_depth": M, "gauge_pressure": 100_000.0, "temperature": -10.0}),
    # DL-PR36CTD: the stored temperature is the PT1000's (third word, 0x8A00 -> 10 degC), not
    # the electronics' (25 degC); conductivity (0x8400 -> 1 mS/cm) has no catalog metric.
    ("decentlab/dl-pr36ctd", 1, "020a17 0003 a000 9900 8a00 8400 0c2b",
     {"water_depth": M, "gauge_pressure": 100_000.0, "temperature": 10.0,
      "battery_voltage": 3.115}),
    ("decentlab/dl-pr36ctd", 1, "020a17 0001 a000 9900 8a00", None),  # 4-word sensor cut off
    ("decentlab/dl-pr36ctd", 1, "020a17 0004 0c2b", None),  # bit 2: no such sensor
    # DL-LP8P: barometer alone (its own temperature 0x1D4C -> 25 degC is not stored;
    # 0xC5C1 = 50625 -> 101250 Pa); CO2 0x8000 -> 0 ppm with diagnostics words.
    ("decentlab/dl-lp8p", 1, "020578 0002 1d4c c5c1", {"pressure": 101_250.0}),
    ("decentlab/dl-lp8p", 1, "020578 0004 8000 8000 8c3c 0bb8 0bb8 0000 0000 0000", {"co2": 0.0}),
    ("decentlab/dl-lp8p", 1, "020578 0004 8000 8000 8c3c 0bb8 0bb8 0000 0000", None),
    ("decentlab/dl-lp8p", 1, "020578 0010 0c25", None),  # bit 4 on a 4-sensor model
    # DL-MBX: no valid sample -> no distance; 0x0FA0 = 4000 mm.
    ("decentlab/dl-mbx", 1, "02012f 0001 04d2 0000", {}),
    ("decentlab/dl-mbx", 1, "02012f 0003 0fa0 0005 0bb8", {"distance": 4.0, "battery_voltage": 3.0}),
    # Malformed, any model: wrong version, short header, flags past the table, trailing bytes,
    # sensor cut off, ports that carry no application data.
    ("decentlab/dl-pr21", 1, "", None),
    ("decentlab/dl-pr21", 1, "02", None),
    ("decentlab/dl-pr21", 1, "020167 00", None),
    ("decentlab/dl-pr21", 1, "010167 0002 0c7f", None),  # protocol version 1
    ("decentlab/dl-pr36", 1, "030167 0002 0c7f", None),  # protocol version 3
    ("decentlab/dl-pr21", 1, "020167 8002 0c7f", None),  # bit 15
    ("decentlab/dl-pr21", 1, "020167 0002 0c7f 00", None),  # trailing byte
    ("decentlab/dl-pr21", 1, "020167 0000 00", None),  # byte after a header-only frame
    ("decentlab/dl-pr21", 1, "020167 0003 4e80 6017", None),  # battery cut off
    ("decentlab/dl-pr36", 1, "02032b 0003 8067 97", None),  # word cut in half
    ("decentlab/dl-pr21", 0, "020167 0002 0c7f", None),  # fPort 0: MAC commands
    ("decentlab/dl-pr36", 224, "02032b 0002 0c2b", None),  # fPort 224: LoRaWAN test protocol
]


@pytest.mark.parametrize(("key", "f_port", "payload_hex", "readings"), _CASES)
def test_spec_case(key: str, f_port: int, payload_hex: str, readings: dict[str, float] | None) -> None:
    payload = bytes.fromhex(payload_hex.replace(" ", ""))
    if readings is None:
        with pytest.raises(DecodeError):
            MODELS[key].decode(f_port, payload)
        return
    got = MODELS[key].decode(f_port, payload)
    as_dict = {r.metric: r.value for r in got}
    assert len(as_dict) == len(got), f"a metric read twice: {got}"
    assert sorted(as_dict) == sorted(readings)
    for metric, value in readings.items():
        assert as_dict[metric] == pytest.approx(value, rel=1e-12, abs=1e-9), metric
        assert out_of_range(metric, as_dict[metric]) is None


def test_pressure_range_ends() -> None:
    # The ranges the tables encode, at the ends of the raw scale (values, not catalog ranges:
    # -1 bar in a pipe is a real reading but no water depth).
    def bar(key: str, raw: int) -> float:
        frame = struct.pack(">BHHHH", 2, 1, 1, raw, 0x5F40 if "pr2" in key else 0x8000)
        got = {r.metric: r.value for r in MODELS[key].decode(1, frame)}
        return got["gauge_pressure"] / 100_000

    assert bar("decentlab/dl-pr21", 16384) == pytest.approx(-1.0)
    assert bar("decentlab/dl-pr21", 49152) == pytest.approx(10.0)
    assert bar("decentlab/dl-pr26", 16384) == pytest.approx(0.0, abs=1e-12)
    assert bar("decentlab/dl-pr26", 49152) == pytest.approx(1.0)
    assert bar("decentlab/dl-pr36", 0) == pytest.approx(-4.0)
    assert bar("decentlab/dl-pr36", 0xFFFF) == pytest.approx(32767 / 8192)


# --- the tables mirror the vendor's sensor definitions ------------------------------------------


def _vendor_values(table: Table, payload: bytes) -> dict[str, float]:
    """Every value of the frame by the vendor's name, in the vendor's unit: a walk of the frame
    of its own (not the decoder's) with the table's conversions."""
    flags = int.from_bytes(payload[3:5], "big")
    pos, out = 5, {}
    for i, sensor in enumerate(table.sensors):
        if flags & (1 << i):
            x = struct.unpack_from(f">{sensor.words}H", payload, pos)
            pos += 2 * sensor.words
            for v in sensor.values:
                out[v.name] = (x[v.word] - v.sub) * v.mul / v.div + v.add
    return out


def _decentlab_examples() -> list[Any]:
    cases = []
    for table in TABLES:
        doc = json.loads((VECTORS / MODELS[table.key].vectors).read_text(encoding="utf-8"))
        for i, ex in enumerate(doc["examples"]):
            cases.append(pytest.param(table, ex, id=f"{table.key}#{i}"))
    return cases


@pytest.mark.parametrize(("table", "example"), _decentlab_examples())
def test_table_gives_every_vendor_value(table: Table, example: dict[str, Any]) -> None:
    """Each table lists all of the vendor's values, diagnostics included, with its conversion:
    applied to the vendor's example it gives the vendor's published output, name by name."""
    expected = {k: (v["value"] if isinstance(v, dict) else v) for k, v in example["expected"].items()
                if k not in ("device_id", "protocol_version")}
    got = _vendor_values(table, bytes.fromhex(example["payload_hex"]))
    assert sorted(got) == sorted(expected)
    for name, value in expected.items():
        assert got[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name


# --- a model is a table -------------------------------------------------------------------------


def test_every_decentlab_model_comes_from_a_table() -> None:
    registered = {k for k, m in MODELS.items() if m.vendor == "Decentlab"}
    assert registered == {t.key for t in TABLES}
    for table in TABLES:
        model = MODELS[table.key]
        # The one decoder, given this model's table: no code of its own.
        assert isinstance(model.decode, partial) and model.decode.func is dl.decode
        assert model.metrics == dl.metrics(table)
        assert model.vectors == table.key.replace("/", "-") + ".json"
        assert model.decode_frame is None and model.decode_object is None
        assert isinstance(ENCODERS[table.key], partial) and ENCODERS[table.key].func is enc.encode
        assert RESOLUTION[table.key] == enc.resolution(table)


def test_a_new_model_costs_one_table() -> None:
    # A made-up member of the family: a level sensor (mm, signed around 0x8000) and the battery.
    table = Table(
        "decentlab/dl-example", "DL-EXAMPLE", "water", "https://www.decentlab.com/", "dl-example.js",
        (Sensor(2, (
            Value("level", 0, sub=32768, div=1000, store=(("distance", 1.0),)),
            Value("status", 1),
        )), BATTERY),
    )
    model = dl.device_model(table)
    assert model.metrics == ("distance", "battery_voltage")
    # 0x8FA0 = 36768 -> 4000 / 1000 = 4 m; 0x0BB8 -> 3 V.
    got = {r.metric: r.value for r in model.decode(1, bytes.fromhex("020001 0003 8fa0 0000 0bb8"))}
    assert got == pytest.approx({"distance": 4.0, "battery_voltage": 3.0})
    f_port, payload = enc.encode(table, {"distance": 1.234, "battery_voltage": 3.3})
    again = {r.metric: r.value for r in model.decode(f_port, payload)}
    assert again == pytest.approx({"distance": 1.234, "battery_voltage": 3.3})
    assert enc.resolution(table) == {"distance": 0.001, "battery_voltage": 0.001}


def test_a_table_that_cannot_be_sent_is_refused() -> None:
    with pytest.raises(ValueError, match="word"):
        dl.device_model(Table("decentlab/dl-bad", "DL-BAD", "water", "", "",
                              (Sensor(1, (Value("x", 1, store=(("distance", 1.0),)),)),)))
    with pytest.raises(ValueError, match="flag bits"):
        dl.device_model(Table("decentlab/dl-bad", "DL-BAD", "water", "", "", (BATTERY,) * 17))


def test_encoder_sends_only_the_sensors_it_is_given() -> None:
    _, payload = ENCODERS["decentlab/dl-pr36ctd"]({"battery_voltage": 3.6})
    assert payload == bytes.fromhex("020001 0002 0e10".replace(" ", ""))
    # Depth given: the pressure word is its inverse (1 bar = 8192 counts above 0x8000), the
    # other words nominal (20 degC -> 0x9400, 0.5 mS/cm -> 0x8200).
    _, payload = ENCODERS["decentlab/dl-pr36ctd"]({"water_depth": M})
    assert payload == bytes.fromhex("020001 0001 a000 9400 9400 8200".replace(" ", ""))
