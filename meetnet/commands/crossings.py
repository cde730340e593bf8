"""`meetnet crossings ...`: Zebra crossings: counts and approach speeds (V85).

The operator's view (every organisation's counters) of the API's report, built by the same
function (api/reports/crossings.py); `--json` prints what the API answers."""

from __future__ import annotations

from typing import Annotated

import typer

from meetnet.commands import reports

crossings_app = typer.Typer(help="Zebra crossings: counts and approach speeds (V85).", no_args_is_help=True)


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.0f} %"


def _kmh(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f} km/h"


@crossings_app.command("report")
def report(
    dev_eui: Annotated[str, typer.Argument(help="the crossing counter's dev_eui")],
    from_: Annotated[str | None, reports.FROM] = None,
    to: Annotated[str | None, reports.TO] = None,
    bucket: Annotated[str, typer.Option(help="15m, 1h or 1d (local days)")] = "1h",
    as_json: Annotated[bool, reports.JSON] = False,
) -> None:
    """A crossing counter's report over a period: pedestrians and vehicles per bucket and
    direction, and for a speed radar V85, mean speed and the shares over the limit (the same
    report as GET /v1/crossings/{dev_eui}/report, for any registered device)."""
    from typing import cast, get_args

    from api.problems import Problem
    from api.reports.crossings import Bucket, build_report
    from store import devices

    if bucket not in get_args(Bucket):
        typer.echo(f"error: bucket must be 15m, 1h or 1d, not {bucket!r}", err=True)
        raise typer.Exit(2)
    start, end = reports.period(from_, to)
    with reports.connect() as conn:
        device = reports.device(conn, dev_eui)
        info = devices.get_device(conn, device.dev_eui)
        if info is None or info.use_case != "crossing":
            typer.echo(f"error: {dev_eui} is not a registered crossing counter", err=True)
            raise typer.Exit(1)
        try:
            out = build_report(conn, info, device.name, start, end, cast(Bucket, bucket))
        except Problem as exc:
            typer.echo(f"error: {exc.detail or exc.title}", err=True)
            raise typer.Exit(2) from None
    if as_json:
        reports.dump(out)
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
