"""`meetnet crossings ...`: Zebra crossings: counts and approach speeds (V85)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

crossings_app = typer.Typer(help="Zebra crossings: counts and approach speeds (V85).", no_args_is_help=True)


def _aware(t: datetime | None) -> datetime | None:
    return t if t is None or t.tzinfo else t.replace(tzinfo=UTC)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def _kmh(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} km/h"


@crossings_app.command("report")
def report(
    dev_eui: Annotated[str, typer.Argument(help="the crossing counter's dev_eui")],
    from_: Annotated[datetime | None, typer.Option("--from", help="start (UTC if no offset; "
                                                   "default: 7 days before --to)")] = None,
    to: Annotated[datetime | None, typer.Option(help="end, exclusive (default: now)")] = None,
    bucket: Annotated[str, typer.Option(help="15m, 1h or 1d (local days)")] = "1h",
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON report")] = False,
) -> None:
    """A crossing counter's report over a period: pedestrians and vehicles per bucket and
    direction, and for a speed radar V85, mean speed and the shares over the limit (the same
    report as GET /v1/crossings/{dev_eui}/report, for any registered device)."""
    import psycopg

    from api.params import report_window
    from api.problems import Problem
    from api.routes.crossings import build_report
    from meetnet.settings import Settings
    from store import crossings, devices

    if bucket not in ("15m", "1h", "1d"):
        typer.echo(f"error: bucket must be 15m, 1h or 1d, not {bucket!r}", err=True)
        raise typer.Exit(2)
    dsn = Settings().database_dsn()
    if not dsn:
        typer.echo("MEETNET_DATABASE_URL is not set (postgresql://user:pass@host:5432/db).",
                   err=True)
        raise typer.Exit(2)
    with psycopg.connect(dsn, autocommit=True) as conn:
        try:
            start, end = report_window(_aware(from_), _aware(to))
            info = devices.get_device(conn, dev_eui.lower())
            if info is None or info.use_case != "crossing":
                typer.echo(f"error: {dev_eui} is not a registered crossing counter", err=True)
                raise typer.Exit(1)
            out = build_report(conn, info, crossings.device_name(conn, info.dev_eui), start, end,
                               bucket)
        except Problem as exc:
            typer.echo(f"error: {exc.detail or exc.title}", err=True)
            raise typer.Exit(2) from None
    if as_json:
        typer.echo(out.model_dump_json(indent=2))
        return
    typer.echo(f"{out.name or out.dev_eui} ({out.model}), {out.start:%Y-%m-%d %H:%M} .. "
               f"{out.end:%Y-%m-%d %H:%M} UTC")
    for series, total in out.totals.items():
        typer.echo(f"  {series:<16} {total:>8}")
    for s in out.speeds:
        typer.echo(f"  {s.direction}: {s.vehicles} vehicles, V85 {_kmh(s.v85_kmh)}, mean "
                   f"{_kmh(s.mean_kmh)}, over {out.speed_limit_kmh:g} km/h "
                   f"{_pct(s.share_over_limit)}, over {out.speed_limit_kmh + out.margin_kmh:g} "
                   f"km/h {_pct(s.share_over_limit_margin)}")
