"""Parametric radar counters: PCR2 (people / vehicle counter) and TCR (traffic counter).

PCR2 payloads: "PCR2 Application Payload" V2, V3 and V4 and "PCR2 Configuration Payload" V2..V6
(https://www.parametric.ch/docs/pcr2/pcr2_app_payload_v2 for the ELSYS-compatible layout,
https://www.parametric.ch/docs/pcr2/pcr2_app_payload_v3,
https://docs.parametric-analytics.com/pcr2/manuals/lora_payload_v4/) and the vendor codec in the
TTN device repository (vendor/parametric/pcr2.js). Application data on fPort 14, configuration on
fPort 190. All multi-byte values are big-endian.

TCR payloads: "TCR LoRaWAN Payload Description" for firmware V1.3
(https://docs.pmx.systems/tcr/manuals/lora_payload_v1.3/, formerly
https://www.parametric-analytics.com/docs/tcr/tcr_app_payload_v2) and the older "TCR Application
Payload V1" (https://www.parametric-analytics.com/docs/tcr/tcr_app_payload_v1). Application data
on fPort 15, configuration on fPort 190. The TTN device repository has no TCR codec.
"""

from __future__ import annotations

from decoders.base import TTN_REPO, DecodeError, DeviceModel, Reader
from decoders.traffic import classes_from_means, mean_speed, v85
from meetnet.records import Reading

APP_PORT = 14
CONFIG_PORT = 190

_VENDOR = 0xBE  # Parametric vendor id, first byte of the extended payloads
_FAMILY_PCR2 = 0x01
# Configuration payload version by length: V2 (no vendor header), V3 .. V6 (be 01 <version> ...).
_CONFIG_VERSION_BY_LENGTH = {14: 2, 20: 3, 31: 4, 34: 5, 35: 6}
# Firmware 4 "DeviceID" frame on fPort 190: be 01 <device type> d5 + 5 bytes.
_DEVICE_ID_TAG = 0xD5
_DEVICE_ID_LENGTH = 9
# Firmware 4 application data on fPort 14: be 01 <device type> a5 + 6 bytes.
_APP_V5_TAG = 0xA5
_APP_V5_LENGTH = 10


def _u16(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "big")


def _s16(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "big", signed=True)


def _counts(ltr: int, rtl: int) -> list[Reading]:
    return [
        Reading("vehicle_count_ltr", float(ltr)),
        Reading("vehicle_count_rtl", float(rtl)),
        Reading("vehicle_count", float(ltr + rtl)),
    ]


def _temperature(raw: int) -> Reading:
    # int16 in 0.1 degC. The vendor codec floors this to whole degrees; meetnet keeps the tenth.
    return Reading("temperature", raw / 10.0)


# ELSYS-compatible format (payload type 0): each field is an Elsys type byte and a big-endian
# 16-bit value. Parametric's documents give each type one meaning, whatever its position:
_ELSYS_LTR = 0x0A  # "LTR ID, objects counted left-to-right" (Elsys pulse input 1)
_ELSYS_RTL = 0x16  # "RTL ID, objects counted right-to-left" (Elsys pulse input 2)
_ELSYS_TEMP = 0x01  # "TEMP ID, CPU temperature", int16 in 0.1 degC (Elsys temperature)
_ELSYS_NAMES = {_ELSYS_LTR: "left-to-right counter", _ELSYS_RTL: "right-to-left counter",
                _ELSYS_TEMP: "CPU temperature"}


