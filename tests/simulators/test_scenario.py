"""The Leiden scenario: deterministic, physically plausible, and every value encodes and decodes."""

from __future__ import annotations

import itertools
import re
import statistics
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

import decoders
from decoders.config import config_model
from meetnet.catalog import METRICS, out_of_range
from simulators.encoders import ENCODERS
from simulators.scenario import Scenario, SimDevice, SimUplink, build_scenario, scenario_devices
from simulators.scenario import water as water_module
from simulators.scenario.base import local_time
from simulators.scenario.weather import Weather

SEED = 71
# A school week in the heating season (Monday 17 November 2025, 00:00 UTC).
MONDAY = datetime(2025, 11, 17, tzinfo=UTC)
WEEK_END = MONDAY + timedelta(days=7)
DEVICES = scenario_devices()


@pytest.fixture(scope="module")
def week() -> list[SimUplink]:
    return list(build_scenario(seed=SEED, start=MONDAY).uplinks(WEEK_END))


def _by_device(uplinks: list[SimUplink]) -> dict[str, list[SimUplink]]:
    out: dict[str, list[SimUplink]] = defaultdict(list)
    for u in uplinks:
        out[u.device.device_id].append(u)
    return out


def _key(u: SimUplink) -> tuple[object, ...]:
    return (u.time, u.device.dev_eui, u.f_cnt, tuple(sorted(u.values.items())))


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_same_uplinks() -> None:
    end = MONDAY + timedelta(days=1)
    first = [_key(u) for u in build_scenario(seed=SEED, start=MONDAY).uplinks(end)]
    second = [_key(u) for u in build_scenario(seed=SEED, start=MONDAY).uplinks(end)]
    assert first == second
    assert len(first) == build_scenario(seed=SEED, start=MONDAY).count_until(end)


def test_other_seed_other_values_same_devices() -> None:
    end = MONDAY + timedelta(hours=6)
    a = list(build_scenario(seed=SEED, start=MONDAY).uplinks(end))
    b = list(build_scenario(seed=SEED + 1, start=MONDAY).uplinks(end))
    assert [(u.time, u.device, u.f_cnt) for u in a] == [(u.time, u.device, u.f_cnt) for u in b]
    assert [u.values for u in a] != [u.values for u in b]


def test_values_do_not_depend_on_when_the_run_started() -> None:
    """A backfill up to T and a live run from T join without a seam (base.py, Determinism)."""
    end = MONDAY + timedelta(days=3)
    later = MONDAY + timedelta(days=1, hours=7, minutes=13)
    early = {(u.device.dev_eui, u.time): u for u in build_scenario(SEED, MONDAY).uplinks(end)}
    late = list(build_scenario(SEED, later).uplinks(end))
    assert late and min(u.time for u in late) >= later
    for u in late:
        twin = early[(u.device.dev_eui, u.time)]
        assert u.f_cnt == twin.f_cnt
        assert u.values == pytest.approx(twin.values, abs=1e-6), u.device.device_id


# --- the clock ------------------------------------------------------------------------------


def test_due_returns_each_device_once_when_its_time_has_come() -> None:
    scenario = build_scenario(SEED, MONDAY)
    first = scenario.next_due()
    assert first >= MONDAY
    assert scenario.due(first - timedelta(seconds=1)) == []
    assert scenario.due(first)
    # A jump of three hours: every device is due, each reports once.
    now = MONDAY + timedelta(hours=3)
    batch = scenario.due_uplinks(now)
    assert sorted(u.device.dev_eui for u in batch) == sorted(d.dev_eui for d in DEVICES)
    assert all(now - timedelta(seconds=u.device.interval_s) < u.time <= now for u in batch)
    assert scenario.due(now) == []  # nothing twice
    assert scenario.next_due() > now


def test_frame_counters_count_up_per_device(week: list[SimUplink]) -> None:
    for uplinks in _by_device(week).values():
        counters = [u.f_cnt for u in uplinks]
        assert counters == list(range(counters[0], counters[0] + len(counters)))


# --- devices --------------------------------------------------------------------------------

SLUG = re.compile(r"^[a-z0-9](?:[-]?[a-z0-9]){2,35}$")  # TTS end-device id rules


