"""Encoders are the inverse of the decoders: values drawn within a metric's realistic range,
encoded and decoded again, come back within the device's resolution (half a quantisation step)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from decoders import MODELS, decode
from meetnet.catalog import METRICS
from simulators.encoders import ENCODERS, RESOLUTION

# Values a real device of our use cases reports (within the catalog's physical range).
REALISTIC: dict[str, tuple[float, float]] = {
    "temperature": (-20.0, 45.0),
    "humidity": (5.0, 100.0),
    "co2": (350.0, 5000.0),
    "light": (0.0, 5000.0),
    "motion": (0.0, 100.0),
    "tvoc": (0.0, 3000.0),
    "pm2_5": (0.0, 500.0),
    "pm10": (0.0, 800.0),
    "pressure": (95_000.0, 105_000.0),
    "battery": (0.0, 100.0),
    "battery_voltage": (2.0, 8.0),
    "distance": (0.03, 4.0),
    "tilt": (0.0, 1.0),
    "water_depth": (0.0, 5.0),
    "pedestrian_count_in": (0.0, 2000.0),
    "people_count": (0.0, 200.0),
    "pedestrian_count_out": (0.0, 2000.0),
    "vehicle_count_ltr": (0.0, 5000.0),
    "vehicle_count_rtl": (0.0, 5000.0),
}

# A total the decoder derives from the per-direction counts the encoder is given.
TOTALS = {
    "pedestrian_count": ("pedestrian_count_in", "pedestrian_count_out"),
    "vehicle_count": ("vehicle_count_ltr", "vehicle_count_rtl"),
}


def test_every_registered_model_has_an_encoder() -> None:
    # Passthrough models have no bytes of their own to encode: the network server decoded them.
    byte_models = [k for k, m in MODELS.items() if m.decode_object is None]
    assert sorted(ENCODERS) == sorted(byte_models)
    assert sorted(RESOLUTION) == sorted(ENCODERS)


def test_resolution_lists_declared_catalog_metrics() -> None:
    for key, steps in RESOLUTION.items():
        for metric in steps:
            assert metric in METRICS, f"{key}: {metric} is not a catalog metric"
            assert metric in MODELS[key].metrics, f"{key}: {metric} is not declared by the model"
            assert metric in REALISTIC, f"add a realistic range for {metric} to this test"


@st.composite
def _values(draw: st.DrawFn, key: str) -> dict[str, float]:
    out = {}
    for metric in RESOLUTION[key]:
        lo, hi = REALISTIC[metric]
        out[metric] = draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    return out


@pytest.mark.parametrize("key", sorted(ENCODERS))
@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_encode_then_decode_round_trips(key: str, data: st.DataObject) -> None:
    values = data.draw(_values(key))
    f_port, payload = ENCODERS[key](values)
    decoded: dict[str, float] = {}
    for r in decode(key, f_port, payload):
        assert r.metric not in decoded, f"{key}: {r.metric} decoded twice"
        decoded[r.metric] = r.value
    for metric, value in values.items():
        step = RESOLUTION[key][metric]
        assert metric in decoded, f"{key}: {metric} lost in the round trip ({payload.hex()})"
        assert abs(decoded[metric] - value) <= step / 2 + 1e-9 * max(1.0, abs(value)), (
            f"{key}: {metric} {value} -> {decoded[metric]} (step {step})"
        )
    for total, parts in TOTALS.items():
        if total in decoded and all(p in decoded for p in parts):
            assert decoded[total] == sum(decoded[p] for p in parts)


@pytest.mark.parametrize("key", sorted(ENCODERS))
def test_each_metric_alone_encodes_a_frame_the_decoder_accepts(key: str) -> None:
    """A physical model may report only some of a device's metrics."""
    for metric in RESOLUTION[key]:
        value = sum(REALISTIC[metric]) / 2
        f_port, payload = ENCODERS[key]({metric: value})
        assert 1 <= f_port <= 223
        got = {r.metric: r.value for r in decode(key, f_port, payload)}
        assert got[metric] == pytest.approx(value, abs=RESOLUTION[key][metric] / 2 + 1e-9)


@pytest.mark.parametrize(("key", "total"), [("imbuildings/imbuildings-people-counter", "pedestrian_count"),
                                            ("parametric/pcr2", "vehicle_count")])
def test_a_total_alone_is_split_over_both_directions(key: str, total: str) -> None:
    f_port, payload = ENCODERS[key]({total: 7})
    got = {r.metric: r.value for r in decode(key, f_port, payload)}
    assert got[total] == 7
    assert sorted(got[p] for p in TOTALS[total]) == [3, 4]