def _elsys(payload: bytes) -> list[Reading]:
    """ELSYS-compatible format (payload type 0): ``0A ltr(2) 16 rtl(2) 01 temp(2)``.

    Parametric documents one type per direction: "PCR2 Application Payload V2" (firmware 3.2.0,
    https://www.parametric.ch/docs/pcr2/pcr2_app_payload_v2, its one layout table "0A ltr | 16
    rtl | 01 temp": 0x0A = objects counted left-to-right, 0x16 = objects counted right-to-left)
    and the vendor codec (TTN vendor/parametric/pcr2.js, ``decode_elsys_pl``: 0x0A -> LTR, 0x16 ->
    RTL). "PCR2 Application Payloads V3" and "PCR2 LoRaWAN Payload Description V4" keep this
    format as the one for compatibility with ELSYS devices, in which 0x0A and 0x16 are pulse
    inputs 1 and 2. So every 0x0A is the left-to-right count, a second 0x0A included: it is
    never the right-to-left count (no document has a PCR2 send RTL under 0x0A), and a frame that
    repeats a field gives two values for one count. Such a frame is refused rather than guessed
    at (the vendor codec would silently keep the last value). A frame with only one of the two
    counters gives that direction alone: no zero is made up for the other, and no total.
    """
    r = Reader(payload)
    values: dict[int, int] = {}
    while r.remaining():
        kind = r.u8()
        at = r.pos - 1
        value = r.take(2)
        if kind not in _ELSYS_NAMES:
            raise DecodeError(f"unexpected PCR2 ELSYS field 0x{kind:02x} at offset {at}")
        if kind in values:
            raise DecodeError(
                f"PCR2 ELSYS field 0x{kind:02x} ({_ELSYS_NAMES[kind]}) repeated at offset {at}: "
                "Parametric documents each field once (0x0A left-to-right, 0x16 right-to-left)"
            )
        values[kind] = _s16(value, 0) if kind == _ELSYS_TEMP else _u16(value, 0)
    ltr, rtl = values.get(_ELSYS_LTR), values.get(_ELSYS_RTL)
    if ltr is not None and rtl is not None:
        out = _counts(ltr, rtl)
    elif ltr is not None:
        out = [Reading("vehicle_count_ltr", float(ltr))]
    elif rtl is not None:
        out = [Reading("vehicle_count_rtl", float(rtl))]
    else:
        raise DecodeError("PCR2 ELSYS payload without counters")
    if _ELSYS_TEMP in values:
        out.append(_temperature(values[_ELSYS_TEMP]))
    return out


def _lpp(payload: bytes) -> list[Reading]:
    """Cayenne LPP format (payload type 1): 00 66 ltr, 01 66 rtl (presence type, one byte each,
    0..255), then a temperature channel whose layout the vendor documents inconsistently; only
    the counts are read."""
    if len(payload) < 6 or payload[3:5] != b"\x01\x66":
        raise DecodeError("PCR2 Cayenne LPP payload: expected channels 00/66 and 01/66")
    return _counts(payload[2], payload[5])


def _extended(payload: bytes) -> list[Reading]:
    """Extended format (payload type 2): be 01 <version> LTR(2) RTL(2) LTR_SUM(2) RTL_SUM(2),
    then V3: SBX_BATT (1, %) SBX_PV (2, mW) CPU_TEMP (2); V4: SBX_BATT (2, mV) SBX_PV (2, mW)
    CPU_TEMP (2). SBX_* are zero when no SBX solar charger is fitted: no battery reading then."""
    if len(payload) == _APP_V5_LENGTH and payload[3] == _APP_V5_TAG:
        # Firmware 4 "AppData Payload V5" (be 01 <device type> a5 ...): layout not implemented.
        raise DecodeError("PCR2 application payload V5 (firmware 4) is not supported")
    version = payload[2]
    expected = {3: 16, 4: 17}.get(version)
    if expected is None:
        raise DecodeError(f"PCR2 extended application payload version {version} is not supported")
    if len(payload) != expected:
        raise DecodeError(f"PCR2 extended payload V{version}: {expected} bytes expected, got {len(payload)}")
    out = _counts(_u16(payload, 3), _u16(payload, 5))
    if version == 3:
        batt, pv = payload[11], _u16(payload, 12)
        if batt or pv:
            out.append(Reading("battery", float(batt)))
    else:
        batt, pv = _u16(payload, 11), _u16(payload, 13)
        if batt or pv:
            out.append(Reading("battery_voltage", batt / 1000.0))
    out.append(_temperature(_s16(payload, expected - 2)))
    return out


def _is_config(payload: bytes) -> bool:
    version = _CONFIG_VERSION_BY_LENGTH.get(len(payload))
    if version == 2:
        return True  # V2 has no vendor header: it starts with the device type
    if version is not None:
        return payload[:3] == bytes((_VENDOR, _FAMILY_PCR2, version))
    return (
        len(payload) == _DEVICE_ID_LENGTH
        and payload[:2] == bytes((_VENDOR, _FAMILY_PCR2))
        and payload[3] == _DEVICE_ID_TAG
    )


