"""Dragino end nodes: fixed big-endian frames per model.

LDDS75 (LDDS75 LoRaWAN Distance Detection Sensor user manual, section "Uplink Payload",
https://wiki.dragino.com/xwiki/bin/view/Main/User%20Manual%20for%20LoRaWAN%20End%20Nodes/LDDS75%20-%20LoRaWAN%20Distance%20Detection%20Sensor%20User%20Manual/;
github.com/dragino/dragino-end-node-decoder LDDS75/; TTN vendor/dragino/ldds75.js).
"""

from __future__ import annotations

from decoders.base import DecodeError, DeviceModel
from meetnet.records import Reading

LDDS75_DATA_PORT = 2
LDDS75_STATUS_PORT = 5
# BAT (2) + distance (2); + interrupt flag (1); + DS18B20 temperature (2) + sensor flag (1).
_LDDS75_LENGTHS = (4, 5, 8)
_LDDS75_STATUS_LENGTH = 7
# Distance codes that are not distances: 0 = no ultrasonic sensor detected; below 20 mm the
# device's "invalid reading" (the vendor codec's threshold).
_NO_SENSOR = 0
_INVALID_BELOW_MM = 20


def ldds75(f_port: int, payload: bytes) -> list[Reading]:
    """Dragino LDDS75 ultrasonic distance sensor.

    fPort 2: BAT (uint16; bits 0..13 are the battery voltage in mV, the top bits are flags),
    distance (uint16, mm), then in the full 8-byte frame an interrupt flag, an optional external
    DS18B20 temperature and a sensor flag. Distance 0 (no sensor) and values below 20 mm (invalid
    reading) give no distance reading. The DS18B20 probe is optional and reads 0 when absent, so
    it is not stored. fPort 5: device status (model, firmware, band, battery), no readings.
    """
    if f_port == LDDS75_STATUS_PORT:
        if len(payload) != _LDDS75_STATUS_LENGTH:
            raise DecodeError(
                f"LDDS75 status frame: {_LDDS75_STATUS_LENGTH} bytes expected, got {len(payload)}"
            )
        return []
    if f_port != LDDS75_DATA_PORT:
        raise DecodeError(f"unexpected fPort {f_port}: LDDS75 sends data on fPort 2, status on 5")
    if len(payload) not in _LDDS75_LENGTHS:
        raise DecodeError(f"LDDS75 frame of {len(payload)} bytes; expected one of {_LDDS75_LENGTHS}")
    out = [Reading("battery_voltage", (int.from_bytes(payload[0:2], "big") & 0x3FFF) / 1000.0)]
    mm = int.from_bytes(payload[2:4], "big")
    if mm != _NO_SENSOR and mm >= _INVALID_BELOW_MM:
        out.append(Reading("distance", mm / 1000.0))
    return out


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="dragino/ldds75",
        vendor="Dragino",
        model="LDDS75",
        use_case="waste",
        metrics=("battery_voltage", "distance"),
        spec="https://wiki.dragino.com/ (LDDS75 LoRaWAN Distance Detection Sensor user manual, "
        "uplink payload; github.com/dragino/dragino-end-node-decoder LDDS75)",
        vectors="dragino-ldds75.json",
        decode=ldds75,
    ),
)
