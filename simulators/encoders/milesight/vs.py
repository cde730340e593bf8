"""Milesight VS series (people counting) frames on fPort 85
(decoders/milesight/tlv.py has the layout)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.milesight.frame import PORT, battery, temperature
from simulators.encoders.quantise import Encoder, clamp_int, directions


def vs133(values: Mapping[str, float]) -> tuple[int, bytes]:
    """VS133 / VS135: pedestrian_count_in / _out of the period on line 1 (a total
    ``pedestrian_count`` alone is split over both directions), with the line totals sent as the
    same numbers."""
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


def vs350(values: Mapping[str, float]) -> tuple[int, bytes]:
    """VS350: battery (%) and temperature (0.1 degC) when given, then the period's
    pedestrian_count_in / _out (uint16; a total alone is split over both directions)."""
    out = bytearray()
    out += battery(values)
    out += temperature(values)
    in_i, out_i = directions(values, "pedestrian_count_in", "pedestrian_count_out",
                             "pedestrian_count")
    out += bytes((0x05, 0xCC)) + struct.pack("<HH", in_i, out_i)
    return PORT, bytes(out)


ENCODERS: dict[str, Encoder] = {
    "milesight-iot/vs133": vs133,
    "milesight-iot/vs135": vs133,
    "milesight-iot/vs121": vs121,
    "milesight-iot/vs350": vs350,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "milesight-iot/vs133": {"pedestrian_count_in": 1, "pedestrian_count_out": 1},
    "milesight-iot/vs135": {"pedestrian_count_in": 1, "pedestrian_count_out": 1},
    "milesight-iot/vs121": {"people_count": 1, "pedestrian_count_in": 1, "pedestrian_count_out": 1},
    "milesight-iot/vs350": {"battery": 1, "temperature": 0.1, "pedestrian_count_in": 1,
                            "pedestrian_count_out": 1},
}
