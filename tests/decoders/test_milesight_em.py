"""Milesight EM series (decoders/milesight/em.py): frames beyond the vendors' published examples,
each derived by hand from the model's documented channels (github.com/Milesight-IoT/SensorDecoders
em-series/<model>: the "Attribute" and "Telemetry" tables of the README and the downlink
responses its decoder handles). Settings a device confirms are attributes, named as the vendor
decoder names them (nested objects flattened as ``<group>_<field>``), never readings."""

from __future__ import annotations

from typing import Any

import pytest

from decoders import MODELS, DecodeError, decode, decode_frame
from decoders.milesight import em
from decoders.milesight.tlv import COMMON, Model
from meetnet.catalog import out_of_range

EM = ["milesight-iot/em310-udl", "milesight-iot/em400-udl", "milesight-iot/em400-mud",
      "milesight-iot/em400-tld", "milesight-iot/em500-udl", "milesight-iot/em500-swl"]

#: A device-information frame as sent after power-on: device status, IPSO version 0x01, serial
#: number, hardware 01 10, firmware 01 10, class A, TSL 0x01 0x0d.
POWER_ON = "ff0bff ff0101 ff166329c42903640033 ff090110 ff0a0110 ff0f00 ffff010d"
POWER_ON_ATTRIBUTES = {
    "device_status": "on", "ipso_version": "v0.1", "sn": "6329c42903640033",
    "hardware_version": "v1.1", "firmware_version": "v1.10", "lorawan_class": "Class A",
    "tsl_version": "v1.13",
}

