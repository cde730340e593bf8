"""Decentlab protocol v2 frames on fPort 1 (see decoders/decentlab.py for the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence

from simulators.encoders.quantise import Encoder, clamp_int

PORT = 1
_VERSION = 2
# A simulated device has no id of its own.
_DEVICE_ID = 0x0001


def _word(value: float) -> int:
    return clamp_int(value, 0, 0xFFFF)


def _frame(sensors: Sequence[Sequence[int] | None]) -> bytes:
    """Frame with the sensors that have words; ``None`` = sensor not sent (flag bit clear)."""
    flags = sum(1 << i for i, words in enumerate(sensors) if words is not None)
    out = struct.pack(">BHH", _VERSION, _DEVICE_ID, flags)
    for words in sensors:
        if words is not None:
            out += struct.pack(f">{len(words)}H", *words)
    return out


def _battery(values: Mapping[str, float]) -> list[int] | None:
    if "battery_voltage" not in values:
        return None
    return [_word(values["battery_voltage"] * 1000)]


def dl_pr26(values: Mapping[str, float]) -> tuple[int, bytes]:
    """DL-PR26 (0..1 bar part): water_depth m or gauge_pressure Pa (one pressure word, 1/32768
    of the range), temperature degC (0.003125), battery_voltage V (sent in mV). A missing half of
    the pressure/temperature sensor is sent as 0 bar / 20 degC."""
    sensor0: list[int] | None = None
    if {"water_depth", "gauge_pressure", "temperature"} & values.keys():
        if "water_depth" in values:
            bar = values["water_depth"] / 10.197
        else:
            bar = values.get("gauge_pressure", 0.0) / 100_000
        temperature = values.get("temperature", 20.0)
        sensor0 = [_word(bar * 32768 + 16384), _word((temperature + 50) / 0.003125 + 384)]
    return PORT, _frame([sensor0, _battery(values)])


def dl_lp8p(values: Mapping[str, float]) -> tuple[int, bytes]:
    """DL-LP8P: temperature degC and humidity %RH (SHT raw words), pressure Pa (2 Pa), co2 ppm,
    battery_voltage V (sent in mV). A missing half of the temperature/humidity sensor is sent as
    20 degC / 50 %RH; the CO2 diagnostics words as nominal values."""
    sht: list[int] | None = None
    if {"temperature", "humidity"} & values.keys():
        temperature = values.get("temperature", 20.0)
        humidity = values.get("humidity", 50.0)
        sht = [_word((temperature + 46.85) * 65536 / 175.72), _word((humidity + 6) * 65536 / 125)]
    barometer = None
    if "pressure" in values:
        barometer = [_word(values.get("temperature", 20.0) * 100 + 5000), _word(values["pressure"] / 2)]
    co2 = None
    if "co2" in values:
        raw = _word(values["co2"] + 32768)
        # co2, low-pass co2, sensor temperature (20 degC), capacitor voltages (3.0 V), status,
        # raw IR and its low-pass value.
        co2 = [raw, raw, 32768 + 2000, 3000, 3000, 0, 0, 0]
    return PORT, _frame([sht, barometer, co2, _battery(values)])


def dl_mbx(values: Mapping[str, float]) -> tuple[int, bytes]:
    """DL-MBX: distance m (sent in mm, with 1 valid sample), battery_voltage V (sent in mV)."""
    distance = None
    if "distance" in values:
        distance = [_word(values["distance"] * 1000), 1]
    return PORT, _frame([distance, _battery(values)])


ENCODERS: dict[str, Encoder] = {
    "decentlab/dl-pr26": dl_pr26,
    "decentlab/dl-lp8p": dl_lp8p,
    "decentlab/dl-mbx": dl_mbx,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "decentlab/dl-pr26": {"water_depth": 10.197 / 32768, "temperature": 0.003125, "battery_voltage": 0.001},
    "decentlab/dl-lp8p": {
        "temperature": 175.72 / 65536,
        "humidity": 125 / 65536,
        "pressure": 2,
        "co2": 1,
        "battery_voltage": 0.001,
    },
    "decentlab/dl-mbx": {"distance": 0.001, "battery_voltage": 0.001},
}
