"""Replay a simulated month of waste bins under two emptying policies on the same refuse
(issue 11, `meetnet waste evaluate`): a fixed weekly schedule, and sensor-driven routes.

Both replays start from the same state and see the same refuse: the bins are the waste
scenario's ``BinModel`` (whose refuse arrivals depend only on the seed, the bin and the time,
never on who empties it), run first for ``history_days`` under the scenario's own behaviour
(its rounds and on-demand emptying) so the sensors have a history, then switched to a
``PlannedEmptying`` that the replay fills with the day's route. Rounds may run every day,
starting at 07:00 local; a truck empties its stops in route order, ``minutes_per_stop`` apart.

- **fixed**: each bin is collected on its weekdays. The frequency is the one a municipality
  sizes from the bin's known mean fill rate and the weekly rhythm of refuse: the fewest
  collections a week (1, 2, 3, Monday to Saturday, or daily) for which the refuse expected
  between two collections stays under the collection threshold (80 %), daily when nothing does
  (a city centre's busiest bins are emptied on Sundays too; without that they overflow every
  weekend whatever the policy); bins share days by district (sectors
  around the bins' centre), so a day's bins lie close together. Every collection day's bins are
  required stops of one `analytics.routing.plan`, so km compare with the sensor policy's.
- **sensor**: each round morning at 06:00 every bin is assessed from its simulated sensor
  readings up to then (`analytics.waste.assess`: over 80 %, or forecast to pass it before the
  next round ends, Rotterdam's "60 % today / 80 % tomorrow" rule; docs/domain.md "Waste bins");
  due bins are required stops, bins at ``optional_min_pct`` or more optional stops with a prize
  that grows with their fill, and `analytics.routing.plan` chooses the route.

Figures per policy: km driven (sum of the routes' km), bins visited (emptyings), overflow
bin-days: a pair (bin, local calendar day) on which the bin's true fill is at 100 % at any of
its hourly steps. A bin that reaches full on day 3 and stays full through days 4 and 5 counts 3.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from analytics.routing import Depot, Stop, plan
from analytics.waste import WastePolicy, assess
from decoders.derive import fill_percent
from simulators.scenario import waste as sim
from simulators.scenario.base import LOCAL_TZ, Scenario, local_time

POLICIES = ("fixed", "sensor")
#: Leiden's centre (Breestraat by the Stadhuis): generated bins lie around it.
LEIDEN_CENTRE = (52.1585, 4.4900)
#: The trucks' depot: Leiden's Langegracht, the municipal yard area (an assumption; the same
#: default as MEETNET_WASTE_DEPOT_LAT/LON, which the CLI passes in).
LEIDEN_DEPOT = Depot(lat=52.1652, lon=4.4893)
#: The replayed month starts on a Monday (local midnight); any fixed date makes runs repeatable.
DEFAULT_START = datetime(2026, 3, 2, tzinfo=LOCAL_TZ)
ROUND_DAYS = (0, 1, 2, 3, 4, 5, 6)  # Monday .. Sunday: any day may have a round
WORKDAYS = (0, 1, 2, 3, 4, 5)  # the fixed schedule's rotations use Monday .. Saturday
PLAN_HOUR = 6.0  # the sensor policy plans from the readings up to here (local time)
ROUND_START_HOUR = sim.ROUND_START_HOUR
#: Collection patterns by visits a week, from the rotations a planner would use (Monday = 0).
PATTERNS: dict[int, tuple[tuple[int, ...], ...]] = {
    1: tuple((d,) for d in WORKDAYS),
    2: ((0, 3), (1, 4), (2, 5)),
    3: ((0, 2, 4), (1, 3, 5)),
    6: (WORKDAYS,),
    7: (ROUND_DAYS,),
}
SECTORS = 6
#: Generated bins: within this radius of the centre, this share underground containers.
GENERATED_RADIUS_KM = 1.5
GENERATED_UNDERGROUND_SHARE = 0.15


@dataclass(frozen=True)
class ReplayConfig:
    """Everything a replay depends on; defaults are the CLI's."""

    days: int = 30
    seed: int = 71
    start: datetime = DEFAULT_START
    history_days: int = 21  # sensor history before the start: the weekday pattern needs 3 weeks
    depot: Depot = LEIDEN_DEPOT
    trucks: int = 2
    capacity_l: float = 20_000.0
    detour_factor: float = 1.3
    #: Per day's plan: the solver stops at ``max_iterations`` (so a replay is reproducible on
    #: any machine) or at the time limit, a ceiling, whichever comes first.
    time_limit_s: float = 2.0
    max_iterations: int | None = 500
    minutes_per_stop: float = 4.0
    #: Fixed schedule: expected fill between collections stays under this fraction.
    fixed_target_fill: float = 0.8
    #: Sensor policy: bins at this fill % or more, not due, are optional stops ...
    optional_min_pct: float = 50.0
    #: ... with a prize of this many km times their fill fraction.
    optional_prize_km: float = 0.3
    #: Readings given to `assess`: the last this many days (bounds its cost; >= 3 weeks so the
    #: weekday pattern is found).
    window_days: int = 28
    #: Forecast with the bin's weekly pattern once three weeks of readings exist (assess's
    #: ``use_pattern``); off, the forecast is linear in clock time (faster, blind to Saturdays).
    use_pattern: bool = True
    waste_policy: WastePolicy = dataclasses.field(default_factory=WastePolicy)

    def __post_init__(self) -> None:
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        if self.history_days < 0 or self.window_days < 1:
            raise ValueError("history_days must be >= 0 and window_days >= 1")
        if self.minutes_per_stop < 0 or not 0 < self.fixed_target_fill <= 1:
            raise ValueError("minutes_per_stop must be >= 0 and fixed_target_fill in (0, 1]")
        if self.optional_prize_km < 0:
            raise ValueError("optional_prize_km must be >= 0")