def pcr2(f_port: int, payload: bytes) -> list[Reading]:
    """Parametric PCR2 radar counter (PCR2 application payload V2..V4; TTN
    vendor/parametric/pcr2.js), used at crossings to count vehicles.

    fPort 14: left-to-right and right-to-left counts since the previous uplink ->
    ``vehicle_count_ltr``, ``vehicle_count_rtl`` and their sum ``vehicle_count``; CPU
    temperature (0.1 degC) -> ``temperature``; with an SBX solar charger the battery (V3: %,
    V4: mV). Formats: ELSYS-compatible (starts 0A; 0x0A is always left-to-right and 0x16
    right-to-left, a repeated field is refused: see ``_elsys``), Cayenne LPP (starts 00 66),
    extended V3/V4 (starts be 01 03 / be 01 04). fPort 190: configuration / device id frames, no readings.
    Firmware 4 application frames (payload V5, be 01 xx a5) are not decoded: DecodeError.
    """
    if not payload:
        raise DecodeError("empty payload")
    if f_port == CONFIG_PORT:
        if _is_config(payload):
            return []
        raise DecodeError(f"PCR2 configuration payload of {len(payload)} bytes is not a known version")
    if f_port != APP_PORT:
        raise DecodeError(f"unexpected fPort {f_port}: PCR2 sends data on fPort 14, configuration on 190")
    if payload[0] == 0x0A:
        return _elsys(payload)
    if payload[:2] == b"\x00\x66":
        return _lpp(payload)
    if len(payload) >= 3 and payload[:2] == bytes((_VENDOR, _FAMILY_PCR2)):
        return _extended(payload)
    raise DecodeError(f"unknown PCR2 application payload starting 0x{payload[0]:02x}")


# --- TCR ---------------------------------------------------------------------------------------

TCR_APP_PORT = 15
_FAMILY_TCR = 0x02
_TCR_SPEED_CLASSES = 4
# Per speed class: count from left (uint16), its average speed (uint8, km/h), count from right
# (uint16), its average speed (uint8, km/h).
_TCR_CLASS_BYTES = 6
# Header: be 02 <version>, SBX battery (V1: uint8 %, V2: uint16 mV), SBX solar power (uint16 mW),
# temperature (int16, 0.1 degC).
_TCR_HEADER_BYTES = {1: 8, 2: 9}


ClassMeans = tuple[tuple[float, int], ...]


def _tcr_frame(f_port: int, payload: bytes
               ) -> tuple[int, Reading, int, int, ClassMeans, ClassMeans] | None:
    """(version, temperature, SBX battery, SBX power, classes from left, classes from right) of
    a TCR application frame, each class an (average speed km/h, count) pair; None for a
    configuration frame on fPort 190. DecodeError for anything else (see ``tcr``)."""
    if not payload:
        raise DecodeError("empty payload")
    if f_port == CONFIG_PORT:
        if len(payload) >= 4 and payload[:2] == bytes((_VENDOR, _FAMILY_TCR)):
            return None
        raise DecodeError("TCR fPort 190 frame does not start with be 02")
    if f_port != TCR_APP_PORT:
        raise DecodeError(
            f"unexpected fPort {f_port}: TCR V1.3 sends data on fPort 15, configuration on 190"
        )
    if payload[0] == 0xA2:
        raise DecodeError("TCR firmware 2 counters payload (a2) is not supported")
    if len(payload) < 3 or payload[:2] != bytes((_VENDOR, _FAMILY_TCR)):
        raise DecodeError("TCR application payload must start with be 02")
    version = payload[2]
    header = _TCR_HEADER_BYTES.get(version)
    if header is None:
        raise DecodeError(f"TCR application payload version {version} is not supported")
    expected = header + _TCR_SPEED_CLASSES * _TCR_CLASS_BYTES
    if len(payload) != expected:
        raise DecodeError(
            f"TCR application payload V{version}: {expected} bytes expected, got {len(payload)}"
        )
    if version == 1:
        batt, pv = payload[3], _u16(payload, 4)
    else:
        batt, pv = _u16(payload, 3), _u16(payload, 5)
    temperature = _temperature(_s16(payload, header - 2))
    ltr_classes: list[tuple[float, int]] = []
    rtl_classes: list[tuple[float, int]] = []
    for i in range(_TCR_SPEED_CLASSES):
        at = header + i * _TCR_CLASS_BYTES
        ltr_classes.append((float(payload[at + 2]), _u16(payload, at)))
        rtl_classes.append((float(payload[at + 5]), _u16(payload, at + 3)))
    return version, temperature, batt, pv, tuple(ltr_classes), tuple(rtl_classes)


