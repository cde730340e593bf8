"""Milesight VS series (VS121, VS133, VS135, VS350) beyond the vendors' examples: device
information, downlink responses, history records, alarms and malformed frames, each frame derived
by hand from the vendor's channel tables (decoders/milesight/vs.py cites them)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from decoders import MODELS, DecodeError, decode_frame
from decoders.base import Frame
from simulators.encoders import ENCODERS

VS13X = ("milesight-iot/vs133", "milesight-iot/vs135")
T0 = datetime(2024, 1, 1, tzinfo=UTC)  # 0x65920080, written 80 00 92 65 below


def _frame(key: str, payload_hex: str, f_port: int = 85) -> Frame:
    return decode_frame(key, f_port, bytes.fromhex(payload_hex.replace(" ", "")))


def _values(frame: Frame) -> list[tuple[str, float, datetime | None]]:
    return [(r.metric, r.value, r.time) for r in frame.readings]


def _now(frame: Frame) -> dict[str, float]:
    """The readings of the frame's own time (no history), as {metric: value}."""
    got = {r.metric: r.value for r in frame.readings if r.time is None}
    assert len(got) == len([r for r in frame.readings if r.time is None]), "a metric decoded twice"
    return got


def _refused(key: str, payload_hex: str) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        MODELS[key].decode_frame(85, bytes.fromhex(payload_hex.replace(" ", "")))  # type: ignore[misc]
    return info.value


# --- VS133 / VS135 -------------------------------------------------------------------------------


@pytest.mark.parametrize("key", VS13X)
def test_vs13x_device_information_beside_counts(key: str) -> None:
    # Power-on information (ipso, hardware 1.1, firmware 4 bytes, 8-byte serial) and line 2's
    # period counts in one frame: the counts are kept, the rest goes to the attributes.
    frame = _frame(key, "ff0101 ff090101 ff1f 85010002 ff16 6720d47390470012 08cc 0300 0400")
    assert _now(frame) == {"pedestrian_count_in": 3, "pedestrian_count_out": 4, "pedestrian_count": 7}
    assert dict(frame.attributes) == {"ipso_version": "v0.1", "hardware_version": "v1.0",
                                      "firmware_version": "v133.1.0.2", "sn": "6720d47390470012"}


@pytest.mark.parametrize("key", VS13X)
def test_vs13x_children_regions_and_occlusion(key: str) -> None:
    # Children's totals / period / regions / dwell are skipped; the occlusion alarm of the
    # master and of node 2 are attributes.
    frame = _frame(key, "11d2 05000000 12d2 06000000 13cc 0100 0200 1de3 01000000 1ee4 01 0a00 1400"
                   " 05cc 0900 0800 50fc 00 00 01 50fc 00 02 00")
    assert _now(frame) == {"pedestrian_count_in": 9, "pedestrian_count_out": 8, "pedestrian_count": 17}
    assert dict(frame.attributes) == {"master_occlusion_alarm": "alarm_triggered",
                                      "node_2_occlusion_alarm": "alarm_released"}


@pytest.mark.parametrize("key", VS13X)
def test_vs13x_history_records_sum_lines_per_time(key: str) -> None:
    # At T0: line 1 period 2 in / 1 out (type 05), line 3 period 4 / 0 (type 0b), line 1 total in
    # (type 03, skipped), region 1's average dwell (type 10, 3 bytes, skipped); at T0 + 60 s line
    # 2 period 1 / 1 (type 08). Lines of one time are summed like the live ones.
    t1 = bytes.fromhex("bc009265").hex()  # T0 + 60 s
    frame = _frame(key, "20ce 80009265 05 0200 0100 20ce 80009265 0b 0400 0000"
                   " 20ce 80009265 03 e8030000 20ce 80009265 10 01 2c01"
                   f" 20ce {t1} 08 0100 0100")
    later = datetime(2024, 1, 1, 0, 1, tzinfo=UTC)
    assert _values(frame) == [
        ("pedestrian_count_in", 6, T0), ("pedestrian_count_out", 1, T0), ("pedestrian_count", 7, T0),
        ("pedestrian_count_in", 1, later), ("pedestrian_count_out", 1, later),
        ("pedestrian_count", 2, later),
    ]
    assert frame.attributes == {}


@pytest.mark.parametrize("key", VS13X)
def test_vs13x_downlink_responses(key: str) -> None:
    # Report interval 600 s (ff 03), history on (fe 68), resend interval 120 s (ff 6a, kind 1),
    # reboot (ff 10); f9 88 log levels; f8 85 rejoin refused (result 2) keeps only the refusal;
    # f8 86 data rate 3 accepted (result 0).
    frame = _frame(key, "ff03 5802 fe68 01 ff6a 01 7800 ff10 ff f988 04 02 f885 01 05 02 f886 03 00"
                   " 05cc 0100 0000")
    assert dict(frame.attributes) == {
        "report_interval": 600, "history_enable": "enable", "resend_interval": 120, "reboot": "yes",
        "log_config_console_log_level": "debug", "log_config_file_log_level": "error",
        "device_response_result_channel_type": 0x85,
        "device_response_result_result": "invalid parameter",
        "data_rate": 3,
    }
    assert _now(frame) == {"pedestrian_count_in": 1, "pedestrian_count_out": 0, "pedestrian_count": 1}


