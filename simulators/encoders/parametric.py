"""Parametric PCR2 extended application payload V4 on fPort 14 (see decoders/parametric.py)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

PORT = 14


def _clamp_int(value: float, lo: int, hi: int) -> int:
    return max(lo, min(hi, round(value)))


def pcr2(values: Mapping[str, float]) -> tuple[int, bytes]:
    """PCR2: vehicle_count_ltr / _rtl per interval, temperature degC (0.1), battery_voltage V of
    an SBX solar charger (sent in mV; absent = no charger fitted). With only ``vehicle_count``
    given, it is split evenly over both directions. The power-up sums repeat the interval
    counts; solar power is sent as zero."""
    ltr = values.get("vehicle_count_ltr")
    rtl = values.get("vehicle_count_rtl")
    if ltr is None and rtl is None and "vehicle_count" in values:
        total = _clamp_int(values["vehicle_count"], 0, 2 * 65535)
        ltr, rtl = (total + 1) // 2, total // 2
    ltr_i = _clamp_int(ltr or 0, 0, 65535)
    rtl_i = _clamp_int(rtl or 0, 0, 65535)
    frame = struct.pack(
        ">BBBHHHHHHh",
        0xBE,
        0x01,
        0x04,
        ltr_i,
        rtl_i,
        ltr_i,
        rtl_i,
        _clamp_int(values.get("battery_voltage", 0.0) * 1000, 0, 65535),
        0,  # SBX_PV, mW
        _clamp_int(values.get("temperature", 0.0) * 10, -32768, 32767),
    )
    return PORT, frame


TCR_PORT = 15


def tcr(values: Mapping[str, float]) -> tuple[int, bytes]:
    """TCR application payload V2 (firmware 1.3): vehicle_count_ltr / _rtl per interval (a total
    ``vehicle_count`` alone is split over both directions), all placed in speed class 1 at
    ``vehicle_speed_mean`` km/h (default 30); temperature degC (0.1); battery_voltage V of an SBX
    solar charger (sent in mV; absent = no charger fitted)."""
    ltr = values.get("vehicle_count_ltr")
    rtl = values.get("vehicle_count_rtl")
    if ltr is None and rtl is None and "vehicle_count" in values:
        total = _clamp_int(values["vehicle_count"], 0, 2 * 65535)
        ltr, rtl = (total + 1) // 2, total // 2
    ltr_i = _clamp_int(ltr or 0, 0, 65535)
    rtl_i = _clamp_int(rtl or 0, 0, 65535)
    speed = _clamp_int(values.get("vehicle_speed_mean", 30.0), 0, 255)
    empty = struct.pack(">HBHB", 0, 0, 0, 0)
    frame = struct.pack(
        ">BBBHHh",
        0xBE,
        0x02,
        0x02,
        _clamp_int(values.get("battery_voltage", 0.0) * 1000, 0, 65535),
        0,  # SBX_PV, mW
        _clamp_int(values.get("temperature", 0.0) * 10, -32768, 32767),
    )
    frame += empty + struct.pack(">HBHB", ltr_i, speed if ltr_i else 0, rtl_i, speed if rtl_i else 0)
    frame += empty + empty
    return TCR_PORT, frame
