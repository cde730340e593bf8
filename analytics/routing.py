"""Waste collection routes: a prize-collecting capacitated VRP solved by PyVRP (issue 11).

Pure (no I/O, no settings): the caller passes the depot, the stops and the fleet. The model
(docs/domain.md, "Waste bins", "Routing"):

- one depot (the trucks start and end there), ``trucks`` identical trucks of ``capacity``
  litres; a stop's ``load`` is what emptying it puts in the truck;
- distances are the haversine great-circle distance x ``detour_factor`` (~1.3, *practice*:
  streets are not straight lines; no road network offline), as integer metres for PyVRP;
- due bins are required stops; bins that may wait are optional stops with a ``prize`` (in km):
  the solver visits one when that saves more than it costs, which is PyVRP's prize-collecting
  VRP (Wouda, Lan and Kool 2024, "PyVRP: a high-performance VRP solver package", INFORMS
  Journal on Computing 36(4):943-955; clients with ``required=False`` and a ``prize``); the
  objective is km driven plus the prizes of the optional stops left out;
- required stops that cannot all fit (their load exceeds the fleet's capacity, or one bin
  alone exceeds a truck's) never make the plan fail: they are solved as optional stops with a
  prize larger than any route could cost, and those still left out are reported as
  ``unserved``.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import numpy as np

#: Mean Earth radius (IUGG), km; haversine's sphere.
EARTH_RADIUS_KM = 6371.0088
#: A prize or load beyond this is refused: PyVRP sums them in 64-bit integers.
_MAX_UNITS = 10**12
#: A prize beyond this (km) is refused: a required stop's stand-in prize is the sum of them all.
_MAX_PRIZE_KM = 1e6
#: Progress is reported at most this often (seconds).
_PROGRESS_EVERY_S = 0.1


@dataclass(frozen=True)
class Depot:
    """Where the trucks start and end (WGS84 degrees)."""

    lat: float
    lon: float


@dataclass(frozen=True)
class Stop:
    """A bin to empty."""

    id: str
    lat: float
    lon: float
    load: float  # what emptying it puts in the truck (litres)
    required: bool = True  # due bins must be visited; others are optional
    prize: float = 0.0  # value (in km) of visiting an optional stop


@dataclass(frozen=True)
class TruckRoute:
    """One truck's round: its stops in order, its km (depot to depot) and its load (litres)."""

    truck: int  # 1-based
    stops: tuple[str, ...]
    km: float
    load: float
    line: tuple[tuple[float, float], ...]  # (lon, lat) depot -> stops -> depot, GeoJSON order


@dataclass(frozen=True)
class RoutePlan:
    """The day's plan. ``km`` is the sum of the routes' km. ``feasible``: every required stop
    is on a route and no truck is over capacity."""

    routes: tuple[TruckRoute, ...]
    km: float
    skipped: tuple[str, ...]  # optional stops left out
    unserved: tuple[str, ...]  # required stops that did not fit (capacity / trucks)
    feasible: bool
    iterations: int
    runtime_s: float


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in km between two WGS84 points by the haversine formula
    (Sinnott 1984, "Virtues of the Haversine", Sky and Telescope 68(2):159) on a sphere of the
    mean Earth radius."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    a = (math.sin((p2 - p1) / 2) ** 2
         + math.cos(p1) * math.cos(p2) * math.sin(math.radians(lon2 - lon1) / 2) ** 2)
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _distance_matrix_km(lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """All pairwise haversine distances (km), vectorised; same formula as `haversine_km`."""
    p = np.radians(lats)
    lam = np.radians(lons)
    dp = p[None, :] - p[:, None]
    dl = lam[None, :] - lam[:, None]
    a = np.sin(dp / 2) ** 2 + np.cos(p)[:, None] * np.cos(p)[None, :] * np.sin(dl / 2) ** 2
    out: np.ndarray = 2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a)))
    return out


