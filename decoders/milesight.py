"""Milesight IoT sensors: channel/type TLV frames on fPort 85.

Payload structure (Milesight "Payload Structure" in each model's user guide; the codecs in the TTN
device repository, vendor/milesight-iot/<model>.js, and in github.com/Milesight-IoT/SensorDecoders):
a sequence of ``channel_id (1 byte), channel_type (1 byte), value (n bytes, little-endian)``. The
value's size follows from the (channel, type) pair, so an unknown pair cannot be skipped: it is a
DecodeError rather than a guess.

Every model also sends device-information channels (``0xFF xx``: protocol, hardware and firmware
version, serial number, class, power-on) in its first uplink after a reset; they carry no
measurement and are skipped, so that frame is not dead-lettered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from decoders.base import DecodeError
from meetnet.records import Reading

MILESIGHT_PORT = 85

# (size in bytes, value bytes -> readings)
_Channel = tuple[int, Callable[[bytes], list[Reading]]]

# Device information ("attribute") channels shared by all models: (channel, type) -> size.
_ATTRIBUTES: dict[tuple[int, int], int] = {
    (0xFF, 0x01): 1,  # IPSO / protocol version
    (0xFF, 0x09): 2,  # hardware version
    (0xFF, 0x0A): 2,  # firmware version
    (0xFF, 0xFF): 2,  # TSL version
    (0xFF, 0x16): 8,  # serial number
    (0xFF, 0x0F): 1,  # LoRaWAN class
    (0xFF, 0xFE): 1,  # reset event
    (0xFF, 0x0B): 1,  # power on / device status
}

# Sentinels a Milesight sensor sends instead of a value when the probe failed: no reading.
_U16_READ_FAILED = 0xFFFF
_U16_OUT_OF_RANGE = 0xFFFD


def _u16(b: bytes) -> int:
    return int.from_bytes(b[:2], "little")


def _s16(b: bytes) -> int:
    return int.from_bytes(b[:2], "little", signed=True)


def _battery(b: bytes) -> list[Reading]:
    return [Reading("battery", float(b[0]))]


def _temperature(b: bytes) -> list[Reading]:
    return [Reading("temperature", _s16(b) / 10.0)]


def _distance_mm(b: bytes) -> list[Reading]:
    return [Reading("distance", _u16(b) / 1000.0)]


def _tilt(b: bytes) -> list[Reading]:
    # 0 = normal, 1 = tilted (lid open / bin being emptied).
    return [Reading("tilt", 1.0 if b[0] == 1 else 0.0)]


def _skip(_: bytes) -> list[Reading]:
    return []


def _decode(f_port: int, payload: bytes, channels: Mapping[tuple[int, int], _Channel]) -> list[Reading]:
    if f_port != MILESIGHT_PORT:
        raise DecodeError(f"unexpected fPort {f_port}: Milesight uplinks use fPort {MILESIGHT_PORT}")
    if not payload:
        raise DecodeError("empty payload")
    # Plain indexing rather than a Reader: this loop runs for every Milesight uplink and the
    # method calls were a third of ingest's decode time (bench/ingest.py profile).
    out: list[Reading] = []
    n = len(payload)
    pos = 0
    while pos < n:
        if n - pos < 2:
            raise DecodeError(f"truncated channel header at offset {pos}")
        key = (payload[pos], payload[pos + 1])
        pos += 2
        spec = channels.get(key)
        read: Callable[[bytes], list[Reading]] | None
        if spec is not None:
            size, read = spec
        else:  # a device-information channel: skipped
            attribute_size = _ATTRIBUTES.get(key)
            if attribute_size is None:
                raise DecodeError(f"unknown channel 0x{key[0]:02x} type 0x{key[1]:02x} at offset {pos - 2}")
            size, read = attribute_size, None
        end = pos + size
        if end > n:
            raise DecodeError(f"payload too short: need {size} byte(s) at offset {pos}, have {n - pos}")
        if read is not None:
            out += read(payload[pos:end])
        pos = end
    return out


# --- EM310-UDL ---------------------------------------------------------------------------------

_EM310_UDL: dict[tuple[int, int], _Channel] = {
    (0x01, 0x75): (1, _battery),  # uint8, %
    (0x03, 0x82): (2, _distance_mm),  # uint16, mm
    (0x04, 0x00): (1, _tilt),  # 0 normal, 1 tilt
}


def em310_udl(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight EM310-UDL ultrasonic distance sensor (EM310-UDL user guide, "Uplink Packets";
    TTN vendor/milesight-iot/em310-udl.js).

    Channels: 01/75 battery (uint8, %); 03/82 distance (uint16 LE, mm); 04/00 position
    (0 normal, 1 tilt).
    """
    return _decode(f_port, payload, _EM310_UDL)