@pytest.mark.parametrize("key", VS13X)
def test_vs13x_unknown_history_type_and_cut_record(key: str) -> None:
    # Type 0x02 is not documented, so its length is unknown: the frame is refused, the counts
    # read before it are kept (ingest stores them and dead-letters the message).
    err = _refused(key, "05cc 0200 0300 20ce 80009265 02 0000 0000")
    assert "history data type 0x02" in str(err)
    # A record cut inside its header or its value: refused with the counts before it.
    for cut in ("20ce 800092", "20ce 80009265 05 0200"):
        err = _refused(key, "05cc 0200 0300 " + cut)
        assert err.partial is not None
        assert _now(err.partial) == {"pedestrian_count_in": 2, "pedestrian_count_out": 3,
                                     "pedestrian_count": 5}


# --- VS121 -------------------------------------------------------------------------------------


def test_vs121_serial_and_firmware_are_attributes() -> None:
    frame = _frame("milesight-iot/vs121", "ff0101 ff08 010203040506 ff090100 ff1f 01020304 04c9 02 01 0001")
    assert _now(frame) == {"people_count": 2}
    assert dict(frame.attributes) == {"ipso_version": "v0.1", "sn": "010203040506",
                                      "hardware_version": "v1.0", "firmware_version": "v1.2.3.4"}


def test_vs121_history_records() -> None:
    # Type 01 people count 7 (region count 2, bitmap), type 02 in 5 / out 6 (uint16 LE), type 03
    # maximum count (1 byte, skipped), type 11 dwell time (5 bytes, skipped), type 12 line in /
    # out (skipped, like the live 10/F7).
    frame = _frame("milesight-iot/vs121", "20ce 80009265 01 07 02 0003 20ce 80009265 02 0500 0600"
                   " 20ce 80009265 03 09 20ce 80009265 11 01 0a00 1400 20ce 80009265 12 0100 0100")
    assert sorted(_values(frame)) == sorted([
        ("people_count", 7, T0), ("pedestrian_count_in", 5, T0), ("pedestrian_count_out", 6, T0),
        ("pedestrian_count", 11, T0),
    ])


def test_vs121_history_of_unknown_type_is_refused() -> None:
    err = _refused("milesight-iot/vs121", "04c9 03 01 0001 20ce 80009265 00")
    assert "history data type 0x00" in str(err)


def test_vs121_negative_line_count_is_no_count() -> None:
    # 05/CC is int16: -1 out is no count (the out direction reads 0, as before).
    assert _now(_frame("milesight-iot/vs121", "05cc 0400 ffff")) == {
        "pedestrian_count_in": 4, "pedestrian_count_out": 0, "pedestrian_count": 4}


def test_vs121_downlink_responses() -> None:
    frame = _frame(
        "milesight-iot/vs121",
        "ff03 2c01 ff46 01 0a00 ff45 01 ff35 0011223344556677 f911 04 f98d 08e6d333"
        " f890 01 01 1000 3c00 00 f899 01 00 01 08 00 12 00 00 f895 00 00 7f 000000 01",
    )
    assert dict(frame.attributes) == {
        "from_now_on_report_interval": 300,
        "people_count_jitter_config_enable": "enable", "people_count_jitter_config_time": 10,
        "people_counting_report_mode": "once_result_change",
        "on_the_dot_report_interval": "1h",
        "rx2_frequency": 869_525_000,
        "d2d_vacant_config_2_enable": "enable", "d2d_vacant_config_2_command": "0010",
        "d2d_vacant_config_2_delay_time": 60,
        "time_schedule_mon_1_people_counting_type": "line_crossing_counting",
        "time_schedule_mon_1_start_hour": 8, "time_schedule_mon_1_start_minute": 0,
        "time_schedule_mon_1_end_hour": 18, "time_schedule_mon_1_end_minute": 0,
        "device_response_result_channel_type": 0x95, "device_response_result_result": "forbidden",
    }
    assert "d2d_key" not in frame.attributes  # a secret


# --- VS350 -------------------------------------------------------------------------------------


def test_vs350_counts_beside_device_information() -> None:
    # The case for this model: information channels no longer refuse the frame.
    frame = _frame("milesight-iot/vs350", "ff0bff ff0101 ff166791d19604050005 ff090100 ff0a0102 ff0f00"
                   " 017550 0367f6ff 04cc 2000 2100 05cc 0300 0200 0aef 80009265")
    assert _now(frame) == {"battery": 80, "temperature": -1.0, "pedestrian_count_in": 3,
                           "pedestrian_count_out": 2, "pedestrian_count": 5}
    assert dict(frame.attributes) == {
        "device_status": "on", "ipso_version": "v0.1", "sn": "6791d19604050005",
        "hardware_version": "v1.0", "firmware_version": "v1.2", "lorawan_class": "Class A",
    }


