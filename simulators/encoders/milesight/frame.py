"""What every Milesight encoder shares: the port and the channels several series send
(decoders/milesight/tlv.py has the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.quantise import clamp_int

PORT = 85


def battery(values: Mapping[str, float]) -> bytes:
    """Channel 01/75: battery %, uint8; nothing when the values have no battery."""
    if "battery" not in values:
        return b""
    return bytes((0x01, 0x75, clamp_int(values["battery"], 0, 100)))


def temperature(values: Mapping[str, float]) -> bytes:
    """Channel 03/67: temperature degC in 0.1, int16 LE; nothing when absent."""
    if "temperature" not in values:
        return b""
    return bytes((0x03, 0x67)) + struct.pack(
        "<h", clamp_int(values["temperature"] * 10, -32768, 32767))