# (model key, payload hex, readings, attributes): each value worked out from the bytes.
CASES: list[tuple[str, str, dict[str, float], dict[str, Any]]] = [
    # The issue's frame: collection interval 0x0455 = 1109 s, position 0, distance 0x0b10 =
    # 2832 mm.
    ("milesight-iot/em310-udl", "ff025504 040000 0382100b",
     {"tilt": 0.0, "distance": 2.832}, {"collection_interval": 1109}),
    # The same responses on channel 0xfe: report interval 0x003c = 60 s; reboot (byte ignored).
    ("milesight-iot/em310-udl", "fe033c00 fe10ff 017564",
     {"battery": 100.0}, {"report_interval": 60, "reboot": "yes"}),
    # Distance alarm: control 0x82 = condition 2 (above) + bit 7 (alarm release); thresholds
    # int16 300 and 500 mm; lock time 5, continue time 10.
    ("milesight-iot/em310-udl", "ff06 82 2c01 f401 0500 0a00 03822c01",
     {"distance": 0.3},
     {"distance_alarm_config_condition": "above", "distance_alarm_config_alarm_release_enable": "enable",
      "distance_alarm_config_threshold_min": 300, "distance_alarm_config_threshold_max": 500,
      "distance_alarm_config_lock_time": 5, "distance_alarm_config_continue_time": 10}),
    # Power-on information beside measurements (0x0101 = 25.7 degC, 0x0844 = 2116 mm, tilt).
    ("milesight-iot/em400-tld", POWER_ON + " 01755c 03670101 04824408 050001",
     {"battery": 92.0, "temperature": 25.7, "distance": 2.116, "tilt": 1.0}, POWER_ON_ATTRIBUTES),
    ("milesight-iot/em500-swl", POWER_ON, {}, POWER_ON_ATTRIBUTES),
    # EM400-UDL alarm thresholds: control 0x01 = below, no release; uint16 100 and 200 mm; the
    # four bytes after them are skipped.
    ("milesight-iot/em400-udl", "ff06 01 6400 c800 00000000 ff7100",
     {}, {"standard_mode_alarm_config_condition": "below",
          "standard_mode_alarm_config_alarm_release_enable": "disable",
          "standard_mode_alarm_config_threshold_min": 100,
          "standard_mode_alarm_config_threshold_max": 200, "working_mode": "standard"}),
    # The EM400 responses the three models share: install-height switch on, recollection 3
    # times 5 s apart, status query, tilt linkage off, time sync, ToF detection on, people
    # height 0x03e8 = 1000 mm, collection interval 0x0258 = 600 s.
    ("milesight-iot/em400-mud", "ff1301 ff1c0305 ff2801 ff3e00 ff4a00 ff5601 ff70e803 fe025802",
     {}, {"install_height_enable": "enable", "recollection_config_counts": 3,
          "recollection_config_interval": 5, "query_device_status": "yes",
          "tilt_linkage_distance_enable": "disable", "sync_time": "yes",
          "tof_detection_enable": "enable", "people_existing_height": 1000,
          "collection_interval": 600}),
    # EM400-MUD: bits 3-5 of the control byte name the working mode the thresholds belong to:
    # 0x92 = bin (2 << 3) + above (2) + release; 0x0b = standard (1 << 3) + between (3).
    ("milesight-iot/em400-mud", "ff06 92 e803 d007 00000000 ff06 0b 6400 2c01 00000000",
     {}, {"bin_mode_alarm_config_condition": "above",
          "bin_mode_alarm_config_alarm_release_enable": "enable",
          "bin_mode_alarm_config_threshold_min": 1000, "bin_mode_alarm_config_threshold_max": 2000,
          "standard_mode_alarm_config_condition": "between",
          "standard_mode_alarm_config_alarm_release_enable": "disable",
          "standard_mode_alarm_config_threshold_min": 100,
          "standard_mode_alarm_config_threshold_max": 300}),
    # A mode the decoder does not document (0) is stepped over (9 bytes), the battery kept.
    ("milesight-iot/em400-mud", "ff06 01 6400 c800 00000000 017550", {"battery": 80.0}, {}),
    # Working mode 2 is "parking" on the EM400-MUD, undocumented on the EM400-TLD; install height
    # 0x030c = 780 mm.
    ("milesight-iot/em400-mud", "ff7102 ff770c03", {},
     {"working_mode": "parking", "install_height": 780}),
    ("milesight-iot/em400-tld", "ff7102 fe770c03 ff7101", {},
     {"working_mode": "bin", "install_height": 780}),
    ("milesight-iot/em400-tld", "ff7102", {}, {"working_mode": "unknown"}),
    # The NB-IoT location (9 bytes) has no catalog metric: stepped over, the battery kept.
    ("milesight-iot/em400-tld", "0688 0102030405060708 01 017564", {"battery": 100.0}, {}),
    # Alarm variants: 0x0104 = 260 -> 26.0 degC, 0x07d0 = 2000 mm; the alarm-state byte is no
    # reading.
    ("milesight-iot/em400-tld", "8367040100 8482d00701", {"temperature": 26.0, "distance": 2.0}, {}),
    # EM500-UDL distance threshold alarm: control 0xc9 = below (1) + distance (1 << 3) + enable
    # (bit 6) + release (bit 7); int16 500 and 0 mm.
    ("milesight-iot/em500-udl", "ff06 c9 f401 0000 00000000",
     {}, {"distance_alarm_config_condition": "below",
          "distance_alarm_config_alarm_release_enable": "enable",
          "distance_alarm_config_threshold_min": 500, "distance_alarm_config_threshold_max": 0,
          "distance_alarm_config_enable": "enable"}),
    # Distance mutation alarm: control 0x55 = mutation (5) + (2 << 3) + enable; the mutation
    # value is the second uint16 (0x0064 = 100).
    ("milesight-iot/em500-udl", "ff06 55 0000 6400 00000000",
     {}, {"distance_mutation_alarm_config_enable": "enable",
          "distance_mutation_alarm_config_mutation_value": 100,
          "distance_mutation_alarm_config_alarm_release_enable": "disable"}),
    # Device clock 0x65920080 = 2024-01-01T00:00Z; time zone 10 = UTC+1; retransmit interval
    # (type 0) 0x012c = 300 s, resend interval (type 1) 60 s; a third type carries nothing.
    ("milesight-iot/em500-udl", "ff1180009265 ff170a00 ff6a002c01 ff6a013c00 ff6a023c00",
     {}, {"timestamp": 1704067200, "time_zone": "UTC+1", "retransmit_interval": 300,
          "resend_interval": 60}),
    # Time zones: -35 = UTC-3:30, 57 = UTC+5:45, 0 = UTC; -55 and 500 are no time zone.
    ("milesight-iot/em500-udl", "ff17ddff", {}, {"time_zone": "UTC-3:30"}),
    ("milesight-iot/em500-udl", "ff17c9ff", {}, {"time_zone": "unknown"}),
    ("milesight-iot/em500-udl", "fe173900", {}, {"time_zone": "UTC+5:45"}),
    ("milesight-iot/em500-udl", "ff170000", {}, {"time_zone": "UTC"}),
    ("milesight-iot/em500-udl", "ff17f401", {}, {"time_zone": "unknown"}),
    # The D2D key is a secret: read past, never an attribute. A D2D rule for mode 1 (threshold
    # alarm): enabled, no LoRa uplink, command 0x0001 (sent LE), three reserved bytes.
    ("milesight-iot/em500-udl", "ff35 0102030405060708 ff96 01 01 00 0100 000000 017564",
     {"battery": 100.0}, {"d2d_master_config_threshold_alarm_enable": "enable",
                          "d2d_master_config_threshold_alarm_lora_uplink_enable": "disable",
                          "d2d_master_config_threshold_alarm_d2d_cmd": "0001"}),
    # Calibration (any kind byte on the EM500-UDL): enabled, int16 -10; switches and counters.
    ("milesight-iot/em500-udl", "fff1 00 01 f6ff fff20300 fff501 ff6801 ff6900 ff8401 ff3b01 "
     "ff2701 ff2801 ff1c0205 ff10ff",
     {}, {"distance_calibration_settings_enable": "enable",
          "distance_calibration_settings_calibration_value": -10, "alarm_report_counts": 3,
          "alarm_release_enable": "enable", "history_enable": "enable",
          "retransmit_enable": "disable", "d2d_enable": "enable", "time_sync_enable": "enable",
          "clear_history": "yes", "report_status": "yes", "recollection_config_counts": 2,
          "recollection_config_interval": 5, "reboot": "yes"}),
    # Distance alarm frame: 0x2710 = 10000 in 0.1 mm = 1.0 m, mutation 100, state 1.
    ("milesight-iot/em500-udl", "83e9 1027 6400 01", {"distance": 1.0}, {}),
    # EM500-SWL probe: rate 2 = "1", range int16 1000 .. 0; depth 0x000a = 10 cm.
    ("milesight-iot/em500-swl", "ff1b 02 e803 0000 03770a00", {"water_depth": 0.1},
     {"measuring_equipment_rate": "1", "measuring_equipment_range_max": 1000,
      "measuring_equipment_range_min": 0}),
    # Depth alarm: control 0x4a = above (2) + depth (1 << 3) + enable; int16 100 and 200 cm.
    # Another alarm id (2 << 3) is read past.
    ("milesight-iot/em500-swl", "ff06 4a 6400 c800 00000000 ff06 12 0100 0200 00000000",
     {}, {"depth_alarm_config_enable": "enable", "depth_alarm_config_condition": "above",
          "depth_alarm_config_threshold_min": 100, "depth_alarm_config_threshold_max": 200}),
    # Calibration only of kind 6 (depth) on the EM500-SWL: offset 10; kind 5 carries nothing.
    ("milesight-iot/em500-swl", "fff1 06 01 0a00 fff1 05 00 1400", {},
     {"depth_calibration_settings_enable": "enable",
      "depth_calibration_settings_calibration_value": 10}),
    # A switch byte outside 0/1 is reported as the vendor decoder does.
    ("milesight-iot/em500-swl", "ff6807", {}, {"history_enable": "unknown"}),
]


