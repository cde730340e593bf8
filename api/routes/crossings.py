"""Zebra crossing analytics over the API (issue 11). The builder is in
api/reports/crossings.py, shared with `meetnet crossings report`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from api.deps import Caller, Conn, visible_device
from api.params import ReportFrom, ReportTo, report_window
from api.problems import Problem, responses
from api.reports.crossings import Bucket, CrossingReport, build_report
from store import devices

router = APIRouter(tags=["crossings"])


@router.get("/crossings/{dev_eui}/report", response_model=CrossingReport,
            summary="Pedestrians and vehicles per bucket, V85 and speeds over the limit",
            responses=responses(400, 404))
def crossing_report(
    dev_eui: Annotated[str, Path(description="a crossing counter's dev_eui (radar or people "
                                             "counter)", examples=["70b3d5c1d2e3f4a5"],
                                 max_length=64)],
    conn: Conn,
    caller: Caller,
    from_: ReportFrom = None,
    to: ReportTo = None,
    bucket: Annotated[Bucket, Query(description="15m, 1h or 1d (local days)")] = "1h",
) -> CrossingReport:
    """One crossing counter's report: a radar gives vehicles per direction and, when its
    uplinks carry speed classes (Parametric TCR), V85, mean speed and the shares over the
    limit and the limit + 5 km/h of the period's merged histogram; a people counter gives
    pedestrians per direction. The two counters of a crossing are reported each on its own."""
    device = visible_device(conn, caller, dev_eui)
    start, end = report_window(from_, to)
    info = devices.get_device(conn, device.dev_eui)
    if info is None or info.use_case != "crossing":
        raise Problem(400, "not-a-crossing", "Not a crossing counter",
                      f"device {device.dev_eui} is a {device.use_case} device, not a crossing "
                      "counter")
    return build_report(conn, info, device.name, start, end, bucket)
