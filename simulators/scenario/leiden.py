"""The Leiden scenario: every use case's devices in one clock.

- waste: 8 bins in Leiden's centre (gemeente-leiden, application meetnet-waste);
- classroom: 3 rooms of one primary school (obs-de-regenboog, meetnet-classroom);
- crossing: 1 zebra crossing in Oegstgeest, a people counter and a traffic radar
  (gemeente-oegstgeest, meetnet-crossing);
- water: 3 boezem level gauges (hoogheemraadschap-rijnland, meetnet-water).
"""

from __future__ import annotations

from datetime import UTC, datetime

from simulators.scenario import classroom, crossing, waste, water
from simulators.scenario.base import DeviceSim, Scenario, SimDevice
from simulators.scenario.weather import Weather

#: Leiden's telephone area code; any fixed seed makes runs repeatable.
DEFAULT_SEED = 71


def build_models(seed: int = DEFAULT_SEED) -> list[DeviceSim]:
    weather = Weather(seed)
    return [
        *waste.models(seed),
        *classroom.models(seed, weather),
        *crossing.models(seed, weather),
        *water.models(seed, weather),
    ]


def build_scenario(seed: int = DEFAULT_SEED, start: datetime | None = None) -> Scenario:
    """The scenario with its first uplinks at or after ``start`` (default: now)."""
    return Scenario(build_models(seed), start or datetime.now(UTC))


def scenario_devices() -> list[SimDevice]:
    """The devices alone (identities do not depend on the seed), without warming any model up."""
    return [m.device for m in build_models()]
