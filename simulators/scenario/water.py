"""Water level in Rijnland's boezem at three places, measured by Milesight EM500-SWL submerged
pressure sensors (docs/domain.md, "Water level").

The boezem is held at its target level, -0.61 m NAP in summer and -0.64 m NAP in winter
(docs/domain.md), by the big pumping stations. Rain raises it twice over: directly (on the water
and, through Leiden's paved surface, within the hour) and later, when the polders pump their
excess into it. A reservoir model:

- polder excess S (mm over the catchment): ``dS/dt = rain - evaporation - pumped``, with the
  polder pumps limited to ``POLDER_PUMP_MM_H``;
- boezem level L (m NAP): ``dL/dt = AREA_RATIO * pumped + DIRECT_FACTOR * rain
  - (L - target) / TAU_BOEZEM``: the boezem pumps take the level back to target.

Each place adds its own offset (the level slopes towards the outlet at Katwijk) and wind set-up.
The submerged sensor at ``sensor_depth_nap_m`` reports the water above it:
``water_depth = level - sensor_depth_nap`` (docs/domain.md: ``level = sensor_depth_NAP + depth``).
The figures are plausible magnitudes for the Rijnland boezem, not a calibrated model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

from simulators.scenario.base import (
    DAYS_PER_YEAR,
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    DeviceSim,
    SimDevice,
    keyed_rng,
    make_dev_eui,
    years_since,
)
from simulators.scenario.weather import Weather

MODEL_KEY = "milesight-iot/em500-swl"
APPLICATION_ID = "meetnet-water"
ORGANISATION = "hoogheemraadschap-rijnland"
MILESIGHT_OUI = "24e124"
#: Ten minutes: the rate-of-rise alarm (5 cm/h, docs/domain.md) needs several readings per hour.
INTERVAL_S = 600.0
#: Two weeks: much longer than the boezem's and the polders' memory (a day or two).
WARMUP_S = 14 * SECONDS_PER_DAY

SUMMER_TARGET_NAP_M = -0.61  # docs/domain.md
WINTER_TARGET_NAP_M = -0.64
#: Switch dates between winter and summer level are set in the peilbesluit; assumed here.
SUMMER_FROM = (4, 1)  # (month, day)
WINTER_FROM = (10, 1)

#: Rijnland drains about 1100 km2 into a boezem of about 40 km2 of water: 1 mm pumped from the
#: polders raises the boezem ~25 mm.
AREA_RATIO = 25.0
#: Rain on the water itself plus fast runoff from paved town areas, as a multiple of the rain.
DIRECT_FACTOR = 3.0
#: Polder pumping stations are typically sized for ~14 mm/day.
POLDER_PUMP_MM_H = 14.0 / 24
TAU_POLDER_H = 12.0  # the polders drain their excess over about half a day
TAU_BOEZEM_H = 12.0  # the boezem pumps restore the target over about half a day
#: Reference evaporation in the Netherlands, ~550 mm/year: ~3.5 mm/day in June, ~0.3 in December.
EVAPORATION_MEAN_MM_H = 0.065
EVAPORATION_AMPLITUDE_MM_H = 0.055
MID_SUMMER = datetime(2000, 6, 21, tzinfo=UTC).timestamp()
#: Wind pushes the water up at one end of the boezem and down at the other (a few cm).
WIND_SETUP_SD_M = 0.012
SENSOR_NOISE_M = 0.003  # pressure sensor scatter between readings
#: Battery: assumed linear drain at 10-minute reporting.
BATTERY_DRAIN_PCT_PER_YEAR = 12.0
INSTALLED = datetime.fromisoformat("2024-09-01T00:00:00+00:00")


@dataclass(frozen=True, slots=True)
class WaterSite:
    slug: str
    name: str
    lat: float
    lon: float
    sensor_depth_nap_m: float
    offset_m: float  # local level relative to the boezem mean
    wind_exposure: float  # sign and size of the wind set-up here


SITES = (
    WaterSite("galgewater", "Peilmeting Galgewater (Oude Rijn), Leiden", 52.15985, 4.48150,
              sensor_depth_nap_m=-1.60, offset_m=0.0, wind_exposure=0.5),
    WaterSite("zijlpoort", "Peilmeting Zijlsingel bij de Zijlpoort, Leiden", 52.16540, 4.49610,
              sensor_depth_nap_m=-1.75, offset_m=0.005, wind_exposure=1.0),
    WaterSite("katwijk-uitwatering", "Peilmeting Oude Rijn bij de uitwatering, Katwijk",
              52.20350, 4.41200, sensor_depth_nap_m=-2.10, offset_m=-0.02, wind_exposure=-1.0),
)


def target_level(t: float) -> float:
    """Rijnland's boezem target (m NAP) on the date of ``t``."""
    d = datetime.fromtimestamp(t, UTC)
    summer = SUMMER_FROM <= (d.month, d.day) < WINTER_FROM
    return SUMMER_TARGET_NAP_M if summer else WINTER_TARGET_NAP_M


