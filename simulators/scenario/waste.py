"""Waste bins in Leiden's centre with Milesight EM310-UDL ultrasonic fill sensors.

Physics: refuse arrives at a rate set by the bin's street (busier streets fill faster) and the
hour of the week (shopping hours, Friday and Saturday nights), in lumps. A bin is emptied on
its collection round, or when the sensor shows it above ``EMPTY_TRIGGER`` and the beheer team
responds (daytime, not on Sunday). The uplink after an emptying carries tilt = 1 (the lid tilts
when the truck lifts the bin) and a near-empty distance: docs/domain.md, "Waste bins": "Emptied: tilt
event or a drop of >= 30 points".

The sensor reports the distance from the lid to the refuse: ``distance = bin_depth -
fill * (bin_depth - full_distance)`` plus noise, so meetnet's fill %
``(D_empty - d) / (D_empty - d_full)`` (docs/domain.md) recovers ``fill``.

Who empties a bin is pluggable (``EmptyingPolicy``): the scenario's rounds plus on-demand
emptying by default, or visits planned from outside (``PlannedEmptying``, which
``simulators/waste_replay.py`` uses to compare a fixed schedule with sensor-driven routes). The
refuse that arrives in a step is the step's first random draw, so it depends only on the seed,
the bin and the time, never on the policy: two policies replayed on one seed see the same refuse.
"""

from __future__ import annotations

import bisect
import enum
import random
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from simulators.scenario.base import (
    SECONDS_PER_DAY,
    SECONDS_PER_HOUR,
    DeviceSim,
    SimDevice,
    hour_of_day,
    interpolate_profile,
    local_time,
    lognormal_unit_mean,
    make_dev_eui,
    years_since,
)

MODEL_KEY = "milesight-iot/em310-udl"
APPLICATION_ID = "meetnet-waste"
ORGANISATION = "gemeente-leiden"
MILESIGHT_OUI = "24e124"  # Milesight's DevEUI prefix (see tests/vectors/envelopes/tts-v3-uplink.json)
#: Hourly readings, as in Rotterdam's sensor roll-out (docs/domain.md, "Waste bins").
INTERVAL_S = 3600.0
#: Longer than a week, so every bin has been collected once before the first uplink and its
#: fill no longer depends on the arbitrary starting value.
WARMUP_S = 8 * SECONDS_PER_DAY
INITIAL_FILL = 0.5

#: Emptied on demand above this fill fraction; the brief's "> ~85 %" rule, a little above the
#: 80 % forecast threshold of Rotterdam's routing rule (docs/domain.md).
EMPTY_TRIGGER = 0.85
#: Chance per hourly step that the team empties a bin above the trigger: mean response ~2 h.
P_RESPOND_PER_STEP = 0.5
RESPONSE_HOURS = (7.0, 19.0)  # local time the team works on demand requests
SUNDAY = 6
#: Collection rounds start at 07:00 local; each bin's turn comes ``minutes_into_round`` later.
ROUND_START_HOUR = 7.0
#: What stays behind after emptying (stuck bags, liner), as a fill fraction.
RESIDUAL_FILL_MAX = 0.03
#: Refuse arrives in lumps (a bag, a pizza box): multiplicative lognormal noise per step.
FILL_NOISE_SIGMA = 0.6
#: The refuse surface is uneven and the EM310-UDL resolves 1 mm; ~1 cm of scatter between readings.
DISTANCE_NOISE_M = 0.01
MIN_DISTANCE_M = 0.03  # nothing reads closer than the sensor's blind zone
#: Battery: two lithium cells rated for years at hourly reporting; assumed linear drain.
BATTERY_DRAIN_PCT_PER_YEAR = 8.0
INSTALLED = datetime.fromisoformat("2024-03-01T00:00:00+00:00")


class BinKind(enum.Enum):
    """Container types on Leiden streets. Depth: sensor (in the lid) to the bottom; full
    distance: what the sensor reads when the bin counts as full (blind zone plus headroom);
    base fill: fraction of the usable height filled per day on an average street (assumed);
    volume: litres when full (what emptying a full bin puts in the truck)."""

    LITTER = ("litter bin", 0.90, 0.15, 0.30, 120.0)  # street litter bin, ~120 L
    UNDERGROUND = ("underground container", 1.90, 0.40, 0.12, 5000.0)  # 5 m3 household waste

    def __init__(self, label: str, depth_m: float, full_distance_m: float,
                 base_fill_per_day: float, volume_l: float) -> None:
        self.label = label
        self.depth_m = depth_m
        self.full_distance_m = full_distance_m
        self.base_fill_per_day = base_fill_per_day
        self.volume_l = volume_l


