"""Water analytics over the API (issue 11): level against target, rate of rise and its alarms,
and measuring points compared (docs/domain.md, "Water level"). The builders are in
api/reports/water.py, shared with `meetnet water`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import Caller, Conn, visible_device
from api.params import ReportFrom, ReportTo, report_window
from api.problems import Problem, responses
from api.reports import water as reports
from api.reports.water import WaterComparison, WaterReport

router = APIRouter(tags=["water"])


@router.get("/water/{dev_eui}/report", response_model=WaterReport,
            summary="Water level against target, rate of rise and alarms",
            responses=responses(404))
def water_report(
    dev_eui: Annotated[str, Path(description="the water gauge's dev_eui",
                                 examples=["24e124fffe0a1b2c"], max_length=64)],
    conn: Conn,
    caller: Caller,
    from_: ReportFrom = None,
    to: ReportTo = None,
) -> WaterReport:
    device = visible_device(conn, caller, dev_eui)
    start, end = report_window(from_, to)
    return reports.report(conn, device, start, end)


@router.get("/water/compare", response_model=WaterComparison,
            summary="Measuring points compared with a reference gauge",
            responses=responses(400, 404))
def water_compare(
    conn: Conn,
    caller: Caller,
    dev_eui: Annotated[list[str], Query(
        description=f"the gauges, 2 to {reports.MAX_GAUGES} (repeat the parameter); the "
                    "first is the reference unless `reference` says otherwise",
        examples=[["24e124fffe0a0001", "24e124fffe0a0002"]])],
    reference: Annotated[str | None, Query(
        description="dev_eui of the gauge the others are compared with; one of `dev_eui`",
        examples=["24e124fffe0a0001"], max_length=64)] = None,
    from_: ReportFrom = None,
    to: ReportTo = None,
) -> WaterComparison:
    """The level difference of each gauge from the reference over the period: a water manager
    compares the points along one water (upstream and downstream, boezem and polder, a new
    gauge beside a trusted one), which may belong to different organisations, so the gauges
    are named, not taken from one organisation. Every gauge must be visible to the caller
    (else a 404, as for one gauge)."""
    euis = list(dict.fromkeys(e.lower() for e in dev_eui))
    if not 2 <= len(euis) <= reports.MAX_GAUGES:
        raise Problem(400, "gauge-count", "Wrong number of gauges",
                      f"compare 2 to {reports.MAX_GAUGES} distinct gauges (`dev_eui` repeated)")
    if any(len(e) > 64 for e in euis):
        raise Problem(400, "invalid-dev-eui", "Invalid dev_eui", "a dev_eui is at most 64 "
                      "characters")
    ref = reference.lower() if reference is not None else None
    if ref is not None and ref not in euis:
        raise Problem(400, "invalid-reference", "Reference not compared",
                      "`reference` must be one of the `dev_eui` values")
    start, end = report_window(from_, to)
    gauges = [visible_device(conn, caller, e) for e in euis]
    return reports.compare(conn, gauges, start, end, reference=ref)
