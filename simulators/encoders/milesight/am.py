"""Milesight AM series (indoor ambience) frames on fPort 85
(decoders/milesight/tlv.py has the layout, decoders/milesight/am.py the channels)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.milesight.frame import PORT, battery, temperature
from simulators.encoders.quantise import Encoder, clamp_int


def _climate(values: Mapping[str, float]) -> bytearray:
    """Battery %, temperature degC (0.1), humidity %RH (0.5) and CO2 ppm: the channels every AM
    model with these sensors shares."""
    out = bytearray()
    out += battery(values)
    out += temperature(values)
    if "humidity" in values:
        out += bytes((0x04, 0x68, clamp_int(values["humidity"] * 2, 0, 255)))
    if "co2" in values:
        out += bytes((0x07, 0x7D)) + struct.pack("<H", clamp_int(values["co2"], 0, 65535))
    return out


def am319(values: Mapping[str, float]) -> tuple[int, bytes]:
    """AM300 series (AM307, AM308, AM319): temperature degC (0.1), humidity %RH (0.5), co2 ppm,
    pressure Pa (sent in 0.1 hPa), battery %."""
    out = _climate(values)
    if "pressure" in values:
        out += bytes((0x09, 0x73)) + struct.pack("<H", clamp_int(values["pressure"] / 10, 0, 65535))
    return PORT, bytes(out)


def am308(values: Mapping[str, float]) -> tuple[int, bytes]:
    """AM300 series with a PM sensor (AM308, AM319): the AM307's channels and PM2.5, PM10 in
    ug/m3 (uint16)."""
    _, frame = am319(values)
    out = bytearray(frame)
    for channel, metric in ((0x0B, "pm2_5"), (0x0C, "pm10")):
        if metric in values:
            out += bytes((channel, 0x7D)) + struct.pack("<H", clamp_int(values[metric], 0, 65535))
    return PORT, bytes(out)


def am103(values: Mapping[str, float]) -> tuple[int, bytes]:
    """AM103: battery %, temperature degC (0.1), humidity %RH (0.5), co2 ppm."""
    return PORT, bytes(_climate(values))


def am102(values: Mapping[str, float]) -> tuple[int, bytes]:
    """AM102: battery %, temperature degC (0.1), humidity %RH (0.5); it has no CO2 sensor."""
    return PORT, bytes(_climate({k: v for k, v in values.items() if k != "co2"}))


_AM300_STEPS = {"battery": 1, "temperature": 0.1, "humidity": 0.5, "co2": 1, "pressure": 10}

ENCODERS: dict[str, Encoder] = {
    "milesight-iot/am319": am308,  # with PM, as the AM308
    "milesight-iot/am307": am319,  # the AM300 series shares these channels
    "milesight-iot/am308": am308,
    "milesight-iot/am103": am103,
    "milesight-iot/am102": am102,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "milesight-iot/am319": {**_AM300_STEPS, "pm2_5": 1, "pm10": 1},
    "milesight-iot/am307": dict(_AM300_STEPS),
    "milesight-iot/am308": {**_AM300_STEPS, "pm2_5": 1, "pm10": 1},
    "milesight-iot/am103": {"battery": 1, "temperature": 0.1, "humidity": 0.5, "co2": 1},
    "milesight-iot/am102": {"battery": 1, "temperature": 0.1, "humidity": 0.5},
}
