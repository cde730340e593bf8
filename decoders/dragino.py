"""Dragino ultrasonic distance sensors: fixed big-endian frames, one layout per fPort.

LDDS75 and LDDS45 run the same firmware and send the same frames (Dragino ships the LDDS75
decoder in its LDDS45 folder); the DDS75-LB is the LB-series successor of the LDDS75 and keeps
its data frame, adding a datalog (history) frame with the device's own time.

Sources: the models' user manuals, section "Uplink Payload" and "Device Status"
(https://wiki.dragino.com/xwiki/bin/view/Main/User%20Manual%20for%20LoRaWAN%20End%20Nodes/);
github.com/dragino/dragino-end-node-decoder (LDDS75/, LDDS45/, DDS75-LB/); TTN device repository
vendor/dragino/ldds75.js, ldds45-codec.yaml. The TTN repository's dds75-lb.js is the codec of
the three-probe DDS75-3-LS (11-byte frames, model code 0xF2), not of the DDS75-LB: the DDS75-LB
layout here follows its manual and Dragino's own DDS75-LB decoder.

- fPort 2, data: BAT (uint16; bits 0..13 battery mV, the top bits flags), distance (uint16 mm),
  interrupt flag (uint8), DS18B20 temperature (int16, 0.1 degC), sensor flag (uint8; 1 = probe
  found). LDDS75/LDDS45 firmware before v1.1.4 sent only BAT + distance (+ interrupt flag).
- fPort 3, DDS75-LB datalog: records of 11 bytes, each BAT, distance and DS18B20 as on fPort 2,
  a flag byte and the device's Unix time (uint32 s).
- fPort 5, device status: sensor model (uint8), firmware version (uint16, 0x0130 = 1.3.0),
  frequency band (uint8), sub-band (uint8, 0xFF none), BAT (uint16 mV).
- fPort 6, DDS75-LB detect mode: a list of uint16 distances without times (see `dds75_lb`).

Distance 0 means no ultrasonic probe was found; a target closer than the probe's range (280 mm
for the 75 models) is sent as 0x0014 = 20 mm, the manuals' "invalid reading", and Dragino's codec
calls any value below 20 mm invalid: none of these gives a distance reading. The DS18B20 probe
is optional and reads 0 when absent, so its temperature cannot be told from a real 0 degC and is
not stored; the interrupt and sensor flags have no catalog metric.
"""

from __future__ import annotations

from datetime import UTC, datetime

from decoders.base import TTN_REPO, AttributeValue, DecodeError, DeviceModel, Frame
from meetnet.records import Reading

DATA_PORT = 2
DATALOG_PORT = 3
STATUS_PORT = 5
DETECT_PORT = 6
# BAT (2) + distance (2); + interrupt flag (1); + DS18B20 temperature (2) + sensor flag (1).
_LDDS75_LENGTHS = (4, 5, 8)
_LB_LENGTHS = (8,)
_STATUS_LENGTH = 7
_DATALOG_RECORD = 11
#: At or below this a distance is a code, not a measurement (0x0014 = "invalid reading").
_INVALID_MM = 20
_BAT_MASK = 0x3FFF
#: fPort 5 frequency band codes (Dragino's decoders for the LB series and LDDS75 v1.1.4).
_BANDS = {
    0x01: "EU868", 0x02: "US915", 0x03: "IN865", 0x04: "AU915", 0x05: "KZ865", 0x06: "RU864",
    0x07: "AS923", 0x08: "AS923_1", 0x09: "AS923_2", 0x0A: "AS923_3", 0x0B: "CN470",
    0x0C: "EU433", 0x0D: "KR920", 0x0E: "MA869",
}
#: fPort 5 sensor model codes Dragino's decoders name; any other is given as its hex code.
_SENSOR_MODELS = {0x27: "DDS75-LB", 0xF2: "DDS75-3-LB"}
_NO_SUB_BAND = 0xFF
_DOC = "https://wiki.dragino.com/xwiki/bin/view/Main/User%20Manual%20for%20LoRaWAN%20End%20Nodes/"


def _u16(b: bytes, pos: int) -> int:
    return (b[pos] << 8) | b[pos + 1]


def _measurements(bat: int, mm: int, time: datetime | None = None) -> list[Reading]:
    out = [Reading("battery_voltage", (bat & _BAT_MASK) / 1000.0, time=time)]
    if mm > _INVALID_MM:  # 0 (no probe) included
        out.append(Reading("distance", mm / 1000.0, time=time))
    return out


def _status(name: str, payload: bytes) -> Frame:
    """fPort 5: the device's model, firmware, band and sub-band (attributes) and its battery."""
    if len(payload) != _STATUS_LENGTH:
        raise DecodeError(f"{name} status frame: {_STATUS_LENGTH} bytes expected, got {len(payload)}")
    code, band, sub_band = payload[0], payload[3], payload[4]
    attrs: dict[str, AttributeValue] = {
        "sensor_model": _SENSOR_MODELS.get(code, f"0x{code:02x}"),
        "firmware_version": f"{payload[1] & 0x0F}.{payload[2] >> 4}.{payload[2] & 0x0F}",
        "frequency_band": _BANDS.get(band, f"0x{band:02x}"),
    }
    if sub_band != _NO_SUB_BAND:
        attrs["sub_band"] = sub_band
    # The status frame's BAT has no flag bits (Dragino's decoders read all 16).
    return Frame([Reading("battery_voltage", _u16(payload, 5) / 1000.0)], attrs)