def test_devices_are_well_formed() -> None:
    assert len({d.dev_eui for d in DEVICES}) == len(DEVICES)
    assert len({d.device_id for d in DEVICES}) == len(DEVICES)
    for d in DEVICES:
        assert re.fullmatch(r"[0-9a-f]{16}", d.dev_eui), d
        assert SLUG.match(d.device_id), d.device_id
        assert SLUG.match(d.application_id) and SLUG.match(d.organisation)
        assert re.fullmatch(r"[a-z0-9-]+/[a-z0-9-]+", d.model_key)
        # The Leiden region: Katwijk to Leiden-Oost, Oegstgeest to Leiden-Zuid.
        assert 52.10 < d.lat < 52.25 and 4.35 < d.lon < 4.60, d
        assert d.interval_s >= 60


def test_device_list_per_use_case() -> None:
    per_use_case: dict[str, set[tuple[str, str, str]]] = defaultdict(set)
    counts: dict[str, int] = defaultdict(int)
    for d in DEVICES:
        per_use_case[d.use_case].add((d.organisation, d.application_id, d.model_key))
        counts[d.use_case] += 1
    assert dict(counts) == {"waste": 8, "classroom": 3, "crossing": 2, "water": 3}
    assert per_use_case["waste"] == {("gemeente-leiden", "meetnet-waste", "milesight-iot/em310-udl")}
    assert per_use_case["classroom"] == {("obs-de-regenboog", "meetnet-classroom", "elsys/ers-co2")}
    assert per_use_case["crossing"] == {
        ("gemeente-oegstgeest", "meetnet-crossing", "imbuildings/imbuildings-people-counter"),
        ("gemeente-oegstgeest", "meetnet-crossing", "parametric/tcr"),
    }
    assert per_use_case["water"] == {
        ("hoogheemraadschap-rijnland", "meetnet-water", "milesight-iot/em500-swl")}


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.device_id)
def test_config_validates(device: SimDevice) -> None:
    # By the use case's own model, as registering the device validates it.
    config = config_model(device.use_case).model_validate(device.config)
    needed: dict[str, Callable[[decoders.DeviceConfig], object]] = {
        "waste": lambda c: c.bin_depth_m,
        "classroom": lambda c: c.room_volume_m3,
        "crossing": lambda c: c.speed_limit_kmh,
        "water": lambda c: c.sensor_depth_nap_m,
    }
    assert needed[device.use_case](config) is not None


