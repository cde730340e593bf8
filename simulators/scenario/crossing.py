"""A zebra crossing in Oegstgeest with two counters: an IMBuildings people counter for the
pedestrians and a Parametric TCR speed radar for the traffic (docs/domain.md, "Zebra crossings").

Arrivals are Poisson processes whose hourly rate follows a daily profile (weekday with school
and commuter peaks, Saturday shopping, quiet Sunday); both devices report the count since their
previous uplink, per direction. Pedestrians stay home in the rain. The profiles are plausible
shapes for a village-centre street with a 30 km/h limit, not measured counts.

Each vehicle's speed is drawn from a known normal distribution per direction (``SPEEDS``), and
the radar sorts it into its four configured speed classes (``SPEED_CLASS_EDGES_KMH``), reporting
per class and direction the count and the average speed, as the TCR's uplink does. So the
scenario holds the ground truth the crossing analytics are checked against: the true V85 of a
direction is its distribution's 85th percentile (``SpeedDistribution.v85``), not an estimate.

Stateless: a count depends only on the seed and the interval it covers (base.py, "Determinism").
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import NormalDist

from simulators.encoders.parametric import TCR_SPEED_CLASSES, tcr_class_keys
from simulators.scenario.base import (
    SECONDS_PER_HOUR,
    DeviceSim,
    SimDevice,
    hour_of_day,
    interpolate_profile,
    local_time,
    make_dev_eui,
    poisson,
    years_since,
)
from simulators.scenario.weather import Weather

APPLICATION_ID = "meetnet-crossing"
ORGANISATION = "gemeente-oegstgeest"
PEOPLE_MODEL_KEY = "imbuildings/imbuildings-people-counter"
TRAFFIC_MODEL_KEY = "parametric/tcr"
#: IMBuildings devices carry a Microchip module's EUI (see tests/vectors/envelopes/chirpstack-v4-up.json).
IMBUILDINGS_OUI = "0004a30b"
PARAMETRIC_OUI = "70b3d5"  # an IEEE MA-S block prefix; assumed for the TCR
SITE_NAME = "Zebrapad Lange Voort, Oegstgeest"
SITE_SLUG = "zebrapad-lange-voort"
LAT, LON = 52.18225, 4.46830
SPEED_LIMIT_KMH = 30.0  # VVN: passing speed at a zebra at most 30 km/h (docs/domain.md)
#: Assumed configuration of the radar: an uplink every 10 min, as the PCR2 codec example of the
#: same vendor configures (tests/vectors/devices/parametric-pcr2.json).
TRAFFIC_INTERVAL_S = 600.0
PEOPLE_INTERVAL_S = 900.0  # assumed configuration of the people counter

# People per hour crossing (both directions), by local hour: school run at 08:00-09:00 and
# 14:00-16:00 on weekdays, shopping midday on Saturday.
PEDESTRIANS_WEEKDAY = (1, 0.5, 0.3, 0.2, 0.2, 0.5, 3, 18, 75, 25, 22, 28,
                       40, 32, 38, 55, 42, 36, 25, 16, 10, 6, 3, 2)
PEDESTRIANS_SATURDAY = (2, 1, 0.5, 0.3, 0.2, 0.3, 1, 4, 10, 25, 40, 50,
                        55, 50, 45, 40, 30, 20, 12, 8, 6, 5, 3, 2)
PEDESTRIANS_SUNDAY = (1.5, 1, 0.5, 0.3, 0.2, 0.2, 0.5, 2, 5, 12, 22, 28,
                      30, 30, 28, 25, 20, 14, 10, 7, 5, 3, 2, 1)
# Vehicles per hour passing (both directions): commuter peaks 07:00-09:00 and 16:00-18:00.
VEHICLES_WEEKDAY = (12, 7, 5, 5, 8, 25, 90, 310, 390, 230, 190, 200,
                    210, 200, 215, 270, 360, 370, 260, 170, 120, 85, 50, 25)
VEHICLES_SATURDAY = (25, 15, 10, 7, 7, 12, 25, 60, 110, 170, 210, 230,
                     230, 220, 210, 200, 190, 170, 140, 110, 90, 70, 50, 35)
VEHICLES_SUNDAY = (25, 18, 12, 8, 6, 8, 15, 30, 55, 90, 130, 160,
                   170, 170, 165, 160, 150, 130, 110, 90, 70, 50, 35, 20)
SATURDAY, SUNDAY = 5, 6
#: Share of traffic left-to-right (towards Leiden): inbound in the morning, outbound at night.
LTR_SHARE_MORNING = 0.62
LTR_SHARE_EVENING = 0.38
MORNING_PEAK = (6.0, 10.0)
EVENING_PEAK = (15.0, 19.0)
RAIN_THRESHOLD_MM_H = 0.3
RAIN_PEDESTRIAN_FACTOR = 0.6
#: People counter battery: fresh 3.0 V, assumed linear to 2.5 V over three years (the codec
#: example in tests/vectors/devices/imbuildings-people-counter.json reads 2.56 V).
BATTERY_FRESH_V = 3.0
BATTERY_DRAIN_V_PER_YEAR = 0.5 / 3
BATTERY_EMPTY_V = 2.2
INSTALLED = datetime.fromisoformat("2025-04-01T00:00:00+00:00")
#: The radar housing warms in the sun: up to this much above the air at noon on a clear day.
HOUSING_SOLAR_GAIN_C = 4.0
SOLAR_NOON_UTC_H = 11.7  # 12:00 minus 4.5 E / 15 deg per hour
SUN_HALF_WIDTH_H = 6.0  # crude: the housing warms from 6 h before to 6 h after solar noon


#: The radar's four speed classes as configured at this crossing (SCn_START / SCn_END in the TCR
#: configuration payload, km/h; not repeated in its uplinks): class i holds speeds in
#: [edge i, edge i+1). Edges at the limit and at the limit + 5 km/h, and the V85 of both
#: directions inside the 5 km/h class between them, so linear interpolation in the histogram
#: (decoders/traffic.py) is within ~0.5 km/h of the true V85. The top class ends at the
#: uint8 average's maximum.
SPEED_CLASS_EDGES_KMH = (0.0, 25.0, 30.0, 35.0, 255.0)


@dataclass(frozen=True, slots=True)
class SpeedDistribution:
    """Speeds of the vehicles of one direction: normal with ``mean_kmh`` and ``sd_kmh``
    (a normal fits free-flow speeds on a street well; the draws are clamped to [0, 255] km/h, a
    difference of about 1e-8 at these parameters)."""

    mean_kmh: float
    sd_kmh: float

    def quantile(self, q: float) -> float:
        """The speed ``q`` of the vehicles do not exceed (exact, the inverse normal CDF)."""
        return NormalDist(self.mean_kmh, self.sd_kmh).inv_cdf(q)

    @property
    def v85(self) -> float:
        """The true V85 (docs/domain.md, "Zebra crossings")."""
        return self.quantile(0.85)

    def share_above(self, speed_kmh: float) -> float:
        """The share of vehicles faster than ``speed_kmh``."""
        return 1.0 - NormalDist(self.mean_kmh, self.sd_kmh).cdf(speed_kmh)


#: Per direction: left to right (towards Leiden) comes in from the open road and is still fast
#: (V85 34.2 km/h, 42 % over the limit); right to left has passed the village centre (V85
#: 30.7 km/h). Plausible for a 30 km/h street, not measured.
SPEEDS = {"ltr": SpeedDistribution(29.0, 5.0), "rtl": SpeedDistribution(26.0, 4.5)}
SPEED_MAX_KMH = 255.0


def speed_class(speed_kmh: float) -> int:
    """The radar's class (0..3) of a vehicle driving ``speed_kmh``."""
    return min(TCR_SPEED_CLASSES - 1, max(0, bisect_right(SPEED_CLASS_EDGES_KMH, speed_kmh) - 1))