@dataclass(frozen=True)
class PolicyResult:
    """What one policy did over the replay."""

    km: float
    bins_visited: int
    overflow_bin_days: int
    unserved: int  # required stops the fleet could not take (capacity / trucks)
    arrived: dict[str, float]  # refuse that arrived per bin (fill fractions), for checks
    visits: dict[str, tuple[date, ...]]  # local days each bin was visited

    def summary(self) -> dict[str, float | int]:
        return {"km": round(self.km, 2), "bins_visited": self.bins_visited,
                "overflow_bin_days": self.overflow_bin_days}


class OverflowCounter:
    """Overflow bin-days: the distinct (bin, local day) on which a bin's fill is at full."""

    def __init__(self, full: float = 1.0) -> None:
        self.full = full
        self._days: set[tuple[str, date]] = set()

    def observe(self, bin_id: str, t: float, fill: float) -> None:
        if fill >= self.full:
            self._days.add((bin_id, local_time(t).date()))

    @property
    def count(self) -> int:
        return len(self._days)


def count_overflow_bin_days(samples: Iterable[tuple[str, float, float]], full: float = 1.0
                            ) -> int:
    """Overflow bin-days of (bin id, epoch seconds, fill fraction) samples (module docstring)."""
    counter = OverflowCounter(full)
    for bin_id, t, fill in samples:
        counter.observe(bin_id, t, fill)
    return counter.count


@functools.cache
def _weekly_activity() -> np.ndarray:
    """The scenario's relative refuse arrival per hour of the week (Monday 00:00 = 0)."""
    monday = datetime(2026, 3, 2, tzinfo=LOCAL_TZ)
    return np.array([sim.activity(monday + timedelta(hours=h, minutes=30)) for h in range(168)])


def expected_gap_fill(weekdays: Sequence[int], fill_per_day: float) -> float:
    """The most refuse (fill fraction) expected between two consecutive collections at 07:00
    on ``weekdays``, for a bin of mean ``fill_per_day`` following the weekly rhythm."""
    hourly = np.tile(_weekly_activity(), 2) * fill_per_day / 24
    start = int(ROUND_START_HOUR)
    days = sorted(weekdays)
    worst = 0.0
    for i, d in enumerate(days):
        nxt = days[i + 1] if i + 1 < len(days) else days[0] + 7
        a, b = d * 24 + start, nxt * 24 + start
        worst = max(worst, float(hourly[a:b].sum()))
    return worst


def _sector(site: sim.BinSite, centre: tuple[float, float]) -> int:
    angle = math.atan2(site.lat - centre[0], (site.lon - centre[1]) * math.cos(
        math.radians(centre[0])))
    return int((angle + math.pi) / (2 * math.pi) * SECTORS) % SECTORS