#: Relative refuse arrival by local hour on a weekday in a city centre (shops 10-18, lunch peak);
#: assumed shape. Saturdays and Friday/Saturday nights are busier, Sundays quieter.
WEEKDAY_ACTIVITY = (
    0.20, 0.15, 0.10, 0.10, 0.10, 0.15, 0.40, 0.80, 1.00, 1.20, 1.50, 1.80,
    2.20, 2.20, 2.00, 1.90, 1.90, 1.80, 1.40, 1.00, 0.90, 0.80, 0.60, 0.40,
)
DAY_FACTOR = (1.0, 1.0, 1.0, 1.0, 1.1, 1.4, 0.8)  # Monday .. Sunday
NIGHTLIFE_FACTOR = 2.0  # Friday and Saturday 22:00-03:00
NIGHTLIFE_HOURS = (22, 23, 0, 1, 2)
FRIDAY, SATURDAY = 4, 5


def _raw_activity(weekday: int, hour: float) -> float:
    value = interpolate_profile(WEEKDAY_ACTIVITY, hour) * DAY_FACTOR[weekday]
    # The night after Friday and Saturday belongs to that evening.
    evening_day = weekday if hour >= 12 else (weekday - 1) % 7
    if int(hour) in NIGHTLIFE_HOURS and evening_day in (FRIDAY, SATURDAY):
        value *= NIGHTLIFE_FACTOR
    return value


#: Normalises the activity to a weekly mean of 1, so ``base_fill_per_day`` is a daily mean.
_WEEKLY_MEAN = sum(_raw_activity(d, h + 0.5) for d in range(7) for h in range(24)) / (7 * 24)


def activity(local: datetime) -> float:
    return _raw_activity(local.weekday(), hour_of_day(local)) / _WEEKLY_MEAN


@dataclass(frozen=True, slots=True)
class BinSite:
    slug: str
    name: str
    lat: float
    lon: float
    kind: BinKind
    busyness: float  # fill-rate multiplier: 1 = an average centre street
    collection_weekdays: tuple[int, ...]  # 0 = Monday
    minutes_into_round: float


#: Eight containers in Leiden's centre (coordinates on the street named).
SITES = (
    BinSite("stationsplein-01", "Afvalbak Stationsplein (Leiden Centraal)", 52.16620, 4.48210,
            BinKind.LITTER, 2.6, (0, 4), 10),
    BinSite("beestenmarkt-01", "Afvalbak Beestenmarkt", 52.16090, 4.48610,
            BinKind.LITTER, 1.4, (0, 4), 25),
    BinSite("haarlemmerstraat-01", "Afvalbak Haarlemmerstraat", 52.16040, 4.49100,
            BinKind.LITTER, 2.2, (0, 4), 40),
    BinSite("breestraat-01", "Afvalbak Breestraat (Stadhuis)", 52.15870, 4.48940,
            BinKind.LITTER, 1.8, (0, 4), 55),
    BinSite("botermarkt-01", "Afvalbak Botermarkt", 52.15810, 4.49160,
            BinKind.LITTER, 1.6, (0, 4), 70),
    BinSite("pieterskerkplein-01", "Afvalbak Pieterskerkplein", 52.15710, 4.48740,
            BinKind.LITTER, 0.8, (0, 4), 85),
    BinSite("rapenburg-01", "Afvalbak Rapenburg (Academiegebouw)", 52.15680, 4.48400,
            BinKind.LITTER, 0.6, (0, 4), 100),
    BinSite("hooglandse-kerkgracht-01", "Ondergrondse container Hooglandse Kerkgracht", 52.15950,
            4.49360, BinKind.UNDERGROUND, 1.0, (1,), 30),
)


def device_for(site: BinSite) -> SimDevice:
    device_id = f"bin-{site.slug}"
    return SimDevice(
        dev_eui=make_dev_eui(MILESIGHT_OUI, device_id),
        device_id=device_id,
        application_id=APPLICATION_ID,
        model_key=MODEL_KEY,
        organisation=ORGANISATION,
        use_case="waste",
        name=site.name,
        lat=site.lat,
        lon=site.lon,
        config={"bin_depth_m": site.kind.depth_m, "full_distance_m": site.kind.full_distance_m},
        interval_s=INTERVAL_S,
    )