def tcr_speed_classes(f_port: int, payload: bytes) -> tuple[ClassMeans, ClassMeans] | None:
    """The speed-class histogram of a TCR application frame (TCR LoRaWAN payload description,
    firmware V1.3): per speed class 0..3 the (average speed km/h, count) of the vehicles from
    the left and from the right, in that order; None for a configuration frame. The stored
    readings keep only totals and one V85 over both directions, so analytics that merge a
    period's histograms per direction (``analytics.crossing``) read them from the raw frames."""
    frame = _tcr_frame(f_port, payload)
    return None if frame is None else (frame[4], frame[5])


def tcr(f_port: int, payload: bytes) -> list[Reading]:
    """Parametric TCR radar traffic counter (TCR LoRaWAN payload description, firmware V1.3:
    https://docs.pmx.systems/tcr/manuals/lora_payload_v1.3/; application payload V1:
    https://www.parametric-analytics.com/docs/tcr/tcr_app_payload_v1), used at crossings for
    vehicle counts and speeds.

    fPort 15, big-endian: ``be 02 <version>``; V2 (firmware 1.3, 33 bytes): SBX battery (uint16,
    mV) and V1 (32 bytes): SBX battery (uint8, %); then SBX solar power (uint16, mW), device
    temperature (int16, 0.1 degC), and for speed classes 0..3: count from left (uint16), average
    speed from left (uint8, km/h), count from right (uint16), average speed from right (uint8,
    km/h). SBX fields are zero without an SBX solar charger: no battery reading then.

    Emits ``vehicle_count_ltr`` (from left), ``vehicle_count_rtl`` (from right),
    ``vehicle_count``, ``temperature``, the battery, and when at least one vehicle was counted
    ``vehicle_speed_mean`` (count-weighted mean of the class averages) and ``vehicle_speed_v85``
    (linear interpolation in the cumulative speed-class histogram, ``decoders.traffic``; the
    class windows are device configuration, not in the uplink, so they are estimated from the
    class averages). fPort 190: configuration / device id frames (``be 02 ...``), no readings.
    Firmware 2 "Counters Payload" frames (prefix a2) are not decoded: DecodeError.
    """
    frame = _tcr_frame(f_port, payload)
    if frame is None:
        return []
    version, temperature, batt, pv, ltr_classes, rtl_classes = frame
    battery = (Reading("battery", float(batt)) if version == 1
               else Reading("battery_voltage", batt / 1000.0))
    ltr = sum(n for _, n in ltr_classes)
    rtl = sum(n for _, n in rtl_classes)
    classes = [pair for lr in zip(ltr_classes, rtl_classes, strict=True) for pair in lr]
    out = _counts(ltr, rtl)
    mean = mean_speed(classes)
    if mean is not None:
        out.append(Reading("vehicle_speed_mean", mean))
    # Both directions of one speed class share its window: merge them before estimating bounds.
    merged = []
    for i in range(0, len(classes), 2):
        (la, ln), (ra, rn) = classes[i], classes[i + 1]
        if ln + rn:
            merged.append(((la * ln + ra * rn) / (ln + rn), ln + rn))
    speed = v85(classes_from_means(merged))
    if speed is not None:
        out.append(Reading("vehicle_speed_v85", speed))
    out.append(temperature)
    if batt or pv:
        out.append(battery)
    return out


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="parametric/pcr2",
        vendor="Parametric",
        model="PCR2",
        use_case="crossing",
        metrics=("vehicle_count_ltr", "vehicle_count_rtl", "vehicle_count", "temperature", "battery",
                 "battery_voltage"),
        spec="https://www.parametric.ch/docs/pcr2/pcr2_app_payload_v2 (ELSYS layout), "
        "https://www.parametric.ch/docs/pcr2/pcr2_app_payload_v3 and "
        "https://docs.parametric-analytics.com/pcr2/manuals/lora_payload_v4/ ("
        + TTN_REPO + "parametric/pcr2.js)",
        vectors="parametric-pcr2.json",
        decode=pcr2,
    ),
    DeviceModel(
        key="parametric/tcr",
        vendor="Parametric",
        model="TCR",
        use_case="crossing",
        metrics=("vehicle_count_ltr", "vehicle_count_rtl", "vehicle_count", "vehicle_speed_mean",
                 "vehicle_speed_v85", "temperature", "battery", "battery_voltage"),
        spec="https://docs.pmx.systems/tcr/manuals/lora_payload_v1.3/ (TCR LoRaWAN payload "
        "description, firmware V1.3, application payload on fPort 15) and "
        "https://www.parametric-analytics.com/docs/tcr/tcr_app_payload_v1",
        vectors="parametric-tcr.json",
        decode=tcr,
    ),
)
