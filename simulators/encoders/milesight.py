"""Milesight TLV frames on fPort 85 (see decoders/milesight.py for the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

PORT = 85


def _clamp_int(value: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(value)))


def em310_udl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM310-UDL: battery %, distance m (sent in mm), tilt 0/1."""
    out = bytearray()
    if "battery" in values:
        out += bytes((0x01, 0x75, _clamp_int(values["battery"], 0, 100)))
    if "distance" in values:
        out += bytes((0x03, 0x82)) + struct.pack("<H", _clamp_int(values["distance"] * 1000, 0, 65535))
    if "tilt" in values:
        out += bytes((0x04, 0x00, 1 if values["tilt"] >= 0.5 else 0))
    return PORT, bytes(out)