def _check(depot: Depot, stops: Sequence[Stop], trucks: int, capacity: float,
           detour_factor: float, time_limit_s: float) -> None:
    def point(what: str, lat: float, lon: float) -> None:
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90
                and -180 <= lon <= 180):
            raise ValueError(f"{what}: lat/lon ({lat}, {lon}) is not a WGS84 position")

    point("depot", depot.lat, depot.lon)
    if isinstance(trucks, bool) or not isinstance(trucks, int) or trucks < 1:
        raise ValueError("trucks must be a positive integer")
    if not (math.isfinite(capacity) and 0 < capacity <= _MAX_UNITS):
        raise ValueError("capacity must be a positive number of litres")
    if not (math.isfinite(detour_factor) and 1 <= detour_factor <= 10):
        raise ValueError("detour_factor must be between 1 and 10")
    if not (math.isfinite(time_limit_s) and time_limit_s >= 0):
        raise ValueError("time_limit_s must be a non-negative number of seconds")
    seen: set[str] = set()
    for s in stops:
        if s.id in seen:
            raise ValueError(f"stop {s.id!r} appears twice")
        seen.add(s.id)
        point(f"stop {s.id!r}", s.lat, s.lon)
        if not (math.isfinite(s.load) and 0 <= s.load <= _MAX_UNITS):
            raise ValueError(f"stop {s.id!r}: load must be a non-negative number of litres")
        if not (math.isfinite(s.prize) and 0 <= s.prize <= _MAX_PRIZE_KM):
            raise ValueError(f"stop {s.id!r}: prize must be a non-negative number of km")


class _Stop:
    """PyVRP's stopping criterion: the time limit (counted from before the model is built, so
    the whole call stays within it) or ``max_iterations``, whichever comes first; reports the
    elapsed fraction on the way."""

    def __init__(self, start: float, limit_s: float, max_iterations: int | None,
                 on_progress: Callable[[float], None] | None) -> None:
        self.start, self.limit_s, self.max_iterations = start, limit_s, max_iterations
        self.on_progress = on_progress
        self.iterations = 0
        self._reported = -math.inf

    def fraction(self) -> float:
        parts = [(time.perf_counter() - self.start) / self.limit_s if self.limit_s > 0 else 1.0]
        if self.max_iterations is not None:
            parts.append(self.iterations / self.max_iterations if self.max_iterations else 1.0)
        return min(1.0, max(parts))

    def __call__(self, best_cost: float) -> bool:
        done = self.fraction() >= 1.0
        self.iterations += 1
        now = time.perf_counter()
        if self.on_progress is not None and (done or now - self._reported >= _PROGRESS_EVERY_S):
            self._reported = now
            self.on_progress(self.fraction())
        return done


def _solve(lats: np.ndarray, lons: np.ndarray, metres: np.ndarray, loads: list[int],
           prizes: list[int], required: list[bool], trucks: int, capacity: int, seed: int,
           stop: _Stop) -> tuple[list[list[int]], bool]:
    """Solve over locations 0 (depot) .. n; returns the routes as lists of client indices
    (1..n) and whether the best solution is feasible."""
    from pyvrp import Client, Location, ProblemData, Solution, VehicleType
    from pyvrp import Depot as VrpDepot
    from pyvrp import solve as vrp_solve

    n = len(loads)
    locations = [Location(x=float(lons[i]), y=float(lats[i])) for i in range(n + 1)]
    clients = [Client(location=i + 1, delivery=[loads[i]], prize=prizes[i],
                      required=required[i]) for i in range(n)]
    data = ProblemData(
        locations=locations, clients=clients, depots=[VrpDepot(location=0)],
        vehicle_types=[VehicleType(num_available=trucks, capacity=[capacity])],
        distance_matrices=[cast(Any, metres)],
        duration_matrices=[cast(Any, np.zeros_like(metres))])
    result = vrp_solve(data, stop, seed=seed, collect_stats=False, display=False)
    best: Solution = result.best
    routes = [[a.idx + 1 for a in r if a.is_client()] for r in best.routes() if r.num_clients()]
    return routes, bool(best.is_feasible())


