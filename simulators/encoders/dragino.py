"""Dragino LDDS75 8-byte frames on fPort 2 (see decoders/dragino.py for the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.quantise import Encoder, clamp_int

PORT = 2


def ldds75(values: Mapping[str, float]) -> tuple[int, bytes]:
    """LDDS75: battery_voltage V (sent in mV, 14 bits), distance m (sent in mm; without a
    distance the frame says "no sensor"). Interrupt flag and DS18B20 temperature are zero; the
    sensor flag says an ultrasonic sensor is connected."""
    mv = clamp_int(values.get("battery_voltage", 0.0) * 1000, 0, 0x3FFF)
    mm = clamp_int(values["distance"] * 1000, 20, 65535) if "distance" in values else 0
    return PORT, struct.pack(">HHBhB", mv, mm, 0, 0, 1 if mm else 0)


ENCODERS: dict[str, Encoder] = {
    "dragino/ldds75": ldds75,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "dragino/ldds75": {"battery_voltage": 0.001, "distance": 0.001},
}
