"""Elsys sensors (ERS, ERS CO2, ERS Lite, ERS CO2 Lite, ERS VOC, ERS Sound, ELT ...).

One payload format serves the whole family: "Elsys LoRa payload" (https://www.elsys.se/en/elsys-payload/,
document Sensor_payload.pdf; TTN device repository vendor/elsys/elsys.js). A frame is a sequence of
``type (1 byte), value (size fixed by the type, big-endian)``. The size of every type is known, so
a type meetnet has no catalog metric for (acceleration, pulse counters, GPS, sound ...) is read and
skipped; a type outside the spec is a DecodeError because nothing after it can be located.

Application data goes out on the port configured in the sensor (5 by default); the settings frame
(type 0x3E) goes out on that port + 1 after a reset. Any application fPort is accepted.
"""

from __future__ import annotations

from collections.abc import Callable

from decoders.base import TTN_REPO, DecodeError, DeviceModel, Reader
from meetnet.records import Reading

# A value's bytes (big-endian) -> readings; a model's table maps a type byte to (size, reader).
_Read = Callable[[bytes], list[Reading]]
_Field = tuple[int, _Read]


def _u(b: bytes) -> int:
    return int.from_bytes(b, "big")


def _s(b: bytes) -> int:
    return int.from_bytes(b, "big", signed=True)


def _one(metric: str, divisor: float = 1.0, signed: bool = False) -> _Read:
    def read(b: bytes) -> list[Reading]:
        raw = _s(b) if signed else _u(b)
        return [Reading(metric, raw / divisor)]

    return read


def _skip(_: bytes) -> list[Reading]:
    return []


def _pressure(b: bytes) -> list[Reading]:
    # uint32 in 1/1000 hPa; 1 hPa = 100 Pa, so raw / 10 is Pa.
    return [Reading("pressure", _u(b) / 10.0)]


#: The one type table of the family ("Elsys LoRa payload"): type byte -> (size of the value, the
#: catalog metric it gives or None, reader). Every model walks its frames with it.
_TYPES: dict[int, tuple[int, str | None, _Read]] = {
    0x01: (2, "temperature", _one("temperature", 10, signed=True)),  # int16, 0.1 degC
    0x02: (1, "humidity", _one("humidity")),  # uint8, %RH
    0x03: (3, None, _skip),  # acceleration X, Y, Z (int8 each, 63 = 1 g)
    0x04: (2, "light", _one("light")),  # uint16, lux
    0x05: (1, "motion", _one("motion")),  # uint8, PIR motion count since the previous uplink
    0x06: (2, "co2", _one("co2")),  # uint16, ppm
    0x07: (2, "battery_voltage", _one("battery_voltage", 1000)),  # uint16, mV (VDD)
    0x08: (2, None, _skip),  # analog input 1, mV
    0x09: (6, None, _skip),  # GPS position (3 + 3 bytes)
    0x0A: (2, None, _skip),  # pulse input 1, relative count
    0x0B: (4, None, _skip),  # pulse input 1, absolute count
    0x0C: (2, None, _skip),  # external temperature probe 1 (not the air temperature metric)
    0x0D: (1, None, _skip),  # external digital input 1
    0x0E: (2, None, _skip),  # external distance sensor, mm (ELT Ultrasonic)
    0x0F: (1, None, _skip),  # accelerometer motion count
    0x10: (4, None, _skip),  # IR temperature: internal + external, int16 each
    0x11: (1, None, _skip),  # occupancy (0 none, 1 pending, 2 occupied)
    0x12: (1, None, _skip),  # water leak
    0x13: (65, None, _skip),  # Grid-EYE: 1 reference byte + 64 pixels
    0x14: (4, "pressure", _pressure),  # uint32, 1/1000 hPa
    0x15: (2, None, _skip),  # sound peak + average, dB
    0x16: (2, None, _skip),  # pulse input 2, relative count
    0x17: (4, None, _skip),  # pulse input 2, absolute count
    0x18: (2, None, _skip),  # analog input 2, mV
    0x19: (2, None, _skip),  # external temperature probe 2
    0x1A: (1, None, _skip),  # external digital input 2
    0x1B: (4, None, _skip),  # external analog input, int32 uV
    0x1C: (2, "tvoc", _one("tvoc")),  # uint16, ppb
    0x3D: (4, None, _skip),  # debug information
}