def plan(depot: Depot, stops: Sequence[Stop], *, trucks: int, capacity: float,
         detour_factor: float = 1.3, time_limit_s: float = 5.0, seed: int = 1,
         on_progress: Callable[[float], None] | None = None,
         max_iterations: int | None = None) -> RoutePlan:
    """Collection routes for ``stops`` from ``depot`` with ``trucks`` trucks of ``capacity``
    litres: PyVRP's iterated local search on the prize-collecting capacitated VRP (see the
    module docstring; distances haversine x ``detour_factor``, docs/domain.md "Routing"),
    stopped after ``time_limit_s`` or ``max_iterations`` (a fixed count makes a plan
    reproducible on any machine), with ``on_progress`` given the elapsed fraction (0..1).

    Required stops that do not fit (capacity or trucks) are ``unserved``, never an error;
    optional ones left out are ``skipped``. A stop list with nothing to visit is an empty plan
    without a solver call. Invalid input (positions, negative loads, no trucks) is a
    ValueError."""
    started = time.perf_counter()
    _check(depot, stops, trucks, capacity, detour_factor, time_limit_s)
    if max_iterations is not None and max_iterations < 0:
        raise ValueError("max_iterations must be non-negative")
    cap = math.floor(capacity)
    # Loads round up to whole litres, so a plan PyVRP calls feasible is within capacity.
    units = [math.ceil(s.load) for s in stops]
    # A bin larger than a truck can never be emptied: out before the solver sees it.
    fits = [i for i, s in enumerate(stops) if units[i] <= cap]
    too_big = [s.id for i, s in enumerate(stops) if units[i] > cap]
    unserved = [s.id for s in stops if s.required and s.id in set(too_big)]
    skipped_big = [s.id for s in stops if not s.required and s.id in set(too_big)]
    if not fits:
        if on_progress is not None:
            on_progress(1.0)
        return RoutePlan((), 0.0, tuple(skipped_big), tuple(unserved), not unserved, 0,
                         time.perf_counter() - started)
    chosen = [stops[i] for i in fits]
    lats = np.array([depot.lat] + [s.lat for s in chosen], dtype=float)
    lons = np.array([depot.lon] + [s.lon for s in chosen], dtype=float)
    km = _distance_matrix_km(lats, lons) * detour_factor
    metres = np.rint(km * 1000).astype(np.int64)
    loads = [units[i] for i in fits]
    prizes = [round(s.prize * 1000) for s in chosen]
    required = [s.required for s in chosen]
    need = sum(u for u, r in zip(loads, required, strict=True) if r)
    stop = _Stop(started, time_limit_s, max_iterations, on_progress)
    routes: list[list[int]] = []
    feasible = strict = False
    iterations = 0
    # Packing required loads close to the fleet's capacity is where the strict search may find
    # no feasible plan; there the relaxed model below is solved straight away.
    if need <= 0.9 * trucks * cap:
        strict = True
        routes, feasible = _solve(lats, lons, metres, loads, prizes, required, trucks, cap,
                                  seed, stop)
        iterations = stop.iterations
    if not feasible:
        # The required stops do not fit (or the search found no way to fit them): each one
        # becomes optional with a prize above anything a plan can drive or collect otherwise
        # (every stop's detour is at most twice the longest edge), so the solver serves as
        # many as fit, and the rest are reported, not a failure.
        big = int(2 * int(metres.max()) * (len(chosen) + 1) + sum(prizes) + 1)
        relaxed = [big if r else p for p, r in zip(prizes, required, strict=True)]
        # Rare (strict found no feasible plan below 90 % of capacity): the relaxed model gets
        # the time limit once more, so such a call takes up to twice ``time_limit_s``.
        if strict:
            stop = _Stop(time.perf_counter(), time_limit_s, max_iterations, on_progress)
        routes, feasible = _solve(lats, lons, metres, loads, relaxed, [False] * len(chosen),
                                  trucks, cap, seed, stop)
        iterations += stop.iterations
    # The solver's best is over capacity only when the search was stopped before it found any
    # feasible plan (a time limit of 0): stops come off the end of an overfull route until it
    # fits, so no plan ever asks a truck to carry more than it can.
    for r in routes:
        while sum(loads[i - 1] for i in r) > cap:
            r.pop()
    routes = [r for r in routes if r]
    visited = {i for r in routes for i in r}
    out = []
    for k, r in enumerate(routes, start=1):
        ids = [fits[i - 1] for i in r]
        legs = [0, *r, 0]
        route_km = float(sum(km[a, b] for a, b in itertools.pairwise(legs)))
        line = ((depot.lon, depot.lat), *((stops[i].lon, stops[i].lat) for i in ids),
                (depot.lon, depot.lat))
        out.append(TruckRoute(truck=k, stops=tuple(stops[i].id for i in ids), km=route_km,
                              load=float(sum(stops[i].load for i in ids)), line=line))
    left = [chosen[i - 1] for i in range(1, len(chosen) + 1) if i not in visited]
    unserved += [s.id for s in left if s.required]
    skipped = skipped_big + [s.id for s in left if not s.required]
    if on_progress is not None:
        on_progress(1.0)
    return RoutePlan(routes=tuple(out), km=float(sum(r.km for r in out)), skipped=tuple(skipped),
                     unserved=tuple(unserved), feasible=not unserved,
                     iterations=iterations, runtime_s=time.perf_counter() - started)