def evaporation(t: float) -> float:
    """Reference evaporation (mm/h) on the day of ``t``."""
    return EVAPORATION_MEAN_MM_H + EVAPORATION_AMPLITUDE_MM_H * math.cos(
        2 * math.pi * (t - MID_SUMMER) / (DAYS_PER_YEAR * SECONDS_PER_DAY))


@lru_cache(maxsize=4096)
def _wind(seed: int, day: int) -> float:
    return keyed_rng(seed, "wind-setup", day).gauss(0.0, WIND_SETUP_SD_M)


def device_for(site: WaterSite) -> SimDevice:
    device_id = f"peil-{site.slug}"
    return SimDevice(
        dev_eui=make_dev_eui(MILESIGHT_OUI, device_id),
        device_id=device_id,
        application_id=APPLICATION_ID,
        model_key=MODEL_KEY,
        organisation=ORGANISATION,
        use_case="water",
        name=site.name,
        lat=site.lat,
        lon=site.lon,
        # The boezem's seasonal target, so the demo's gauges are read against it as a water
        # board would configure them (analytics.water.target_from_config).
        config={"sensor_depth_nap_m": site.sensor_depth_nap_m,
                "target_summer_nap_m": SUMMER_TARGET_NAP_M,
                "target_winter_nap_m": WINTER_TARGET_NAP_M},
        interval_s=INTERVAL_S,
    )


class WaterLevelModel(DeviceSim):
    """Boezem level (m NAP) and polder excess (mm) seen from one measuring point."""

    warmup_s = WARMUP_S

    def __init__(self, site: WaterSite, seed: int, weather: Weather) -> None:
        super().__init__(device_for(site), seed)
        self.site = site
        self.weather = weather
        self.polder_mm = 0.0
        self.boezem_nap_m: float | None = None
        self._last_t: float | None = None

    def wind_setup(self, t: float) -> float:
        x = t / SECONDS_PER_DAY
        day = math.floor(x)
        frac = x - day
        regional = _wind(self.seed, day) * (1 - frac) + _wind(self.seed, day + 1) * frac
        return regional * self.site.wind_exposure

    def step(self, t: float) -> dict[str, float]:
        if self._last_t is None or self.boezem_nap_m is None:
            self._last_t = t - self.device.interval_s
            self.boezem_nap_m = target_level(self._last_t)
        dt_h = (t - self._last_t) / SECONDS_PER_HOUR
        mid = (t + self._last_t) / 2
        self._last_t = t
        rain = self.weather.rain(mid)
        self.polder_mm = max(0.0, self.polder_mm + (rain - evaporation(mid)) * dt_h)
        pumped = min(self.polder_mm / TAU_POLDER_H, POLDER_PUMP_MM_H) * dt_h
        self.polder_mm -= pumped
        inflow_m = (AREA_RATIO * pumped + DIRECT_FACTOR * rain * dt_h) / 1000
        target = target_level(mid)
        # Exact relaxation towards target over the step, then this step's inflow on top.
        self.boezem_nap_m = target + (self.boezem_nap_m - target) * math.exp(-dt_h / TAU_BOEZEM_H)
        self.boezem_nap_m += inflow_m
        level = self.boezem_nap_m + self.site.offset_m + self.wind_setup(t)
        level += self.rng(t).gauss(0.0, SENSOR_NOISE_M)
        battery = 100.0 - BATTERY_DRAIN_PCT_PER_YEAR * max(0.0, years_since(t, INSTALLED))
        return {"water_depth": level - self.site.sensor_depth_nap_m, "battery": max(1.0, battery)}


def models(seed: int, weather: Weather) -> list[DeviceSim]:
    return [WaterLevelModel(site, seed, weather) for site in SITES]
