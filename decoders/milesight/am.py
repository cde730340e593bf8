"""Milesight AM series on fPort 85: the indoor ambience monitors for classrooms, AM300 (AM307,
AM308, AM319) and AM100 (AM102, AM103). The frame layout and the device-information channels
are in decoders/milesight/tlv.py.

Every model documents, besides its measurements, the answers to its downlink commands (the
"Downlink" tables of the AM300 and AM100 user guides; the vendor codecs in
github.com/Milesight-IoT/SensorDecoders am-series/<model>/<model>-decoder.js): a device echoes
a setting it accepted on channel ``ff`` or ``fe`` with the command's type. Those values
describe the device (intervals, time zone, screen, buzzer, calibration, alarm thresholds), so
they become attributes, with the vendor codec's names; its nested objects are flattened to
``<group>_<field>`` and its "enable"/"disable" to booleans. Measurements without a catalog
metric (PIR state, light level 0..5, TVOC as an IAQ index or in ug/m3, HCHO, O3,
buzzer state) are documented channels that are skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from decoders.base import TTN_REPO, DeviceModel
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
    s16,
    temperature,
    u16,
    u32,
)
from meetnet.records import Reading

# --- measurements --------------------------------------------------------------------------------


def _humidity_half(b: bytes) -> list[Reading]:
    return [Reading("humidity", b[0] / 2.0)]  # uint8, 0.5 %RH


def _co2(b: bytes) -> list[Reading]:
    return [Reading("co2", float(u16(b)))]  # uint16, ppm


def _pressure_dhpa(b: bytes) -> list[Reading]:
    return [Reading("pressure", u16(b) * 10.0)]  # uint16, 0.1 hPa = 10 Pa


def _am300_history(b: bytes) -> list[Reading]:
    # Common head of every AM300 history record: unix time (4), temperature (2, 0.1 degC),
    # humidity (2, uint16 0.5 %RH), PIR (1), light level (1), CO2 (2), TVOC (2), pressure
    # (2, 0.1 hPa); PM2.5, PM10 and HCHO or O3 follow on the models that measure them.
    when = datetime.fromtimestamp(u32(b[0:4]), tz=UTC)
    return [
        Reading("temperature", s16(b[4:6]) / 10.0, time=when),
        Reading("humidity", u16(b[6:8]) / 2.0, time=when),
        Reading("co2", float(u16(b[10:12])), time=when),
        Reading("pressure", u16(b[14:16]) * 10.0, time=when),
    ]


def _am100_history(with_co2: bool) -> Callable[[bytes], list[Reading]]:
    # AM100 history record: unix time (4), temperature (2, 0.1 degC), humidity (1, uint8
    # 0.5 %RH), and on the AM103 CO2 (2, ppm).
    def read(b: bytes) -> list[Reading]:
        when = datetime.fromtimestamp(u32(b[0:4]), tz=UTC)
        out = [Reading("temperature", s16(b[4:6]) / 10.0, time=when),
               Reading("humidity", b[6] / 2.0, time=when)]
        if with_co2:
            out.append(Reading("co2", float(u16(b[7:9])), time=when))
        return out
    return read


# --- attribute values ----------------------------------------------------------------------------


def _enabled(name: str) -> AttributeFn:
    """A setting the device confirms as 0 = disabled, 1 = enabled; any other byte is not a
    value the vendor defines and gives no attribute."""
    def describe(b: bytes) -> Attributes:
        return {name: b[0] == 1} if b[0] in (0, 1) else {}
    return describe


def _done(name: str) -> AttributeFn:
    """A command the device acknowledges (reboot, clear history, ...): its byte carries nothing,
    the channel itself says the command was carried out."""
    return lambda b: {name: True}


def _enum(name: str, values: Mapping[int, str]) -> AttributeFn:
    return lambda b: {name: values.get(b[0], "unknown")}


def _uint(name: str, size: int) -> AttributeFn:
    return lambda b: {name: int.from_bytes(b[:size], "little")}


#: The time zones the devices offer, as the signed tenths of an hour they send (UTC+5:45 is
#: 57, UTC+12:45 is 127: the last digit 5 means :30 and 7 means :45).
_TIME_ZONES = frozenset((-120, -110, -100, -95, -90, -80, -70, -60, -50, -40, -35, -30, -20, -10,
                         0, 10, 20, 30, 35, 40, 45, 50, 55, 57, 60, 65, 70, 80, 90, 95, 100, 105,
                         110, 120, 127, 130, 140))
_MINUTES = {0: "", 5: ":30", 7: ":45"}


def _time_zone(b: bytes) -> Attributes:
    code = s16(b)
    if code not in _TIME_ZONES:
        return {"time_zone": "unknown"}
    if code == 0:
        return {"time_zone": "UTC"}
    hours, tail = divmod(abs(code), 10)
    return {"time_zone": f"UTC{'-' if code < 0 else '+'}{hours}{_MINUTES[tail]}"}


_CALIBRATION_MODES = {0: "factory", 1: "abc", 2: "manual", 3: "background", 4: "zero"}
_MANUAL = 2


def _calibration_size(rest: bytes) -> int:
    # Mode byte, followed by the target concentration (2 bytes) only in manual mode.
    return 3 if rest[:1] == bytes((_MANUAL,)) else 1


def _co2_calibration(signed: bool) -> AttributeFn:
    def describe(b: bytes) -> Attributes:
        out: Attributes = {"co2_calibration_settings_mode": _CALIBRATION_MODES.get(b[0], "unknown")}
        if b[0] == _MANUAL:
            out["co2_calibration_settings_calibration_value"] = s16(b[1:3]) if signed else u16(b[1:3])
        return out
    return describe


def _retransmission(b: bytes) -> Attributes:
    # Type byte (0 = retransmit interval, 1 = resend interval) and the interval (uint16, s).
    names = {0: "retransmit_interval", 1: "resend_interval"}
    return {names[b[0]]: u16(b[1:3])} if b[0] in names else {}


def _bits(group: str, bits: Mapping[str, int], masked: bool) -> AttributeFn:
    """A bit field flattened to ``<group>_<name>`` booleans. ``masked``: the value is a uint16
    mask of the fields the command set, then a uint16 of their states (screen elements)."""
    def describe(b: bytes) -> Attributes:
        if masked:
            mask, data = u16(b[0:2]), u16(b[2:4])
        else:
            mask, data = 0xFFFF, b[0]
        return {f"{group}_{name}": bool(data >> bit & 1)
                for name, bit in bits.items() if mask >> bit & 1}
    return describe


def _both(channels: Mapping[int, Channel]) -> dict[tuple[int, int], Channel]:
    """Downlink responses: the device answers on channel ``ff`` or ``fe`` with the same type."""
    out: dict[tuple[int, int], Channel] = {}
    for kind, channel in channels.items():
        out[(0xFF, kind)] = channel
        out[(0xFE, kind)] = channel
    return out


# --- AM300 series (AM307, AM308, AM319) ----------------------------------------------------------

_AM300_MEASURES: dict[tuple[int, int], Channel] = {
    (0x01, 0x75): measure(1, battery),  # uint8, %
    (0x03, 0x67): measure(2, temperature),  # int16, 0.1 degC
    (0x04, 0x68): measure(1, _humidity_half),  # uint8, 0.5 %RH
    (0x05, 0x00): ignored(1),  # PIR state (idle / trigger), not a motion count
    (0x06, 0xCB): ignored(1),  # light level 0..5, not lux
    (0x07, 0x7D): measure(2, _co2),  # uint16, ppm
    (0x08, 0x7D): ignored(2),  # TVOC as IAQ index (raw / 100), not ppb
    (0x08, 0xE6): ignored(2),  # TVOC in ug/m3, not ppb
    (0x09, 0x73): measure(2, _pressure_dhpa),  # uint16, 0.1 hPa
    (0x0E, 0x01): ignored(1),  # buzzer state
    # PIR activity (uint16 LE) of the AM100 series: not in the AM300 payload structure nor in
    # the vendor's current AM300 codecs, but the vendor's own AM307 and AM308 example frames
    # (TTN am307-codec.yaml, am308-codec.yaml) carry it. An activity level, not a count.
    (0x05, 0x6A): ignored(2),
}

_SCREEN_AM300 = {"temperature": 0, "humidity": 1, "co2": 2, "light": 3, "tvoc": 4, "smile": 5,
                 "letter": 6}


def _am300_responses(abc_size: int, screen: Mapping[str, int]) -> dict[int, Channel]:
    return {
        0x03: attribute(2, _uint("report_interval", 2)),  # s
        0x10: attribute(1, _done("reboot")),
        0x17: attribute(2, _time_zone),
        0x1A: Channel(_calibration_size, None, _co2_calibration(signed=False)),
        0x25: attribute(1, _bits("child_lock_settings",
                                 {"off_button": 0, "on_button": 1, "collection_button": 2}, False)),
        0x27: attribute(1, _done("clear_history")),
        0x2C: attribute(1, _done("query_status")),
        0x2D: attribute(1, _enabled("screen_display_enable")),
        0x2E: attribute(1, _enum("led_indicator_mode", {0: "off", 1: "on", 2: "blink"})),
        0xEB: attribute(1, _enum("tvoc_unit", {0: "iaq", 1: "µg/m³"})),
        # Enable byte; the AM307/AM308 codecs step over four more bytes, the AM319's do not.
        0x39: attribute(abc_size, _enabled("co2_abc_calibration_enable")),
        0x3A: attribute(2, _uint("report_interval", 2)),  # s
        0x3B: attribute(1, _enabled("time_sync_enable")),
        0x3C: attribute(1, _uint("screen_display_pattern", 1)),
        0x3D: attribute(1, _done("stop_buzzer")),
        0x3E: attribute(1, _enabled("buzzer_enable")),
        0x66: attribute(1, _enabled("screen_display_alarm_enable")),
        0x68: attribute(1, _enabled("history_enable")),
        0x69: attribute(1, _enabled("retransmit_enable")),
        0x6A: attribute(3, _retransmission),
        0x6D: attribute(1, _done("stop_transmit")),
        0xF0: attribute(4, _bits("screen_display_element_settings", screen, True)),
        0xF4: attribute(1, _enabled("co2_calibration_enable")),
    }


def _pm_self_clean(b: bytes) -> Attributes:
    out: Attributes = {"pm_self_clean_config_period": b[1]}
    out.update({"pm_self_clean_config_" + k: v for k, v in _enabled("enable")(b).items()})
    return out


def _history(size: int) -> Channel:
    return measure(size, _am300_history)


def _pm(metric: str) -> Channel:
    """PM2.5 / PM10 (uint16 LE, ug/m3)."""
    return measure(2, lambda b: [Reading(metric, float(u16(b)))])


def _history_pm(size: int, pm10: bool) -> Channel:
    """An AM300 history record with PM2.5 after the common head (bytes 16-17), then PM10 (18-19)
    on the models that measure it, or HCHO (the AM319 HCHO WELL variant, not stored)."""

    def read(b: bytes) -> list[Reading]:
        out = _am300_history(b)
        when = out[0].time
        out.append(Reading("pm2_5", float(u16(b[16:18])), time=when))
        if pm10:
            out.append(Reading("pm10", float(u16(b[18:20])), time=when))
        return out

    return measure(size, read)


AM307 = Model("AM307", {
    **_AM300_MEASURES,
    (0x20, 0xCE): _history(16),  # history record, TVOC as IAQ
    (0x21, 0xCE): _history(16),  # history record, TVOC in ug/m3
    **_both(_am300_responses(5, _SCREEN_AM300)),
})
"""Milesight AM307 indoor ambience monitor (AM300 series user guide, "Uplink Packets" and
"Downlink Commands"; github.com/Milesight-IoT/SensorDecoders am-series/am307; TTN
vendor/milesight-iot/am307.js).

