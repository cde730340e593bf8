"""Classroom air in Frisse Scholen classes (Meet de Klas). The builders are in
api/reports/classrooms.py, shared with `meetnet classrooms`."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path

from api.deps import Caller, Conn, visible_device
from api.params import ReportFrom, ReportTo, report_window
from api.problems import Problem, responses
from api.reports import classrooms as reports
from api.reports.classrooms import ClassroomReport, SchoolReport
from store import queries

router = APIRouter(tags=["classrooms"])

#: Longest period of one report (a school year and a day), for one room and for a school.
MAX_RANGE = timedelta(days=366)


@router.get("/classrooms/{dev_eui}/report", response_model=ClassroomReport,
            summary="Time per Frisse Scholen class", responses=responses(400, 404))
def classroom_report(
    dev_eui: Annotated[str, Path(description="the classroom sensor's dev_eui",
                                 examples=["a81758fffe0399aa"], max_length=64)],
    conn: Conn,
    caller: Caller,
    from_: ReportFrom = None,
    to: ReportTo = None,
) -> ClassroomReport:
    device = visible_device(conn, caller, dev_eui)
    start, end = report_window(from_, to, longest=MAX_RANGE)
    return reports.room_report(conn, device, start, end)


@router.get("/schools/{organisation}/report", response_model=SchoolReport,
            summary="Frisse Scholen classes of all of a school's classrooms",
            responses=responses(400, 404))
def school_report(
    organisation: Annotated[str, Path(description="the school's organisation slug",
                                      examples=["obs-de-regenboog"], max_length=64)],
    conn: Conn,
    caller: Caller,
    from_: ReportFrom = None,
    to: ReportTo = None,
) -> SchoolReport:
    """The classroom reports of the organisation's classroom devices the caller may see, side
    by side, and the school's figures over them. No visible classroom is a 404 whether the
    organisation exists or not, so the answer does not tell a private school from none."""
    start, end = report_window(from_, to, longest=MAX_RANGE)
    devices = queries.list_devices(
        conn, organisation=caller.organisation,
        where=queries.DeviceFilter(owner=organisation, use_case="classroom"),
        limit=reports.MAX_ROOMS + 1)
    if not devices:
        raise Problem(404, "school-not-found", "School not found",
                      f"no visible classrooms of {organisation!r}")
    return reports.school_report(conn, organisation, devices, start, end)
