"""Waste collection routes (analytics/routing.py) on instances whose optimum is known."""

from __future__ import annotations

import itertools
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.routing import Depot, RoutePlan, Stop, haversine_km, plan

DEPOT = Depot(52.16, 4.49)
# A fixed iteration count besides the time limit: the result is the same on a busy machine.
FAST = {"time_limit_s": 30.0, "max_iterations": 2000}


def legs_km(p: RoutePlan, stops: list[Stop], depot: Depot = DEPOT, detour: float = 1.3
            ) -> float:
    where = {s.id: (s.lat, s.lon) for s in stops}
    total = 0.0
    for r in p.routes:
        points = [(depot.lat, depot.lon), *(where[i] for i in r.stops), (depot.lat, depot.lon)]
        total += sum(haversine_km(*a, *b) for a, b in itertools.pairwise(points)) * detour
    return total


def test_haversine_of_one_degree_of_latitude_is_111_km() -> None:
    assert haversine_km(52.0, 4.0, 53.0, 4.0) == pytest.approx(111.2, abs=0.1)
    assert haversine_km(52.0, 4.0, 52.0, 4.0) == 0.0
    # Leiden Centraal to Den Haag Centraal, ~14.6 km as the crow flies.
    assert haversine_km(52.1662, 4.4821, 52.0809, 4.3245) == pytest.approx(14.6, abs=0.3)


def test_the_corners_of_a_square_are_visited_around_it() -> None:
    # Depot at one corner, stops at the other three: the shortest tour is the perimeter, and
    # crossing the diagonal (B before A) is longer.
    a, b, c = (Stop("a", 52.16, 4.50, 10), Stop("b", 52.17, 4.50, 10),
               Stop("c", 52.17, 4.49, 10))
    stops = [b, c, a]
    p = plan(DEPOT, stops, trucks=1, capacity=100, **FAST)
    assert [r.stops for r in p.routes] in ([("a", "b", "c")], [("c", "b", "a")])
    side_ns = haversine_km(52.16, 4.49, 52.17, 4.49)
    side_ew = (haversine_km(52.16, 4.49, 52.16, 4.50) + haversine_km(52.17, 4.49, 52.17, 4.50)) / 2
    assert p.km == pytest.approx(2 * (side_ns + side_ew) * 1.3, rel=1e-6)
    assert p.feasible and not p.skipped and not p.unserved
    assert p.routes[0].load == 30
    r = p.routes[0]
    assert r.line[0] == r.line[-1] == (DEPOT.lon, DEPOT.lat)  # GeoJSON order: lon, lat
    assert r.line[1:-1] == tuple((s.lon, s.lat) for s in sorted(stops, key=lambda s: r.stops.index(s.id)))


def test_stops_on_a_line_on_both_sides_cost_twice_the_far_ends() -> None:
    offsets = [-0.02, -0.01, 0.01, 0.02, 0.03]
    stops = [Stop(f"s{i}", 52.16, 4.49 + d, 1) for i, d in enumerate(offsets)]
    p = plan(DEPOT, stops, trucks=1, capacity=100, detour_factor=1.0, **FAST)
    west = haversine_km(52.16, 4.49, 52.16, 4.47)
    east = haversine_km(52.16, 4.49, 52.16, 4.52)
    assert p.km == pytest.approx(2 * (west + east), rel=1e-6)
    order = p.routes[0].stops
    # One side first, then the other: never back across the depot.
    side = ["w" if offsets[int(s[1:])] < 0 else "e" for s in order]
    assert side in (["w", "w", "e", "e", "e"], ["e", "e", "e", "w", "w"])


def test_capacity_splits_two_clusters_over_two_trucks() -> None:
    west = [Stop(f"w{i}", 52.16, 4.40 + i * 0.002, 50) for i in range(2)]
    east = [Stop(f"e{i}", 52.16, 4.58 + i * 0.002, 50) for i in range(2)]
    p = plan(DEPOT, west + east, trucks=2, capacity=100, **FAST)
    assert sorted(sorted(r.stops) for r in p.routes) == [["e0", "e1"], ["w0", "w1"]]
    assert [r.load for r in p.routes] == [100, 100]
    assert [r.truck for r in p.routes] == [1, 2]
    assert p.km == pytest.approx(sum(r.km for r in p.routes))
    assert p.km == pytest.approx(legs_km(p, west + east), rel=1e-6)


