"""Any bytes on any port give readings or a DecodeError, never another exception (docs/architecture.md,
"Tests"). The decoders are called directly, without the defence-in-depth wrapper in
``decoders.decode``, so a decoder that leaks an IndexError or struct.error fails here."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from decoders import MODELS, DecodeError
from meetnet.records import Reading

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "devices"


def _vector_payloads() -> list[bytes]:
    """The vendor examples of every model: starting points that get past the format checks, so
    that mutations reach the deeper branches of each decoder."""
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        for ex in json.loads(path.read_text(encoding="utf-8"))["examples"]:
            out.append(bytes.fromhex(ex["payload_hex"]))
    return out


_SEEDS = _vector_payloads()


@st.composite
def _mutated(draw: st.DrawFn) -> bytes:
    seed = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(0, 3))):
        if seed:
            seed[draw(st.integers(0, len(seed) - 1))] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(seed)))
    return bytes(seed[:cut]) + draw(st.binary(max_size=8))


_PAYLOADS = st.one_of(st.binary(min_size=0, max_size=64), _mutated())
_PORTS = st.one_of(st.integers(0, 255), st.sampled_from([1, 2, 5, 10, 14, 26, 27, 28, 85, 190]))


def _check(key: str, f_port: int, payload: bytes) -> None:
    model = MODELS[key]
    try:
        readings = model.decode(f_port, payload)
    except DecodeError as exc:
        assert str(exc), "a DecodeError must carry its reason"
        return
    assert isinstance(readings, list)
    for r in readings:
        assert isinstance(r, Reading)
        assert r.metric in model.metrics, f"{key} emits undeclared metric {r.metric}"
        assert isinstance(r.value, float) and math.isfinite(r.value)
    if model.decode_frame is None:
        return
    # The same bytes through the frame decoder: the same readings, and attributes that the
    # device's record can hold (snake_case names, plain finite values).
    frame = model.decode_frame(f_port, payload)
    assert frame.readings == readings
    for name, value in frame.attributes.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), f"{key}: attribute name {name!r}"
        assert isinstance(value, str | int | float | bool), f"{key}: {name}={value!r}"
        assert not isinstance(value, float) or math.isfinite(value), f"{key}: {name}={value!r}"
        assert not isinstance(value, str) or ("\x00" not in value and len(value) <= 200), (
            f"{key}: {name}={value!r}")


@pytest.mark.parametrize("key", sorted(MODELS))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(f_port=_PORTS, payload=_PAYLOADS)
def test_any_bytes_give_readings_or_decode_error(key: str, f_port: int, payload: bytes) -> None:
    _check(key, f_port, payload)