def _data(name: str, payload: bytes, lengths: tuple[int, ...]) -> Frame:
    if len(payload) not in lengths:
        raise DecodeError(f"{name} frame of {len(payload)} bytes; expected one of {lengths}")
    return Frame(_measurements(_u16(payload, 0), _u16(payload, 2)))


def _port_error(name: str, f_port: int, ports: str) -> DecodeError:
    return DecodeError(f"unexpected fPort {f_port}: {name} sends {ports}")


def ldds75_frame(f_port: int, payload: bytes) -> Frame:
    """Dragino LDDS75 (LDDS75 user manual, "Uplink Payload", "Device Status"): fPort 2 data
    frames of 4, 5 or 8 bytes; fPort 5 status frame (model, firmware, band, sub-band as
    attributes, battery as a reading)."""
    return _ldds_frame("LDDS75", f_port, payload)


def ldds45_frame(f_port: int, payload: bytes) -> Frame:
    """Dragino LDDS45 (LDDS45 user manual, "Uplink Payload"): the LDDS75's firmware and frames
    (Dragino publishes one decoder for both); its probe measures 30..4500 mm."""
    return _ldds_frame("LDDS45", f_port, payload)


def _ldds_frame(name: str, f_port: int, payload: bytes) -> Frame:
    if f_port == DATA_PORT:
        return _data(name, payload, _LDDS75_LENGTHS)
    if f_port == STATUS_PORT:
        return _status(name, payload)
    raise _port_error(name, f_port, "data on fPort 2, status on 5")


def dds75_lb_frame(f_port: int, payload: bytes) -> Frame:
    """Dragino DDS75-LB (DDS75-LB user manual, "Uplink Payload", "Datalog", "Device Status";
    Dragino's DDS75-LB decoder): fPort 2 the LDDS75's 8-byte data frame; fPort 3 datalog records
    (11 bytes: BAT, distance, DS18B20, flags, Unix time), each reading at the device's own time;
    fPort 5 status (model code 0x27); fPort 6 detect-mode distances.

    Detect-mode frames (fPort 6) list distances sampled in an alarm window without their times:
    they cannot be placed in time beside the periodic readings, so they give no readings (the
    frame is checked, not refused)."""
    name = "DDS75-LB"
    if f_port == DATA_PORT:
        return _data(name, payload, _LB_LENGTHS)
    if f_port == DATALOG_PORT:
        return Frame(_datalog(name, payload))
    if f_port == STATUS_PORT:
        return _status(name, payload)
    if f_port == DETECT_PORT:
        if not payload or len(payload) % 2:
            raise DecodeError(f"{name} detect-mode frame of {len(payload)} bytes: uint16 list expected")
        return Frame([])
    raise _port_error(name, f_port, "data on fPort 2, datalog on 3, status on 5, detect mode on 6")


def _datalog(name: str, payload: bytes) -> list[Reading]:
    n = len(payload)
    if n == 0 or n % _DATALOG_RECORD:
        raise DecodeError(f"{name} datalog frame of {n} bytes: records of {_DATALOG_RECORD} expected")
    out: list[Reading] = []
    for pos in range(0, n, _DATALOG_RECORD):
        ts = int.from_bytes(payload[pos + 7 : pos + 11], "big")
        out += _measurements(_u16(payload, pos), _u16(payload, pos + 2),
                             datetime.fromtimestamp(ts, tz=UTC))
    return out


def ldds75(f_port: int, payload: bytes) -> list[Reading]:
    """`ldds75_frame` without the attributes."""
    return ldds75_frame(f_port, payload).readings


def ldds45(f_port: int, payload: bytes) -> list[Reading]:
    """`ldds45_frame` without the attributes."""
    return ldds45_frame(f_port, payload).readings


def dds75_lb(f_port: int, payload: bytes) -> list[Reading]:
    """`dds75_lb_frame` without the attributes."""
    return dds75_lb_frame(f_port, payload).readings


_METRICS = ("battery_voltage", "distance")

MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="dragino/ldds75",
        vendor="Dragino",
        model="LDDS75",
        use_case="waste",
        metrics=_METRICS,
        spec=f"{_DOC} (LDDS75 LoRaWAN Distance Detection Sensor user manual, uplink payload and "
        "device status; github.com/dragino/dragino-end-node-decoder LDDS75)",
        vectors="dragino-ldds75.json",
        decode=ldds75,
        decode_frame=ldds75_frame,
    ),
    DeviceModel(
        key="dragino/ldds45",
        vendor="Dragino",
        model="LDDS45",
        use_case="water",
        metrics=_METRICS,
        spec=f"{_DOC} (LDDS45 LoRaWAN Distance Detection Sensor user manual, uplink payload; "
        f"github.com/dragino/dragino-end-node-decoder LDDS45; {TTN_REPO}dragino/ldds45-codec.yaml)",
        vectors="dragino-ldds45.json",
        decode=ldds45,
        decode_frame=ldds45_frame,
    ),
    DeviceModel(
        key="dragino/dds75-lb",
        vendor="Dragino",
        model="DDS75-LB",
        use_case="waste",
        metrics=_METRICS,
        spec=f"{_DOC} (DDS75-LB LoRaWAN Distance Detection Sensor user manual, uplink payload, "
        "datalog and device status; github.com/dragino/dragino-end-node-decoder DDS75-LB)",
        vectors="dragino-dds75-lb.json",
        decode=dds75_lb,
        decode_frame=dds75_lb_frame,
    ),
)
