"""Elsys ERS family beyond the vendor's examples: frames derived by hand from "Elsys LoRa payload"
(https://www.elsys.se/en/elsys-payload/) for the ERS CO2 Lite, and the one type table both ERS
models share (decoders/elsys.py)."""

from __future__ import annotations

import pytest

from decoders import MODELS, DecodeError, decode
from decoders.elsys import _TYPES
from meetnet.catalog import out_of_range

LITE = "elsys/ers-co2-lite"
CO2 = "elsys/ers-co2"

# (f_port, payload hex, readings or None for a DecodeError)
_LITE_CASES: list[tuple[int, str, dict[str, float] | None]] = [
    # Default fPort 5: -20.0 degC (0xFF38 = -200), 55 %RH, 1250 ppm (0x04E2), VDD 3600 mV.
    (5, "01ff38 0237 0604e2 070e10",
     {"temperature": -20.0, "humidity": 55.0, "co2": 1250.0, "battery_voltage": 3.6}),
    # Types of sensors the Lite does not have (light 0x04, PIR 0x05, pressure 0x14, TVOC 0x1C)
    # and ones meetnet has no metric for (acceleration 0x03, pulse 0x0A) are sized and skipped:
    # what follows them is still read.
    (5, "040027 0506 1400 0f 76 02 1c01f4 030102ff 0a0005 060308",
     {"co2": 776.0}),
    # Settings frame after a reset (fPort 5 + 1): no readings.
    (6, "3e4a0701080509010a00", {}),
    # Values before a settings block are kept; the block itself is not measurements.
    (5, "0100e2 3e0102", {"temperature": 22.6}),
    (5, "0100", None),  # temperature cut off
    (5, "0100e2 06", None),  # co2 type without its value
    (5, "0100e2 2001", None),  # 0x20 is not in the spec: nothing after it can be located
    (5, "", None),
    (0, "0100e2", None),  # fPort 0 carries MAC commands
    (224, "0100e2", None),  # reserved by LoRaWAN
]


@pytest.mark.parametrize(("f_port", "payload_hex", "readings"), _LITE_CASES,
                         ids=[f"{p}:{h.replace(' ', '') or 'empty'}" for p, h, _ in _LITE_CASES])
def test_ers_co2_lite_spec_case(f_port: int, payload_hex: str,
                                readings: dict[str, float] | None) -> None:
    payload = bytes.fromhex(payload_hex.replace(" ", ""))
    if readings is None:
        with pytest.raises(DecodeError):
            MODELS[LITE].decode(f_port, payload)
        return
    got = MODELS[LITE].decode(f_port, payload)
    assert {r.metric: r.value for r in got} == pytest.approx(readings)
    assert len(got) == len(readings)
    for r in got:
        assert r.metric in MODELS[LITE].metrics
        assert out_of_range(r.metric, r.value) is None


def test_lite_declares_only_its_sensors() -> None:
    assert set(MODELS[LITE].metrics) == {"temperature", "humidity", "co2", "battery_voltage"}
    assert set(MODELS[LITE].metrics) < set(MODELS[CO2].metrics)


def test_both_models_walk_one_frame_alike() -> None:
    # An ERS CO2 frame with every type it reports: the Lite reads the same frame to the end and
    # keeps its own four values, with the same numbers.
    frame = bytes.fromhex("0100e2 0229 040027 0506 060308 070e10 1400 0f 76 02 1c01f4".replace(" ", ""))
    full = {r.metric: r.value for r in decode(CO2, 5, frame)}
    lite = {r.metric: r.value for r in decode(LITE, 5, frame)}
    assert set(full) == set(MODELS[CO2].metrics)
    assert lite == {m: full[m] for m in MODELS[LITE].metrics}


def test_type_table_sizes_follow_the_spec() -> None:
    # A few sizes from the spec's type list; one wrong size would misplace every later field.
    sizes = {kind: size for kind, (size, _, _) in _TYPES.items()}
    assert sizes[0x01] == 2 and sizes[0x02] == 1 and sizes[0x03] == 3 and sizes[0x06] == 2
    assert sizes[0x07] == 2 and sizes[0x09] == 6 and sizes[0x13] == 65 and sizes[0x14] == 4
