"""IMBuildings People Counter, payload type 2 variant 6 with header on fPort 1 (see
decoders/imbuildings.py for the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.quantise import Encoder, clamp_int, directions

PORT = 1
# A simulated device has no hardware id of its own: the header carries a fixed one.
_DEVICE_ID = bytes.fromhex("0004a30b00000000")


def people_counter(values: Mapping[str, float]) -> tuple[int, bytes]:
    """People counter: pedestrian_count_in / _out per interval (counter A / B), battery_voltage V
    (sent in 10 mV). With only ``pedestrian_count`` given, it is split evenly over A and B. The
    running totals and the payload counter are sent as zero."""
    a, b = directions(values, "pedestrian_count_in", "pedestrian_count_out", "pedestrian_count")
    body = struct.pack(
        ">BHHHBHHB",
        0,  # device status
        clamp_int(values.get("battery_voltage", 0.0) * 100, 0, 65535),
        a,
        b,
        0,  # sensor status
        0,
        0,  # totals since power-up
        0,  # payload counter
    )
    return PORT, bytes((0x02, 0x06)) + _DEVICE_ID + body


ENCODERS: dict[str, Encoder] = {
    "imbuildings/imbuildings-people-counter": people_counter,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "imbuildings/imbuildings-people-counter": {
        "pedestrian_count_in": 1,
        "pedestrian_count_out": 1,
        "battery_voltage": 0.01,
    },
}