def _profile(local: datetime, weekday: Sequence[float], saturday: Sequence[float],
             sunday: Sequence[float]) -> float:
    table = {SATURDAY: saturday, SUNDAY: sunday}.get(local.weekday(), weekday)
    return interpolate_profile(table, hour_of_day(local))


def pedestrian_rate(local: datetime) -> float:
    """Expected pedestrians per hour (both directions), dry weather."""
    return _profile(local, PEDESTRIANS_WEEKDAY, PEDESTRIANS_SATURDAY, PEDESTRIANS_SUNDAY)


def vehicle_rate(local: datetime) -> float:
    """Expected vehicles per hour (both directions)."""
    return _profile(local, VEHICLES_WEEKDAY, VEHICLES_SATURDAY, VEHICLES_SUNDAY)


def _device(kind: str, model_key: str, oui: str, name: str, interval_s: float) -> SimDevice:
    device_id = f"{SITE_SLUG}-{kind}"
    return SimDevice(
        dev_eui=make_dev_eui(oui, device_id),
        device_id=device_id,
        application_id=APPLICATION_ID,
        model_key=model_key,
        organisation=ORGANISATION,
        use_case="crossing",
        name=name,
        lat=LAT,
        lon=LON,
        config={"speed_limit_kmh": SPEED_LIMIT_KMH},
        interval_s=interval_s,
    )


