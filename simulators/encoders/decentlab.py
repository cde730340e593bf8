"""Decentlab protocol v2 frames on fPort 1 (see decoders/decentlab.py for the layout), encoded
from the same sensor tables the decoder reads: each value's conversion inverted."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from functools import partial

from decoders.decentlab import PROTOCOL_VERSION, TABLES, Sensor, Table, Value
from simulators.encoders.quantise import Encoder, clamp_int

PORT = 1
# A simulated device has no id of its own.
_DEVICE_ID = 0x0001


def _raw(value: Value, values: Mapping[str, float]) -> int:
    """The word that decodes to the value given under one of its catalog metrics (the first the
    caller gave, in the table's order), else to its nominal value; clamped like the device's
    16-bit field."""
    vendor = value.nominal
    for metric, factor in value.store:
        if metric in values:
            vendor = values[metric] / factor
            break
    # Inverse of (x - sub) * mul / div + add.
    return clamp_int((vendor - value.add) * value.div / value.mul + value.sub, 0, 0xFFFF)


def _words(sensor: Sensor, values: Mapping[str, float]) -> list[int] | None:
    """The sensor's words, or None (flag bit clear) when none of its catalog metrics is given."""
    if not any(metric in values for v in sensor.values for metric, _ in v.store):
        return None
    words = [0] * sensor.words
    for v in sensor.values:
        words[v.word] = _raw(v, values)
    return words


def encode(table: Table, values: Mapping[str, float]) -> tuple[int, bytes]:
    """A protocol v2 frame (Decentlab datasheets, "Payload") of the sensors whose catalog metrics
    are given; a sensor's other values are sent at their nominal value (e.g. 20 degC)."""
    sensors = [_words(s, values) for s in table.sensors]
    flags = sum(1 << i for i, words in enumerate(sensors) if words is not None)
    out = struct.pack(">BHH", PROTOCOL_VERSION, _DEVICE_ID, flags)
    for words in sensors:
        if words is not None:
            out += struct.pack(f">{len(words)}H", *words)
    return PORT, out


def resolution(table: Table) -> dict[str, float]:
    """Per simulated metric (each stored value's first), the step of one raw count."""
    steps: dict[str, float] = {}
    for sensor in table.sensors:
        for v in sensor.values:
            if v.store:
                metric, factor = v.store[0]
                steps[metric] = abs(v.scale(factor)[0])
    return steps


ENCODERS: dict[str, Encoder] = {t.key: partial(encode, t) for t in TABLES}

RESOLUTION: dict[str, dict[str, float]] = {t.key: resolution(t) for t in TABLES}