class EmptyingPolicy(Protocol):
    """Who empties a bin, and when."""

    def empties(self, model: BinModel, t0: float, t1: float, rng: random.Random) -> bool:
        """Is ``model`` emptied in the step (t0, t1]? ``model.fill`` is still the fill at
        ``t0``; ``rng`` is the step's generator, after the refuse arrival was drawn."""
        ...


class ScenarioEmptying:
    """The live scenario's behaviour: the bin's collection rounds, and the beheer team emptying
    it on demand above ``EMPTY_TRIGGER`` (daytime, not on Sunday)."""

    def empties(self, model: BinModel, t0: float, t1: float, rng: random.Random) -> bool:
        local = local_time(t1)
        # Module globals read per call, so tests may patch them; the draw order is the
        # scenario's (one draw only when the other conditions hold), which keeps its uplinks.
        on_demand = (model.fill > EMPTY_TRIGGER and local.weekday() != SUNDAY
                     and RESPONSE_HOURS[0] <= hour_of_day(local) < RESPONSE_HOURS[1]
                     and rng.random() < P_RESPOND_PER_STEP)
        return on_demand or model.collection_due(t0, t1)


class PlannedEmptying:
    """Emptied at the times planned with ``visit`` and at no other: a bin's emptying is the
    first step whose interval (t0, t1] holds a planned visit."""

    def __init__(self) -> None:
        self._visits: list[float] = []  # sorted epoch seconds

    def visit(self, t: float) -> None:
        bisect.insort(self._visits, t)

    def empties(self, model: BinModel, t0: float, t1: float, rng: random.Random) -> bool:
        # Visits at or before t0 are in the past of this step (planned too late): dropped.
        done = bisect.bisect_right(self._visits, t1)
        due = any(t > t0 for t in self._visits[:done])
        del self._visits[:done]
        return due


class BinModel(DeviceSim):
    """Fill of one bin (fraction of the usable height, 0..1) and what its sensor reports.

    ``arrived`` sums the refuse that arrived (in fill fractions, overflow included): it is the
    same under every ``policy`` for one seed.
    """

    warmup_s = WARMUP_S

    def __init__(self, site: BinSite, seed: int, policy: EmptyingPolicy | None = None) -> None:
        super().__init__(device_for(site), seed)
        self.site = site
        self.fill = INITIAL_FILL
        self.policy: EmptyingPolicy = policy or ScenarioEmptying()
        self.arrived = 0.0
        self._last_t: float | None = None

    def collection_due(self, t0: float, t1: float) -> bool:
        """Does this bin's turn on a collection round fall in (t0, t1]?"""
        local = local_time(t1)
        if local.weekday() not in self.site.collection_weekdays:
            return False
        turn = local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp() + (
            ROUND_START_HOUR * SECONDS_PER_HOUR + self.site.minutes_into_round * 60)
        return t0 < turn <= t1

    def step(self, t: float) -> dict[str, float]:
        rng = self.rng(t)
        t0 = t - self.device.interval_s if self._last_t is None else self._last_t
        self._last_t = t
        hours = (t - t0) / SECONDS_PER_HOUR
        rate_per_hour = self.site.kind.base_fill_per_day * self.site.busyness / 24
        arrived = rate_per_hour * activity(local_time((t0 + t) / 2)) * hours
        # The first draw of the step: the refuse does not depend on who empties the bin.
        arrived *= lognormal_unit_mean(rng, FILL_NOISE_SIGMA)
        self.arrived += arrived
        emptied = self.policy.empties(self, t0, t, rng)
        if emptied:
            # Only part of this step's refuse arrived after the truck left: say half.
            self.fill = rng.uniform(0.0, RESIDUAL_FILL_MAX) + arrived / 2
        else:
            self.fill = min(1.0, self.fill + arrived)
        kind = self.site.kind
        distance = kind.depth_m - self.fill * (kind.depth_m - kind.full_distance_m)
        distance = min(kind.depth_m, max(MIN_DISTANCE_M, distance + rng.gauss(0, DISTANCE_NOISE_M)))
        battery = 100.0 - BATTERY_DRAIN_PCT_PER_YEAR * max(0.0, years_since(t, INSTALLED))
        return {"distance": distance, "battery": max(1.0, battery), "tilt": 1.0 if emptied else 0.0}


def models(seed: int) -> list[DeviceSim]:
    return [BinModel(site, seed) for site in SITES]
