"""Derived metrics (decoders/derive.py, docs/domain.md "Waste bins" and "Water level"): fill level from
distance and bin depth, water level in m NAP from a down-looking sensor's mount height or a
submerged sensor's own height, and calibration applied before both."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from decoders import DeviceConfig, decode, derive
from decoders.derive import fill_percent
from meetnet.catalog import out_of_range
from meetnet.records import Reading


def _by_metric(readings: list[Reading]) -> dict[str, float]:
    return {r.metric: r.value for r in readings}


@pytest.mark.parametrize(
    ("distance", "depth", "full", "percent"),
    [
        (1.2, 1.2, 0.2, 0.0),  # empty: the sensor sees the bottom
        (0.2, 1.2, 0.2, 100.0),  # full: at the blanking distance plus headroom
        (0.7, 1.2, 0.2, 50.0),
        (1.5, 1.2, 0.2, 0.0),  # beyond the bottom (echo through the opening): clamped
        (0.05, 1.2, 0.2, 100.0),  # closer than "full": clamped
        (0.3, 1.2, 0.0, 75.0),
    ],
)
def test_fill_percent(distance: float, depth: float, full: float, percent: float) -> None:
    assert fill_percent(distance, depth, full) == pytest.approx(percent)


def test_fill_percent_with_a_degenerate_span_is_full() -> None:
    assert fill_percent(0.5, 0.2, 0.3) == 100.0


def test_fill_level_is_derived_from_distance_and_kept_beside_it() -> None:
    cfg = DeviceConfig(bin_depth_m=1.2, full_distance_m=0.2)
    readings = derive([Reading("distance", 0.45, offset_s=-60)], cfg)
    assert _by_metric(readings) == {"distance": 0.45, "fill_level": 75.0}
    fill = next(r for r in readings if r.metric == "fill_level")
    assert fill.offset_s == -60  # the derived value belongs to the same moment


def test_no_bin_depth_no_fill_level() -> None:
    readings = [Reading("distance", 0.45), Reading("battery", 90.0)]
    assert derive(readings, DeviceConfig()) == readings


def test_water_level_from_a_down_looking_sensor() -> None:
    # Sensor reference at +0.40 m NAP, water surface 1.02 m below it: level -0.62 m NAP.
    readings = derive([Reading("distance", 1.02)], DeviceConfig(mount_height_nap_m=0.40))
    assert _by_metric(readings) == pytest.approx({"distance": 1.02, "water_level": -0.62})


def test_water_level_from_a_submerged_pressure_sensor() -> None:
    # Probe at -2.10 m NAP under 1.48 m of water: level -0.62 m NAP.
    readings = derive([Reading("water_depth", 1.48)], DeviceConfig(sensor_depth_nap_m=-2.10))
    assert _by_metric(readings) == pytest.approx({"water_depth": 1.48, "water_level": -0.62})


def test_water_depth_without_sensor_height_gives_no_level() -> None:
    readings = [Reading("water_depth", 1.48)]
    assert derive(readings, DeviceConfig(mount_height_nap_m=0.4)) == readings


def test_calibration_applies_before_derivation() -> None:
    cfg = DeviceConfig(sensor_depth_nap_m=-2.0, offsets={"water_depth": -0.05}, scales={"water_depth": 1.02})
    readings = derive([Reading("water_depth", 1.0), Reading("battery", 80.0)], cfg)
    assert _by_metric(readings) == pytest.approx({"water_depth": 0.97, "battery": 80.0, "water_level": -1.03})


def test_history_records_derive_at_their_own_time() -> None:
    # EM500-SWL history record (2024-01-01T00:00Z, 123 cm) plus a live reading (124 cm).
    payload = bytes.fromhex("20ce800092657b00" + "03777c00")
    readings = decode("milesight-iot/em500-swl", 85, payload, {"sensor_depth_nap_m": -2.0})
    levels = [(r.time, r.value) for r in readings if r.metric == "water_level"]
    assert levels[0][0] is not None and levels[0][0].year == 2024
    assert [v for _, v in levels] == pytest.approx([-0.77, -0.76])
    assert levels[1][0] is None


def test_decode_derives_with_a_config_mapping() -> None:
    # EM310-UDL vendor example: 2116 mm in a 2.5 m deep container that is full at 0.3 m.
    payload = bytes.fromhex("01755c03824408040001")
    cfg = {"bin_depth_m": 2.5, "full_distance_m": 0.3}
    got = _by_metric(decode("milesight-iot/em310-udl", 85, payload, cfg))
    assert got["fill_level"] == pytest.approx(17.45, abs=0.01)
    for metric, value in got.items():
        assert out_of_range(metric, value) is None


def test_a_config_typo_is_refused() -> None:
    with pytest.raises(ValidationError):
        DeviceConfig.model_validate({"bin_dept_m": 1.2})


def test_config_models_per_kind() -> None:
    import pytest as _pytest
    from pydantic import ValidationError

    from decoders.config import DeviceConfig, WasteBinConfig, WaterLevelConfig, config_model

    assert config_model("waste") is WasteBinConfig
    assert config_model("any") is DeviceConfig
    with _pytest.raises(ValidationError, match="bin_depth_m"):
        WasteBinConfig.model_validate({})
    with _pytest.raises(ValidationError, match="exactly one"):
        WaterLevelConfig.model_validate({})
    with _pytest.raises(ValidationError, match="exactly one"):
        WaterLevelConfig.model_validate({"mount_height_nap_m": 1.0, "sensor_depth_nap_m": -2.0})
    assert WaterLevelConfig.model_validate({"sensor_depth_nap_m": -2.0}).sensor_depth_nap_m == -2.0
    with _pytest.raises(ValidationError, match="bin_dept_m"):
        DeviceConfig.model_validate({"bin_depth_m": 1.0, "bin_dept_m": 1.0})
