"""Parametric PCR2 extended application payload V4 on fPort 14 and TCR application payload V2
on fPort 15 (see decoders/parametric.py)."""

from __future__ import annotations

import struct
from collections.abc import Mapping

from simulators.encoders.quantise import Encoder, clamp_int, directions

PORT = 14


def pcr2(values: Mapping[str, float]) -> tuple[int, bytes]:
    """PCR2: vehicle_count_ltr / _rtl per interval, temperature degC (0.1), battery_voltage V of
    an SBX solar charger (sent in mV; absent = no charger fitted). With only ``vehicle_count``
    given, it is split evenly over both directions. The power-up sums repeat the interval
    counts; solar power is sent as zero."""
    ltr_i, rtl_i = directions(values, "vehicle_count_ltr", "vehicle_count_rtl", "vehicle_count")
    frame = struct.pack(
        ">BBBHHHHHHh",
        0xBE,
        0x01,
        0x04,
        ltr_i,
        rtl_i,
        ltr_i,
        rtl_i,
        clamp_int(values.get("battery_voltage", 0.0) * 1000, 0, 65535),
        0,  # SBX_PV, mW
        clamp_int(values.get("temperature", 0.0) * 10, -32768, 32767),
    )
    return PORT, frame


TCR_PORT = 15
#: The TCR reports four speed classes per direction (their windows are device configuration).
TCR_SPEED_CLASSES = 4


def tcr_class_keys(direction: str, i: int) -> tuple[str, str]:
    """The value keys of speed class ``i`` (0..3) in ``direction`` ("ltr" or "rtl") that ``tcr``
    reads: the class's count and its vehicles' average speed (km/h). Not catalog metrics: the
    decoder turns the histogram into counts, a mean and a V85."""
    return f"vehicle_count_{direction}_class{i}", f"vehicle_speed_{direction}_class{i}"


def tcr(values: Mapping[str, float]) -> tuple[int, bytes]:
    """TCR application payload V2 (firmware 1.3): a speed-class histogram per direction when
    the values carry one (``tcr_class_keys``: count and average speed per class; the average is
    sent in whole km/h, as the device does), else vehicle_count_ltr / _rtl per interval (a total
    ``vehicle_count`` alone is split over both directions) all placed in speed class 1 at
    ``vehicle_speed_mean`` km/h (default 30); temperature degC (0.1); battery_voltage V of an
    SBX solar charger (sent in mV; absent = no charger fitted)."""
    frame = struct.pack(
        ">BBBHHh",
        0xBE,
        0x02,
        0x02,
        clamp_int(values.get("battery_voltage", 0.0) * 1000, 0, 65535),
        0,  # SBX_PV, mW
        clamp_int(values.get("temperature", 0.0) * 10, -32768, 32767),
    )
    if any(tcr_class_keys(d, i)[0] in values for d in ("ltr", "rtl")
           for i in range(TCR_SPEED_CLASSES)):
        for i in range(TCR_SPEED_CLASSES):
            for d in ("ltr", "rtl"):
                count_key, speed_key = tcr_class_keys(d, i)
                count = clamp_int(values.get(count_key, 0.0), 0, 65535)
                speed = clamp_int(values.get(speed_key, 0.0), 0, 255) if count else 0
                frame += struct.pack(">HB", count, speed)
        return TCR_PORT, frame
    ltr_i, rtl_i = directions(values, "vehicle_count_ltr", "vehicle_count_rtl", "vehicle_count")
    speed = clamp_int(values.get("vehicle_speed_mean", 30.0), 0, 255)
    empty = struct.pack(">HBHB", 0, 0, 0, 0)
    frame += empty + struct.pack(">HBHB", ltr_i, speed if ltr_i else 0, rtl_i, speed if rtl_i else 0)
    frame += empty + empty
    return TCR_PORT, frame


ENCODERS: dict[str, Encoder] = {
    "parametric/pcr2": pcr2,
    "parametric/tcr": tcr,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "parametric/pcr2": {
        "vehicle_count_ltr": 1,
        "vehicle_count_rtl": 1,
        "temperature": 0.1,
        "battery_voltage": 0.001,
    },
    "parametric/tcr": {
        "vehicle_count_ltr": 1,
        "vehicle_count_rtl": 1,
        "temperature": 0.1,
        "battery_voltage": 0.001,
    },
}
