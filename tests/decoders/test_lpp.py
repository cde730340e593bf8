"""Cayenne LPP beyond the spec's examples (tests/vectors/devices/cayenne-lpp.json): each case
derived by hand from the LPP 1.0 table and the extended types (decoders/lpp.py docstring)."""

from __future__ import annotations

import pytest

from decoders import DecodeError, decode
from decoders.lpp import TYPES, items, lpp

_CASES: list[tuple[int, str, dict[str, float] | None]] = [
    # A classroom prototype: 21.5 Cel (0x00D7), 45 %RH (0x5A = 90 half-percent), 1013.2 hPa
    # (0x2794 = 10132 -> 101320 Pa), 350 lx (0x015E).
    (1, "0167 00d7 0268 5a 0373 2794 0465 015e",
     {"temperature": 21.5, "humidity": 45.0, "pressure": 101320.0, "light": 350.0}),
    # Negative temperature: 0xFF9C = -100 -> -10.0 Cel.
    (2, "0767ff9c", {"temperature": -10.0}),
    # Lowest channel wins, whatever the order in the frame: channel 9 first, then channel 2.
    (1, "0967 0110 0267 00ff", {"temperature": 25.5}),
    # A channel repeated in one frame: its first item.
    (1, "0267 0110 0267 00ff", {"temperature": 27.2}),
    # Extended distance (130 = 0x82, 4 bytes mm): 0x00000B05 = 2821 mm -> 2.821 m.
    (1, "0182 00000b05", {"distance": 2.821}),
    # Types without a catalog metric are parsed and skipped: digital in, analog in (battery
    # voltage 3.30 from the TTN forum sketch), presence, voltage, percentage, ppm, RGB.
    (1, "0000 01 0202 014a 0366 01 0474 014a 0578 32 068f 0320 0790 ff8000", {}),
    # Accelerometer and gyrometer (6 bytes each) next to a temperature.
    (1, "0171 04d2fb2e0000 0286 000100020003 0367 0110", {"temperature": 27.2}),
    (1, "", None),  # empty frame
    (0, "0367 0110", None),  # fPort 0 is MAC commands
    (224, "0367 0110", None),  # reserved port
    (1, "03", None),  # item header cut off
    (1, "0367 01", None),  # temperature cut off
    (1, "0188 06765ff2960a0003", None),  # GPS cut off
    (1, "0367 0110 0405 00", None),  # unknown type 5
]


@pytest.mark.parametrize(("f_port", "payload_hex", "want"), _CASES,
                         ids=[f"{p}:{h.replace(' ', '')[:20] or 'empty'}" for p, h, _ in _CASES])
def test_spec_case(f_port: int, payload_hex: str, want: dict[str, float] | None) -> None:
    payload = bytes.fromhex(payload_hex.replace(" ", ""))
    if want is None:
        with pytest.raises(DecodeError):
            lpp(f_port, payload)
        return
    got = {r.metric: r.value for r in lpp(f_port, payload)}
    assert got == pytest.approx(want)
    assert all(isinstance(v, float) for v in got.values())


def test_one_reading_per_metric() -> None:
    readings = decode("cayenne/lpp", 1, bytes.fromhex("0367 0110 0567 00ff 0168 10".replace(" ", "")))
    assert sorted(r.metric for r in readings) == ["humidity", "temperature"]


def test_unknown_type_names_the_type_and_channel() -> None:
    with pytest.raises(DecodeError, match="unknown LPP type 255 on channel 1"):
        lpp(1, bytes.fromhex("01ff0110"))


def test_items_split_a_frame() -> None:
    assert items(bytes.fromhex("03670110056700ff")) == [(3, 103, b"\x01\x10"), (5, 103, b"\x00\xff")]


def test_type_table_matches_the_spec_sizes() -> None:
    # LPP 1.0 table: data size per type.
    spec = {0: 1, 1: 1, 2: 2, 3: 2, 101: 2, 102: 1, 103: 2, 104: 1, 113: 6, 115: 2, 134: 6, 136: 9}
    assert {t: TYPES[t].size for t in spec} == spec