def test_an_optional_stop_is_visited_only_when_its_prize_pays_for_the_detour() -> None:
    due = Stop("due", 52.165, 4.49, 10)
    # ~11 km north: a detour of ~2 x 11 x 1.3 km.
    far_cheap = Stop("far-cheap", 52.26, 4.49, 10, required=False, prize=1.0)
    far_dear = Stop("far-dear", 52.26, 4.50, 10, required=False, prize=100.0)
    p = plan(DEPOT, [due, far_cheap], trucks=1, capacity=100, **FAST)
    assert p.skipped == ("far-cheap",) and p.routes[0].stops == ("due",)
    p = plan(DEPOT, [due, far_dear], trucks=1, capacity=100, **FAST)
    assert not p.skipped and set(p.routes[0].stops) == {"due", "far-dear"}


def test_required_stops_over_the_fleets_capacity_are_unserved_not_an_error() -> None:
    stops = [Stop(f"s{i}", 52.16, 4.49 + 0.005 * (i + 1), 60) for i in range(3)]
    stops.append(Stop("huge", 52.17, 4.49, 500))  # larger than any truck
    p = plan(DEPOT, stops, trucks=1, capacity=100, **FAST)
    assert len(p.routes) == 1 and len(p.routes[0].stops) == 1
    assert p.routes[0].load <= 100
    assert set(p.unserved) | set(p.routes[0].stops) == {s.id for s in stops}
    assert "huge" in p.unserved
    assert not p.feasible


def test_required_stops_win_over_optional_ones_when_capacity_is_short() -> None:
    optional = [Stop(f"o{i}", 52.16, 4.491 + 0.001 * i, 40, required=False, prize=1000.0)
                for i in range(2)]
    required = [Stop("r", 52.20, 4.49, 80)]
    p = plan(DEPOT, optional + required, trucks=1, capacity=100, **FAST)
    assert p.routes[0].stops == ("r",) and set(p.skipped) == {"o0", "o1"} and p.feasible


def test_no_stops_is_an_empty_plan() -> None:
    p = plan(DEPOT, [], trucks=3, capacity=100)
    assert p == RoutePlan((), 0.0, (), (), True, 0, p.runtime_s)


def test_progress_runs_from_zero_to_one() -> None:
    seen: list[float] = []
    stops = [Stop(f"s{i}", 52.16 + 0.001 * i, 4.49, 1) for i in range(5)]
    plan(DEPOT, stops, trucks=1, capacity=100, time_limit_s=0.3, on_progress=seen.append)
    assert seen and seen[-1] == 1.0
    assert all(0 <= f <= 1 for f in seen) and seen == sorted(seen)


@pytest.mark.parametrize("bad", [
    {"trucks": 0}, {"capacity": 0}, {"capacity": math.nan}, {"detour_factor": 0.5},
    {"time_limit_s": -1}, {"stops": [Stop("x", 91, 4, 1)]}, {"stops": [Stop("x", 52, 4, -1)]},
    {"stops": [Stop("x", 52, 4, 1), Stop("x", 52, 4.1, 1)]},
    {"stops": [Stop("x", 52, 4, 1, required=False, prize=math.inf)]},
])
def test_invalid_input_is_a_value_error(bad: dict[str, object]) -> None:
    args: dict[str, object] = {"stops": [Stop("x", 52, 4, 1)], "trucks": 1, "capacity": 10}
    args.update(bad)
    with pytest.raises(ValueError):
        plan(DEPOT, **args)  # type: ignore[arg-type]


stop_strategy = st.builds(
    Stop, id=st.text(min_size=1, max_size=4),
    lat=st.floats(52.0, 52.3), lon=st.floats(4.3, 4.7),
    load=st.floats(0, 150), required=st.booleans(), prize=st.floats(0, 50))


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(stops=st.lists(stop_strategy, max_size=12, unique_by=lambda s: s.id),
       trucks=st.integers(1, 3), capacity=st.floats(1, 400),
       detour=st.floats(1, 3))
def test_random_stops_never_crash_and_every_stop_is_accounted_for(
        stops: list[Stop], trucks: int, capacity: float, detour: float) -> None:
    p = plan(DEPOT, stops, trucks=trucks, capacity=capacity, detour_factor=detour,
             time_limit_s=5, max_iterations=100)
    routed = [i for r in p.routes for i in r.stops]
    required = {s.id for s in stops if s.required}
    # Each required stop is on exactly one route or unserved; optional ones on a route or skipped.
    assert sorted(routed + list(p.unserved) + list(p.skipped)) == sorted(s.id for s in stops)
    assert set(p.unserved) <= required and not set(p.skipped) & required
    assert len(p.routes) <= trucks
    load = {s.id: s.load for s in stops}
    for r in p.routes:
        assert r.load == pytest.approx(sum(load[i] for i in r.stops))
        assert r.load <= math.floor(capacity) + 1e-9
    assert p.km == pytest.approx(legs_km(p, stops, detour=detour), rel=1e-6, abs=1e-9)
    assert p.feasible == (not p.unserved)
