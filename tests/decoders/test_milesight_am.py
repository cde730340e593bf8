"""Milesight AM series (decoders/milesight/am.py) beyond the vendor's examples, each frame derived
by hand from the AM300 / AM100 payload structure and downlink tables (the vendor codecs in
github.com/Milesight-IoT/SensorDecoders am-series): device information and downlink responses
become attributes, history records keep the device's time, and a cut-off or unknown channel
refuses the frame but hands back what came before it.

The AM series documents no sentinel for a failed sensor (unlike the EM500's 0xFFFF / 0xFFFD): a
raw value is passed on as the device sent it, and ingest's range check dead-letters one that is
not physically possible (tests for that are ingest's). Values the vendor leaves undefined in an
enumerated setting give "unknown" (as the vendor codec does) or, for an enable flag, no
attribute."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoders import MODELS, DecodeError, decode, decode_frame
from meetnet.catalog import out_of_range

NEW_YEAR = datetime(2024, 1, 1, tzinfo=UTC)  # 0x65920080, sent as 80 00 92 65
AN_HOUR_LATER = datetime(2024, 1, 1, 1, tzinfo=UTC)  # 0x65920e90


def _frame(key: str, payload_hex: str) -> tuple[dict[str, Any], dict[str, Any]]:
    frame = decode_frame(key, 85, bytes.fromhex(payload_hex.replace(" ", "")))
    readings: dict[str, Any] = {}
    for r in frame.readings:
        assert out_of_range(r.metric, r.value) is None
        assert r.metric in MODELS[key].metrics
        readings.setdefault(r.metric, []).append(r.value)
    return ({m: v[0] if len(v) == 1 else v for m, v in readings.items()}, dict(frame.attributes))


# (model, frame, readings, attributes)
_CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    # Power-on frame: status, IPSO 0x01, serial, hardware 01 10, firmware 01 13, class A, TSL.
    ("milesight-iot/am319",
     "ff0bff ff0101 ff166136c27918600011 ff090110 ff0a0113 ff0f00 ffff0101",
     {},
     {"device_status": "on", "ipso_version": "v0.1", "sn": "6136c27918600011",
      "hardware_version": "v1.1", "firmware_version": "v1.13", "lorawan_class": "Class A",
      "tsl_version": "v1.1"}),
    # A confirmed report interval (0x04b0 = 1200 s) beside measurements keeps them.
    ("milesight-iot/am319", "ff03b004 017564 03670401 077d2003",
     {"battery": 100, "temperature": 26.0, "co2": 800}, {"report_interval": 1200}),
    ("milesight-iot/am307", "fe3a5802 ff10ff", {}, {"report_interval": 600, "reboot": True}),
    # Time zones in signed tenths of an hour: 10, 57 (:45), -95 (:30); 15 is no zone offered.
    ("milesight-iot/am307", "ff170a00", {}, {"time_zone": "UTC+1"}),
    ("milesight-iot/am308", "fe173900", {}, {"time_zone": "UTC+5:45"}),
    ("milesight-iot/am103", "ff17a1ff", {}, {"time_zone": "UTC-9:30"}),
    ("milesight-iot/am102", "ff170f00", {}, {"time_zone": "unknown"}),
    ("milesight-iot/am319", "ff170000", {}, {"time_zone": "UTC"}),
    # CO2 calibration: the target (0x0190 = 400 ppm) follows the mode only in manual mode, so the
    # channel after it starts at the right byte either way.
    ("milesight-iot/am307", "ff1a029001 017550",
     {"battery": 80},
     {"co2_calibration_settings_mode": "manual", "co2_calibration_settings_calibration_value": 400}),
    ("milesight-iot/am307", "ff1a01 017550", {"battery": 80}, {"co2_calibration_settings_mode": "abc"}),
    ("milesight-iot/am103", "fe1a0238ff", {},  # AM100 reads the target signed: 0xff38 = -200
     {"co2_calibration_settings_mode": "manual", "co2_calibration_settings_calibration_value": -200}),
    ("milesight-iot/am319", "ff1a09", {}, {"co2_calibration_settings_mode": "unknown"}),
    # Child lock bits: off button 0, on button 1, collection button 2.
    ("milesight-iot/am319", "ff2505", {},
     {"child_lock_settings_off_button": True, "child_lock_settings_on_button": False,
      "child_lock_settings_collection_button": True}),
    # Screen elements: mask 0x0005 (temperature, co2) then their states 0x0001.
    ("milesight-iot/am307", "fff005000100", {},
     {"screen_display_element_settings_temperature": True,
      "screen_display_element_settings_co2": False}),
    # AM308: PM2.5 (bit 7) and PM10 (bit 8) on the screen; PM2.5 collection interval 0x012c.
    ("milesight-iot/am308", "fef08001 8000 ff652c01", {},
     {"screen_display_element_settings_pm2_5": True, "screen_display_element_settings_pm10": False,
      "pm2_5_collection_interval": 300}),
    # AM319: bit 9 is HCHO or O3 by variant; the codec names it both.
    ("milesight-iot/am319", "fff000020002", {},
     {"screen_display_element_settings_hcho": True, "screen_display_element_settings_o3": True}),
    # Enable flags and acknowledged commands; an undefined enable byte (02) gives nothing.
    ("milesight-iot/am319", "ff2d01 ff3e00 ff3b01 ff6601 ff6800 ff6901 ff3d01 ff2701 ff2c01 ff6d01",
     {},
     {"screen_display_enable": True, "buzzer_enable": False, "time_sync_enable": True,
      "screen_display_alarm_enable": True, "history_enable": False, "retransmit_enable": True,
      "stop_buzzer": True, "clear_history": True, "query_status": True, "stop_transmit": True}),
    ("milesight-iot/am319", "ff3e02 017564", {"battery": 100}, {}),
    ("milesight-iot/am308", "ff2e02 ffeb01 ff3c03 fff401", {},
     {"led_indicator_mode": "blink", "tvoc_unit": "µg/m³", "screen_display_pattern": 3,
      "co2_calibration_enable": True}),
    # Retransmission: type 0 retransmit, 1 resend interval (0x003c = 60 s); type 2 undefined.
    ("milesight-iot/am307", "ff6a003c00 fe6a01b400", {},
     {"retransmit_interval": 60, "resend_interval": 180}),
    ("milesight-iot/am307", "ff6a023c00 017564", {"battery": 100}, {}),
    # CO2 ABC calibration: five bytes on the AM307 / AM308, one on the AM319 (their codecs).
    ("milesight-iot/am307", "ff3901 07001e00 017564", {"battery": 100},
     {"co2_abc_calibration_enable": True}),
    ("milesight-iot/am319", "ff3900 017564", {"battery": 100}, {"co2_abc_calibration_enable": False}),
    # AM319 HCHO WELL: PM self-cleaning enabled every 7 days, self-clean done.
    ("milesight-iot/am319", "ffac0107 ffad01", {},
     {"pm_self_clean_config_enable": True, "pm_self_clean_config_period": 7, "pm_self_clean": True}),
    # AM100: temperature alarm 'above' (condition byte 0x0a & 7 = 2), min -5.0 (0xffce), max
    # 30.0 (0x012c), four bytes the codec steps over.
    ("milesight-iot/am103", "fe06 0a ceff 2c01 00000000", {},
     {"temperature_alarm_config_condition": "above",
      "temperature_alarm_config_threshold_min": -5.0,
      "temperature_alarm_config_threshold_max": 30.0}),
    # AM103 CO2 alarm: enabled, thresholds 1000 and 2000 ppm; ABC: enabled, period 8 (days),
    # target 400 ppm; altitude calibration enabled, 50 m.
    ("milesight-iot/am103", "fe5401e803d007 ff390108009001 ff87013200", {},
     {"co2_alarm_config_enable": True, "co2_alarm_config_threshold_1": 1000,
      "co2_alarm_config_threshold_2": 2000, "co2_abc_calibration_settings_enable": True,
      "co2_abc_calibration_settings_period": 8,
      "co2_abc_calibration_settings_calibration_value": 400,
      "altitude_calibration_settings_enable": True,
      "altitude_calibration_settings_calibration_value": 50}),
    # AM103 report schedules: two entries (5.0 h to 18.0 h every 600 s, CO2 every 5, collect
    # every 10; 18.0 h to 24.0 h every 3600 s, 10, 30), then a battery channel.
    ("milesight-iot/am103", "ff3a02 32b4580205 0a b4f0100e0a1e 017564", {"battery": 100},
     {"report_schedule_config_0_start_time": 5.0, "report_schedule_config_0_end_time": 18.0,
      "report_schedule_config_0_report_interval": 600,
      "report_schedule_config_0_co2_collection_interval": 5,
      "report_schedule_config_0_collection_interval": 10,
      "report_schedule_config_1_start_time": 18.0, "report_schedule_config_1_end_time": 24.0,
      "report_schedule_config_1_report_interval": 3600,
      "report_schedule_config_1_co2_collection_interval": 10,
      "report_schedule_config_1_collection_interval": 30}),
    # The AM102 has no CO2 interval in its schedule entry (the byte is unused).
    ("milesight-iot/am102", "fe3a01 32b4580205 0a", {},
     {"report_schedule_config_0_start_time": 5.0, "report_schedule_config_0_end_time": 18.0,
      "report_schedule_config_0_report_interval": 600,
      "report_schedule_config_0_collection_interval": 10}),
    ("milesight-iot/am102", "ff3a00 017564", {"battery": 100}, {}),
    # Hibernation: enabled, no uplinks, 22:00 (1320 min) to 07:00 (420 min), Monday to Friday
    # (bits 1..5: 0x3e).
    ("milesight-iot/am103", "fe750100 2805 a401 3e", {},
     {"hibernate_config_enable": True, "hibernate_config_lora_uplink_enable": False,
      "hibernate_config_start_time": 1320, "hibernate_config_end_time": 420,
      "hibernate_config_weekdays_monday": True, "hibernate_config_weekdays_tuesday": True,
      "hibernate_config_weekdays_wednesday": True, "hibernate_config_weekdays_thursday": True,
      "hibernate_config_weekdays_friday": True, "hibernate_config_weekdays_saturday": False,
      "hibernate_config_weekdays_sunday": False}),
    # Enabled sensors (ff 18: a byte the codec steps over, then bits temperature 0, humidity 1,
    # CO2 4), device time (ff 11, 0x65920080), screen settings.
    ("milesight-iot/am103", "ff180013 ff1180009265 ff5a2c01 ff863c ff5601 ff8500 ff2f02 ff5901 ff5701",
     {},
     {"sensor_enable_temperature": True, "sensor_enable_humidity": True, "sensor_enable_co2": True,
      "timestamp": 1704067200, "screen_refresh_interval": 300, "screen_last_refresh_interval": 60,
      "screen_intelligent_enable": True, "screen_display_time_enable": False,
      "led_indicator_mode": "blink", "reset_battery": True, "clear_report_schedule": True}),
    ("milesight-iot/am102", "ff180001", {},
     {"sensor_enable_temperature": True, "sensor_enable_humidity": False}),
    ("milesight-iot/am102", "ff2f01", {}, {"led_indicator_mode": "unknown"}),
    # A CO2 channel on the AM102, which has no CO2 sensor: stepped over (type 0x7d has one
    # size in every Milesight product), not read.
    ("milesight-iot/am102", "077de803 017564", {"battery": 100}, {}),
    # Extremes the device can send pass as sent: -20.0 degC (0xff38), 100 %RH (200 / 2).
    ("milesight-iot/am307", "0367 38ff 0468c8", {"temperature": -20.0, "humidity": 100.0}, {}),
    ("milesight-iot/am102", "0367 38ff 0468c8", {"temperature": -20.0, "humidity": 100.0}, {}),
]


@pytest.mark.parametrize(("key", "payload_hex", "readings", "attributes"), _CASES,
                         ids=[f"{k.split('/')[1]}:{h.replace(' ', '')[:20]}" for k, h, _, _ in _CASES])
def test_spec_frame(key: str, payload_hex: str, readings: dict[str, Any],
                    attributes: dict[str, Any]) -> None:
    got_readings, got_attributes = _frame(key, payload_hex)
    assert got_readings == pytest.approx(readings)
    assert got_attributes == attributes
    for name, value in got_attributes.items():
        assert re.fullmatch(r"[a-z0-9_]+", name), name
        assert isinstance(value, str | int | float | bool)


def test_decode_gives_the_same_readings_without_attributes() -> None:
    payload = bytes.fromhex("ff03b004017564")
    assert decode("milesight-iot/am319", 85, payload) == decode_frame("milesight-iot/am319", 85,
                                                                      payload).readings


# --- history records -------------------------------------------------------------------------------

# AM300 record head: 2024-01-01T00:00Z, 21.5 degC (0x00d7), 45 %RH (0x005a / 2), PIR 1, light 3,
# CO2 812 ppm (0x032c), TVOC 0x0025, 1013.2 hPa (0x2794).
_AM300_HEAD = "80009265 d700 5a00 01 03 2c03 2500 9427"
_AT_NEW_YEAR = {"temperature": 21.5, "humidity": 45.0, "co2": 812.0, "pressure": 101320.0}


_PM = {"pm2_5": 12.0, "pm10": 24.0}  # 0x000c, 0x0018 ug/m3


@pytest.mark.parametrize(("key", "payload_hex", "extra"), [
    ("milesight-iot/am307", "20ce" + _AM300_HEAD, {}),  # 16 bytes
    ("milesight-iot/am307", "21ce" + _AM300_HEAD, {}),
    ("milesight-iot/am308", "20ce" + _AM300_HEAD + "0c00 1800", _PM),  # + PM2.5, PM10: 20 bytes
    ("milesight-iot/am308", "21ce" + _AM300_HEAD + "0c00 1800", _PM),
    ("milesight-iot/am319", "20ce" + _AM300_HEAD + "0c00 1800 0400", _PM),  # + HCHO / O3: 22
    ("milesight-iot/am319", "21ce" + _AM300_HEAD + "0c00 1800 0400", _PM),
    # HCHO WELL: 20 bytes, PM2.5 then HCHO (not stored), no PM10.
    ("milesight-iot/am319", "22ce" + _AM300_HEAD + "0c00 0400", {"pm2_5": 12.0}),
    ("milesight-iot/am319", "23ce" + _AM300_HEAD + "0c00 0400", {"pm2_5": 12.0}),
])
def test_am300_history_keeps_the_device_time(key: str, payload_hex: str,
                                             extra: dict[str, float]) -> None:
    # A battery channel after the record proves the record's length.
    frame = decode_frame(key, 85, bytes.fromhex((payload_hex + "017564").replace(" ", "")))
    history = [r for r in frame.readings if r.time is not None]
    assert {r.metric: r.value for r in history} == pytest.approx({**_AT_NEW_YEAR, **extra})
    assert {r.time for r in history} == {NEW_YEAR}
    assert [(r.metric, r.value, r.time) for r in frame.readings if r.time is None] == [
        ("battery", 100.0, None)]
    assert not frame.attributes


def test_am103_history_records_one_reading_per_metric_and_time() -> None:
    # Two records: 21.5 degC, 45 %RH, 812 ppm at 00:00Z; 22.0 degC (0x00dc), 47 %RH (0x5e / 2),
    # 900 ppm (0x0384) at 01:00Z.
    payload = bytes.fromhex("20ce80009265d7005a2c03 20ce900e9265dc005e8403".replace(" ", ""))
    got = sorted((r.time, r.metric, r.value) for r in decode("milesight-iot/am103", 85, payload))
    assert got == sorted([
        (NEW_YEAR, "temperature", 21.5), (NEW_YEAR, "humidity", 45.0), (NEW_YEAR, "co2", 812.0),
        (AN_HOUR_LATER, "temperature", 22.0), (AN_HOUR_LATER, "humidity", 47.0),
        (AN_HOUR_LATER, "co2", 900.0),
    ])


def test_am102_history_has_no_co2() -> None:
    readings = decode("milesight-iot/am102", 85, bytes.fromhex("20ce80009265d7005a017564"))
    assert [(r.metric, r.value, r.time) for r in readings] == [
        ("temperature", 21.5, NEW_YEAR), ("humidity", 45.0, NEW_YEAR), ("battery", 100.0, None)]


# --- refused frames ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "payload_hex", "kept"), [
    # Cut-off values: what came before is kept in the error's partial frame.
    ("milesight-iot/am307", "017564 20ce" + _AM300_HEAD[:-4], {"battery": 100.0}),
    ("milesight-iot/am308", "017564 20ce" + _AM300_HEAD, {"battery": 100.0}),  # 16 of 20 bytes
    ("milesight-iot/am319", "017564 0367", {"battery": 100.0}),
    ("milesight-iot/am103", "017564 20ce80009265d7005a2c", {"battery": 100.0}),
    ("milesight-iot/am307", "017564 ff1a0290", {"battery": 100.0}),  # manual target cut off
    ("milesight-iot/am103", "017564 ff3a02 32b4580205 0a", {"battery": 100.0}),  # 1 of 2 entries
    ("milesight-iot/am103", "017564 fe06 02ceff2c01", {"battery": 100.0}),  # 5 of 9 bytes
    ("milesight-iot/am102", "017564 ff", {"battery": 100.0}),  # truncated header
    # Pairs no AM codec documents and whose length cannot be known: fe 01 (the codecs refuse
    # an unknown downlink response), fe 18 (sensor enable is answered on ff only), and the
    # AM103's CO2 responses on the AM102.
    ("milesight-iot/am307", "017564 fe0101", {"battery": 100.0}),
    ("milesight-iot/am103", "017564 fe180013", {"battery": 100.0}),
    ("milesight-iot/am102", "017564 fe5401e803d007", {"battery": 100.0}),
])
def test_refused_frames_keep_what_came_before(key: str, payload_hex: str,
                                              kept: dict[str, float]) -> None:
    with pytest.raises(DecodeError) as err:
        MODELS[key].decode(85, bytes.fromhex(payload_hex.replace(" ", "")))
    partial = err.value.partial
    assert partial is not None
    assert {r.metric: r.value for r in partial.readings} == kept


@pytest.mark.parametrize("key", ["milesight-iot/am307", "milesight-iot/am308", "milesight-iot/am319",
                                 "milesight-iot/am103", "milesight-iot/am102"])
@pytest.mark.parametrize(("f_port", "payload_hex"), [(85, ""), (1, "017564"), (85, "0175")])
def test_empty_wrong_port_or_cut_off_gives_nothing(key: str, f_port: int, payload_hex: str) -> None:
    with pytest.raises(DecodeError) as err:
        MODELS[key].decode(f_port, bytes.fromhex(payload_hex))
    assert err.value.partial is None


# --- fuzzing the attribute channels ------------------------------------------------------------------

# tests/decoders/test_fuzz.py starts from the vendor examples, which carry no downlink responses:
# mutate this file's frames too, so that every describe function meets cut and odd values.
_SEEDS = [bytes.fromhex(h.replace(" ", "")) for _, h, _, _ in _CASES]


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    seed = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(0, 3))):
        seed[draw(st.integers(0, len(seed) - 1))] = draw(st.integers(0, 255))
    return bytes(seed[:draw(st.integers(0, len(seed)))]) + draw(st.binary(max_size=6))


@pytest.mark.parametrize("key", ["milesight-iot/am307", "milesight-iot/am308", "milesight-iot/am319",
                                 "milesight-iot/am103", "milesight-iot/am102"])
@settings(max_examples=300, deadline=None)
@given(payload=_mutated())
def test_mutated_responses_give_a_frame_or_decode_error(key: str, payload: bytes) -> None:
    model = MODELS[key]
    assert model.decode_frame is not None
    try:
        frame = model.decode_frame(85, payload)
    except DecodeError as exc:
        assert str(exc)
        return
    for name, value in frame.attributes.items():
        assert isinstance(value, str | int | float | bool), name