Readings: battery (01/75, %), temperature (03/67, int16 LE 0.1 degC), humidity (04/68, uint8
0.5 %RH), co2 (07/7D, uint16 ppm), pressure (09/73, uint16 0.1 hPa -> Pa), and the same from
16-byte history records (20/CE, 21/CE: time, temperature, humidity uint16, PIR, light, CO2,
TVOC, pressure) at the device's own time. Skipped: PIR state, light level, TVOC (IAQ index or
ug/m3), buzzer, and the AM100-style PIR activity (05/6A) of the vendor's example frame.
Attributes: the device information of tlv.COMMON and the downlink responses on ff/fe (report
interval, time zone, CO2 calibration, child lock, screen, LED, TVOC unit, buzzer, history and
retransmission settings)."""


AM308 = Model("AM308", {
    **_AM300_MEASURES,
    (0x0B, 0x7D): _pm("pm2_5"),  # PM2.5, ug/m3
    (0x0C, 0x7D): _pm("pm10"),  # PM10, ug/m3
    (0x20, 0xCE): _history_pm(20, pm10=True),  # history record (+ PM2.5, PM10), TVOC as IAQ
    (0x21, 0xCE): _history_pm(20, pm10=True),  # history record (+ PM2.5, PM10), TVOC in ug/m3
    **_both({**_am300_responses(5, {**_SCREEN_AM300, "pm2_5": 7, "pm10": 8}),
             0x65: attribute(2, _uint("pm2_5_collection_interval", 2))}),
})
"""Milesight AM308 indoor ambience monitor with PM sensor (AM300 series user guide;
github.com/Milesight-IoT/SensorDecoders am-series/am308; TTN vendor/milesight-iot/am308.js).

