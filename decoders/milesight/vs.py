"""Milesight VS series on fPort 85: the people counters at crossings and doors (VS121, VS133,
VS135, VS350). The frame layout and the device-information channels are in
decoders/milesight/tlv.py.

Besides measurements, these devices answer downlink commands in the same frame: channels ``ff``
and ``fe`` echo a setting (report interval, ADR, history on/off, ...), ``f9`` an extended one and
``f8`` the same followed by a result byte (0 success, 1 forbidden, 2 invalid parameter). They
become device attributes named as the vendor codecs name them, with the vendor's values ("enable"
/ "disable", "yes" for a command that was carried out); a nested vendor object is flattened as
``<group>_<field>``, and one that the device keeps per region, period or mode as
``<group>_<n>_<field>``. A refused ``f8`` command gives only ``device_response_result_*``. D2D
keys are secrets and are never kept.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from decoders.base import TTN_REPO, AttributeValue, DecodeError, DeviceModel
from decoders.milesight.tlv import (
    DOC,
    AttributeFn,
    Attributes,
    Channel,
    Model,
    attribute,
    battery,
    device_model,
    ignored,
    measure,
    one,
    s16,
    temperature,
    u16,
    u32,
    with_alarm,
)
from meetnet.records import Reading

# --- shared by the series ---------------------------------------------------------------------

_ENABLE = {0: "disable", 1: "enable"}
_YES_NO = {0: "no", 1: "yes"}
_RESULT = {0: "success", 1: "forbidden", 2: "invalid parameter"}
_ALARM = {0: "alarm_released", 1: "alarm_triggered"}


def _lookup(table: Mapping[int, str], raw: int) -> str:
    # The vendor codecs answer "unknown" for a value outside their table.
    return table.get(raw, "unknown")


def _enable(name: str) -> Channel:
    return attribute(1, one(name, lambda b: _lookup(_ENABLE, b[0])))


def _done(name: str) -> Channel:
    """A command the device carried out (reboot, clear a counter): its value byte is always 1."""
    return attribute(1, one(name, lambda b: "yes"))


def _u8(name: str) -> Channel:
    return attribute(1, one(name, lambda b: b[0]))


def _u16(name: str, size: int = 2) -> Channel:
    return attribute(size, one(name, u16))


def _choice(name: str, table: Mapping[int, str]) -> Channel:
    return attribute(1, one(name, lambda b: _lookup(table, b[0])))


def _fields(group: str, *fields: tuple[str, Callable[[bytes], AttributeValue]]) -> AttributeFn:
    """A nested vendor object flattened as ``<group>_<field>``."""
    return lambda b: {f"{group}_{name}": convert(b) for name, convert in fields}


def _interval_kind(b: bytes) -> Attributes:
    # 0 = retransmit interval, 1 = resend interval (uint16 LE, s); another kind says nothing.
    name = {0: "retransmit_interval", 1: "resend_interval"}.get(b[0])
    return {name: u16(b[1:3])} if name else {}


def _with_result(channel_type: int, spec: Channel) -> Channel:
    """An ``f8`` response: the ``f9`` value followed by the device's result byte; a refused
    command is not in force, so only the refusal is kept."""
    size = spec.size
    assert isinstance(size, int)
    describe = spec.describe

    def read(b: bytes) -> Attributes:
        result = b[size]
        if result == 0:
            return describe(b[:size]) if describe is not None else {}
        return {"device_response_result_channel_type": channel_type,
                "device_response_result_result": _lookup(_RESULT, result)}

    return attribute(size + 1, read)


def _responses(plain: Mapping[int, Channel], ext: Mapping[int, Channel]) -> dict[tuple[int, int], Channel]:
    """Downlink responses: ``plain`` on channels ff and fe, ``ext`` on f9 and (with a result
    byte) f8."""
    out: dict[tuple[int, int], Channel] = {}
    for channel_type, spec in plain.items():
        out[(0xFF, channel_type)] = spec
        out[(0xFE, channel_type)] = spec
    for channel_type, spec in ext.items():
        out[(0xF9, channel_type)] = spec
        out[(0xF8, channel_type)] = _with_result(channel_type, spec)
    return out


def _firmware_4(b: bytes) -> str:
    # ff 1f: four bytes printed in decimal (1f 07 00 4b -> v31.7.0.75), as the vendor codecs do.
    return "v" + ".".join(str(x) for x in b[:4])


def _history_size(sizes: Mapping[int, int], model: str) -> Callable[[bytes], int]:
    """Size of a 20/CE history record: uint32 LE unix time, a data type (uint8) and a value
    whose size the type gives; a type the vendor does not document ends the frame."""

    def size(b: bytes) -> int:
        if len(b) < 5:
            return 5  # the record's own header is cut: tlv reports the short payload
        value = sizes.get(b[4])
        if value is None:
            raise DecodeError(f"unknown {model} history data type 0x{b[4]:02x}")
        return 5 + value

    return size


def _when(b: bytes) -> datetime:
    return datetime.fromtimestamp(u32(b), tz=UTC)


_DIRECTIONS = ("pedestrian_count_in", "pedestrian_count_out")


def _sum_directions(readings: list[Reading]) -> list[Reading]:
    """Sum the per-line in/out counts of one frame that share a time (the frame's own, or a
    history record's) and add their total ``pedestrian_count``."""
    sums: dict[datetime | None, list[float]] = {}
    rest: list[Reading] = []
    for r in readings:
        if r.metric in _DIRECTIONS and r.offset_s == 0.0:
            pair = sums.get(r.time)
            if pair is None:
                pair = sums[r.time] = [0.0, 0.0]
            pair[0 if r.metric == "pedestrian_count_in" else 1] += r.value
        else:
            rest.append(r)
    if not sums:
        return rest
    out: list[Reading] = []
    for when, (inn, outn) in sums.items():
        out += (Reading("pedestrian_count_in", inn, time=when),
                Reading("pedestrian_count_out", outn, time=when),
                Reading("pedestrian_count", inn + outn, time=when))
    return out + rest


# --- VS133 / VS135 -------------------------------------------------------------------------------


def _line_period(b: bytes) -> list[Reading]:
    # People crossing the line in this reporting period: in (uint16 LE), out (uint16 LE).
    return [Reading("pedestrian_count_in", float(u16(b[0:2]))),
            Reading("pedestrian_count_out", float(u16(b[2:4])))]


def _occlusion(b: bytes) -> Attributes:
    # Reserved byte, node (0 = the master, else a cascaded node), alarm state.
    node = "master" if b[1] == 0 else f"node_{b[1]}"
    return {f"{node}_occlusion_alarm": _lookup(_ALARM, b[2])}


#: History data types 0x03..0x1d (line totals, period counts, region counts; "child" ones from
#: 0x11) carry 4 bytes, the dwell times (region + uint16) 3.
_VS13X_HISTORY = {t: 4 for t in (*range(0x03, 0x10), *range(0x11, 0x1E))} | {
    0x10: 3, 0x20: 3, 0x1E: 3, 0x3C: 3}


def _vs13x_history(b: bytes) -> list[Reading]:
    # Types 0x05, 0x08, 0x0b, 0x0e: period in / out of lines 1..4 at the record's time.
    if b[4] in (0x05, 0x08, 0x0B, 0x0E):
        when = _when(b)
        return [Reading("pedestrian_count_in", float(u16(b[5:7])), time=when),
                Reading("pedestrian_count_out", float(u16(b[7:9])), time=when)]
    return []


_LOG_LEVEL_13X = {1: "fatal", 2: "error", 3: "warning", 4: "debug", 5: "trace"}

_VS13X: dict[tuple[int, int], Channel] = {
    (0xFF, 0x1F): attribute(4, one("firmware_version", _firmware_4)),
    (0x0F, 0xE3): ignored(4),  # people in regions 1..4 (uint8 each)
    (0x10, 0xE4): ignored(5),  # region dwell time: region, average (uint16), maximum (uint16)
    (0x1D, 0xE3): ignored(4),  # children in regions 1..4
    (0x1E, 0xE4): ignored(5),  # children's dwell time
    (0x50, 0xFC): attribute(3, _occlusion),
    (0x20, 0xCE): Channel(_history_size(_VS13X_HISTORY, "VS13x"), _vs13x_history),
    **_responses(
        {
            0x03: _u16("report_interval"),
            0x04: _enable("confirm_mode_enable"),
            0x10: _done("reboot"),
            0x11: attribute(4, one("timestamp", u32)),
            0x27: _done("clear_history"),
            0x40: _enable("adr_enable"),
            0x42: _enable("wifi_enable"),
            0x43: _enable("periodic_report_enable"),
            0x44: _enable("trigger_report_enable"),
            0x51: _done("clear_total_count"),
            0x68: _enable("history_enable"),
            0x69: _enable("retransmit_enable"),
            0x6A: attribute(3, _interval_kind),
            0x6D: _done("stop_transmit"),
        },
        {
            0x84: attribute(3, _fields("sync_time_from_gateway_config",
                                       ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("period", lambda b: u16(b[1:3])))),
            0x85: attribute(2, _fields("rejoin_config", ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("max_count", lambda b: b[1]))),
            0x86: _u8("data_rate"),
            0x87: _u8("tx_power_level"),
            0x88: attribute(2, _fields("log_config",
                                       ("console_log_level", lambda b: _lookup(_LOG_LEVEL_13X, b[0])),
                                       ("file_log_level", lambda b: _lookup(_LOG_LEVEL_13X, b[1])))),
        },
    ),
}
for _line in range(4):
    _VS13X[(0x03 + 3 * _line, 0xD2)] = ignored(4)  # line total in since reset (uint32 LE)
    _VS13X[(0x04 + 3 * _line, 0xD2)] = ignored(4)  # line total out since reset (uint32 LE)
    _VS13X[(0x05 + 3 * _line, 0xCC)] = measure(4, _line_period)  # line period in / out
    _VS13X[(0x11 + 3 * _line, 0xD2)] = ignored(4)  # children: line total in
    _VS13X[(0x12 + 3 * _line, 0xD2)] = ignored(4)  # children: line total out
    _VS13X[(0x13 + 3 * _line, 0xCC)] = ignored(4)  # children: line period in / out


VS133 = Model("VS133", _VS13X, _sum_directions)
"""Milesight VS133 ToF AI people counter (VS13x user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders vs-series/vs133, whose codec is also the VS135's;
    TTN vendor/milesight-iot/vs133.js).

    Up to four counting lines n = 1..4: channel 3n/D2 total in and 3n+1/D2 total out (uint32 LE,
    cumulative since the last reset: not stored, the period counts carry the same flow without
    wrap-around), 3n+2/CC period in and out (uint16 LE each) -> ``pedestrian_count_in`` /
    ``_out`` summed over the lines in the frame, and their total ``pedestrian_count``. The
    "child" counterparts (11..1C, 1D/E3, 1E/E4) count children apart; whether the adults' counts
    include them the vendor does not say, so they are skipped, as are region occupancy (0F/E3)
    and dwell times (10/E4), which have no catalog metric. 20/CE history record (firmware
    1.0.9): uint32 LE unix time, data type, and the value of the live channel of that number
    (4 bytes; dwell times 3) -> a line's period counts at that time, summed per time like the
    live ones. 50/FC occlusion alarm, ff 1f firmware (4 bytes), downlink responses: attributes.
"""

VS135 = Model("VS135", _VS13X, _sum_directions)
"""Milesight VS135 ToF AI people counter: the VS133's frames (the vendor's one codec for both,
    github.com/Milesight-IoT/SensorDecoders vs-series/vs135; TTN vendor/milesight-iot/vs135.js)."""


# --- VS121 -------------------------------------------------------------------------------------


def _vs121_people(b: bytes) -> list[Reading]:
    # People in the whole view (uint8), number of regions (uint8), region occupancy bitmap (2).
    return [Reading("people_count", float(b[0]))]


def _vs121_in_out(b: bytes) -> list[Reading]:
    # Line crossings in the period: in, out (int16 LE). A negative count is no count.
    out = []
    for metric, raw in (("pedestrian_count_in", s16(b[0:2])), ("pedestrian_count_out", s16(b[2:4]))):
        if raw >= 0:
            out.append(Reading(metric, float(raw)))
    return out


#: History data types: 0x01 people count, 0x02 in / out, 0x04..0x07 region counts, 0x08..0x0f
#: flows, 0x10 totals, 0x12 line in / out: 4 bytes; 0x03 maximum count 1; 0x11 dwell time 5.
_VS121_HISTORY = {t: 4 for t in range(0x01, 0x13)} | {0x03: 1, 0x11: 5}


def _vs121_history(b: bytes) -> list[Reading]:
    kind = b[4]
    if kind == 0x01:
        return [Reading("people_count", float(b[5]), time=_when(b))]
    if kind == 0x02:
        # The history's in / out are uint16 LE (the live 05/CC's are int16).
        when = _when(b)
        return [Reading("pedestrian_count_in", float(u16(b[5:7])), time=when),
                Reading("pedestrian_count_out", float(u16(b[7:9])), time=when)]
    return []


_PERIOD_SCHEME = {0: "on_the_dot", 1: "from_now_on"}
_ON_THE_DOT = {0: "5min", 1: "10min", 2: "15min", 3: "30min", 4: "1h", 5: "4h", 6: "6h", 7: "8h",
               8: "12h"}
_LOG_LEVEL_121 = {2: "error", 4: "debug"}
_LORAWAN_VERSION = {1: "v1.0.2", 2: "v1.0.3"}
_TIME_MODE = {0: "sync_from_gateway", 1: "manual"}
_SCHEDULE_MODE = {0: "modify", 1: "add", 2: "delete"}
_DETECTION = {0: "mapped_region", 1: "unmapped_region"}
_REPORTING = {0: "occupancy", 1: "region_people_counting"}
_COUNTING = {0: "region_people_counting", 1: "line_crossing_counting", 2: "people_flow_analysis"}
_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_REPORT_MODE = {0: "zero_to_nonzero", 1: "once_result_change"}


def _d2d_command(b: bytes) -> str:
    # Two bytes, little-endian, printed as four hex digits (as the vendor codecs do).
    return f"{b[1]:02x}{b[0]:02x}"


def _d2d_region(group: str) -> AttributeFn:
    # Region (0-based), enable, command (2 bytes) [, delay time (uint16 LE, s)]: one per region.
    def read(b: bytes) -> Attributes:
        key = f"{group}_{b[0] + 1}"
        out: Attributes = {f"{key}_enable": _lookup(_ENABLE, b[1]), f"{key}_command": _d2d_command(b[2:4])}
        if len(b) >= 6:
            out[f"{key}_delay_time"] = u16(b[4:6])
        return out
    return read


def _reset_schedule(b: bytes) -> Attributes:
    # Mode, index (0-based), weekday bitmap (bit 0 = Sunday), time of day (uint24 LE).
    key = f"reset_cumulative_schedule_{b[1] + 1}"
    out: Attributes = {f"{key}_mode": _lookup(_SCHEDULE_MODE, b[0]),
                       f"{key}_time": int.from_bytes(b[3:6], "little")}
    for bit, day in enumerate(_WEEKDAYS):
        out[f"{key}_week_cycle_{day}"] = _lookup(_ENABLE, (b[2] >> bit) & 1)
    return out


def _time_schedule(b: bytes) -> Attributes:
    # Counting type, period (0-based), weekday, start hour / minute, end hour / minute.
    day = _WEEKDAYS[b[2]] if b[2] < len(_WEEKDAYS) else f"day{b[2]}"
    key = f"time_schedule_{day}_{b[1] + 1}"
    return {f"{key}_people_counting_type": _lookup(_COUNTING, b[0]),
            f"{key}_start_hour": b[3], f"{key}_start_minute": b[4],
            f"{key}_end_hour": b[5], f"{key}_end_minute": b[6]}


_VS121: dict[tuple[int, int], Channel] = {
    (0xFF, 0x08): attribute(6, one("sn", lambda b: b.hex())),  # 6 bytes on the VS121
    (0xFF, 0x1F): attribute(4, one("firmware_version", _firmware_4)),
    (0x04, 0xC9): measure(4, _vs121_people),  # people count (all), region count, region bitmap
    (0x05, 0xCC): measure(4, _vs121_in_out),  # people in / out (line crossing)
    (0x06, 0xCD): ignored(1),  # maximum people count in the period
    (0x07, 0xD5): ignored(8),  # people per region 1..8
    (0x08, 0xD5): ignored(8),  # people per region 9..16
    (0x09, 0xDA): ignored(8),  # flow A -> A/B/C/D
    (0x0A, 0xDA): ignored(8),  # flow B -> ...
    (0x0B, 0xDA): ignored(8),  # flow C -> ...
    (0x0C, 0xDA): ignored(8),  # flow D -> ...
    (0x0D, 0xCC): ignored(4),  # cumulative in / out since reset
    (0x0E, 0xE4): ignored(5),  # dwell time: region, average, maximum
    (0x0F, 0x85): ignored(4),  # device timestamp of the report
    (0x10, 0xF7): ignored(4),  # line in / out (firmware 7.0.85), duplicates 05/CC
    (0x20, 0xCE): Channel(_history_size(_VS121_HISTORY, "VS121"), _vs121_history),
    **_responses(
        {
            0x03: _u16("from_now_on_report_interval"),
            0x04: _enable("confirm_mode_enable"),
            0x10: _done("reboot"),
            0x35: ignored(8),  # D2D key: a secret, never kept
            0x40: _enable("adr_enable"),
            0x43: _enable("report_regularly_enable"),
            0x44: _enable("people_count_change_report_enable"),
            0x45: _choice("people_counting_report_mode", _REPORT_MODE),
            0x46: attribute(3, _fields("people_count_jitter_config",
                                       ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("time", lambda b: u16(b[1:3])))),
            0x48: _enable("line_detect_enable"),
            0x50: _enable("region_people_counting_enable"),
            0x51: _done("clear_cumulative_count"),
            0x84: _enable("d2d_enable"),
        },
        {
            0x10: _choice("periodic_report_scheme", _PERIOD_SCHEME),
            0x11: _choice("on_the_dot_report_interval", _ON_THE_DOT),
            0x3D: _enable("line_detect_report_enable"),
            0x85: attribute(2, _fields("rejoin_config", ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("max_count", lambda b: b[1]))),
            0x86: _u8("data_rate"),
            0x87: _u8("tx_power_level"),
            0x88: _choice("log_level", _LOG_LEVEL_121),
            0x8B: _choice("lorawan_version", _LORAWAN_VERSION),
            0x8C: _u8("rx2_data_rate"),
            0x8D: attribute(4, one("rx2_frequency", u32)),
            0x8E: attribute(4, _d2d_region("d2d_occupied_config")),
            0x90: attribute(6, _d2d_region("d2d_vacant_config")),
            0x91: attribute(5, _fields("time_config", ("mode", lambda b: _lookup(_TIME_MODE, b[0])),
                                       ("timestamp", lambda b: u32(b[1:5])))),
            0x92: attribute(3, _fields("region_people_counting_dwell_config",
                                       ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("min_dwell_time", lambda b: u16(b[1:3])))),
            0x93: _choice("report_with_timestamp", _YES_NO),
            0x94: _enable("timed_reset_cumulative_enable"),
            0x95: attribute(6, _reset_schedule),
            0x96: attribute(3, _fields("detect_region_config",
                                       ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("detection_type", lambda b: _lookup(_DETECTION, b[1])),
                                       ("reporting_type", lambda b: _lookup(_REPORTING, b[2])))),
            0x97: attribute(2, _fields("time_schedule_config",
                                       ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("people_counting_type", lambda b: _lookup(_COUNTING, b[1])))),
            0x98: _enable("filter_u_turn_enable"),
            0x99: attribute(7, _time_schedule),
        },
    ),
}


VS121 = Model("VS121", _VS121, _sum_directions)
"""Milesight VS121 AI workplace occupancy sensor (VS121 user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders vs-series/vs121; TTN vendor/milesight-iot/vs121.js).

    04/C9: people in view (uint8) -> ``people_count`` (an occupancy snapshot), then the number of
    regions (uint8) and a region occupancy bitmap (uint16, skipped). 05/CC: line crossings in and
    out (int16 LE each) -> ``pedestrian_count_in`` / ``_out`` and their total
    ``pedestrian_count``. Maximum count, per-region counts, flows, cumulative totals, dwell times
    and the report timestamp have no catalog metric and are skipped. 20/CE history record: uint32
    LE unix time, data type, value (4 bytes; maximum count 1, dwell time 5) -> the people count
    (type 1) and in / out (type 2, uint16 LE) at that time. ff 08 serial number (6 bytes), ff 1f
    firmware (4 bytes) and the downlink responses: attributes.
"""


# --- VS350 -------------------------------------------------------------------------------------


def _vs350_period(b: bytes) -> list[Reading]:
    # People passing in the period: in, out (uint16 LE each).
    return [Reading("pedestrian_count_in", float(u16(b[0:2]))),
            Reading("pedestrian_count_out", float(u16(b[2:4])))]


def _vs350_history(b: bytes) -> list[Reading]:
    # Type 0: period in / out; type 1: the same followed by the totals (not stored).
    when = _when(b)
    return [Reading("pedestrian_count_in", float(u16(b[5:7])), time=when),
            Reading("pedestrian_count_out", float(u16(b[7:9])), time=when)]


_CONDITION = {0: "disable", 1: "below", 2: "above", 3: "between", 4: "outside"}
_ALARM_GROUP = {1: ("people_period_alarm_config", "threshold_out", "threshold_in", 1),
                2: ("people_cumulative_alarm_config", "threshold_out", "threshold_in", 1),
                3: ("temperature_alarm_config", "threshold_min", "threshold_max", 10)}


def _vs350_alarm_config(b: bytes) -> Attributes:
    # Bits 3..5 of the first byte: what the alarm watches; bits 0..2 its condition; then two
    # uint16 LE thresholds (temperature in 0.1 degC) and 4 reserved bytes.
    group = _ALARM_GROUP.get((b[0] >> 3) & 0x07)
    if group is None:
        return {}
    name, first, second, scale = group
    out: Attributes = {f"{name}_condition": _lookup(_CONDITION, b[0] & 0x07)}
    for field, raw in ((first, u16(b[1:3])), (second, u16(b[3:5]))):
        out[f"{name}_{field}"] = raw / 10 if scale == 10 else raw
    return out


_D2D_MODE = {1: "someone_enter", 2: "someone_leave", 3: "counting_threshold_alarm",
             4: "temperature_threshold_alarm", 5: "temperature_threshold_alarm_release"}


def _d2d_master(b: bytes) -> Attributes:
    # One per trigger mode: mode, enable, LoRa uplink enable, command (2), time (uint16), time enable.
    key = f"d2d_master_config_{_lookup(_D2D_MODE, b[0])}"
    return {f"{key}_enable": _lookup(_ENABLE, b[1]), f"{key}_lora_uplink_enable": _lookup(_ENABLE, b[2]),
            f"{key}_d2d_cmd": _d2d_command(b[3:5]), f"{key}_time": u16(b[5:7]),
            f"{key}_time_enable": _lookup(_ENABLE, b[7])}


def _reset_counter(b: bytes) -> Attributes:
    name = {1: "reset_cumulative_in", 2: "reset_cumulative_out"}.get(b[0])
    return {name: "yes"} if name else {}


def _time_zone(b: bytes) -> str:
    # Minutes from UTC (int16 LE), printed as the vendor's table does: UTC, UTC+1, UTC-9:30.
    minutes = s16(b)
    if minutes == 0:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


_VS350: dict[tuple[int, int], Channel] = {
    (0x01, 0x75): measure(1, battery),
    (0x03, 0x67): measure(2, temperature),
    (0x04, 0xCC): ignored(4),  # total in / out since reset (uint16 LE each)
    (0x05, 0xCC): measure(4, _vs350_period),
    (0x0A, 0xEF): ignored(4),  # device timestamp of the report
    (0x81, 0xEE): _u8("current_sensitivity"),
    (0x83, 0x67): measure(3, with_alarm(temperature)),
    (0x84, 0xCC): ignored(5),  # totals with their alarm state
    (0x85, 0xCC): measure(5, with_alarm(_vs350_period)),
    (0x20, 0xCE): Channel(_history_size({0: 4, 1: 8}, "VS350"), _vs350_history),
    **_responses(
        {
            0x06: attribute(9, _vs350_alarm_config),
            0x10: _done("reboot"),
            0x28: _done("report_status"),
            0x35: ignored(8),  # D2D key: a secret, never kept
            0x4A: _done("sync_time"),
            0x68: _enable("history_enable"),
            0x69: _enable("retransmit_enable"),
            0x6A: attribute(3, _interval_kind),
            0x6B: _done("stop_transmit"),
            0x6D: _done("stop_transmit"),
            0x84: _enable("d2d_enable"),
            0x8E: attribute(3, one("report_interval", lambda b: u16(b[1:3]))),
            0x96: attribute(8, _d2d_master),
            0xA6: _enable("reset_cumulative_enable"),
            0xA7: _u16("reset_cumulative_interval"),
            0xA8: attribute(1, _reset_counter),
            0xA9: _enable("report_cumulative_enable"),
            0xAA: _enable("report_temperature_enable"),
            0xAB: attribute(3, _fields("temperature_calibration_settings",
                                       ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("calibration_value", lambda b: s16(b[1:3]) / 10))),
            0xAC: attribute(5, _fields("install_config",
                                       ("install_method", lambda b: _lookup({0: "side", 1: "top"}, b[0])),
                                       ("install_height", lambda b: b[1] / 10),
                                       ("compensation", lambda b: b[2] - 256 if b[2] > 127 else b[2]),
                                       ("sensitivity_report_enable", lambda b: _lookup(_ENABLE, b[3])),
                                       ("manual_gain", lambda b: b[4]))),
            0xAD: _choice("people_threshold_trigger_mode", {0: "threshold", 1: "multiple"}),
            0xBD: attribute(2, one("time_zone", _time_zone)),
            0xEF: attribute(3, _fields("reset_cumulative_config",
                                       ("enable", lambda b: _lookup(_ENABLE, b[0])),
                                       ("hour", lambda b: b[1]), ("minute", lambda b: b[2]))),
        },
        {0x10: _choice("report_type", {0: "period", 1: "immediately"})},
    ),
}


VS350 = Model("VS350", _VS350, _sum_directions)
"""Milesight VS350 passage people counter (VS350 user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders vs-series/vs350; TTN vendor/milesight-iot/vs350.js).

    01/75 battery (%), 03/67 temperature (int16 LE, 0.1 degC), 05/CC people passing in the period
    in and out (uint16 LE each) -> ``pedestrian_count_in`` / ``_out`` and their total
    ``pedestrian_count``; 83/67 and 85/CC the same with an alarm byte (threshold crossed or
    released: not a measurement). 04/CC and 84/CC totals since reset and 0A/EF the report's
    timestamp are skipped. 20/CE history record: uint32 LE unix time, type (0: period in / out;
    1: also the totals), uint16 LE each -> the period counts at that time. 81/EE the current
    sensitivity and the downlink responses (alarm thresholds, installation, reset schedule, ...):
    attributes.
"""


_CROSSING = ("pedestrian_count_in", "pedestrian_count_out", "pedestrian_count")


def _model(model: Model, metrics: tuple[str, ...], guide: str) -> DeviceModel:
    slug = model.name.lower()
    return device_model(model, "crossing", metrics,
                        f"{DOC}{slug} ({guide} user guide, payload structure; github.com/"
                        f"Milesight-IoT/SensorDecoders vs-series/{slug}; {TTN_REPO}milesight-iot/{slug}.js)")


MODELS: tuple[DeviceModel, ...] = (
    _model(VS133, _CROSSING, "VS13x"),
    _model(VS135, _CROSSING, "VS13x"),
    _model(VS121, ("people_count", *_CROSSING), "VS121"),
    _model(VS350, ("battery", "temperature", *_CROSSING), "VS350"),
)
