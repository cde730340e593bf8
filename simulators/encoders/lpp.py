"""Cayenne LPP frames (see decoders/lpp.py), one channel per metric as a student's Arduino
sketch with the CayenneLPP library would send them."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.quantise import Encoder

PORT = 1

# metric -> (channel, LPP type, struct format, raw units per catalog unit)
_FIELDS: dict[str, tuple[int, int, str, float]] = {
    "temperature": (1, 103, ">h", 10),  # 0.1 Cel
    "humidity": (2, 104, ">B", 2),  # 0.5 %RH
    "pressure": (3, 115, ">H", 0.1),  # 0.1 hPa = 10 Pa
    "light": (4, 101, ">H", 1),  # 1 lx
    "distance": (5, 130, ">I", 1000),  # 1 mm
}

_LIMITS = {">h": (-32768, 32767), ">B": (0, 255), ">H": (0, 65535), ">I": (0, 2**32 - 1)}


def lpp(values: Mapping[str, float]) -> tuple[int, bytes]:
    """Cayenne LPP: the given metrics only, each on its own channel; with none, a digital input
    on channel 0 (an LPP frame must not be empty)."""
    frame = bytearray()
    for metric, (channel, type_id, fmt, scale) in _FIELDS.items():
        if metric not in values:
            continue
        lo, hi = _LIMITS[fmt]
        raw = max(lo, min(hi, round(values[metric] * scale)))
        frame += bytes((channel, type_id)) + struct.pack(fmt, raw)
    if not frame:
        frame += bytes((0, 0, 0))
    return PORT, bytes(frame)


ENCODERS: dict[str, Encoder] = {
    "cayenne/lpp": lpp,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "cayenne/lpp": {"temperature": 0.1, "humidity": 0.5, "pressure": 10, "light": 1, "distance": 0.001},
}
