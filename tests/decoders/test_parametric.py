"""Parametric PCR2 frames in the ELSYS-compatible format (payload type 0), derived by hand from
Parametric's own documents: "PCR2 Application Payload V2" (firmware 3.2.0,
https://www.parametric.ch/docs/pcr2/pcr2_app_payload_v2: "0A ltr | 16 rtl | 01 temp", 0x0A =
objects counted left-to-right, 0x16 = objects counted right-to-left, 0x01 = CPU temperature)
and the vendor codec TTN vendor/parametric/pcr2.js (``decode_elsys_pl``: 0x0A -> LTR, 0x16 ->
RTL); "PCR2 Application Payloads V3" and "PCR2 LoRaWAN Payload Description V4" keep the format
for compatibility with ELSYS devices (0x0A and 0x16 are Elsys pulse inputs 1 and 2)."""

from __future__ import annotations

import pytest

from decoders import MODELS, DecodeError
from meetnet.catalog import out_of_range

PCR2 = "parametric/pcr2"

# (payload hex on fPort 14, readings or None for a DecodeError)
_CASES: list[tuple[str, dict[str, float] | None]] = [
    # The documented frame: 0A ltr, 16 rtl, 01 temp. Values of Parametric's KB example
    # (https://www.parametric.ch/kb/pcr2-payload-2/, "Default Payload (9 Bytes)"): 0x000A = 10
    # left-to-right, 0x0010 = 16 (its second counter), 0xFF9A = -102 -> -10.2 degC.
    ("0a000a 160010 01ff9a",
     {"vehicle_count_ltr": 10, "vehicle_count_rtl": 16, "vehicle_count": 26, "temperature": -10.2}),
    # 0x16 is right-to-left wherever it stands: the type says the direction, not the position.
    ("0a0001 010023 160002",
     {"vehicle_count_ltr": 1, "vehicle_count_rtl": 2, "vehicle_count": 3, "temperature": 3.5}),
    ("0a0000 160005", {"vehicle_count_ltr": 0, "vehicle_count_rtl": 5, "vehicle_count": 5}),
    # One 0x0A is the left-to-right count; without a 0x16 the right-to-left count is unknown,
    # so neither it nor a total is made up.
    ("0a0007", {"vehicle_count_ltr": 7}),
    ("0a0007 010023", {"vehicle_count_ltr": 7, "temperature": 3.5}),
    # A second 0x0A is the left-to-right field again, never right-to-left: two values for one
    # count cannot both be true, so the frame is refused.
    ("0a0002 0a0001 010139", None),
    ("0a0002 160001 0a0003", None),
    ("0a0002 160001 160003", None),  # right-to-left twice
    ("0a0002 160001 010139 010139", None),  # temperature twice
    ("160002 0a0001", None),  # the documented frame starts with 0A (and so does pcr2.js)
    ("0a0001 050002", None),  # 0x05 is not a PCR2 field
    ("0a0001 16", None),  # right-to-left value cut off
    ("0a00", None),
]


@pytest.mark.parametrize(("payload_hex", "readings"), _CASES,
                         ids=[h.replace(" ", "") for h, _ in _CASES])
def test_pcr2_elsys_frame(payload_hex: str, readings: dict[str, float] | None) -> None:
    payload = bytes.fromhex(payload_hex.replace(" ", ""))
    if readings is None:
        with pytest.raises(DecodeError):
            MODELS[PCR2].decode(14, payload)
        return
    got = MODELS[PCR2].decode(14, payload)
    assert len(got) == len(readings)
    assert {r.metric: r.value for r in got} == pytest.approx(readings)
    for r in got:
        assert r.metric in MODELS[PCR2].metrics
        assert out_of_range(r.metric, r.value) is None


def test_a_second_0a_is_refused_with_its_reason_and_nothing_kept() -> None:
    with pytest.raises(DecodeError) as err:
        MODELS[PCR2].decode(14, bytes.fromhex("0a00020a0001010139"))
    assert "0x0a" in str(err.value) and "left-to-right" in str(err.value)
    assert "offset 3" in str(err.value)
    # No partial frame: which of the two left-to-right values is right cannot be known.
    assert err.value.partial is None


def test_the_first_0a_is_left_to_right_in_the_vendor_examples_too() -> None:
    # The vendor's published ELSYS example (TTN vendor/parametric/pcr2-codec.yaml): LTR 1, RTL 2.
    got = {r.metric: r.value for r in MODELS[PCR2].decode(14, bytes.fromhex("0a0001160002010023"))}
    assert got["vehicle_count_ltr"] == 1 and got["vehicle_count_rtl"] == 2