@pytest.mark.parametrize("device", DEVICES, ids=lambda d: d.device_id)
def test_values_encode_and_decode_into_the_catalog(device: SimDevice, week: list[SimUplink]
                                                   ) -> None:
    encoder = ENCODERS.get(device.model_key)
    if encoder is None:
        pytest.skip(f"no encoder for {device.model_key} in simulators.encoders.ENCODERS yet")
    if device.model_key not in decoders.MODELS:
        pytest.skip(f"no decoder for {device.model_key} in decoders.MODELS yet")
    mine = [u for u in week if u.device.dev_eui == device.dev_eui]
    assert mine
    for u in mine[:: max(1, len(mine) // 50)]:
        f_port, payload = encoder(u.values)
        readings = decoders.decode(device.model_key, f_port, payload,
                                   config_model(device.use_case).model_validate(device.config))
        assert readings, u.values
        for r in readings:
            assert r.metric in METRICS
            assert out_of_range(r.metric, r.value) is None, (u.values, r)


# --- physics --------------------------------------------------------------------------------


def _fill(u: SimUplink) -> float:
    depth = u.device.config["bin_depth_m"]
    full = u.device.config["full_distance_m"]
    return (depth - u.values["distance"]) / (depth - full)


def test_bins_fill_up_and_get_emptied(week: list[SimUplink]) -> None:
    emptyings: dict[str, int] = {}
    for device_id, uplinks in _by_device(week).items():
        if not device_id.startswith("bin-"):
            continue
        fills = [_fill(u) for u in uplinks]
        tilts = [i for i, u in enumerate(uplinks) if u.values["tilt"] == 1]
        emptyings[device_id] = len(tilts)
        assert tilts, f"{device_id} never emptied in a week"
        for i in tilts:
            assert fills[i] < 0.2, f"{device_id} not empty after emptying"  # fill drops to ~0
        # Between emptyings the bin fills: the longest stretch gains at least 20 points.
        bounds = [0, *tilts, len(uplinks)]
        longest = max(itertools.pairwise(bounds), key=lambda ab: ab[1] - ab[0])
        stretch = fills[longest[0]:longest[1]]
        assert stretch[-1] - stretch[0] > 0.2, device_id
        assert all(0 <= u.values["battery"] <= 100 for u in uplinks)
        assert uplinks[-1].values["battery"] <= uplinks[0].values["battery"]
    assert max(_fill(u) for u in week if u.device.use_case == "waste") > 0.85
    # Busier streets fill faster, so they are emptied more often.
    assert emptyings["bin-stationsplein-01"] > emptyings["bin-rapenburg-01"]


def test_classroom_co2_rises_in_lessons_and_decays_after_school(week: list[SimUplink]) -> None:
    for device_id, uplinks in _by_device(week).items():
        if not device_id.startswith("co2-"):
            continue
        lesson, evening, weekend = [], [], []
        for u in uplinks:
            local = local_time(u.time.timestamp())
            hour = local.hour + local.minute / 60
            if local.weekday() < 5 and 9.5 <= hour < 12:
                lesson.append(u.values["co2"])
            elif local.weekday() < 5 and 21 <= hour < 23:
                evening.append(u.values["co2"])
            elif local.weekday() == 6:
                weekend.append(u.values["co2"])
            assert 15 <= u.values["temperature"] <= 28, u
            assert 20 <= u.values["humidity"] <= 90, u
        assert max(lesson) > 800, device_id  # above Frisse Scholen class A
        assert statistics.mean(lesson) > 700, device_id
        # After school the room empties and CO2 decays towards outdoor air (420 ppm).
        assert statistics.mean(evening) < 520, device_id
        assert 380 < statistics.mean(weekend) < 460, device_id


def test_crossing_busier_at_rush_hour_than_at_night(week: list[SimUplink]) -> None:
    hourly: dict[tuple[str, int], float] = defaultdict(float)
    for u in week:
        local = local_time(u.time.timestamp())
        if u.device.use_case != "crossing" or local.weekday() >= 5:
            continue
        hourly[("people", local.hour)] += (u.values.get("pedestrian_count_in", 0)
                                           + u.values.get("pedestrian_count_out", 0))
        hourly[("traffic", local.hour)] += (u.values.get("vehicle_count_ltr", 0)
                                            + u.values.get("vehicle_count_rtl", 0))
    # Local hours; each count covers the 10-15 minutes before its uplink.
    assert hourly[("traffic", 8)] > 10 * hourly[("traffic", 3)]
    assert hourly[("traffic", 17)] > 10 * hourly[("traffic", 3)]
    assert hourly[("people", 9)] > 10 * max(1.0, hourly[("people", 3)])


@pytest.mark.parametrize("month_start", [datetime(2025, 1, 1, tzinfo=UTC),
                                         datetime(2025, 7, 1, tzinfo=UTC)],
                         ids=["winter", "summer"])
def test_water_level_stays_near_the_boezem_target(month_start: datetime) -> None:
    target = -0.64 if month_start.month == 1 else -0.61  # docs/domain.md, Rijnland boezem
    scenario = Scenario(water_module.models(SEED, Weather(SEED)), month_start)
    levels: dict[str, list[float]] = defaultdict(list)
    for u in scenario.uplinks(month_start + timedelta(days=30)):
        levels[u.device.device_id].append(u.values["water_depth"]
                                          + u.device.config["sensor_depth_nap_m"])
    assert len(levels) == 3
    for device_id, series in levels.items():
        assert min(series) > -0.80, device_id
        assert max(series) < -0.40, device_id
        assert abs(statistics.mean(series) - target) < 0.06, device_id
        # Slow water: no reading jumps more than 5 cm in 10 minutes.
        assert max(abs(b - a) for a, b in itertools.pairwise(series)) < 0.05, device_id