def _hex(payload: str) -> bytes:
    return bytes.fromhex(payload.replace(" ", ""))


@pytest.mark.parametrize(("key", "payload", "readings", "attributes"), CASES,
                         ids=[f"{c[0].split('/')[1]}:{c[1][:24]}" for c in CASES])
def test_spec_frame(key: str, payload: str, readings: dict[str, float],
                    attributes: dict[str, Any]) -> None:
    frame = decode_frame(key, 85, _hex(payload))
    got = {r.metric: r.value for r in frame.readings}
    assert got == pytest.approx(readings)
    assert dict(frame.attributes) == attributes
    for r in frame.readings:
        assert r.metric in MODELS[key].metrics
        assert out_of_range(r.metric, r.value) is None
    # decode() gives the same readings and leaves the attributes out.
    assert decode(key, 85, _hex(payload)) == frame.readings


# (model key, payload hex, readings kept in DecodeError.partial or None when nothing was read).
BROKEN: list[tuple[str, str, dict[str, float] | None]] = [
    ("milesight-iot/em310-udl", "017564 ff0655", {"battery": 100.0}),  # alarm config cut off
    ("milesight-iot/em310-udl", "ff0255", None),  # interval cut off
    ("milesight-iot/em310-udl", "017564 fe", {"battery": 100.0}),  # header cut off
    # A response type the model does not document: its length cannot be known.
    ("milesight-iot/em310-udl", "017564 ff1301", {"battery": 100.0}),
    ("milesight-iot/em400-udl", "04822c01 ff770c03", {"distance": 0.3}),  # 77 is MUD/TLD only
    ("milesight-iot/em400-tld", "ff99 00", None),
    # Channel 0xfe carries downlink responses only, not the device information of 0xff.
    ("milesight-iot/em400-tld", "017564 fe0101", {"battery": 100.0}),
    ("milesight-iot/em500-swl", "03770a00 fe1b 020a000000", {"water_depth": 0.1}),
    ("milesight-iot/em500-udl", "ff96 0101000100", None),  # D2D rule cut off
    ("milesight-iot/em500-udl", "ff35 01020304", None),  # D2D key cut off
]


