"""`meetnet water ...`: Surface water: level against target and rate-of-rise alarms.

The operator's view (every organisation's gauges) of the API's reports, built by the same
functions (api/reports/water.py); `--json` prints what the API answers."""

from __future__ import annotations

from typing import Annotated

import typer

from meetnet.commands import reports

water_app = typer.Typer(
    help="Surface water: level against target and rate-of-rise alarms.", no_args_is_help=True
)


@water_app.command("report")
def report(
    dev_eui: Annotated[str, typer.Argument(help="the gauge's dev_eui")],
    from_: Annotated[str | None, reports.FROM] = None,
    to: Annotated[str | None, reports.TO] = None,
    as_json: Annotated[bool, reports.JSON] = False,
) -> None:
    """One gauge: level against its target, rate of rise and alarms (as
    GET /v1/water/{dev_eui}/report)."""
    from api.reports.water import report as build

    start, end = reports.period(from_, to)
    with reports.connect() as conn:
        r = build(conn, reports.device(conn, dev_eui), start, end)
    if as_json:
        reports.dump(r)
        return
    target = None if r.target is None else (
        f"{r.target.lower_nap_m:+.2f}" if r.target.lower_nap_m == r.target.upper_nap_m
        else f"{r.target.lower_nap_m:+.2f} .. {r.target.upper_nap_m:+.2f}")
    reports.table(f"{r.name} ({r.dev_eui}), {start:%Y-%m-%d %H:%M} - {end:%Y-%m-%d %H:%M} UTC",
                  ["figure", "value"],
                  [("readings (spikes removed)", f"{r.readings} ({r.spikes_removed})"),
                   ("level m NAP", r.level_nap_m), ("target m NAP", target),
                   ("deviation cm", None if r.deviation_cm is None
                    else f"{r.deviation_cm:.1f} ({r.deviation_band})"),
                   ("rise now cm/h", r.rise_cm_h), ("max rise cm/h", r.max_rise_cm_h),
                   ("rise alarms", f"{len(r.alarms)} (threshold {r.rise_threshold_cm_h:g} "
                                   "cm/h)")])
    for a in r.alarms:
        typer.echo(f"alarm {a.start:%Y-%m-%d %H:%M} - {a.end:%H:%M} UTC: up to "
                   f"{a.max_rate_cm_h:.1f} cm/h")


@water_app.command("compare")
def compare(
    dev_euis: Annotated[list[str], typer.Argument(help="2 to 20 gauges; the first is the "
                                                       "reference unless --reference")],
    reference: Annotated[str | None, typer.Option(help="dev_eui of the reference gauge")
                         ] = None,
    from_: Annotated[str | None, reports.FROM] = None,
    to: Annotated[str | None, reports.TO] = None,
    as_json: Annotated[bool, reports.JSON] = False,
) -> None:
    """Gauges side by side: each one's level difference from the reference over the 10-minute
    buckets all of them share (as GET /v1/water/compare)."""
    from api.reports.water import MAX_GAUGES
    from api.reports.water import compare as build

    euis = list(dict.fromkeys(e.lower() for e in dev_euis))
    if not 2 <= len(euis) <= MAX_GAUGES:
        raise ValueError(f"compare 2 to {MAX_GAUGES} distinct gauges")
    ref = reference.lower() if reference is not None else None
    if ref is not None and ref not in euis:
        raise ValueError("--reference must be one of the gauges compared")
    start, end = reports.period(from_, to)
    with reports.connect() as conn:
        r = build(conn, [reports.device(conn, e) for e in euis], start, end, reference=ref)
    if as_json:
        reports.dump(r)
        return
    reports.table(f"against {r.reference}: {r.common_buckets} common {r.bucket_minutes}-minute "
                  "buckets", ["gauge", "dev_eui", "readings", "mean m NAP", "diff mean cm",
                              "min", "max", "newest"],
                  [(g.name, g.dev_eui, g.readings, g.mean_level_nap_m,
                    *((None,) * 4 if g.difference_cm is None else (
                        g.difference_cm.mean, g.difference_cm.min, g.difference_cm.max,
                        g.difference_cm.newest))) for g in r.gauges])
