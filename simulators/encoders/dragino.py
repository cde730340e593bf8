"""Dragino ultrasonic distance sensors: the 8-byte data frame on fPort 2 that LDDS75, LDDS45 and
DDS75-LB share (see decoders/dragino.py for the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.quantise import Encoder, clamp_int

PORT = 2
#: The device's "invalid reading" code (0x0014 = 20 mm): what it sends for a target closer than
#: its probe can measure.
_INVALID_MM = 20


def _distance_frame(values: Mapping[str, float]) -> tuple[int, bytes]:
    """battery_voltage V (sent in mV, 14 bits), distance m (sent in mm; without a distance the
    frame says "no sensor", below the probe's reach the invalid-reading code). Interrupt flag and
    DS18B20 temperature are zero; the sensor flag says a probe is connected."""
    mv = clamp_int(values.get("battery_voltage", 0.0) * 1000, 0, 0x3FFF)
    mm = 0
    if "distance" in values:
        mm = max(_INVALID_MM, clamp_int(values["distance"] * 1000, 0, 65535))
    return PORT, struct.pack(">HHBhB", mv, mm, 0, 0, 1 if mm else 0)


def ldds75(values: Mapping[str, float]) -> tuple[int, bytes]:
    """LDDS75: the 8-byte frame of firmware v1.1.4 and later."""
    return _distance_frame(values)


def ldds45(values: Mapping[str, float]) -> tuple[int, bytes]:
    """LDDS45: the LDDS75's firmware and frame."""
    return _distance_frame(values)


def dds75_lb(values: Mapping[str, float]) -> tuple[int, bytes]:
    """DDS75-LB: the LDDS75's data frame, unchanged in the LB series."""
    return _distance_frame(values)


ENCODERS: dict[str, Encoder] = {
    "dragino/ldds75": ldds75,
    "dragino/ldds45": ldds45,
    "dragino/dds75-lb": dds75_lb,
}

_STEPS = {"battery_voltage": 0.001, "distance": 0.001}
RESOLUTION: dict[str, dict[str, float]] = {key: dict(_STEPS) for key in ENCODERS}