def fixed_schedule(sites: Sequence[sim.BinSite], target_fill: float = 0.8
                   ) -> dict[str, tuple[int, ...]]:
    """Collection weekdays per bin (slug): the fewest visits a week whose expected refuse
    between collections stays under ``target_fill``, in the rotation of the bin's district
    (see the module docstring); daily when nothing else is enough."""
    centre = (float(np.mean([s.lat for s in sites])), float(np.mean([s.lon for s in sites])))
    out: dict[str, tuple[int, ...]] = {}
    for site in sites:
        sector = _sector(site, centre)
        rate = site.kind.base_fill_per_day * site.busyness
        chosen = PATTERNS[7][0]
        for per_week in (1, 2, 3, 6):
            rotations = PATTERNS[per_week]
            # Adjacent sectors share a rotation, so a day's bins lie in one part of town.
            days = rotations[sector * len(rotations) // SECTORS]
            if expected_gap_fill(days, rate) <= target_fill:
                chosen = days
                break
        out[site.slug] = chosen
    return out


def generated_sites(n: int, seed: int) -> tuple[sim.BinSite, ...]:
    """``n`` bins scattered around Leiden's centre (uniform over a disc), mostly street litter
    bins, with lognormal busyness (mean 1); deterministic by ``seed``."""
    if n < 1:
        raise ValueError("need at least one bin")
    rng = random.Random(f"meetnet-waste-replay:{seed}:{n}")
    lat0, lon0 = LEIDEN_CENTRE
    km_per_deg_lat = 111.2
    km_per_deg_lon = km_per_deg_lat * math.cos(math.radians(lat0))
    sites = []
    for i in range(n):
        r = GENERATED_RADIUS_KM * math.sqrt(rng.random())
        a = rng.uniform(0, 2 * math.pi)
        kind = (sim.BinKind.UNDERGROUND if rng.random() < GENERATED_UNDERGROUND_SHARE
                else sim.BinKind.LITTER)
        busyness = min(2.6, max(0.3, rng.lognormvariate(-0.125, 0.5)))
        sites.append(sim.BinSite(
            f"gen-{i:04d}", f"Generated bin {i}", lat0 + r * math.sin(a) / km_per_deg_lat,
            lon0 + r * math.cos(a) / km_per_deg_lon, kind, busyness, (), rng.uniform(0, 300)))
    return tuple(sites)


def with_schedule(sites: Sequence[sim.BinSite], target_fill: float = 0.8
                  ) -> tuple[sim.BinSite, ...]:
    """The sites with their collection weekdays set to `fixed_schedule`'s."""
    schedule = fixed_schedule(sites, target_fill)
    return tuple(dataclasses.replace(s, collection_weekdays=schedule[s.slug]) for s in sites)


class _Readings:
    """One bin's sensor readings as meetnet derives them (fill % from distance, tilt)."""

    def __init__(self) -> None:
        self.times: list[int] = []  # ns since the epoch
        self.fill: list[float] = []
        self.tilt: list[float] = []

    def add(self, t: datetime, site: sim.BinSite, values: dict[str, float]) -> None:
        self.times.append(int(t.timestamp() * 1e9))
        self.fill.append(fill_percent(values["distance"], site.kind.depth_m,
                                      site.kind.full_distance_m))
        self.tilt.append(values["tilt"])

    def window(self, since: datetime) -> tuple[pd.Series, pd.Series]:
        times = np.asarray(self.times, dtype=np.int64)
        first = int(np.searchsorted(times, int(since.timestamp() * 1e9)))
        index = pd.DatetimeIndex(times[first:].astype("datetime64[ns]")).tz_localize(UTC)
        return (pd.Series(self.fill[first:], index=index),
                pd.Series(self.tilt[first:], index=index))


def _round_days(start: datetime, days: int) -> list[datetime]:
    return [start + timedelta(days=i) for i in range(days)
            if (start + timedelta(days=i)).weekday() in ROUND_DAYS]


def _at_hour(day: datetime, hour: float) -> datetime:
    local = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)
    return local + timedelta(hours=hour)


def _next_round_end(day: datetime, round_hours: float) -> datetime:
    nxt = day + timedelta(days=1)
    while nxt.weekday() not in ROUND_DAYS:
        nxt += timedelta(days=1)
    return _at_hour(nxt, ROUND_START_HOUR + round_hours)


