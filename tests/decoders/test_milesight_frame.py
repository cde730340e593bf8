"""The Milesight frame walker (decoders/milesight/tlv.py): device-information channels become
attributes, a pair the model does not document is stepped over only when its type has one size,
and a frame that stops at an unknown channel hands back what came before it."""

from __future__ import annotations

import pytest

from decoders import DecodeError, decode_frame
from decoders.milesight.em import EM310_UDL


def test_device_information_goes_to_attributes_not_readings() -> None:
    # Power-on frame: status, IPSO version 0x01, serial, hardware 01 10, firmware 01 10, class A,
    # TSL 0x01 0x0d, then a measurement.
    payload = bytes.fromhex("ff0bff ff0101 ff166329c42903640033 ff090110 ff0a0110 ff0f00"
                            " ffff010d 017564".replace(" ", ""))
    frame = EM310_UDL.frame(85, payload)
    assert [(r.metric, r.value) for r in frame.readings] == [("battery", 100.0)]
    assert dict(frame.attributes) == {
        "device_status": "on", "ipso_version": "v0.1", "sn": "6329c42903640033",
        "hardware_version": "v1.1", "firmware_version": "v1.10", "lorawan_class": "Class A",
        "tsl_version": "v1.13",
    }
    # decode() gives the same readings and no attributes.
    assert EM310_UDL.decode(85, payload) == frame.readings


def test_a_frame_without_information_carries_no_attributes() -> None:
    frame = EM310_UDL.frame(85, bytes.fromhex("01755c03824408040001"))
    assert not frame.attributes
    assert len(frame.readings) == 3


def test_an_unknown_channel_keeps_what_came_before_it() -> None:
    with pytest.raises(DecodeError, match="unknown channel 0x05 type 0xe1") as err:
        decode_frame("milesight-iot/em310-udl", 85, bytes.fromhex("ff0a0110 017564 05e1ffff 03821e00"))
    partial = err.value.partial
    assert partial is not None
    assert [(r.metric, r.value) for r in partial.readings] == [("battery", 100.0)]
    assert dict(partial.attributes) == {"firmware_version": "v1.10"}


def test_an_unknown_channel_first_leaves_nothing_partial() -> None:
    with pytest.raises(DecodeError) as err:
        EM310_UDL.frame(85, bytes.fromhex("05e1ffff017564"))
    assert err.value.partial is None


def test_a_cut_off_value_keeps_the_channels_before_it() -> None:
    with pytest.raises(DecodeError, match="too short") as err:
        EM310_UDL.frame(85, bytes.fromhex("017564 0382"))
    assert err.value.partial is not None
    assert [r.metric for r in err.value.partial.readings] == ["battery"]


def test_a_record_of_unknown_length_keeps_the_channels_before_it() -> None:
    # VS121 history records (20/CE) say their length by their data type; 0x00 is undocumented.
    from decoders.milesight.vs import VS121

    with pytest.raises(DecodeError) as err:
        VS121.frame(85, bytes.fromhex("04c903010000 20ce 80009265 00 ff".replace(" ", "")))
    assert err.value.partial is not None
    assert [r.metric for r in err.value.partial.readings] == ["people_count"]
    assert "history data type 0x00" in str(err.value)
