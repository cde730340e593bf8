"""Regional weather for the Leiden scenario: outdoor temperature, humidity and rain.

Stateless functions of the seed and absolute time (see base.py, "Determinism"), shared by every
model so that all water levels rise after the same shower and all pedestrians stay home in it.

Climate figures are KNMI normals for De Bilt, 1991-2020 (https://www.knmi.nl/nederland-nu/
klimatologie/maandgegevens): annual mean about 10.5 C, January about 3.5 C, July about 18.5 C,
annual precipitation about 850 mm. The weather around those normals is a plausible caricature,
not a weather generator fitted to data.

On top of the everyday showers (at most a few mm/h) each summer holds one cloudburst
(docs/domain.md, "Cloudburst"): a seeded day and afternoon hour, so every run of a seed meets it
at the same moment, and a backfill or test can find it with ``Weather.cloudburst``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from simulators.scenario.base import DAYS_PER_YEAR, SECONDS_PER_DAY, SECONDS_PER_HOUR, keyed_rng

ANNUAL_MEAN_C = 10.5
ANNUAL_AMPLITUDE_C = 7.5  # half the July-January difference of the normals
#: Around 21 July; the seasonal cycle is anchored on one such day and repeats every 365.25 days.
WARMEST_DAY = datetime(2000, 7, 21, tzinfo=UTC).timestamp()
YEAR_S = DAYS_PER_YEAR * SECONDS_PER_DAY
DIURNAL_AMPLITUDE_C = 3.0  # a 6 C day-night range, typical for the Dutch coast
WARMEST_HOUR_UTC = 13.5  # afternoon maximum, about 15:30 CEST
#: Day-to-day weather: a random daily anomaly around the normal, interpolated between days.
DAILY_ANOMALY_SD_C = 3.0

#: Rain comes in wet spells: a 6-hour block is wet with this probability, and in a wet block
#: each hour rains with P_RAIN_HOUR and an exponential amount. The expected yearly total is
#: 8766 h * 0.2 * 0.6 * 0.8 mm = 840 mm, the De Bilt normal.
RAIN_BLOCK_H = 6
P_WET_BLOCK = 0.2
P_RAIN_HOUR = 0.6
MEAN_RAIN_MM = 0.8

#: KNMI archives a shower as a cloudburst (wolkbreuk) when more than 25 mm falls in an hour; a
#: given place gets one about once in ten years, the country almost every year (docs/domain.md).
#: The scenario's region gets one per summer (*choice*: rarer would leave most simulated summers
#: without the event the rise alarm exists for), in the afternoon, when convection peaks.
CLOUDBURST_MM_H = (25.0, 35.0)  # uniform; over the wolkbreuk threshold, under Dutch records
CLOUDBURST_SEASON = ((6, 1), 92)  # (first month and day, days): June to August
CLOUDBURST_HOURS_UTC = (13, 17)  # start hour, inclusive: 15:00-19:00 summer time
CLOUDBURST_DURATION_H = 1

OUTDOOR_RH = 0.82  # mean relative humidity in the Netherlands, roughly 80-85 %
#: Magnus formula over water (WMO guide, Sonntag 1990): e_s = 6.112 hPa * exp(17.62 T / (243.12 + T)).
MAGNUS_E0_PA = 611.2
MAGNUS_A = 17.62
MAGNUS_B_C = 243.12
WATER_VAPOUR_GAS_CONSTANT = 461.5  # J/(kg K)
KELVIN = 273.15


def saturation_vapour_density(temperature_c: float) -> float:
    """Water vapour at saturation, in g/m3 (ideal gas: rho = e / (R_v T))."""
    e_s = MAGNUS_E0_PA * math.exp(MAGNUS_A * temperature_c / (MAGNUS_B_C + temperature_c))
    return e_s / (WATER_VAPOUR_GAS_CONSTANT * (temperature_c + KELVIN)) * 1000.0


@lru_cache(maxsize=8192)
def _daily_anomaly(seed: int, day: int) -> float:
    return keyed_rng(seed, "temperature-anomaly", day).gauss(0.0, DAILY_ANOMALY_SD_C)


@dataclass(frozen=True, slots=True)
class Cloudburst:
    """A summer's cloudburst: ``mm_h`` of rain from ``start`` for ``CLOUDBURST_DURATION_H``."""

    start: datetime
    mm_h: float

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=CLOUDBURST_DURATION_H)


