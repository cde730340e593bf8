"""Elsys type/value frames (see decoders/elsys.py for the layout), sent on the default fPort 5."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.quantise import Encoder, clamp_int

PORT = 5


def _frame(values: Mapping[str, float]) -> bytes:
    """The family's type/value frame of whichever of the values are given, in type order."""
    out = bytearray()
    if "temperature" in values:
        out += b"\x01" + struct.pack(">h", clamp_int(values["temperature"] * 10, -32768, 32767))
    if "humidity" in values:
        out += bytes((0x02, clamp_int(values["humidity"], 0, 100)))
    if "light" in values:
        out += b"\x04" + struct.pack(">H", clamp_int(values["light"], 0, 65535))
    if "motion" in values:
        out += bytes((0x05, clamp_int(values["motion"], 0, 255)))
    if "co2" in values:
        out += b"\x06" + struct.pack(">H", clamp_int(values["co2"], 0, 65535))
    if "battery_voltage" in values:
        out += b"\x07" + struct.pack(">H", clamp_int(values["battery_voltage"] * 1000, 0, 65535))
    if "pressure" in values:
        out += b"\x14" + struct.pack(">I", clamp_int(values["pressure"] * 10, 0, 0xFFFFFFFF))
    if "tvoc" in values:
        out += b"\x1c" + struct.pack(">H", clamp_int(values["tvoc"], 0, 65535))
    return bytes(out)


def ers_co2(values: Mapping[str, float]) -> tuple[int, bytes]:
    """ERS CO2: temperature degC (0.1), humidity %RH, light lx, motion count, co2 ppm,
    battery_voltage V (sent in mV), pressure Pa (sent in 1/1000 hPa), tvoc ppb."""
    return PORT, _frame(values)


_LITE = ("temperature", "humidity", "co2", "battery_voltage")


def ers_co2_lite(values: Mapping[str, float]) -> tuple[int, bytes]:
    """ERS CO2 Lite: temperature degC (0.1), humidity %RH, co2 ppm, battery_voltage V (sent in
    mV); values of sensors the Lite does not have (light, PIR, pressure, TVOC) are not sent."""
    return PORT, _frame({k: v for k, v in values.items() if k in _LITE})


ENCODERS: dict[str, Encoder] = {
    "elsys/ers-co2": ers_co2,
    "elsys/ers-co2-lite": ers_co2_lite,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "elsys/ers-co2": {
        "temperature": 0.1,
        "humidity": 1,
        "light": 1,
        "motion": 1,
        "co2": 1,
        "battery_voltage": 0.001,
        "pressure": 0.1,
        "tvoc": 1,
    },
    "elsys/ers-co2-lite": {
        "temperature": 0.1,
        "humidity": 1,
        "co2": 1,
        "battery_voltage": 0.001,
    },
}
