"""What ingest accepts at the door (issue 9, items 2 and 4): LoRaWAN ranges, tolerated oddities,
and the topic as part of the sender's identity. Pure parsing: no database, no broker."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.envelopes import (
    EnvelopeError,
    IdentityMismatch,
    Ignored,
    parse,
)
from meetnet.records import DeviceEvent, Uplink

VECTORS = Path(__file__).parent.parent / "vectors"

NOW = datetime.now(UTC)


def _tts() -> tuple[str, dict[str, Any]]:
    doc = json.loads((VECTORS / "envelopes" / "tts-v3-uplink.json").read_text())
    return str(doc["topic"]), doc["payload"]


def _cs() -> tuple[str, dict[str, Any]]:
    doc = json.loads((VECTORS / "envelopes" / "chirpstack-v4-up.json").read_text())
    return str(doc["topic"]), doc["payload"]


def _parse(topic: str, doc: object) -> Uplink | DeviceEvent:
    return parse(topic, json.dumps(doc).encode())


@pytest.mark.parametrize("value", [9223372036854775808, 2**64 + 5, 1e300, -5, 2**32, 1.5, "x",
                                   True, None, [], {}])
def test_tts_frame_counter_outside_32_bits_is_refused_naming_field_and_value(value: object
                                                                             ) -> None:
    topic, doc = _tts()
    doc["uplink_message"]["f_cnt"] = value
    with pytest.raises(EnvelopeError, match=r"uplink_message\.f_cnt") as err:
        _parse(topic, doc)
    assert not isinstance(err.value, IdentityMismatch)
    if isinstance(value, int) and not isinstance(value, bool) and value < 2**64:
        assert str(value)[:15] in str(err.value)  # beyond 64 bits JSON parsers give a float


@pytest.mark.parametrize(("value", "ok"), [(0, True), (255, True), (256, False), (70000, False),
                                           (-1, False), ("1", True)])
def test_frame_port_is_one_octet(value: object, ok: bool) -> None:
    topic, doc = _tts()
    doc["uplink_message"]["f_port"] = value
    if ok:
        up = _parse(topic, doc)
        assert isinstance(up, Uplink) and up.f_port == int(str(value))
    else:
        with pytest.raises(EnvelopeError, match="f_port"):
            _parse(topic, doc)


def test_frame_counter_limits_are_accepted() -> None:
    topic, doc = _tts()
    for value in (0, 2**32 - 1):
        doc["uplink_message"]["f_cnt"] = value
        up = _parse(topic, doc)
        assert isinstance(up, Uplink) and up.f_cnt == value


@pytest.mark.parametrize(("field", "value"), [("rssi", -500), ("rssi", 90), ("snr", 1e6),
                                               ("snr", -80)])
def test_impossible_radio_values_are_refused(field: str, value: float) -> None:
    topic, doc = _tts()
    doc["uplink_message"]["rx_metadata"][1][field] = value
    with pytest.raises(EnvelopeError, match=rf"rx_metadata\.{field} out of range"):
        _parse(topic, doc)


def test_odd_radio_metadata_is_dropped_and_the_uplink_kept() -> None:
    topic, doc = _tts()
    for gw in doc["uplink_message"]["rx_metadata"]:
        gw["rssi"] = str(gw["rssi"])  # a string: odd, not impossible
    up = _parse(topic, doc)
    assert isinstance(up, Uplink) and up.rssi is None and up.gateway_count == 2
    del doc["uplink_message"]["rx_metadata"]
    up = _parse(topic, doc)
    assert isinstance(up, Uplink) and up.rssi is None and up.gateway_count == 0
    doc["uplink_message"]["rx_metadata"] = "nonsense"
    assert isinstance(_parse(topic, doc), Uplink)


def test_too_many_gateways_is_refused() -> None:
    topic, doc = _tts()
    doc["uplink_message"]["rx_metadata"] = [{}] * 1001
    with pytest.raises(EnvelopeError, match="1001 gateways"):
        _parse(topic, doc)


@pytest.mark.parametrize("when", ["1999-12-31T23:59:59Z", "0001-01-01T00:00:00Z",
                                  "9999-12-31T23:59:59Z",
                                  (NOW + timedelta(days=2)).isoformat()])
def test_received_at_outside_2000_to_now_plus_skew_is_refused(when: str) -> None:
    topic, doc = _tts()
    doc["uplink_message"]["received_at"] = when
    with pytest.raises(EnvelopeError, match=r"received_at out of range") as err:
        _parse(topic, doc)
    assert when in str(err.value)


def test_clock_skew_is_configurable() -> None:
    topic, doc = _tts()
    doc["uplink_message"]["received_at"] = (NOW + timedelta(hours=2)).isoformat()
    body = json.dumps(doc).encode()
    assert isinstance(parse(topic, body), Uplink)  # default: one day
    with pytest.raises(EnvelopeError, match="received_at out of range"):
        parse(topic, body, max_future=timedelta(hours=1))


@pytest.mark.parametrize("eui", ["24e124713c01234", "24e124713c0123456", "24e124713c01234g",
                                 "24e124713c012345\n", 2**40, None])
def test_dev_eui_must_be_exactly_16_hex_digits(eui: object) -> None:
    topic, doc = _tts()
    doc["end_device_ids"]["dev_eui"] = eui
    with pytest.raises(EnvelopeError, match="dev_eui"):
        _parse(topic, doc)


def test_identifiers_with_control_characters_are_refused() -> None:
    topic, doc = _tts()
    doc["end_device_ids"]["device_id"] = "em310-bin-001\x00"
    with pytest.raises(EnvelopeError, match=r"device_id is not an identifier"):
        _parse(topic, doc)


# ------------------------------------------------------------------ the topic is the identity

def test_tts_topic_application_must_agree_with_the_body() -> None:
    topic, doc = _tts()
    forged = topic.replace("meetnet-waste@", "someone-else@")
    with pytest.raises(IdentityMismatch, match="application mismatch"):
        _parse(forged, doc)


def test_tts_topic_tenant_must_agree_with_the_body() -> None:
    topic, doc = _tts()
    doc["uplink_message"]["network_ids"]["tenant_id"] = "other-tenant"
    with pytest.raises(IdentityMismatch, match=r"application \(tenant\) mismatch"):
        _parse(topic, doc)


def test_tts_topic_device_must_agree_with_the_body() -> None:
    topic, doc = _tts()
    with pytest.raises(IdentityMismatch, match="device mismatch"):
        _parse(topic.replace("/em310-bin-001/", "/another-bin/"), doc)


def test_chirpstack_topic_must_agree_with_device_info() -> None:
    topic, doc = _cs()
    app = doc["deviceInfo"]["applicationId"]
    with pytest.raises(IdentityMismatch, match="application mismatch"):
        _parse(topic.replace(app, "00000000-0000-0000-0000-000000000000"), doc)
    eui = doc["deviceInfo"]["devEui"]
    with pytest.raises(IdentityMismatch, match="device mismatch"):
        _parse(topic.replace(eui, "ffffffffffffffff"), doc)


# ------------------------------------------------------------------------------ fuzzing

_json = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
_FIELDS = ["f_cnt", "f_port", "received_at", "frm_payload", "rx_metadata", "version_ids",
           "decoded_payload", "network_ids"]


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(_FIELDS), value=_json, chirp=st.booleans())
def test_any_field_of_any_type_gives_an_uplink_or_a_reason(field: str, value: object,
                                                           chirp: bool) -> None:
    topic, doc = _cs() if chirp else _tts()
    if chirp:
        key = {"f_cnt": "fCnt", "f_port": "fPort", "received_at": "time", "frm_payload": "data",
               "rx_metadata": "rxInfo", "decoded_payload": "object"}.get(field, field)
        doc[key] = value
    else:
        doc["uplink_message"][field] = value
    try:
        up = _parse(topic, doc)
    except EnvelopeError as exc:
        assert str(exc)  # a reason, never empty
        assert "\x00" not in str(exc)
        return
    assert isinstance(up, Uplink)
    assert up.f_cnt is not None and 0 <= up.f_cnt <= 2**32 - 1
    assert up.f_port is not None and 0 <= up.f_port <= 255
    assert up.gateway_count <= 1000


@settings(max_examples=300, deadline=None)
@given(topic=st.text(max_size=60), body=st.binary(max_size=200))
def test_any_topic_and_bytes_give_a_record_or_a_reason(topic: str, body: bytes) -> None:
    with contextlib.suppress(EnvelopeError, Ignored):
        parse(topic, body)


def test_deeply_nested_json_is_a_reason_not_a_crash() -> None:
    topic, _ = _tts()
    deep = b"[" * 100_000 + b"]" * 100_000
    with pytest.raises(EnvelopeError):
        parse(topic, deep)
    topic, doc = _tts()
    body = json.dumps(doc).encode()
    # 900 levels deep inside decoded_payload (json.dumps itself stops near 1,000): parsed or
    # refused with a reason; whether it can be stored is the store's business.
    at = body.index(b'"decoded_payload":') + len(b'"decoded_payload":')
    end = body.index(b"}", at) + 1
    body = body[:at] + b'{"a":' * 900 + b"1" + b"}" * 900 + body[end:]
    with contextlib.suppress(EnvelopeError):
        parse(topic, body)
