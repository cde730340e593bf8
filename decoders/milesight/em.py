"""Milesight EM series on fPort 85: the ultrasonic distance sensors for bins and the water level
sensors (EM310-UDL, EM400-UDL, EM400-MUD, EM500-UDL, EM500-SWL). The frame layout and the
device-information channels are in decoders/milesight/tlv.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from decoders.base import TTN_REPO, DeviceModel
from decoders.milesight.tlv import (
    DOC,
    Channel,
    Model,
    battery,
    distance_mm,
    ignored,
    measure,
    temperature,
    tilt,
    u16,
    with_alarm,
)
from meetnet.records import Reading

# Sentinels a Milesight sensor sends instead of a value when the probe failed: no reading.
_U16_READ_FAILED = 0xFFFF
_U16_OUT_OF_RANGE = 0xFFFD


# --- EM310-UDL ---------------------------------------------------------------------------------

EM310_UDL = Model("EM310-UDL", {
    (0x01, 0x75): measure(1, battery),  # uint8, %
    (0x03, 0x82): measure(2, distance_mm),  # uint16, mm
    (0x04, 0x00): measure(1, tilt),  # 0 normal, 1 tilt
})
"""Milesight EM310-UDL ultrasonic distance sensor (EM310-UDL user guide, "Uplink Packets";
TTN vendor/milesight-iot/em310-udl.js).

Channels: 01/75 battery (uint8, %); 03/82 distance (uint16 LE, mm); 04/00 position (0 normal,
1 tilt)."""


# --- EM500-SWL ---------------------------------------------------------------------------------


def _depth_cm(raw: int) -> float | None:
    if raw in (_U16_READ_FAILED, _U16_OUT_OF_RANGE):
        return None
    return raw / 100.0


def _swl_depth(b: bytes) -> list[Reading]:
    depth = _depth_cm(u16(b))
    return [] if depth is None else [Reading("water_depth", depth)]


def _swl_history(b: bytes) -> list[Reading]:
    # Retransmitted record: unix time (uint32 LE, s) + depth (uint16 LE, cm).
    ts = int.from_bytes(b[:4], "little")
    depth = _depth_cm(u16(b[4:6]))
    if depth is None:
        return []
    return [Reading("water_depth", depth, time=datetime.fromtimestamp(ts, tz=UTC))]


EM500_SWL = Model("EM500-SWL", {
    (0x01, 0x75): measure(1, battery),  # uint8, %
    (0x03, 0x77): measure(2, _swl_depth),  # uint16, cm of water above the probe
    (0x20, 0xCE): measure(6, _swl_history),  # history record
    (0xFF, 0x1B): ignored(5),  # measuring equipment (probe range): configuration only
})
"""Milesight EM500-SWL submersible water level sensor (EM500-SWL user guide, "Uplink Packets";
github.com/Milesight-IoT/SensorDecoders em-series/em500-swl; TTN
vendor/milesight-iot/em500-swl.js, where the channel is called "level").

Channels: 01/75 battery (uint8, %); 03/77 water depth above the probe (uint16 LE, **cm**;
0xFFFF = read failed, 0xFFFD = out of range, neither gives a reading); 20/CE history record
(uint32 LE unix time + uint16 LE depth in cm), decoded with the device's own timestamp; FF/1B
probe range (configuration, skipped). Emitted as ``water_depth`` in m."""


# --- EM400-UDL / EM400-MUD ---------------------------------------------------------------------

_EM400_UDL: dict[tuple[int, int], Channel] = {
    (0x01, 0x75): measure(1, battery),  # uint8, %
    (0x03, 0x67): measure(2, temperature),  # int16, 0.1 degC
    (0x04, 0x82): measure(2, distance_mm),  # uint16, mm
    (0x05, 0x00): measure(1, tilt),  # 0 normal, 1 tilt
    (0x83, 0x67): measure(3, with_alarm(temperature)),  # temperature + alarm state
    (0x84, 0x82): measure(3, with_alarm(distance_mm)),  # distance + alarm state
}

EM400_UDL = Model("EM400-UDL", _EM400_UDL)
"""Milesight EM400-UDL ultrasonic distance sensor (EM400-UDL user guide, "Uplink Packets";
github.com/Milesight-IoT/SensorDecoders em-series/em400-udl; TTN vendor/milesight-iot/em400-udl.js).