class PedestrianCounterModel(DeviceSim):
    def __init__(self, seed: int, weather: Weather) -> None:
        super().__init__(_device("voetgangers", PEOPLE_MODEL_KEY, IMBUILDINGS_OUI,
                                 f"{SITE_NAME}, voetgangersteller", PEOPLE_INTERVAL_S), seed)
        self.weather = weather

    def step(self, t: float) -> dict[str, float]:
        interval = self.device.interval_s
        mid = t - interval / 2
        rate = pedestrian_rate(local_time(mid))
        if self.weather.rain(mid) >= RAIN_THRESHOLD_MM_H:
            rate *= RAIN_PEDESTRIAN_FACTOR
        expected_each_way = rate * interval / SECONDS_PER_HOUR / 2
        rng = self.rng(t)
        voltage = BATTERY_FRESH_V - BATTERY_DRAIN_V_PER_YEAR * max(0.0, years_since(t, INSTALLED))
        return {
            "pedestrian_count_in": float(poisson(rng, expected_each_way)),
            "pedestrian_count_out": float(poisson(rng, expected_each_way)),
            "battery_voltage": max(BATTERY_EMPTY_V, voltage),
        }


class VehicleCounterModel(DeviceSim):
    def __init__(self, seed: int, weather: Weather) -> None:
        super().__init__(_device("verkeer", TRAFFIC_MODEL_KEY, PARAMETRIC_OUI,
                                 f"{SITE_NAME}, radar verkeersteller", TRAFFIC_INTERVAL_S), seed)
        self.weather = weather

    def step(self, t: float) -> dict[str, float]:
        interval = self.device.interval_s
        mid = t - interval / 2
        local = local_time(mid)
        hour = hour_of_day(local)
        expected = vehicle_rate(local) * interval / SECONDS_PER_HOUR
        share = 0.5
        if local.weekday() < SATURDAY:
            if MORNING_PEAK[0] <= hour < MORNING_PEAK[1]:
                share = LTR_SHARE_MORNING
            elif EVENING_PEAK[0] <= hour < EVENING_PEAK[1]:
                share = LTR_SHARE_EVENING
        rng = self.rng(t)
        hour_utc = (t % 86400) / SECONDS_PER_HOUR
        sun = max(0.0, 1 - abs(hour_utc - SOLAR_NOON_UTC_H) / SUN_HALF_WIDTH_H)
        housing = self.weather.temperature(t) + HOUSING_SOLAR_GAIN_C * sun * (
            1 - self.weather.cloudiness(t))
        out = {
            "vehicle_count_ltr": float(poisson(rng, expected * share)),
            "vehicle_count_rtl": float(poisson(rng, expected * (1 - share))),
            "temperature": housing,
        }
        for direction, dist in SPEEDS.items():
            counts = [0] * TCR_SPEED_CLASSES
            sums = [0.0] * TCR_SPEED_CLASSES
            for _ in range(int(out[f"vehicle_count_{direction}"])):
                speed = min(SPEED_MAX_KMH, max(0.0, rng.gauss(dist.mean_kmh, dist.sd_kmh)))
                i = speed_class(speed)
                counts[i] += 1
                sums[i] += speed
            for i in range(TCR_SPEED_CLASSES):
                count_key, speed_key = tcr_class_keys(direction, i)
                out[count_key] = float(counts[i])
                out[speed_key] = sums[i] / counts[i] if counts[i] else 0.0
        return out


def models(seed: int, weather: Weather) -> list[DeviceSim]:
    return [PedestrianCounterModel(seed, weather), VehicleCounterModel(seed, weather)]
