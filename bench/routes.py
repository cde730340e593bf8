"""Waste route quality as a ratio against the same solver given ten times longer, in the same run.

  500 generated bins around Leiden (seeded: 480 street litter bins of 120 L, 20 underground
  containers of 5 m3, fills drawn so that about a third are due), 4 trucks of
  MEETNET_WASTE_TRUCK_CAPACITY_L from the configured depot, planned as POST /v1/waste/routes
  plans them (`api.reports.waste.stops_for`: due bins required, the others optional with a prize
  by their fill), solved by `analytics.routing.plan` with a time limit of 10 s and again with
  100 s. The gap is (short - long) / long of the objective PyVRP minimises (km driven plus the
  prizes, in km, of the bins left out) and of the km alone.

Issue 11's goal: the 10 s plan within 2 % of the 100 s plan. Takes ~2 minutes on one core.

Usage: .venv/bin/python bench/routes.py [--bins 500] [--trucks 4] [--short 10] [--long 100]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder is sys.path[0], and this file's name would shadow a module of
# the same name: put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import random

from rich.progress import Progress

from analytics.routing import Depot, RoutePlan, Stop, plan
from api.reports.waste import RoundBin, stops_for
from meetnet.settings import Settings

#: Leiden within its ring roads, roughly (WGS84).
LAT = (52.140, 52.180)
LON = (4.455, 4.520)


def generated_bins(n: int, seed: int, threshold: float) -> list[RoundBin]:
    """``n`` bins spread over Leiden; 4 % underground containers. A bin's fill at the round is
    uniform over 5-100 %, so about a fifth is over the threshold, and half of those within 25
    points below it are due too (as if forecast to pass it before the next round)."""
    rnd = random.Random(seed)
    bins = []
    for i in range(n):
        underground = i % 25 == 0
        fill = rnd.uniform(5, 100)
        due = fill >= threshold or (fill >= threshold - 25 and rnd.random() < 0.5)
        volume = 5000.0 if underground else 120.0
        bins.append(RoundBin(dev_eui=f"bench{i:04d}", name=f"bin {i}",
                             lat=rnd.uniform(*LAT), lon=rnd.uniform(*LON), fill_pct=fill,
                             due=due, load_l=volume * fill / 100))
    return bins


def objective_km(result: RoutePlan, stops: list[Stop]) -> float:
    prize = {s.id: s.prize for s in stops}
    return result.km + sum(prize[i] for i in result.skipped)


def solve(label: str, depot: Depot, stops: list[Stop], trucks: int, capacity: float,
          limit: float, detour: float, seed: int) -> RoutePlan:
    with Progress(transient=True) as bar:
        task = bar.add_task(f"{label}: {limit:g} s", total=1.0)
        return plan(depot, stops, trucks=trucks, capacity=capacity, detour_factor=detour,
                    time_limit_s=limit, seed=seed,
                    on_progress=lambda f: bar.update(task, completed=f))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--bins", type=int, default=500)
    ap.add_argument("--trucks", type=int, default=4)
    ap.add_argument("--short", type=float, default=10.0, help="time limit of the plan (s)")
    ap.add_argument("--long", type=float, default=100.0, help="time limit to compare with (s)")
    ap.add_argument("--seed", type=int, default=71)
    args = ap.parse_args()
    settings = Settings()
    threshold = 80.0
    bins = generated_bins(args.bins, args.seed, threshold)
    stops = stops_for(bins, threshold)
    depot = Depot(settings.waste_depot_lat, settings.waste_depot_lon)
    capacity = settings.waste_truck_capacity_l
    due_l = sum(s.load for s in stops if s.required)
    results = [(limit, solve(name, depot, stops, args.trucks, capacity, limit,
                             settings.waste_detour_factor, args.seed))
               for name, limit in (("short", args.short), ("long", args.long))]
    print(f"\nbench/routes.py: {len(stops)} bins ({sum(s.required for s in stops)} due, "
          f"{due_l:,.0f} L), {args.trucks} trucks of {capacity:,.0f} L, seed {args.seed}")
    print(f"{'time limit':>10} {'km':>9} {'objective':>10} {'visited':>8} {'skipped':>8} "
          f"{'unserved':>9} {'iterations':>11} {'runtime (s)':>12}")
    for limit, r in results:
        visited = sum(len(t.stops) for t in r.routes)
        print(f"{limit:>9g}s {r.km:9.2f} {objective_km(r, stops):10.2f} {visited:8} "
              f"{len(r.skipped):8} {len(r.unserved):9} {r.iterations:11} {r.runtime_s:12.1f}")
    (_, short), (_, long) = results
    gap = (objective_km(short, stops) - objective_km(long, stops)) / objective_km(long, stops)
    km_gap = (short.km - long.km) / long.km
    print(f"gap of the {args.short:g} s plan to the {args.long:g} s plan: objective "
          f"{gap:+.2%}, km {km_gap:+.2%} (goal: within 2 %)")


if __name__ == "__main__":
    main()
