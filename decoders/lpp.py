"""Cayenne Low Power Payload (LPP 1.0), as sent by students' prototypes (Arduino CayenneLPP).

Spec: myDevices, "Cayenne Low Power Payload" (https://docs.mydevices.com/docs/lorawan/cayenne-lpp,
github.com/myDevicesIoT/CayenneLPP): the frame is a sequence of ``channel (1 byte), type
(1 byte), value (N bytes, big-endian)`` items, type = IPSO object id - 3200. The extended types of
the ElectronicCats CayenneLPP library (src/CayenneLPP.h: generic 100, voltage 116, current 117,
frequency 118, percentage 120, altitude 121, power 128, distance 130, energy 131, direction 132,
unix time 133, switch 142, ppm 143, RGB 144) are parsed too, so a frame that carries them is not
refused; an unknown type is a DecodeError, because its length, and so the rest of the frame, is
unknown.

Catalog mapping (everything else is parsed and skipped: LPP does not say what an analog input,
a percentage or a "ppm" concentration measures, and guessing would store wrong data):

=====================  ===========  =============================
LPP type               metric       conversion
=====================  ===========  =============================
101 illuminance        light        1 lx per bit
103 temperature        temperature  0.1 Cel per bit, signed
104 humidity           humidity     0.5 %RH per bit
115 barometer          pressure     0.1 hPa per bit = 10 Pa
130 distance (ext.)    distance     0.001 m per bit
=====================  ===========  =============================

**One value per metric.** LPP names a sensor by its channel, meetnet's readings by
``(device, metric, time)``: two temperatures in one frame (the spec's own example, channels 3 and
5) would collide on that key. The rule: per metric, the value of the **lowest channel** is kept
(for a channel repeated in one frame, its first item); the other channels' values are dropped. A
device that really measures two temperatures needs its own model (a decoder or a JS codec with a
field map), not the generic LPP one.
"""

from __future__ import annotations

from typing import NamedTuple

from decoders.base import DecodeError, DeviceModel
from meetnet.records import Reading


class LppType(NamedTuple):
    name: str
    size: int  # bytes per value
    signed: bool
    divisor: float  # raw / divisor = value in the LPP unit
    metric: str | None  # catalog metric, or None when skipped
    to_catalog: float  # value in the LPP unit * to_catalog = value in the catalog unit


TYPES: dict[int, LppType] = {
    0: LppType("digital_input", 1, False, 1, None, 1),
    1: LppType("digital_output", 1, False, 1, None, 1),
    2: LppType("analog_input", 2, True, 100, None, 1),
    3: LppType("analog_output", 2, True, 100, None, 1),
    100: LppType("generic_sensor", 4, False, 1, None, 1),
    101: LppType("illuminance", 2, False, 1, "light", 1),
    102: LppType("presence", 1, False, 1, None, 1),
    103: LppType("temperature", 2, True, 10, "temperature", 1),
    104: LppType("relative_humidity", 1, False, 2, "humidity", 1),
    113: LppType("accelerometer", 6, True, 1000, None, 1),
    115: LppType("barometric_pressure", 2, False, 10, "pressure", 100),  # hPa -> Pa
    116: LppType("voltage", 2, False, 100, None, 1),
    117: LppType("current", 2, False, 1000, None, 1),
    118: LppType("frequency", 4, False, 1, None, 1),
    120: LppType("percentage", 1, False, 1, None, 1),
    121: LppType("altitude", 2, True, 1, None, 1),
    128: LppType("power", 2, False, 1, None, 1),
    130: LppType("distance", 4, False, 1000, "distance", 1),
    131: LppType("energy", 4, False, 1000, None, 1),
    132: LppType("direction", 2, False, 1, None, 1),
    133: LppType("unixtime", 4, False, 1, None, 1),
    134: LppType("gyrometer", 6, True, 100, None, 1),
    136: LppType("gps", 9, True, 1, None, 1),
    142: LppType("switch", 1, False, 1, None, 1),
    143: LppType("ppm", 2, False, 1, None, 1),
    144: LppType("rgb", 3, False, 1, None, 1),
}

METRICS: tuple[str, ...] = ("temperature", "humidity", "pressure", "light", "distance")


def items(payload: bytes) -> list[tuple[int, int, bytes]]:
    """Split an LPP frame into ``(channel, type, value bytes)``; DecodeError when it is cut off
    or carries a type whose size the spec does not give."""
    out = []
    pos = 0
    while pos < len(payload):
        if pos + 2 > len(payload):
            raise DecodeError(f"LPP item header cut off at offset {pos}")
        channel, type_id = payload[pos], payload[pos + 1]
        spec = TYPES.get(type_id)
        if spec is None:
            raise DecodeError(f"unknown LPP type {type_id} on channel {channel} at offset {pos}")
        start = pos + 2
        end = start + spec.size
        if end > len(payload):
            raise DecodeError(
                f"LPP {spec.name} on channel {channel} cut off: need {spec.size} byte(s) "
                f"at offset {start}, have {len(payload) - start}"
            )
        out.append((channel, type_id, payload[start:end]))
        pos = end
    return out


def lpp(f_port: int, payload: bytes) -> list[Reading]:
    """Cayenne LPP 1.0 on any application port (1..223): catalog readings, one per metric, from
    the lowest channel that carries it (see the module docstring)."""
    if not 1 <= f_port <= 223:
        raise DecodeError(f"fPort {f_port} is not an application port (1..223)")
    if not payload:
        raise DecodeError("empty payload")
    best: dict[str, tuple[int, float]] = {}  # metric -> (channel, value)
    for channel, type_id, raw in items(payload):
        spec = TYPES[type_id]
        if spec.metric is None:
            continue
        value = int.from_bytes(raw, "big", signed=spec.signed) * spec.to_catalog / spec.divisor
        kept = best.get(spec.metric)
        if kept is None or channel < kept[0]:
            best[spec.metric] = (channel, float(value))
    return [Reading(metric, value) for metric, (_, value) in best.items()]


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="cayenne/lpp",
        vendor="myDevices",
        model="Cayenne LPP",
        use_case="any",
        metrics=METRICS,
        spec="https://docs.mydevices.com/docs/lorawan/cayenne-lpp (Cayenne Low Power Payload 1.0; "
        "extended types from github.com/ElectronicCats/CayenneLPP src/CayenneLPP.h)",
        vectors="cayenne-lpp.json",
        decode=lpp,
    ),
)