@lru_cache(maxsize=64)
def _cloudburst(seed: int, year: int) -> Cloudburst:
    rng = keyed_rng(seed, "cloudburst", year)
    (month, day), days = CLOUDBURST_SEASON
    start = datetime(year, month, day, tzinfo=UTC) + timedelta(
        days=rng.randrange(days), hours=rng.randint(*CLOUDBURST_HOURS_UTC))
    return Cloudburst(start, rng.uniform(*CLOUDBURST_MM_H))


def _cloudburst_rain(seed: int, hour: int) -> float:
    t = hour * SECONDS_PER_HOUR
    burst = _cloudburst(seed, datetime.fromtimestamp(t, UTC).year)
    return burst.mm_h if burst.start.timestamp() <= t < burst.end.timestamp() else 0.0


@lru_cache(maxsize=8192)
def _rain(seed: int, hour: int) -> float:
    return _shower_rain(seed, hour) + _cloudburst_rain(seed, hour)


def _shower_rain(seed: int, hour: int) -> float:
    if keyed_rng(seed, "wet-block", hour // RAIN_BLOCK_H).random() >= P_WET_BLOCK:
        return 0.0
    rng = keyed_rng(seed, "rain", hour)
    if rng.random() >= P_RAIN_HOUR:
        return 0.0
    return rng.expovariate(1.0 / MEAN_RAIN_MM)


@lru_cache(maxsize=4096)
def _cloudiness(seed: int, day: int) -> float:
    return keyed_rng(seed, "cloudiness", day).random()


class Weather:
    """Outdoor conditions over the Leiden region for one scenario seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def daily_mean_temperature(self, t: float) -> float:
        """The day's mean outdoor temperature (C): the seasonal normal plus the weather."""
        seasonal = ANNUAL_MEAN_C + ANNUAL_AMPLITUDE_C * math.cos(
            2 * math.pi * (t - WARMEST_DAY) / YEAR_S)
        x = t / SECONDS_PER_DAY - 0.5  # anomalies are set at noon and interpolated between
        day = math.floor(x)
        frac = x - day
        anomaly = (_daily_anomaly(self.seed, day) * (1 - frac)
                   + _daily_anomaly(self.seed, day + 1) * frac)
        return seasonal + anomaly

    def temperature(self, t: float) -> float:
        """Outdoor air temperature (C) at epoch seconds ``t``."""
        hour_utc = (t % SECONDS_PER_DAY) / SECONDS_PER_HOUR
        diurnal = DIURNAL_AMPLITUDE_C * math.cos(2 * math.pi * (hour_utc - WARMEST_HOUR_UTC) / 24)
        return self.daily_mean_temperature(t) + diurnal

    def vapour_density(self, t: float) -> float:
        """Outdoor absolute humidity (g/m3)."""
        return OUTDOOR_RH * saturation_vapour_density(self.temperature(t))

    def rain(self, t: float) -> float:
        """Rain in the hour containing ``t`` (mm/h)."""
        return _rain(self.seed, math.floor(t / SECONDS_PER_HOUR))

    def cloudburst(self, year: int) -> Cloudburst:
        """The cloudburst of the summer of ``year`` (part of ``rain``)."""
        return _cloudburst(self.seed, year)

    def cloudiness(self, t: float) -> float:
        """0 (clear) to 1 (overcast), one value per UTC day."""
        return _cloudiness(self.seed, math.floor(t / SECONDS_PER_DAY))
