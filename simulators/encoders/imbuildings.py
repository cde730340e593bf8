"""IMBuildings People Counter, payload type 2 variant 6 with header on fPort 1 (see
decoders/imbuildings.py for the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

PORT = 1
# A simulated device has no hardware id of its own: the header carries a fixed one.
_DEVICE_ID = bytes.fromhex("0004a30b00000000")


def _clamp_int(value: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(value)))


def people_counter(values: Mapping[str, float]) -> tuple[int, bytes]:
    """People counter: pedestrian_count_in / _out per interval (counter A / B), battery_voltage V
    (sent in 10 mV). With only ``pedestrian_count`` given, it is split evenly over A and B. The
    running totals and the payload counter are sent as zero."""
    a = values.get("pedestrian_count_in")
    b = values.get("pedestrian_count_out")
    if a is None and b is None and "pedestrian_count" in values:
        total = _clamp_int(values["pedestrian_count"], 0, 2 * 65535)
        a, b = (total + 1) // 2, total // 2
    body = struct.pack(
        ">BHHHBHHB",
        0,  # device status
        _clamp_int(values.get("battery_voltage", 0.0) * 100, 0, 65535),
        _clamp_int(a or 0, 0, 65535),
        _clamp_int(b or 0, 0, 65535),
        0,  # sensor status
        0,
        0,  # totals since power-up
        0,  # payload counter
    )
    return PORT, bytes((0x02, 0x06)) + _DEVICE_ID + body