# --- EM500-SWL ---------------------------------------------------------------------------------


def _depth_cm(raw: int) -> float | None:
    if raw in (_U16_READ_FAILED, _U16_OUT_OF_RANGE):
        return None
    return raw / 100.0


def _swl_depth(b: bytes) -> list[Reading]:
    depth = _depth_cm(_u16(b))
    return [] if depth is None else [Reading("water_depth", depth)]


def _swl_history(b: bytes) -> list[Reading]:
    # Retransmitted record: unix time (uint32 LE, s) + depth (uint16 LE, cm).
    ts = int.from_bytes(b[:4], "little")
    depth = _depth_cm(_u16(b[4:6]))
    if depth is None:
        return []
    return [Reading("water_depth", depth, time=datetime.fromtimestamp(ts, tz=UTC))]


_EM500_SWL: dict[tuple[int, int], _Channel] = {
    (0x01, 0x75): (1, _battery),  # uint8, %
    (0x03, 0x77): (2, _swl_depth),  # uint16, cm of water above the probe
    (0x20, 0xCE): (6, _swl_history),  # history record
    (0xFF, 0x1B): (5, _skip),  # measuring equipment (probe range): configuration only
}


def em500_swl(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight EM500-SWL submersible water level sensor (EM500-SWL user guide, "Uplink
    Packets"; github.com/Milesight-IoT/SensorDecoders em-series/em500-swl; TTN
    vendor/milesight-iot/em500-swl.js, where the channel is called "level").

    Channels: 01/75 battery (uint8, %); 03/77 water depth above the probe (uint16 LE, **cm**;
    0xFFFF = read failed, 0xFFFD = out of range, neither gives a reading); 20/CE history record
    (uint32 LE unix time + uint16 LE depth in cm), decoded with the device's own timestamp;
    FF/1B probe range (configuration, skipped). Emitted as ``water_depth`` in m.
    """
    return _decode(f_port, payload, _EM500_SWL)


# --- EM400-UDL ---------------------------------------------------------------------------------


def _with_alarm(read: Callable[[bytes], list[Reading]]) -> Callable[[bytes], list[Reading]]:
    # Alarm variants carry the value followed by one alarm-state byte (threshold crossed or
    # released), which is not a measurement.
    return lambda b: read(b[:-1])


_EM400_UDL: dict[tuple[int, int], _Channel] = {
    (0x01, 0x75): (1, _battery),  # uint8, %
    (0x03, 0x67): (2, _temperature),  # int16, 0.1 degC
    (0x04, 0x82): (2, _distance_mm),  # uint16, mm
    (0x05, 0x00): (1, _tilt),  # 0 normal, 1 tilt
    (0x83, 0x67): (3, _with_alarm(_temperature)),  # temperature + alarm state
    (0x84, 0x82): (3, _with_alarm(_distance_mm)),  # distance + alarm state
}


def em400_udl(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight EM400-UDL ultrasonic distance sensor (EM400-UDL user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders em-series/em400-udl; TTN
    vendor/milesight-iot/em400-udl.js).

    Channels: 01/75 battery (uint8, %); 03/67 temperature (int16 LE, 0.1 degC); 04/82 distance
    (uint16 LE, mm); 05/00 position (0 normal, 1 tilt); 83/67 and 84/82 the same temperature and
    distance followed by an alarm-state byte.
    """
    return _decode(f_port, payload, _EM400_UDL)


# --- AM319 -------------------------------------------------------------------------------------


def _humidity_half(b: bytes) -> list[Reading]:
    return [Reading("humidity", b[0] / 2.0)]  # uint8, 0.5 %RH


def _co2(b: bytes) -> list[Reading]:
    return [Reading("co2", float(_u16(b)))]  # uint16, ppm


def _pressure_dhpa(b: bytes) -> list[Reading]:
    return [Reading("pressure", _u16(b) * 10.0)]  # uint16, 0.1 hPa = 10 Pa


def _am319_history(b: bytes) -> list[Reading]:
    # unix time (4), temperature (2), humidity (2, 0.5 %RH), PIR (1), light level (1), CO2 (2),
    # TVOC (2), pressure (2, 0.1 hPa), PM2.5 (2), PM10 (2), HCHO (2).
    when = datetime.fromtimestamp(int.from_bytes(b[0:4], "little"), tz=UTC)
    return [
        Reading("temperature", _s16(b[4:6]) / 10.0, time=when),
        Reading("humidity", _u16(b[6:8]) / 2.0, time=when),
        Reading("co2", float(_u16(b[10:12])), time=when),
        Reading("pressure", _u16(b[14:16]) * 10.0, time=when),
    ]


_AM319: dict[tuple[int, int], _Channel] = {
    (0x01, 0x75): (1, _battery),  # uint8, %
    (0x03, 0x67): (2, _temperature),  # int16, 0.1 degC
    (0x04, 0x68): (1, _humidity_half),  # uint8, 0.5 %RH
    (0x05, 0x00): (1, _skip),  # PIR state (idle / trigger), not a motion count
    (0x06, 0xCB): (1, _skip),  # light level 0..5, not lux
    (0x07, 0x7D): (2, _co2),  # uint16, ppm
    (0x08, 0x7D): (2, _skip),  # TVOC as IAQ index (raw / 100), not ppb
    (0x08, 0xE6): (2, _skip),  # TVOC in ug/m3, not ppb
    (0x09, 0x73): (2, _pressure_dhpa),  # uint16, 0.1 hPa
    (0x0A, 0x7D): (2, _skip),  # HCHO, mg/m3 (raw / 100)
    (0x0B, 0x7D): (2, _skip),  # PM2.5, ug/m3
    (0x0C, 0x7D): (2, _skip),  # PM10, ug/m3
    (0x0D, 0x7D): (2, _skip),  # O3, ppm (raw / 100)
    (0x0E, 0x01): (1, _skip),  # buzzer state
    (0x20, 0xCE): (22, _am319_history),  # history record, TVOC as IAQ
    (0x21, 0xCE): (22, _am319_history),  # history record, TVOC in ug/m3
}


def am319(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight AM319 indoor ambience monitor (AM300 series user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders am-series; TTN vendor/milesight-iot/am319.js).

    Emits battery (01/75, %), temperature (03/67, int16 LE 0.1 degC), humidity (04/68, uint8
    0.5 %RH), co2 (07/7D, uint16 ppm) and pressure (09/73, uint16 0.1 hPa -> Pa), and the same
    from history records (20/CE, 21/CE) at the device's own time. PIR state, light level (0..5),
    TVOC (an IAQ index or ug/m3, not ppb), HCHO, PM2.5, PM10, O3 and the buzzer have no catalog
    metric and are skipped.
    """
    return _decode(f_port, payload, _AM319)


# --- EM500-UDL ---------------------------------------------------------------------------------


def _udl_distance_mutation(b: bytes) -> list[Reading]:
    # Distance (uint16 LE, 0.1 mm per the vendor codec), mutation (uint16 LE), alarm state (1).
    return [Reading("distance", _u16(b) / 10_000.0)]


def _udl_history(b: bytes) -> list[Reading]:
    # Retransmitted record: unix time (uint32 LE, s) + distance (uint16 LE, mm).
    when = datetime.fromtimestamp(int.from_bytes(b[:4], "little"), tz=UTC)
    return [Reading("distance", _u16(b[4:6]) / 1000.0, time=when)]


_EM500_UDL: dict[tuple[int, int], _Channel] = {
    (0x01, 0x75): (1, _battery),  # uint8, %
    (0x03, 0x82): (2, _distance_mm),  # uint16, mm
    (0x83, 0xE9): (5, _udl_distance_mutation),  # distance + mutation + alarm state
    (0x20, 0xCE): (6, _udl_history),  # history record
}


def em500_udl(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight EM500-UDL ultrasonic distance / level sensor (EM500-UDL user guide, "Uplink
    Packets"; github.com/Milesight-IoT/SensorDecoders EM_Series/EM500_Series/EM500-UDL; TTN
    vendor/milesight-iot/em500-udl.js). Mounted looking down at water, ``distance`` becomes
    ``water_level`` through the device's mount height (decoders/derive.py).

    Channels: 01/75 battery (uint8, %); 03/82 distance (uint16 LE, mm); 83/E9 distance alarm
    (distance uint16 LE in 0.1 mm as the vendor codec reads it, mutation uint16 LE, alarm-state
    byte; only the distance is kept); 20/CE history record (uint32 LE unix time + uint16 LE
    distance in mm), decoded with the device's own timestamp.
    """
    return _decode(f_port, payload, _EM500_UDL)


# --- VS133 -------------------------------------------------------------------------------------


def _line_period(b: bytes) -> list[Reading]:
    # People crossing the line in this reporting period: in (uint16 LE), out (uint16 LE).
    return [Reading("pedestrian_count_in", float(_u16(b[0:2]))),
            Reading("pedestrian_count_out", float(_u16(b[2:4])))]


def _sum_directions(readings: list[Reading]) -> list[Reading]:
    """Sum the per-line in/out counts of one frame and add their total ``pedestrian_count``."""
    sums: dict[str, float] = {}
    rest: list[Reading] = []
    for r in readings:
        if r.metric in ("pedestrian_count_in", "pedestrian_count_out") and r.time is None:
            sums[r.metric] = sums.get(r.metric, 0.0) + r.value
        else:
            rest.append(r)
    if not sums:
        return rest
    inn = sums.get("pedestrian_count_in", 0.0)
    out = sums.get("pedestrian_count_out", 0.0)
    return [
        Reading("pedestrian_count_in", inn),
        Reading("pedestrian_count_out", out),
        Reading("pedestrian_count", inn + out),
        *rest,
    ]


_VS133: dict[tuple[int, int], _Channel] = {}
for _line in range(4):
    _VS133[(0x03 + 3 * _line, 0xD2)] = (4, _skip)  # line total in since reset (uint32 LE)
    _VS133[(0x04 + 3 * _line, 0xD2)] = (4, _skip)  # line total out since reset (uint32 LE)
    _VS133[(0x05 + 3 * _line, 0xCC)] = (4, _line_period)  # line period in / out
_VS133[(0x0F, 0xE3)] = (4, _skip)  # people in regions 1..4 (uint8 each)
_VS133[(0x10, 0xE4)] = (5, _skip)  # region dwell time: region, average (uint16), maximum (uint16)


def vs133(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight VS133 ToF AI people counter (VS13x user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders VS_Series/VS133; TTN vendor/milesight-iot/vs133.js).

    Up to four counting lines n = 1..4: channel 3n/D2 total in and 3n+1/D2 total out (uint32 LE,
    cumulative since the last reset: not stored, the period counts carry the same flow without
    wrap-around), 3n+2/CC period in and out (uint16 LE each) -> ``pedestrian_count_in`` /
    ``_out`` summed over the lines in the frame, and their total ``pedestrian_count``. Region
    occupancy (0F/E3) and dwell times (10/E4) have no catalog metric and are skipped.
    """
    return _sum_directions(_decode(f_port, payload, _VS133))


# --- VS121 -------------------------------------------------------------------------------------


def _vs121_people(b: bytes) -> list[Reading]:
    # People in the whole view (uint8), number of regions (uint8), region occupancy bitmap (2).
    return [Reading("people_count", float(b[0]))]


def _vs121_in_out(b: bytes) -> list[Reading]:
    # Line crossings in the period: in, out (int16 LE). A negative count is no count.
    out = []
    for metric, raw in (("pedestrian_count_in", _s16(b[0:2])), ("pedestrian_count_out", _s16(b[2:4]))):
        if raw >= 0:
            out.append(Reading(metric, float(raw)))
    return out


_VS121: dict[tuple[int, int], _Channel] = {
    (0xFF, 0x08): (6, _skip),  # serial number (6 bytes on the VS121)
    (0xFF, 0x1F): (4, _skip),  # firmware version (4 bytes on the VS121)
    (0x04, 0xC9): (4, _vs121_people),  # people count (all), region count, region bitmap
    (0x05, 0xCC): (4, _vs121_in_out),  # people in / out (line crossing)
    (0x06, 0xCD): (1, _skip),  # maximum people count in the period
    (0x07, 0xD5): (8, _skip),  # people per region 1..8
    (0x08, 0xD5): (8, _skip),  # people per region 9..16
    (0x09, 0xDA): (8, _skip),  # flow A -> A/B/C/D
    (0x0A, 0xDA): (8, _skip),  # flow B -> ...
    (0x0B, 0xDA): (8, _skip),  # flow C -> ...
    (0x0C, 0xDA): (8, _skip),  # flow D -> ...
    (0x0D, 0xCC): (4, _skip),  # cumulative in / out since reset
    (0x0E, 0xE4): (5, _skip),  # dwell time: region, average, maximum
    (0x0F, 0x85): (4, _skip),  # device timestamp of the report
    (0x10, 0xF7): (4, _skip),  # line in / out (firmware 7.0.85), duplicates 05/CC
}


def vs121(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight VS121 AI workplace occupancy sensor (VS121 user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders VS_Series/VS121; TTN vendor/milesight-iot/vs121.js).

    04/C9: people in view (uint8) -> ``people_count`` (an occupancy snapshot), then the number of
    regions (uint8) and a region occupancy bitmap (uint16, skipped). 05/CC: line crossings in and
    out (int16 LE each) -> ``pedestrian_count_in`` / ``_out`` and their total
    ``pedestrian_count``. Maximum count, per-region counts, flows, cumulative totals, dwell times
    and the report timestamp have no catalog metric and are skipped. History records (20/CE, of
    variable length) and downlink responses cannot be skipped safely: DecodeError.
    """
    return _sum_directions(_decode(f_port, payload, _VS121))


# --- EM400-MUD ---------------------------------------------------------------------------------


def em400_mud(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight EM400-MUD multifunctional ultrasonic distance sensor for bins (EM400-MUD user
    guide, "Uplink Packets"; TTN vendor/milesight-iot/em400-mud.js).

    The same channels as the EM400-UDL: 01/75 battery (uint8, %); 03/67 temperature (int16 LE,
    0.1 degC); 04/82 distance (uint16 LE, mm); 05/00 position (0 normal, 1 tilt); 83/67 and 84/82
    temperature and distance followed by an alarm-state byte.
    """
    return _decode(f_port, payload, _EM400_UDL)


# --- AM307 -------------------------------------------------------------------------------------

_AM307: dict[tuple[int, int], _Channel] = {
    **_AM319,
    # PIR activity (uint16 LE) of the AM100 series; not in the AM300 payload structure, but the
    # vendor's own AM307 example frame carries it. No catalog metric: skipped.
    (0x05, 0x6A): (2, _skip),
}


def am307(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight AM307 indoor ambience monitor (AM300 series user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders AM_Series/AM300_Series; TTN
    vendor/milesight-iot/am307.js, one codec for AM307 and AM319).

    The AM319's channels without the PM / HCHO / O3 sensors: battery (01/75, %), temperature
    (03/67, int16 LE 0.1 degC), humidity (04/68, uint8 0.5 %RH), co2 (07/7D, uint16 ppm),
    pressure (09/73, uint16 0.1 hPa -> Pa), history records (20/CE, 21/CE); PIR, light level,
    TVOC (IAQ index or ug/m3) and the buzzer are skipped, as is the AM100-style PIR activity
    (05/6A, uint16) that the vendor's example frame contains.
    """
    return _decode(f_port, payload, _AM307)
