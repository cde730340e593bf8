"""Milesight TLV frames on fPort 85 (see decoders/milesight.py for the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.quantise import clamp_int, directions

PORT = 85


def em310_udl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM310-UDL: battery %, distance m (sent in mm), tilt 0/1."""
    out = bytearray()
    if "battery" in values:
        out += bytes((0x01, 0x75, clamp_int(values["battery"], 0, 100)))
    if "distance" in values:
        out += bytes((0x03, 0x82)) + struct.pack("<H", clamp_int(values["distance"] * 1000, 0, 65535))
    if "tilt" in values:
        out += bytes((0x04, 0x00, 1 if values["tilt"] >= 0.5 else 0))
    return PORT, bytes(out)


def em500_swl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM500-SWL: battery %, water_depth m (sent in cm; 0xFFFD and above are error codes)."""
    out = bytearray()
    if "battery" in values:
        out += bytes((0x01, 0x75, clamp_int(values["battery"], 0, 100)))
    if "water_depth" in values:
        out += bytes((0x03, 0x77)) + struct.pack("<H", clamp_int(values["water_depth"] * 100, 0, 0xFFFC))
    return PORT, bytes(out)


def em400_udl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM400-UDL: battery %, temperature degC (0.1), distance m (sent in mm), tilt 0/1."""
    out = bytearray()
    if "battery" in values:
        out += bytes((0x01, 0x75, clamp_int(values["battery"], 0, 100)))
    if "temperature" in values:
        out += bytes((0x03, 0x67)) + struct.pack("<h", clamp_int(values["temperature"] * 10, -32768, 32767))
    if "distance" in values:
        out += bytes((0x04, 0x82)) + struct.pack("<H", clamp_int(values["distance"] * 1000, 0, 65535))
    if "tilt" in values:
        out += bytes((0x05, 0x00, 1 if values["tilt"] >= 0.5 else 0))
    return PORT, bytes(out)


def am319(values: Mapping[str, float]) -> tuple[int, bytes]:
    """AM319: temperature degC (0.1), humidity %RH (0.5), co2 ppm, pressure Pa (sent in 0.1 hPa),
    battery %."""
    out = bytearray()
    if "battery" in values:
        out += bytes((0x01, 0x75, clamp_int(values["battery"], 0, 100)))
    if "temperature" in values:
        out += bytes((0x03, 0x67)) + struct.pack("<h", clamp_int(values["temperature"] * 10, -32768, 32767))
    if "humidity" in values:
        out += bytes((0x04, 0x68, clamp_int(values["humidity"] * 2, 0, 255)))
    if "co2" in values:
        out += bytes((0x07, 0x7D)) + struct.pack("<H", clamp_int(values["co2"], 0, 65535))
    if "pressure" in values:
        out += bytes((0x09, 0x73)) + struct.pack("<H", clamp_int(values["pressure"] / 10, 0, 65535))
    return PORT, bytes(out)


def em500_udl(values: Mapping[str, float]) -> tuple[int, bytes]:
    """EM500-UDL: battery %, distance m (sent in mm)."""
    out = bytearray()
    if "battery" in values:
        out += bytes((0x01, 0x75, clamp_int(values["battery"], 0, 100)))
    if "distance" in values:
        out += bytes((0x03, 0x82)) + struct.pack("<H", clamp_int(values["distance"] * 1000, 0, 65535))
    return PORT, bytes(out)


def vs133(values: Mapping[str, float]) -> tuple[int, bytes]:
    """VS133: pedestrian_count_in / _out of the period on line 1 (a total ``pedestrian_count``
    alone is split over both directions), with the line totals sent as the same numbers."""
    in_i, out_i = directions(values, "pedestrian_count_in", "pedestrian_count_out",
                             "pedestrian_count")
    frame = (
        bytes((0x03, 0xD2)) + struct.pack("<I", in_i)
        + bytes((0x04, 0xD2)) + struct.pack("<I", out_i)
        + bytes((0x05, 0xCC)) + struct.pack("<HH", in_i, out_i)
    )
    return PORT, frame


def vs121(values: Mapping[str, float]) -> tuple[int, bytes]:
    """VS121: people_count (people in view, 0..255; one region, occupied when anyone is there)
    and line crossings pedestrian_count_in / _out (int16)."""
    out = bytearray()
    if "people_count" in values:
        people = clamp_int(values["people_count"], 0, 255)
        out += bytes((0x04, 0xC9, people, 1)) + struct.pack(">H", 1 if people else 0)
    if {"pedestrian_count_in", "pedestrian_count_out"} & values.keys():
        out += bytes((0x05, 0xCC)) + struct.pack(
            "<hh",
            clamp_int(values.get("pedestrian_count_in", 0.0), 0, 32767),
            clamp_int(values.get("pedestrian_count_out", 0.0), 0, 32767),
        )
    return PORT, bytes(out)
