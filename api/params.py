"""Query parameters and checks that several routers share: the period of a report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import Query

from api.problems import Problem

#: A report covers this long before `to` unless `from` is given.
REPORT_DEFAULT = timedelta(days=7)
#: The longest period one report may cover: a school year and more, leap years included.
REPORT_MAX = timedelta(days=366)

ReportFrom = Annotated[datetime | None, Query(
    alias="from", description="RFC 3339; default: 7 days before `to`",
    examples=["2026-11-16T08:00:00Z"])]
ReportTo = Annotated[datetime | None, Query(
    description="RFC 3339; default: now", examples=["2026-11-23T08:00:00Z"])]


def report_window(from_: datetime | None, to: datetime | None, *,
                  longest: timedelta = REPORT_MAX) -> tuple[datetime, datetime]:
    """A report's period: default the 7 days before `to` (default now), at most ``longest``;
    a time without offset, `to` before `from` or a period too long is a 400 problem."""
    end = to or datetime.now(UTC)
    try:
        start = from_ or end - REPORT_DEFAULT
    except OverflowError as exc:
        raise Problem(400, "invalid-time", "Time out of range",
                      "`to` is too early for the default 7-day window") from exc
    if start.tzinfo is None or end.tzinfo is None:
        raise Problem(400, "naive-time", "Time without timezone",
                      "`from` and `to` need a time zone offset (RFC 3339)")
    if start > end:
        raise Problem(400, "invalid-range", "Invalid range", "`to` is before `from`")
    if end - start > longest:
        raise Problem(400, "range-too-long", "Range too long",
                      f"at most {longest.days} days per report")
    return start, end