@pytest.mark.parametrize(("key", "payload", "partial"), BROKEN,
                         ids=[f"{c[0].split('/')[1]}:{c[1]}" for c in BROKEN])
def test_broken_frame(key: str, payload: str, partial: dict[str, float] | None) -> None:
    with pytest.raises(DecodeError) as err:
        decode_frame(key, 85, _hex(payload))
    if partial is None:
        assert err.value.partial is None
    else:
        assert err.value.partial is not None
        assert {r.metric: r.value for r in err.value.partial.readings} == pytest.approx(partial)


def test_a_cut_off_response_keeps_the_attributes_before_it() -> None:
    with pytest.raises(DecodeError, match="too short") as err:
        decode_frame("milesight-iot/em500-udl", 85, _hex("ff033c00 ff06c9f401"))
    assert err.value.partial is not None
    assert dict(err.value.partial.attributes) == {"report_interval": 60}
    assert err.value.partial.readings == []


@pytest.mark.parametrize("model", [em.EM310_UDL, em.EM400_UDL, em.EM400_MUD, em.EM400_TLD,
                                   em.EM500_UDL, em.EM500_SWL], ids=lambda m: m.name)
def test_every_response_is_accepted_on_both_channels(model: Model) -> None:
    # The vendor decoders hand any ff or fe pair that is not device information to the same
    # downlink-response table, so each response type has both.
    own_ff = {t for (ch, t) in model.channels if ch == 0xFF and (ch, t) not in COMMON}
    own_ff.discard(0x1B)  # EM500-SWL probe: device information, read on ff only
    own_fe = {t for (ch, t) in model.channels if ch == 0xFE}
    assert own_ff == own_fe
    assert all(model.channels[(0xFE, t)] is model.channels[(0xFF, t)] for t in own_fe)


def test_every_em_model_is_registered() -> None:
    assert {m.key for m in em.MODELS} == set(EM)
    for key in EM:
        assert MODELS[key].decode_frame is not None
