"""Water analytics against the water scenario's ground truth (issue 11, "Water")."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.water import (
    RISE_ALARM_CM_H,
    Target,
    clean,
    compare_gauges,
    deviation,
    deviation_band,
    filter_spikes,
    rate_of_rise,
    rise_alarms,
    target_from_config,
)
from simulators.scenario import Scenario
from simulators.scenario import water as sim_water
from simulators.scenario.weather import Weather

SEED = 71
#: The scenario's own cloudburst of summer 2025 (simulators/scenario/weather.py; for seed 71 on
#: 29 August, ~28 mm in an hour), in the middle of a 20-day run; no weather is injected.
EVENT = Weather(SEED).cloudburst(2025)
DAYS = 20
START = datetime.combine(EVENT.start.date(), datetime.min.time(), UTC) - timedelta(days=DAYS // 2)
STORM_START = EVENT.start
STORM_HOURS = round((EVENT.end - EVENT.start) / timedelta(hours=1))


def _levels(weather: Weather) -> dict[str, pd.Series]:
    """Each gauge's level (m NAP) as the scenario's models produce it, uplink by uplink."""
    scenario = Scenario(sim_water.models(SEED, weather), START)
    rows: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    for u in scenario.uplinks(START + timedelta(days=DAYS)):
        rows[u.device.device_id].append(
            (u.time, u.values["water_depth"] + u.device.config["sensor_depth_nap_m"]))
    return {k: pd.Series([v for _, v in r], index=pd.DatetimeIndex([t for t, _ in r]))
            for k, r in rows.items()}


@pytest.fixture(scope="module")
def scenario() -> dict[str, pd.Series]:
    return _levels(Weather(SEED))


def test_the_scenario_has_its_cloudburst_in_the_window() -> None:
    """A KNMI wolkbreuk (> 25 mm in an hour, docs/domain.md) on a summer afternoon, far from
    the window's edges, and the same moment in every run of the seed."""
    assert EVENT.mm_h > 25
    assert START + timedelta(days=5) <= EVENT.start <= START + timedelta(days=DAYS - 5)
    assert 6 <= EVENT.start.month <= 8 and 13 <= EVENT.start.hour <= 17
    assert Weather(SEED).rain(EVENT.start.timestamp() + 1800) >= EVENT.mm_h
    assert Weather(SEED).cloudburst(2025) == EVENT


def test_the_alarm_fires_on_the_rain_event_and_not_in_dry_weather(
        scenario: dict[str, pd.Series]) -> None:
    for device_id, levels in scenario.items():
        kept, _ = filter_spikes(levels)
        alarms = rise_alarms(rate_of_rise(kept))
        # One alarm in twenty days: the cloudburst's; the everyday showers stay below 5 cm/h.
        assert len(alarms) == 1, (device_id, alarms)
        # The rise starts with the storm and the alarm ends within a few hours of it.
        assert STORM_START <= alarms[0].start <= STORM_START + timedelta(hours=STORM_HOURS)
        assert alarms[0].end <= STORM_START + timedelta(hours=STORM_HOURS + 2)
        assert alarms[0].max_rate_cm_h >= RISE_ALARM_CM_H
        # The same gauge without the storm's hours and their aftermath: no alarm at all.
        before = kept[:STORM_START - timedelta(hours=1)]
        after = kept[STORM_START + timedelta(days=3):]
        assert rise_alarms(rate_of_rise(before)) == [], device_id
        assert rise_alarms(rate_of_rise(after)) == [], device_id


