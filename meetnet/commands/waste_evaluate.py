"""`meetnet waste evaluate`: replays a simulated month of bins under a fixed weekly schedule and
under sensor-driven routes (registered on ``waste_app``)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer

from meetnet.commands.waste import waste_app


@waste_app.command("evaluate")
def waste_evaluate(
    days: Annotated[int, typer.Option("--days", min=1, max=366, help="days to replay")] = 30,
    bins: Annotated[int | None, typer.Option(
        "--bins", min=1, max=2000,
        help="generate this many bins around Leiden's centre (default: the Leiden scenario's "
        "bins)")] = None,
    seed: Annotated[int, typer.Option("--seed", help="simulation seed (same seed, same refuse)")
                    ] = 71,
    trucks: Annotated[int | None, typer.Option(
        "--trucks", min=1, max=50, help="trucks per round (default MEETNET_WASTE_TRUCKS)")] = None,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", min=0.05, max=60.0,
        help="the solver's ceiling per day's plan, seconds")] = 2.0,
    iterations: Annotated[int, typer.Option(
        "--iterations", min=1, max=100_000,
        help="the solver's iterations per day's plan (reached first, runs are reproducible)")
    ] = 500,
    pattern: Annotated[bool, typer.Option(
        "--pattern/--no-pattern",
        help="forecast with each bin's weekly pattern (slower)")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON")] = False,
) -> None:
    """Replay a simulated month of bins under a fixed weekly schedule and under sensor-driven
    routes, on the same refuse; print km driven, bins visited and overflow bin-days of each.
    Needs no database."""
    from analytics.routing import Depot
    from meetnet.settings import Settings
    from simulators import waste_replay as replay
    from simulators.scenario import waste as sim

    settings = Settings()
    config = replay.ReplayConfig(
        days=days, seed=seed,
        depot=Depot(settings.waste_depot_lat, settings.waste_depot_lon),
        trucks=trucks or settings.waste_trucks, capacity_l=settings.waste_truck_capacity_l,
        detour_factor=settings.waste_detour_factor, time_limit_s=time_limit,
        max_iterations=iterations, use_pattern=pattern)
    sites = sim.SITES if bins is None else replay.generated_sites(bins, seed)

    def progress(policy: str, done: int, total: int) -> None:
        end = "\n" if done == total else ""
        print(f"\r{policy}: day {done}/{total}", end=end, file=sys.stderr, flush=True)

    results = replay.evaluate(sites, config, None if as_json else progress)
    if as_json:
        typer.echo(json.dumps({name: r.summary() for name, r in results.items()}))
        return
    where = "Leiden scenario" if bins is None else f"{bins} generated bins"
    typer.echo(f"{days} days, {len(sites)} bins ({where}), seed {seed}, "
               f"{config.trucks} trucks of {config.capacity_l:g} L")
    typer.echo(f"{'policy':<8} {'km':>9} {'bins visited':>13} {'overflow bin-days':>18}"
               f" {'unserved':>9}")
    for name, r in results.items():
        typer.echo(f"{name:<8} {r.km:>9.1f} {r.bins_visited:>13} {r.overflow_bin_days:>18}"
                   f" {r.unserved:>9}")
    fixed, sensor = results["fixed"], results["sensor"]
    if fixed.km > 0:
        typer.echo(f"sensor-driven: {100 * (sensor.km / fixed.km - 1):+.1f} % km, "
                   f"{sensor.overflow_bin_days - fixed.overflow_bin_days:+d} overflow bin-days")