The AM307's channels plus PM2.5 (0B/7D) and PM10 (0C/7D, uint16 LE ug/m3 -> ``pm2_5``,
``pm10``), 20-byte history records (the AM307's and PM2.5, PM10) and the PM2.5 collection
interval response (65, uint16 s)."""


AM319 = Model("AM319", {
    **_AM300_MEASURES,
    (0x0A, 0x7D): ignored(2),  # HCHO (AM319 HCHO), mg/m3 (raw / 100)
    (0x0B, 0x7D): _pm("pm2_5"),  # PM2.5, ug/m3
    (0x0C, 0x7D): _pm("pm10"),  # PM10, ug/m3
    (0x0D, 0x7D): ignored(2),  # O3 (AM319 O3), ppm (raw / 100)
    (0x0F, 0x7D): ignored(2),  # HCHO (AM319 HCHO WELL), ppm (raw / 1000)
    (0x20, 0xCE): _history_pm(22, pm10=True),  # + PM2.5, PM10, HCHO or O3; TVOC as IAQ
    (0x21, 0xCE): _history_pm(22, pm10=True),  # the same, TVOC in ug/m3
    (0x22, 0xCE): _history_pm(20, pm10=False),  # AM319 HCHO WELL: + PM2.5, HCHO; TVOC as IAQ
    (0x23, 0xCE): _history_pm(20, pm10=False),  # the same, TVOC in ug/m3
    **_both({
        **_am300_responses(1, {**_SCREEN_AM300, "pm2_5": 7, "pm10": 8, "hcho": 9, "o3": 9}),
        0x65: attribute(2, _uint("pm2_5_collection_interval", 2)),
        0xAC: attribute(2, _pm_self_clean),  # AM319 HCHO WELL
        0xAD: attribute(1, _done("pm_self_clean")),  # AM319 HCHO WELL
    }),
})
"""Milesight AM319 indoor ambience monitor, all three sensor variants (AM300 series user guide;
github.com/Milesight-IoT/SensorDecoders am-series/am319-hcho, am319-o3, am319-hcho-well; TTN
vendor/milesight-iot/am319.js).

Readings: battery (01/75, %), temperature (03/67, int16 LE 0.1 degC), humidity (04/68, uint8
0.5 %RH), co2 (07/7D, uint16 ppm), pressure (09/73, uint16 0.1 hPa -> Pa), PM2.5 and PM10
(0B/7D, 0C/7D, uint16 ug/m3), and the same from history records (20/CE, 21/CE: 22 bytes; 22/CE,
23/CE of the HCHO WELL variant: 20 bytes, PM2.5 but no PM10) at the device's own time. Skipped:
PIR state, light level (0..5), TVOC (IAQ index or ug/m3), HCHO, O3 and the buzzer. Attributes:
tlv.COMMON and the AM300 downlink responses, with a one-byte CO2 ABC calibration response (39)
as the AM319 codecs read it, the PM2.5 collection interval (65) and the PM self-cleaning
settings (AC, AD) of the WELL variant; the screen element bit 9 is HCHO or O3 depending on the
variant, and the codec names it both."""


# --- AM100 series (AM102, AM103) -----------------------------------------------------------------

_MATH_CONDITIONS = {0: "disable", 1: "below", 2: "above", 3: "between", 4: "outside"}


def _temperature_alarm(b: bytes) -> Attributes:
    # Condition (low 3 bits), minimum and maximum (int16, 0.1 degC), then four bytes the codec
    # steps over.
    return {
        "temperature_alarm_config_condition": _MATH_CONDITIONS.get(b[0] & 0x07, "unknown"),
        "temperature_alarm_config_threshold_min": s16(b[1:3]) / 10.0,
        "temperature_alarm_config_threshold_max": s16(b[3:5]) / 10.0,
    }


def _schedule_size(rest: bytes) -> int:
    # A count, then six bytes per report schedule.
    return 1 + 6 * rest[0] if rest else 1


def _report_schedule(with_co2: bool) -> AttributeFn:
    def describe(b: bytes) -> Attributes:
        out: Attributes = {}
        for n in range(b[0]):
            entry = b[1 + 6 * n: 7 + 6 * n]
            group = f"report_schedule_config_{n}_"
            out[group + "start_time"] = entry[0] / 10.0  # hours
            out[group + "end_time"] = entry[1] / 10.0
            out[group + "report_interval"] = u16(entry[2:4])
            if with_co2:
                out[group + "co2_collection_interval"] = entry[4]
            out[group + "collection_interval"] = entry[5]
        return out
    return describe


_WEEKDAYS = {"monday": 1, "tuesday": 2, "wednesday": 3, "thursday": 4, "friday": 5,
             "saturday": 6, "sunday": 7}


def _hibernate(b: bytes) -> Attributes:
    out: Attributes = {
        "hibernate_config_start_time": u16(b[2:4]),
        "hibernate_config_end_time": u16(b[4:6]),
    }
    out.update({"hibernate_config_" + k: v for k, v in _enabled("enable")(b[0:1]).items()})
    out.update({"hibernate_config_" + k: v
                for k, v in _enabled("lora_uplink_enable")(b[1:2]).items()})
    out.update(_bits("hibernate_config_weekdays", _WEEKDAYS, False)(b[6:7]))
    return out


def _co2_abc(b: bytes) -> Attributes:
    out: Attributes = {"co2_abc_calibration_settings_period": u16(b[1:3]),
                       "co2_abc_calibration_settings_calibration_value": u16(b[3:5])}
    out.update({"co2_abc_calibration_settings_" + k: v for k, v in _enabled("enable")(b).items()})
    return out


def _co2_alarm(b: bytes) -> Attributes:
    out: Attributes = {"co2_alarm_config_threshold_1": u16(b[1:3]),
                       "co2_alarm_config_threshold_2": u16(b[3:5])}
    out.update({"co2_alarm_config_" + k: v for k, v in _enabled("enable")(b).items()})
    return out


def _altitude(b: bytes) -> Attributes:
    out: Attributes = {"altitude_calibration_settings_calibration_value": u16(b[1:3])}
    out.update({"altitude_calibration_settings_" + k: v for k, v in _enabled("enable")(b).items()})
    return out


def _sensor_enable(bits: Mapping[str, int]) -> AttributeFn:
    # One byte the codec steps over, then the sensors' enable bits.
    inner = _bits("sensor_enable", bits, False)
    return lambda b: inner(b[1:2])


def _am100(with_co2: bool) -> dict[tuple[int, int], Channel]:
    measures: dict[tuple[int, int], Channel] = {
        (0x01, 0x75): measure(1, battery),  # uint8, %
        (0x03, 0x67): measure(2, temperature),  # int16, 0.1 degC
        (0x04, 0x68): measure(1, _humidity_half),  # uint8, 0.5 %RH
        (0x20, 0xCE): measure(9 if with_co2 else 7, _am100_history(with_co2)),
    }
    responses: dict[int, Channel] = {
        0x03: attribute(2, _uint("report_interval", 2)),  # s
        0x06: attribute(9, _temperature_alarm),
        0x10: attribute(1, _done("reboot")),
        0x11: attribute(4, _uint("timestamp", 4)),  # device time, unix s
        0x17: attribute(2, _time_zone),
        0x27: attribute(1, _done("clear_history")),
        0x2D: attribute(1, _enabled("screen_display_enable")),
        0x2F: attribute(1, _enum("led_indicator_mode", {0: "off", 2: "blink"})),
        0x3A: Channel(_schedule_size, None, _report_schedule(with_co2)),
        0x3B: attribute(1, _enabled("time_sync_enable")),
        0x56: attribute(1, _enabled("screen_intelligent_enable")),
        0x57: attribute(1, _done("clear_report_schedule")),
        0x59: attribute(1, _done("reset_battery")),
        0x5A: attribute(2, _uint("screen_refresh_interval", 2)),
        0x68: attribute(1, _enabled("history_enable")),
        0x69: attribute(1, _enabled("retransmit_enable")),
        0x6A: attribute(3, _retransmission),
        0x75: attribute(7, _hibernate),
        0x85: attribute(1, _enabled("screen_display_time_enable")),
        0x86: attribute(1, _uint("screen_last_refresh_interval", 1)),
    }
    sensors = {"temperature": 0, "humidity": 1}
    if with_co2:
        measures[(0x07, 0x7D)] = measure(2, _co2)  # uint16, ppm
        sensors["co2"] = 4
        responses.update({
            0x1A: Channel(_calibration_size, None, _co2_calibration(signed=True)),
            0x39: attribute(5, _co2_abc),
            0x54: attribute(5, _co2_alarm),
            0x87: attribute(3, _altitude),
            0xF0: attribute(4, _bits("screen_display_element_settings",
                                     {"temperature": 0, "humidity": 1, "co2": 2, "smile": 3},
                                     True)),
        })
    return {
        **measures,
        **_both(responses),
        # Sensor enable: only on channel ff (the codecs refuse fe 18).
        (0xFF, 0x18): attribute(2, _sensor_enable(sensors)),
    }


AM103 = Model("AM103", _am100(with_co2=True))
"""Milesight AM103 3-in-1 indoor ambience monitor (AM100 series user guide;
github.com/Milesight-IoT/SensorDecoders am-series/am103; TTN vendor/milesight-iot/am103.js).

Readings: battery (01/75, %), temperature (03/67, int16 LE 0.1 degC), humidity (04/68, uint8
0.5 %RH), co2 (07/7D, uint16 ppm), and the same from 9-byte history records (20/CE: time,
temperature, humidity uint8, CO2) at the device's own time. Attributes: tlv.COMMON, the enabled
sensors (ff 18) and the downlink responses on ff/fe (report interval and schedules, temperature
and CO2 alarms, CO2 calibration, time zone and sync, screen, LED, hibernation, history and
retransmission settings)."""

AM102 = Model("AM102", _am100(with_co2=False))
"""Milesight AM102 2-in-1 indoor ambience monitor (AM100 series user guide;
github.com/Milesight-IoT/SensorDecoders am-series/am102; TTN vendor/milesight-iot/am102.js).

The AM103's format without CO2: battery, temperature and humidity channels, 7-byte history
records (time, temperature, humidity), and the AM103's downlink responses except the CO2 ones
(calibration, ABC, alarm, altitude, screen elements); a report schedule's CO2 interval byte is
unused."""


_WITH_PM = ("battery", "temperature", "humidity", "co2", "pressure", "pm2_5", "pm10")

MODELS: tuple[DeviceModel, ...] = (
    device_model(AM319, "classroom", _WITH_PM,
                 DOC + "am319 (AM300 series user guide, payload structure; "
                 "github.com/Milesight-IoT/SensorDecoders am-series/am319-hcho, am319-o3, am319-hcho-well)"),
    device_model(AM307, "classroom", ("battery", "temperature", "humidity", "co2", "pressure"),
                 DOC + "am307 (AM300 series user guide, payload structure; "
                 "github.com/Milesight-IoT/SensorDecoders am-series/am307; "
                 + TTN_REPO + "milesight-iot/am307.js)"),
    device_model(AM308, "classroom", _WITH_PM,
                 DOC + "am308 (AM300 series user guide, payload structure; "
                 "github.com/Milesight-IoT/SensorDecoders am-series/am308; "
                 + TTN_REPO + "milesight-iot/am308.js)"),
    device_model(AM103, "classroom", ("battery", "temperature", "humidity", "co2"),
                 DOC + "am103 (AM100 series user guide, payload structure; "
                 "github.com/Milesight-IoT/SensorDecoders am-series/am103; "
                 + TTN_REPO + "milesight-iot/am103-codec.yaml)"),
    device_model(AM102, "classroom", ("battery", "temperature", "humidity"),
                 DOC + "am102 (AM100 series user guide, payload structure; "
                 "github.com/Milesight-IoT/SensorDecoders am-series/am102; "
                 + TTN_REPO + "milesight-iot/am102-codec.yaml)"),
)
