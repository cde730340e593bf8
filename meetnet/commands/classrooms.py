"""`meetnet classrooms ...`: Classrooms: lesson-time CO2 classes, peaks and ventilation.

The operator's view (every organisation's classrooms) of the API's reports, built by the same
functions (api/reports/classrooms.py); `--json` prints what the API answers."""

from __future__ import annotations

from typing import Annotated

import typer

from meetnet.commands import reports

classrooms_app = typer.Typer(
    help="Classrooms: lesson-time CO2 classes, peaks and ventilation.", no_args_is_help=True
)


@classrooms_app.command("report")
def report(
    dev_eui: Annotated[str, typer.Argument(help="the classroom sensor's dev_eui")],
    from_: Annotated[str | None, reports.FROM] = None,
    to: Annotated[str | None, reports.TO] = None,
    as_json: Annotated[bool, reports.JSON] = False,
) -> None:
    """One classroom: share of lesson time per Frisse Scholen class, daily peaks and the
    ventilation by CO2 decay (as GET /v1/classrooms/{dev_eui}/report)."""
    from api.reports.classrooms import room_report

    start, end = reports.period(from_, to)
    with reports.connect() as conn:
        r = room_report(conn, reports.device(conn, dev_eui), start, end)
    if as_json:
        reports.dump(r)
        return
    v = r.ventilation
    reports.table(f"{r.name} ({r.dev_eui}), {start:%Y-%m-%d %H:%M} - {end:%Y-%m-%d %H:%M} UTC",
                  ["figure", "value"],
                  [("CO2 readings", r.readings), ("lesson hours", r.lesson_hours),
                   *[(f"class {k} (lesson time)", f"{share:.0%}")
                     for k, share in r.class_shares.items()],
                   ("CO2 mean / max ppm", f"{_num(r.co2_mean_ppm)} / {_num(r.co2_max_ppm)}"),
                   ("air changes per hour", v.air_changes_per_hour if v.reason is None
                    else v.reason),
                   ("dm3/s per pupil", v.per_pupil_dm3_s)])


@classrooms_app.command("school")
def school(
    organisation: Annotated[str, typer.Argument(help="the school's organisation slug")],
    from_: Annotated[str | None, reports.FROM] = None,
    to: Annotated[str | None, reports.TO] = None,
    as_json: Annotated[bool, reports.JSON] = False,
) -> None:
    """All of a school's classrooms side by side and the school's figures (as
    GET /v1/schools/{organisation}/report, over every classroom of the organisation)."""
    from api.reports.classrooms import MAX_ROOMS, school_report
    from store import queries

    start, end = reports.period(from_, to)
    with reports.connect() as conn:
        # The organisation itself sees all its own classrooms: the operator's view of them.
        rooms = queries.list_devices(
            conn, organisation=organisation,
            where=queries.DeviceFilter(owner=organisation, use_case="classroom"),
            limit=MAX_ROOMS + 1)
        if not rooms:
            raise ValueError(f"no classrooms of organisation {organisation!r}")
        r = school_report(conn, organisation, rooms, start, end)
    if as_json:
        reports.dump(r)
        return
    reports.table(
        f"{organisation}: {r.summary.rooms} rooms, {r.summary.lesson_hours:.1f} lesson hours; "
        f"median air changes {_num(r.summary.median_air_changes_per_hour)}/h",
        ["room", "dev_eui", "lesson h", "A", "B", "C", "-", "ACH"],
        [(room.name, room.dev_eui, room.lesson_hours,
          *[f"{room.class_shares.get(k, 0.0):.0%}" for k in ("A", "B", "C", "-")],
          room.ventilation.air_changes_per_hour) for room in r.rooms])


def _num(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}"