def test_vs350_alarms_keep_values_not_states() -> None:
    frame = _frame("milesight-iot/vs350", "8367 5e01 03 85cc 1400 0a00 01 84cc 0100 0200 01 81ee 05")
    assert _now(frame) == {"temperature": 35.0, "pedestrian_count_in": 20, "pedestrian_count_out": 10,
                           "pedestrian_count": 30}
    assert dict(frame.attributes) == {"current_sensitivity": 5}


def test_vs350_history_and_refusals() -> None:
    frame = _frame("milesight-iot/vs350", "20ce 80009265 01 0700 0200 1d00 0800 20ce 80009265 00 0100 0000")
    assert _values(frame) == [("pedestrian_count_in", 8, T0), ("pedestrian_count_out", 2, T0),
                              ("pedestrian_count", 10, T0)]
    assert "history data type 0x02" in str(_refused("milesight-iot/vs350", "20ce 80009265 02 0100 0000"))
    err = _refused("milesight-iot/vs350", "017564 20ce 80009265 01 0700 0200 1d00")
    assert err.partial is not None and _now(err.partial) == {"battery": 100}
    err = _refused("milesight-iot/vs350", "017564 aacc 0000")  # unknown pair of no fixed size
    assert err.partial is not None and _now(err.partial) == {"battery": 100}


def test_vs350_downlink_responses() -> None:
    frame = _frame(
        "milesight-iot/vs350",
        "ff06 0a 0a00 1400 00000000"  # period alarm (source 1), above (2): out 10, in 20
        " ff06 1c 2c01 5e01 00000000"  # temperature alarm (source 3), outside (4): 30.0 .. 35.0
        " ffac 01 19 fe 01 00"  # top, 2.5 m, compensation -2, sensitivity report on, no manual gain
        " ffbd c4ff ff8e 00 3c00 ffab 01 ecff ffef 01 03 1e ffa8 02 ff96 01 01 00 0100 0a00 01"
        " f810 01 00",
    )
    assert dict(frame.attributes) == {
        "people_period_alarm_config_condition": "above",
        "people_period_alarm_config_threshold_out": 10, "people_period_alarm_config_threshold_in": 20,
        "temperature_alarm_config_condition": "outside",
        "temperature_alarm_config_threshold_min": 30.0, "temperature_alarm_config_threshold_max": 35.0,
        "install_config_install_method": "top", "install_config_install_height": 2.5,
        "install_config_compensation": -2, "install_config_sensitivity_report_enable": "enable",
        "install_config_manual_gain": 0,
        "time_zone": "UTC-1", "report_interval": 60,
        "temperature_calibration_settings_enable": "enable",
        "temperature_calibration_settings_calibration_value": -2.0,
        "reset_cumulative_config_enable": "enable", "reset_cumulative_config_hour": 3,
        "reset_cumulative_config_minute": 30,
        "reset_cumulative_out": "yes",
        "d2d_master_config_someone_enter_enable": "enable",
        "d2d_master_config_someone_enter_lora_uplink_enable": "disable",
        "d2d_master_config_someone_enter_d2d_cmd": "0001",
        "d2d_master_config_someone_enter_time": 10,
        "d2d_master_config_someone_enter_time_enable": "enable",
        "report_type": "immediately",
    }
    assert frame.readings == []


@pytest.mark.parametrize("minutes,zone", [(0, "UTC"), (330, "UTC+5:30"), (-570, "UTC-9:30"), (60, "UTC+1")])
def test_vs350_time_zone(minutes: int, zone: str) -> None:
    payload = "ffbd" + minutes.to_bytes(2, "little", signed=True).hex()
    assert _frame("milesight-iot/vs350", payload).attributes == {"time_zone": zone}


# --- all four --------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [*VS13X, "milesight-iot/vs121", "milesight-iot/vs350"])
@pytest.mark.parametrize("payload_hex,f_port", [("", 85), ("05cc0100", 85), ("05", 85), ("05cc01000200", 1)])
def test_malformed_frames_are_refused(key: str, payload_hex: str, f_port: int) -> None:
    with pytest.raises(DecodeError):
        _frame(key, payload_hex, f_port)


@pytest.mark.parametrize("key", [*VS13X, "milesight-iot/vs350"])
def test_a_total_alone_is_split_over_both_directions(key: str) -> None:
    values: dict[str, Any] = {"pedestrian_count": 7.0}
    f_port, payload = ENCODERS[key](values)
    assert _now(decode_frame(key, f_port, payload)) == {
        "pedestrian_count_in": 4, "pedestrian_count_out": 3, "pedestrian_count": 7}