Channels: 01/75 battery (uint8, %); 03/67 temperature (int16 LE, 0.1 degC); 04/82 distance
(uint16 LE, mm); 05/00 position (0 normal, 1 tilt); 83/67 and 84/82 the same temperature and
distance followed by an alarm-state byte."""

EM400_MUD = Model("EM400-MUD", _EM400_UDL)
"""Milesight EM400-MUD multifunctional ultrasonic distance sensor for bins (EM400-MUD user guide,
"Uplink Packets"; TTN vendor/milesight-iot/em400-mud.js): the EM400-UDL's channels."""


# --- EM500-UDL ---------------------------------------------------------------------------------


def _udl_distance_mutation(b: bytes) -> list[Reading]:
    # Distance (uint16 LE, 0.1 mm per the vendor codec), mutation (uint16 LE), alarm state (1).
    return [Reading("distance", u16(b) / 10_000.0)]


def _udl_history(b: bytes) -> list[Reading]:
    # Retransmitted record: unix time (uint32 LE, s) + distance (uint16 LE, mm).
    when = datetime.fromtimestamp(int.from_bytes(b[:4], "little"), tz=UTC)
    return [Reading("distance", u16(b[4:6]) / 1000.0, time=when)]


EM500_UDL = Model("EM500-UDL", {
    (0x01, 0x75): measure(1, battery),  # uint8, %
    (0x03, 0x82): measure(2, distance_mm),  # uint16, mm
    (0x83, 0xE9): measure(5, _udl_distance_mutation),  # distance + mutation + alarm state
    (0x20, 0xCE): measure(6, _udl_history),  # history record
})
"""Milesight EM500-UDL ultrasonic distance / level sensor (EM500-UDL user guide, "Uplink Packets";
github.com/Milesight-IoT/SensorDecoders EM_Series/EM500_Series/EM500-UDL; TTN
vendor/milesight-iot/em500-udl.js). Mounted looking down at water, ``distance`` becomes
``water_level`` through the device's mount height (decoders/derive.py).

Channels: 01/75 battery (uint8, %); 03/82 distance (uint16 LE, mm); 83/E9 distance alarm
(distance uint16 LE in 0.1 mm as the vendor codec reads it, mutation uint16 LE, alarm-state byte;
only the distance is kept); 20/CE history record (uint32 LE unix time + uint16 LE distance in
mm), decoded with the device's own timestamp."""


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="milesight-iot/em310-udl",
        vendor="Milesight",
        model="EM310-UDL",
        use_case="waste",
        metrics=("battery", "distance", "tilt"),
        spec=DOC + "em310-udl (EM310-UDL user guide, payload structure)",
        vectors="milesight-em310-udl.json",
        decode=EM310_UDL.decode,
        decode_frame=EM310_UDL.frame,
    ),
    DeviceModel(
        key="milesight-iot/em500-swl",
        vendor="Milesight",
        model="EM500-SWL",
        use_case="water",
        metrics=("battery", "water_depth"),
        spec=DOC + "em500-swl (EM500-SWL user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders em-series/em500-swl)",
        vectors="milesight-em500-swl.json",
        decode=EM500_SWL.decode,
        decode_frame=EM500_SWL.frame,
    ),
    DeviceModel(
        key="milesight-iot/em400-udl",
        vendor="Milesight",
        model="EM400-UDL",
        use_case="waste",
        metrics=("battery", "temperature", "distance", "tilt"),
        spec=DOC + "em400-udl (EM400-UDL user guide, payload structure)",
        vectors="milesight-em400-udl.json",
        decode=EM400_UDL.decode,
        decode_frame=EM400_UDL.frame,
    ),
    DeviceModel(
        key="milesight-iot/em500-udl",
        vendor="Milesight",
        model="EM500-UDL",
        use_case="water",
        metrics=("battery", "distance"),
        spec=DOC + "em500-udl (EM500-UDL user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders EM_Series/EM500_Series/EM500-UDL; "
        + TTN_REPO + "milesight-iot/em500-udl.js)",
        vectors="milesight-em500-udl.json",
        decode=EM500_UDL.decode,
        decode_frame=EM500_UDL.frame,
    ),
    DeviceModel(
        key="milesight-iot/em400-mud",
        vendor="Milesight",
        model="EM400-MUD",
        use_case="waste",
        metrics=("battery", "temperature", "distance", "tilt"),
        spec=DOC + "em400-mud (EM400-MUD user guide, payload structure; "
        + TTN_REPO + "milesight-iot/em400-mud.js)",
        vectors="milesight-em400-mud.json",
        decode=EM400_MUD.decode,
        decode_frame=EM400_MUD.frame,
    ),
)