def test_a_lower_threshold_fires_only_when_the_model_rises_that_fast(
        scenario: dict[str, pd.Series]) -> None:
    """The scenario's own showers: the alarm at 1.5 cm/h comes exactly where the noise-free
    boezem, run through the same model without sensor noise or wind, rises at least ~1 cm/h."""
    weather = Weather(SEED)
    hours = pd.date_range(START, START + timedelta(days=DAYS), freq="h")
    rain = pd.Series([weather.rain(h.timestamp()) for h in hours], index=hours)
    kept, _ = filter_spikes(scenario["peil-galgewater"])
    alarms = rise_alarms(rate_of_rise(kept), 1.5)
    assert alarms, "the period's showers raise the boezem"
    for alarm in alarms:
        # Every alarm follows rain in the hours before it (direct rain or the polders' pumps).
        before = rain[alarm.start - pd.Timedelta(hours=12):alarm.start]
        assert before.sum() > 1.0, alarm
    # And the dry days raise none.
    dry_days = [d for d in pd.date_range(START, periods=DAYS, freq="D")
                if rain[d - pd.Timedelta(days=1):d + pd.Timedelta(days=1)].sum() == 0]
    assert dry_days
    for day in dry_days:
        assert not any(day <= a.start < day + pd.Timedelta(days=1) for a in alarms), day


def test_spikes_go_and_the_real_rise_stays(scenario: dict[str, pd.Series]) -> None:
    levels = scenario["peil-zijlpoort"].copy()
    rng = np.random.default_rng(3)
    where = rng.choice(len(levels), size=12, replace=False)
    # The storm itself holds no injected spike: it must stay untouched.
    in_storm = (levels.index[where] >= STORM_START - timedelta(hours=1)) & (
        levels.index[where] < STORM_START + timedelta(hours=6))
    where = where[~in_storm]
    spiked = levels.copy()
    spiked.iloc[where] += rng.choice([-1, 1], size=len(where)) * rng.uniform(0.1, 2.0, len(where))
    kept, removed = filter_spikes(spiked)
    assert removed == len(where)
    assert set(kept.index) == set(levels.index) - set(levels.index[where])
    rise = levels[STORM_START:STORM_START + timedelta(hours=4)]
    assert rise.max() - rise.min() > 0.08  # the storm really raises the water
    assert set(rise.index) <= set(kept.index)
    # The unspiked model run loses nothing either.
    assert filter_spikes(levels)[1] == 0


def test_a_single_noisy_reading_raises_no_alarm() -> None:
    times = pd.date_range("2025-01-01", periods=60, freq="10min", tz="UTC")
    levels = pd.Series(-0.64, index=times)
    levels.iloc[30] += 0.02  # 2 cm: below the spike filter's floor, so it stays
    kept, removed = filter_spikes(levels)
    assert removed == 0
    assert rate_of_rise(kept).abs().max() < RISE_ALARM_CM_H
    assert rise_alarms(rate_of_rise(kept)) == []


def test_rate_of_a_steady_rise() -> None:
    times = pd.date_range("2025-01-01", periods=30, freq="10min", tz="UTC")
    levels = pd.Series(-0.64 + 0.06 * np.arange(30) / 6, index=times)  # 6 cm/h
    rate = rate_of_rise(levels)
    assert rate.iloc[5:].to_numpy() == pytest.approx(6.0)
    alarms = rise_alarms(rate)
    assert len(alarms) == 1 and alarms[0].max_rate_cm_h == pytest.approx(6.0)


@pytest.mark.parametrize(("target", "when", "band"), [
    (Target(fixed=-0.60), datetime(2025, 1, 1, tzinfo=UTC), (-0.60, -0.60)),
    (Target(summer=-0.61, winter=-0.64), datetime(2025, 7, 1, tzinfo=UTC), (-0.61, -0.61)),
    (Target(summer=-0.61, winter=-0.64), datetime(2025, 12, 1, tzinfo=UTC), (-0.64, -0.64)),
    (Target(lower=-0.70, upper=-0.55), datetime(2025, 1, 1, tzinfo=UTC), (-0.70, -0.55)),
])
def test_target_kinds(target: Target, when: datetime, band: tuple[float, float]) -> None:
    assert target.band_at(when) == band


