"""Milesight EM series (distance and water level) frames on fPort 85
(decoders/milesight/tlv.py has the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.milesight.frame import PORT, battery, temperature
from simulators.encoders.quantise import Encoder, clamp_int


def em310_udl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM310-UDL: battery %, distance m (sent in mm), tilt 0/1."""
    out = bytearray()
    out += battery(values)
    if "distance" in values:
        out += bytes((0x03, 0x82)) + struct.pack("<H", clamp_int(values["distance"] * 1000, 0, 65535))
    if "tilt" in values:
        out += bytes((0x04, 0x00, 1 if values["tilt"] >= 0.5 else 0))
    return PORT, bytes(out)


def em500_swl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM500-SWL: battery %, water_depth m (sent in cm; 0xFFFD and above are error codes)."""
    out = bytearray()
    out += battery(values)
    if "water_depth" in values:
        out += bytes((0x03, 0x77)) + struct.pack("<H", clamp_int(values["water_depth"] * 100, 0, 0xFFFC))
    return PORT, bytes(out)


def em400_udl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM400-UDL, EM400-MUD and EM400-TLD: battery %, temperature degC (0.1), distance m (sent in
    mm), tilt 0/1."""
    out = bytearray()
    out += battery(values)
    out += temperature(values)
    if "distance" in values:
        out += bytes((0x04, 0x82)) + struct.pack("<H", clamp_int(values["distance"] * 1000, 0, 65535))
    if "tilt" in values:
        out += bytes((0x05, 0x00, 1 if values["tilt"] >= 0.5 else 0))
    return PORT, bytes(out)


def em500_udl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM500-UDL: battery %, distance m (sent in mm)."""
    out = bytearray()
    out += battery(values)
    if "distance" in values:
        out += bytes((0x03, 0x82)) + struct.pack("<H", clamp_int(values["distance"] * 1000, 0, 65535))
    return PORT, bytes(out)


ENCODERS: dict[str, Encoder] = {
    "milesight-iot/em310-udl": em310_udl,
    "milesight-iot/em500-swl": em500_swl,
    "milesight-iot/em400-udl": em400_udl,
    "milesight-iot/em500-udl": em500_udl,
    "milesight-iot/em400-mud": em400_udl,  # same frame as the EM400-UDL
    "milesight-iot/em400-tld": em400_udl,  # same measurement channels, a laser instead of sound
}

RESOLUTION: dict[str, dict[str, float]] = {
    "milesight-iot/em310-udl": {"battery": 1, "distance": 0.001, "tilt": 1},
    "milesight-iot/em500-swl": {"battery": 1, "water_depth": 0.01},
    "milesight-iot/em400-udl": {"battery": 1, "temperature": 0.1, "distance": 0.001, "tilt": 1},
    "milesight-iot/em500-udl": {"battery": 1, "distance": 0.001},
    "milesight-iot/em400-mud": {"battery": 1, "temperature": 0.1, "distance": 0.001, "tilt": 1},
    "milesight-iot/em400-tld": {"battery": 1, "temperature": 0.1, "distance": 0.001, "tilt": 1},
}