# Settings frame: the rest of the payload is the sensor's configuration, no measurements.
_TYPE_SETTINGS = 0x3E


def _table(metrics: tuple[str, ...]) -> dict[int, _Field]:
    """The family's type table for a model with ``metrics``: a type whose metric the model does
    not declare (light on a Lite, which has no light sensor) is still sized, read and skipped,
    so the frame walks the same on every model and a model never emits what it does not have."""
    return {kind: (size, read if metric in metrics else _skip)
            for kind, (size, metric, read) in _TYPES.items()}


def _walk(table: dict[int, _Field], f_port: int, payload: bytes) -> list[Reading]:
    if f_port == 0 or f_port >= 224:
        # fPort 0 carries MAC commands; 224..255 are reserved by LoRaWAN.
        raise DecodeError(f"fPort {f_port} carries no Elsys application data")
    if not payload:
        raise DecodeError("empty payload")
    r = Reader(payload)
    out: list[Reading] = []
    while r.remaining():
        kind = r.u8()
        if kind == _TYPE_SETTINGS:
            break
        field = table.get(kind)
        if field is None:
            raise DecodeError(f"unknown Elsys data type 0x{kind:02x} at offset {r.pos - 1}")
        size, read = field
        out.extend(read(r.take(size)))
    return out


_ERS_CO2_METRICS = ("temperature", "humidity", "light", "motion", "co2", "battery_voltage",
                    "pressure", "tvoc")
_ERS_CO2 = _table(_ERS_CO2_METRICS)
# ERS CO2 Lite: temperature, humidity and CO2 (TTN vendor/elsys/ers-co2-lite.yaml "sensors";
# product page https://www.elsys.se/en/ers-co2-lite/), plus the supply voltage every Elsys
# sensor reports (type 0x07). No light, PIR, pressure or TVOC sensor.
_ERS_CO2_LITE_METRICS = ("temperature", "humidity", "co2", "battery_voltage")
_ERS_CO2_LITE = _table(_ERS_CO2_LITE_METRICS)


def ers(f_port: int, payload: bytes) -> list[Reading]:
    """Elsys ERS CO2, "Elsys LoRa payload" (https://www.elsys.se/en/elsys-payload/; TTN
    vendor/elsys/elsys.js).

    Emits temperature (0x01, 0.1 degC), humidity (0x02, %RH), light (0x04, lux), motion (0x05,
    PIR count), co2 (0x06, ppm), battery_voltage (0x07, mV -> V), pressure (0x14, 1/1000 hPa ->
    Pa) and tvoc (0x1C, ppb); the other types of the spec are read and skipped. A settings frame
    (0x3E) gives no readings.
    """
    return _walk(_ERS_CO2, f_port, payload)


def ers_co2_lite(f_port: int, payload: bytes) -> list[Reading]:
    """Elsys ERS CO2 Lite, "Elsys LoRa payload" (https://www.elsys.se/en/elsys-payload/; TTN
    vendor/elsys/elsys.js, vendor/elsys/ers-co2-lite.yaml): the family's frame, walked with the
    same type table as ``ers``.

    Emits temperature (0x01, 0.1 degC), humidity (0x02, %RH), co2 (0x06, ppm) and
    battery_voltage (0x07, mV -> V); every other type of the spec is read and skipped. A
    settings frame (0x3E) gives no readings.
    """
    return _walk(_ERS_CO2_LITE, f_port, payload)


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="elsys/ers-co2",
        vendor="Elsys",
        model="ERS CO2",
        use_case="classroom",
        metrics=_ERS_CO2_METRICS,
        spec="https://www.elsys.se/en/elsys-payload/ (Elsys LoRa payload; " + TTN_REPO + "elsys/elsys.js)",
        vectors="elsys-ers-co2.json",
        decode=ers,
    ),
    DeviceModel(
        key="elsys/ers-co2-lite",
        vendor="Elsys",
        model="ERS CO2 Lite",
        use_case="classroom",
        metrics=_ERS_CO2_LITE_METRICS,
        spec="https://www.elsys.se/en/elsys-payload/ (Elsys LoRa payload; " + TTN_REPO
        + "elsys/elsys.js; " + TTN_REPO + "elsys/ers-co2-lite.yaml)",
        vectors="elsys-ers-co2-lite.json",
        decode=ers_co2_lite,
    ),
)