def test_deviation_and_bands_on_the_scenario(scenario: dict[str, pd.Series]) -> None:
    target = Target(summer=sim_water.SUMMER_TARGET_NAP_M, winter=sim_water.WINTER_TARGET_NAP_M)
    dev = deviation(scenario["peil-galgewater"], target)
    assert abs(dev.median()) < 5  # the boezem is held near its target
    assert deviation_band(3.0) == "within 5 cm"
    assert deviation_band(-12.0) == ">= 10 cm"
    assert deviation_band(25.0) == ">= 20 cm"
    band = Target(lower=-0.70, upper=-0.60)
    times = pd.date_range("2025-01-01", periods=3, freq="h", tz="UTC")
    assert deviation(pd.Series([-0.65, -0.55, -0.75], index=times), band).tolist() == \
        pytest.approx([0.0, 5.0, -5.0])


def test_comparison_finds_the_sites_offsets(scenario: dict[str, pd.Series]) -> None:
    diffs = compare_gauges(scenario, reference="peil-galgewater")
    sites = {f"peil-{s.slug}": s for s in sim_water.SITES}
    for device_id in diffs.columns:
        expected = (sites[device_id].offset_m - sites["peil-galgewater"].offset_m) * 100
        # Wind set-up (a few cm, opposite at the ends) averages out over three weeks.
        assert diffs[device_id].median() == pytest.approx(expected, abs=1.5), device_id
    assert len(diffs) > 0.9 * DAYS * 24 * 6


def test_config_targets() -> None:
    assert target_from_config({"sensor_depth_nap_m": -1.6}) is None
    assert target_from_config({"target_summer_nap_m": -0.61, "target_winter_nap_m": -0.64}) == \
        Target(summer=-0.61, winter=-0.64)
    for bad in ({"target_nap_m": "x"}, {"target_summer_nap_m": -0.61},
                {"target_lower_nap_m": -0.5, "target_upper_nap_m": -0.6},
                {"target_nap_m": -0.6, "target_lower_nap_m": -0.7, "target_upper_nap_m": -0.5}):
        with pytest.raises(ValueError):
            target_from_config(bad)


def test_config_model_validates_targets() -> None:
    from pydantic import ValidationError

    from decoders.config import WaterLevelConfig

    WaterLevelConfig(sensor_depth_nap_m=-1.6, target_summer_nap_m=-0.61, target_winter_nap_m=-0.64,
                     rise_alarm_cm_h=3)
    with pytest.raises(ValidationError):
        WaterLevelConfig(sensor_depth_nap_m=-1.6, target_nap_m=-0.6, target_summer_nap_m=-0.61,
                         target_winter_nap_m=-0.64)
    with pytest.raises(ValidationError):
        WaterLevelConfig(sensor_depth_nap_m=-1.6, target_lower_nap_m=-0.5, target_upper_nap_m=-0.6)


_junk_value = st.one_of(st.floats(allow_nan=True, allow_infinity=True),
                        st.sampled_from([1e308, -1e308, 0.0, math.nan, math.inf]))
_junk_time = st.datetimes(min_value=datetime(1700, 1, 1), max_value=datetime(2200, 1, 1),
                          timezones=st.just(UTC))


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(points=st.lists(st.tuples(st.one_of(_junk_time, st.sampled_from(
    [datetime(2025, 1, 1, tzinfo=UTC)])), _junk_value), max_size=40),
       threshold=_junk_value)
def test_junk_series_give_answers_or_a_clear_value_error(
        points: list[tuple[datetime, float]], threshold: float) -> None:
    levels = pd.Series([v for _, v in points], index=pd.DatetimeIndex([t for t, _ in points]),
                       dtype=float)
    kept, removed = filter_spikes(levels)
    assert removed + len(kept) == len(clean(levels))
    assert kept.between(-10, 10).all()
    rate = rate_of_rise(kept)
    try:
        rise_alarms(rate, threshold)
    except ValueError:
        assert not (math.isfinite(threshold) and threshold > 0)
    deviation(kept, Target(summer=-0.61, winter=-0.64))
    compare_gauges({"a": levels, "b": kept})


def test_not_a_time_series_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="DatetimeIndex"):
        filter_spikes(pd.Series([1.0, 2.0]))
    with pytest.raises(ValueError):
        compare_gauges({})