def replay(sites: Sequence[sim.BinSite], policy: str, config: ReplayConfig | None = None,
           on_day: Callable[[int, int], None] | None = None) -> PolicyResult:
    """Run ``config.days`` days of ``sites`` under ``policy`` ("fixed" or "sensor"); see the
    module docstring. ``on_day(done, total)`` after each day."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}")
    cfg = config or ReplayConfig()
    schedule = fixed_schedule(sites, cfg.fixed_target_fill)
    # The history runs on the fixed schedule plus on-demand emptying (the scenario's own
    # behaviour), identical for both policies.
    sites = tuple(dataclasses.replace(s, collection_weekdays=schedule[s.slug]) for s in sites)
    models = [sim.BinModel(s, cfg.seed) for s in sites]
    by_id = {m.device.device_id: m for m in models}
    start = cfg.start.astimezone(LOCAL_TZ)
    begin = start - timedelta(days=cfg.history_days)
    scenario = Scenario(models, begin)
    readings = {m.site.slug: _Readings() for m in models}
    for u in scenario.uplinks(start):
        m = by_id[u.device.device_id]
        readings[m.site.slug].add(u.time, m.site, u.values)
    planned: dict[str, sim.PlannedEmptying] = {}
    for m in models:
        m.policy = planned[m.site.slug] = sim.PlannedEmptying()
    arrived0 = {m.site.slug: m.arrived for m in models}
    overflow = OverflowCounter()
    km = 0.0
    visits: dict[str, list[date]] = {m.site.slug: [] for m in models}
    unserved = 0
    round_hours = 6.0  # how long a round may take; sensor forecasts reach its end

    for i in range(cfg.days):
        day = start + timedelta(days=i)
        morning = _at_hour(day, PLAN_HOUR)
        _advance(scenario, morning, by_id, readings, overflow)
        if day.weekday() in ROUND_DAYS:
            stops = (_fixed_stops(models, schedule, day, cfg) if policy == "fixed"
                     else _sensor_stops(models, readings, morning,
                                        _next_round_end(day, round_hours), cfg))
            if stops:
                routes = plan(cfg.depot, stops, trucks=cfg.trucks, capacity=cfg.capacity_l,
                              detour_factor=cfg.detour_factor, time_limit_s=cfg.time_limit_s,
                              seed=cfg.seed, max_iterations=cfg.max_iterations)
                km += routes.km
                unserved += len(routes.unserved)
                round_start = _at_hour(day, ROUND_START_HOUR).timestamp()
                for route in routes.routes:
                    for k, slug in enumerate(route.stops):
                        planned[slug].visit(round_start + 60 * cfg.minutes_per_stop * (k + 1))
                        visits[slug].append(day.date())
        if on_day is not None:
            on_day(i + 1, cfg.days)
    _advance(scenario, start + timedelta(days=cfg.days), by_id, readings, overflow)
    arrived = {m.site.slug: m.arrived - arrived0[m.site.slug] for m in models}
    return PolicyResult(km=km, bins_visited=sum(len(v) for v in visits.values()),
                        overflow_bin_days=overflow.count, unserved=unserved, arrived=arrived,
                        visits={k: tuple(v) for k, v in visits.items()})


def _advance(scenario: Scenario, until: datetime, by_id: dict[str, sim.BinModel],
             readings: dict[str, _Readings], overflow: OverflowCounter) -> None:
    for u in scenario.uplinks(until):
        m = by_id[u.device.device_id]
        readings[m.site.slug].add(u.time, m.site, u.values)
        overflow.observe(m.site.slug, u.time.timestamp(), m.fill)


def _stop(m: sim.BinModel, fill_pct: float, required: bool, prize: float = 0.0) -> Stop:
    # What the truck takes in: the bin's volume at its fill when planned (litres).
    load = m.site.kind.volume_l * min(1.0, max(0.0, fill_pct / 100))
    return Stop(m.site.slug, m.site.lat, m.site.lon, load, required, prize)


def _fixed_stops(models: Sequence[sim.BinModel], schedule: dict[str, tuple[int, ...]],
                 day: datetime, cfg: ReplayConfig) -> list[Stop]:
    # A fixed round does not know the fill: its planner loads the trucks with what the
    # schedule expects (the most refuse between two collections).
    out = []
    for m in models:
        days = schedule[m.site.slug]
        if day.weekday() in days:
            rate = m.site.kind.base_fill_per_day * m.site.busyness
            out.append(_stop(m, 100 * expected_gap_fill(days, rate), True))
    return out


def _sensor_stops(models: Sequence[sim.BinModel], readings: dict[str, _Readings],
                  morning: datetime, next_round: datetime, cfg: ReplayConfig) -> list[Stop]:
    stops = []
    since = morning - timedelta(days=cfg.window_days)
    for m in models:
        fill, tilt = readings[m.site.slug].window(since)
        status = assess(fill, tilt=tilt, at=morning, next_round=next_round,
                        policy=cfg.waste_policy, use_pattern=cfg.use_pattern)
        level = status.fill_pct if status.fill_pct is not None else 0.0
        if status.due or status.stale:
            # A silent sensor cannot say the bin may wait: it is visited.
            stops.append(_stop(m, max(level, cfg.waste_policy.threshold_pct), True))
        elif level >= cfg.optional_min_pct and cfg.optional_prize_km > 0:
            stops.append(_stop(m, level, False, cfg.optional_prize_km * level / 100))
    return stops


def evaluate(sites: Sequence[sim.BinSite], config: ReplayConfig | None = None,
             on_day: Callable[[str, int, int], None] | None = None) -> dict[str, PolicyResult]:
    """Both policies on the same bins, seed and refuse: {"fixed": ..., "sensor": ...}."""
    out = {}
    for policy in POLICIES:
        def progress(done: int, total: int, policy: str = policy) -> None:
            if on_day is not None:
                on_day(policy, done, total)
        out[policy] = replay(sites, policy, config, progress)
    return out
