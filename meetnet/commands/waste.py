"""`meetnet waste ...`: Waste bins: which to empty, in what route, and how sensor-driven rounds compare."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

waste_app = typer.Typer(
    help="Waste bins: which to empty, in what route, and how sensor-driven rounds compare.",
    no_args_is_help=True,
)

_ORG = typer.Option("--org", help="organisation slug: the bins it owns (the ones it empties)")
_THRESHOLD = typer.Option("--threshold", min=1, max=100, help="collection threshold, %")
_JSON = typer.Option("--json", help="print JSON instead of a table")


def _check_org(conn: Any, slug: str) -> None:
    from store.keys import list_organisations

    if slug not in {s for s, _, _ in list_organisations(conn)}:
        raise ValueError(f"no organisation {slug!r} (`meetnet orgs list`)")


@waste_app.command("bins")
def waste_bins(
    org: Annotated[str, _ORG],
    threshold: Annotated[float, _THRESHOLD] = 80.0,
    days: Annotated[int, typer.Option("--days", min=1, max=60,
                                      help="days of history to read")] = 28,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """The bins an organisation owns as of now: fill, rate, forecast full and whether each is
    due on the next round (the same assessment as GET /v1/waste/bins)."""
    from datetime import UTC, datetime, timedelta

    import psycopg
    from rich.console import Console
    from rich.table import Table

    from api.reports.waste import assess_bins
    from meetnet.cli import _require_dsn, _settings

    now = datetime.now(UTC)
    with psycopg.connect(_require_dsn(_settings())) as conn:
        _check_org(conn, org)
        assessed = assess_bins(conn, org, owner=org, at=now, next_round=now + timedelta(days=1),
                               threshold=threshold, days=days)
    if as_json:
        typer.echo(json.dumps([{
            "dev_eui": d.dev_eui, "name": d.name, "lat": d.lat, "lon": d.lon,
            "fill_pct": s.fill_pct, "rate_pct_per_day": s.rate_pct_per_day,
            "rate_basis": s.rate_basis,
            "full_at": s.full_at.isoformat() if s.full_at else None, "due": s.due,
            "due_reason": s.due_reason, "stale": s.stale, "fire_risk": s.fire_risk}
            for d, s in assessed], indent=2))
        return
    table = Table(title=f"bins of {org} as of {now:%Y-%m-%d %H:%M} UTC")
    for column in ("dev_eui", "name", "fill %", "%/day", "full at (UTC)", "due", "stale"):
        table.add_column(column, justify="right" if "%" in column else "left")
    for d, s in assessed:
        table.add_row(
            d.dev_eui, d.name, "-" if s.fill_pct is None else f"{s.fill_pct:.0f}",
            "-" if s.rate_pct_per_day is None else f"{s.rate_pct_per_day:.1f}",
            f"{s.full_at:%Y-%m-%d %H:%M}" if s.full_at else "-",
            (s.due_reason or "yes") if s.due else "no", "stale" if s.stale else "")
    Console(width=200, markup=False, highlight=False).print(table)


@waste_app.command("route")
def waste_route(
    org: Annotated[str, _ORG],
    date: Annotated[str | None, typer.Option(
        "--date", help="collection day YYYY-MM-DD (default: tomorrow, Europe/Amsterdam)")] = None,
    trucks: Annotated[int | None, typer.Option(
        "--trucks", min=1, max=50, help="trucks (default MEETNET_WASTE_TRUCKS)")] = None,
    capacity: Annotated[float | None, typer.Option(
        "--capacity", min=1, max=1_000_000,
        help="litres one truck takes (default MEETNET_WASTE_TRUCK_CAPACITY_L)")] = None,
    time_limit: Annotated[float | None, typer.Option(
        "--time-limit", min=0.01,
        help="solver seconds (default MEETNET_WASTE_ROUTE_TIME_LIMIT_S, at most "
             "MEETNET_WASTE_ROUTE_MAX_TIME_LIMIT_S)")] = None,
    threshold: Annotated[float, _THRESHOLD] = 80.0,
    as_json: Annotated[bool, _JSON] = False,
) -> None:
    """Plan the collection routes of a day over the bins an organisation owns: due bins must be
    visited, the others may be (PyVRP, prize-collecting VRP; see POST /v1/waste/routes). Shows
    the solver's progress on stderr."""
    from datetime import date as date_type

    import psycopg
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    from analytics import routing
    from api.reports.waste import plan_day, tomorrow
    from meetnet.cli import _require_dsn, _settings

    settings = _settings()
    day = date_type.fromisoformat(date) if date else tomorrow()
    limit = time_limit or settings.waste_route_time_limit_s
    if limit > settings.waste_route_max_time_limit_s:
        raise ValueError(f"--time-limit is at most {settings.waste_route_max_time_limit_s:g} "
                         "(MEETNET_WASTE_ROUTE_MAX_TIME_LIMIT_S)")
    err = Console(stderr=True)
    with psycopg.connect(_require_dsn(settings)) as conn:
        _check_org(conn, org)
        with Progress(TextColumn("solving"), BarColumn(), TimeRemainingColumn(),
                      console=err, transient=True) as bar:
            task = bar.add_task("solve", total=1.0)
            answer = plan_day(
                conn, org, day,
                depot=routing.Depot(settings.waste_depot_lat, settings.waste_depot_lon),
                trucks=trucks or settings.waste_trucks,
                capacity=capacity or settings.waste_truck_capacity_l,
                detour_factor=settings.waste_detour_factor, time_limit_s=limit,
                threshold=threshold, on_progress=lambda f: bar.update(task, completed=f))
    if as_json:
        typer.echo(answer.model_dump_json(indent=2))
        return
    # Bin names are the owners' text: never read as rich markup.
    out = Console(width=200, markup=False, highlight=False)
    out.print(f"routes of {org} on {day}: {len(answer.trucks)} trucks, {answer.km:.1f} km, "
              f"{sum(len(t.stops) for t in answer.trucks)} bins")
    for t in answer.trucks:
        out.print(f"truck {t.truck}: {t.km:.1f} km, {t.load_l:.0f} L")
        for n, s in enumerate(t.stops, start=1):
            out.print(f"  {n:3}. {s.dev_eui}  {s.fill_pct:5.1f} %  "
                      f"{'due ' if s.due else '    '} {s.name}")
    if answer.skipped:
        out.print(f"may wait: {len(answer.skipped)} bins")
    if answer.unserved:
        out.print(f"due but not on a route (capacity): {', '.join(answer.unserved)}")
    for np_ in answer.not_planned:
        out.print(f"not planned: {np_.dev_eui} {np_.name}: {np_.reason}")
