"""JavaScript codecs in the QuickJS sandbox (decoders/js.py).

The codecs are meetnet's own, under tests/vectors/codecs/: a Cayenne LPP codec written from the
spec (checked against decoders/lpp.py on the spec's examples and on generated frames) and hostile
ones. Timing asserts are liveness checks (the call returns, generously bounded), not benchmarks.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoders import DecodeError
from decoders.js import CodecError, JsCodec
from decoders.lpp import TYPES, lpp
from meetnet.catalog import UnknownMetric
from meetnet.records import Reading

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
CODECS = VECTORS / "codecs"
LIVENESS_S = 2.0

LPP_FIELDS: dict[str, str | tuple[str, float]] = {
    "temperature": "temperature",
    "relative_humidity": "humidity",
    "barometric_pressure": ("pressure", 100.0),  # hPa -> Pa
    "illuminance": "light",
    "distance": "distance",
}


def _source(name: str) -> str:
    return (CODECS / name).read_text(encoding="utf-8")


def _codec(name: str, fields: dict[str, str | tuple[str, float]] | None = None,
           **kwargs: Any) -> JsCodec:
    return JsCodec(_source(name), fields or {"n": "temperature"}, name=name, **kwargs)


@pytest.fixture(scope="module")
def lpp_js() -> JsCodec:
    return _codec("cayenne-lpp.js", LPP_FIELDS)


def _outcome(decoder: Any, f_port: int, payload: bytes) -> dict[str, float] | str:
    try:
        readings: list[Reading] = decoder(f_port, payload)
    except DecodeError:
        return "DecodeError"
    return {r.metric: r.value for r in readings}


def _agree(py: dict[str, float] | str, js: dict[str, float] | str) -> None:
    if isinstance(py, str) or isinstance(js, str):
        assert py == js
    else:
        assert js == pytest.approx(py, rel=1e-12)


# -- the JS LPP codec agrees with decoders/lpp.py -------------------------------------------


def test_js_lpp_agrees_on_the_spec_examples(lpp_js: JsCodec) -> None:
    doc = json.loads((VECTORS / "devices" / "cayenne-lpp.json").read_text(encoding="utf-8"))
    for ex in doc["examples"]:
        payload = bytes.fromhex(ex["payload_hex"])
        py, js = _outcome(lpp, ex["f_port"], payload), _outcome(lpp_js.decode, ex["f_port"], payload)
        _agree(py, js)
        if ex.get("expected_errors"):
            assert js == "DecodeError"
        else:
            assert js == pytest.approx(ex["readings"])


@st.composite
def _lpp_frames(draw: st.DrawFn) -> bytes:
    """Valid LPP frames (known types, right sizes, any channel and value), sometimes damaged."""
    frame = bytearray()
    for _ in range(draw(st.integers(1, 6))):
        type_id = draw(st.sampled_from(sorted(TYPES)))
        frame += bytes((draw(st.integers(0, 255)), type_id))
        frame += draw(st.binary(min_size=TYPES[type_id].size, max_size=TYPES[type_id].size))
    if draw(st.booleans()):
        return bytes(frame)
    cut = draw(st.integers(0, len(frame)))
    return bytes(frame[:cut]) + draw(st.binary(max_size=4))


@settings(max_examples=300, deadline=None)
@given(f_port=st.one_of(st.integers(1, 223), st.integers(0, 255)),
       payload=st.one_of(_lpp_frames(), st.binary(max_size=24)))
def test_js_lpp_agrees_on_generated_frames(lpp_js: JsCodec, f_port: int, payload: bytes) -> None:
    _agree(_outcome(lpp, f_port, payload), _outcome(lpp_js.decode, f_port, payload))


# -- field map, data and errors ----------------------------------------------------------------

ERRORS_FIELDS: dict[str, str | tuple[str, float]] = {
    "line_1.total_in": "pedestrian_count_in",
    "line_1.total_out": "pedestrian_count_out",
    "battery_mv": ("battery_voltage", 0.001),
    "status": "motion",  # a string: no reading
    "flags.0": "tilt",  # a boolean in a list
    "line_2.total_in": "vehicle_count",  # missing: no reading
}


def test_field_map_with_paths_and_scales() -> None:
    codec = _codec("reports-errors.js", ERRORS_FIELDS)
    got = {r.metric: r.value for r in codec.decode(10, bytes([0, 5, 1, 2, 150]))}
    assert got == {"pedestrian_count_in": 5.0, "pedestrian_count_out": 258.0,
                   "battery_voltage": pytest.approx(3.0), "tilt": 1.0}
    # battery_mv null: no battery reading.
    got = {r.metric: r.value for r in codec.decode(10, bytes([0, 5, 1, 2]))}
    assert "battery_voltage" not in got


def test_codec_errors_become_decode_errors() -> None:
    codec = _codec("reports-errors.js", ERRORS_FIELDS)
    with pytest.raises(DecodeError, match="unknown FPort 3"):
        codec.decode(3, bytes(4))
    with pytest.raises(DecodeError, match="payload too short; need 4 bytes"):
        codec.decode(10, bytes(2))


def test_a_thrown_error_carries_its_message() -> None:
    codec = _codec("reports-errors.js", ERRORS_FIELDS)
    with pytest.raises(DecodeError, match="RangeError: reserved frame type 0xff"):
        codec.decode(10, bytes([0xFF, 0, 0, 0]))
    assert codec.decode(10, bytes([0, 1, 0, 1]))  # the context still works


def test_field_map_is_checked_against_the_catalog() -> None:
    with pytest.raises(UnknownMetric):
        JsCodec(_source("cayenne-lpp.js"), {"temperature": "temperature_c"})
    with pytest.raises(ValueError, match="both map to 'temperature'"):
        JsCodec(_source("cayenne-lpp.js"), {"temperature": "temperature", "t2": "temperature"})


@pytest.mark.parametrize(("source", "reason"), [
    ("function decodeUplink(input) { return {data: ", "does not load"),
    ("function decode(input) { return {}; }", "no function decodeUplink"),
    ("for (;;) {}", "does not load"),  # a top-level endless loop is also interrupted
])
def test_unusable_codecs_are_refused(source: str, reason: str) -> None:
    with pytest.raises(CodecError, match=reason):
        JsCodec(source, {"t": "temperature"})


@pytest.mark.parametrize(("body", "reason"), [
    ("return 42;", "not an object"),
    ("return undefined;", "returned nothing"),
    ("return {warnings: []};", "no data object"),
    ("var o = {}; o.self = o; return {data: o};", "circular"),
])
def test_malformed_results_are_decode_errors(body: str, reason: str) -> None:
    codec = JsCodec(f"function decodeUplink(input) {{ {body} }}", {"t": "temperature"})
    with pytest.raises(DecodeError, match=reason):
        codec.decode(1, b"\x01")


# -- the sandbox -----------------------------------------------------------------------------


def test_the_sandbox_offers_no_host_facilities() -> None:
    assert _codec("sandbox-probe.js").run(1, b"")["data"] == {"offered": [], "count": 0}


@pytest.mark.parametrize(("name", "reason"), [
    ("endless-loop.js", "time limit"),
    ("huge-allocation.js", "memory limit"),
    ("deep-recursion.js", "stack"),
])
def test_hostile_codecs_fail_in_bounded_time(lpp_js: JsCodec, name: str, reason: str) -> None:
    codec = _codec(name)
    for _ in range(2):  # the context is recreated after the failure and fails the same way
        start = time.monotonic()
        with pytest.raises(DecodeError, match=reason):
            codec.decode(1, b"\x01")
        assert time.monotonic() - start < LIVENESS_S
    # Other codecs are untouched.
    assert [r.value for r in lpp_js.decode(1, bytes.fromhex("0167ffd7"))] == [-4.1]


def test_a_timeout_gives_a_fresh_context() -> None:
    codec = _codec("poisoner.js", {"t": "temperature", "calls": "motion"})
    assert codec.run(66, b"\x01")["data"] == {"t": 1, "calls": 1}
    # The codec replaced JSON.stringify and decodeUplink: the entry point captured both.
    assert codec.run(1, b"\x02")["data"] == {"t": 2, "calls": 2}
    start = time.monotonic()
    with pytest.raises(DecodeError, match="time limit"):
        codec.decode(99, b"\x03")
    assert time.monotonic() - start < LIVENESS_S
    assert codec.run(1, b"\x04")["data"] == {"t": 4, "calls": 1}  # state from before is gone


def test_a_call_the_engine_cannot_interrupt_disables_only_that_codec(lpp_js: JsCodec) -> None:
    codec = _codec("runaway-regex.js", {"matched": "tilt"}, wall_limit_s=0.2)
    start = time.monotonic()
    with pytest.raises(CodecError, match="disabled"):
        codec.decode(1, b"\x01")
    assert time.monotonic() - start < LIVENESS_S
    with pytest.raises(CodecError, match="disabled"):
        codec.decode(1, b"\x01")
    # The engine thread was replaced: other codecs run at once, not after the runaway call.
    start = time.monotonic()
    assert [r.value for r in lpp_js.decode(1, bytes.fromhex("0367 0110".replace(" ", "")))] == [27.2]
    assert time.monotonic() - start < LIVENESS_S


def test_concurrent_callers_get_their_own_answers(lpp_js: JsCodec) -> None:
    failures: list[str] = []

    def work(tenths: int) -> None:
        payload = bytes((1, 103)) + tenths.to_bytes(2, "big", signed=True)
        for _ in range(50):
            got = [r.value for r in lpp_js.decode(1, payload)]
            if got != [pytest.approx(tenths / 10)]:
                failures.append(f"{tenths}: {got}")

    threads = [threading.Thread(target=work, args=(t,)) for t in (-100, 0, 215, 400)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures
