"""/water: the water manager's page. Every gauge the visitor may see: its level (m NAP) over the
period against its target band, the rate of rise now and at most, and the rise alarms
(docs/domain.md, "Water level").

The figures are the water report's (`api.reports.water.report`, behind
`GET /v1/water/{dev_eui}/report`) over the same period (`from`, `to`; default the last 7 days);
the line is the same readings after the same spike filter (`analytics.water.filter_spikes`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import psycopg
from fastapi import Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from analytics import water
from api.deps import Conn
from api.pages import i18n
from api.pages.i18n import Lang
from api.pages.render import LOCAL, PageCaller, page_lang, page_router, render
from api.pages.svg import Band, line_chart
from api.params import ReportFrom, ReportTo, report_window
from api.reports import water as reports
from api.reports.water import WaterReport
from store import queries

router = page_router()

i18n.add({
    "nl": {
        "water.title": "Waterpeil",
        "water.intro": "{count} peilmeters. Peil in meter ten opzichte van NAP; stijging in "
                       "centimeter per uur.",
        "water.period": "{start} tot {end}",
        "water.none": "Er zijn geen peilmeters die u mag zien.",
        "water.truncated": "Alleen de eerste {count} peilmeters staan hier.",
        "water.level": "Peil",
        "water.level.at": "om {time}",
        "water.level.none": "Geen metingen in deze periode.",
        "water.target": "Streefpeil",
        "water.target.band": "{lower} tot {upper} m NAP",
        "water.target.none": "geen streefpeil ingesteld",
        "water.deviation": "{cm} cm van het streefpeil ({band})",
        "water.rise": "Stijging nu",
        "water.rise.max": "hoogste {rate} cm/u in deze periode; alarm vanaf {threshold} cm/u",
        "water.alarms": "Alarmen: snelle stijging",
        "water.alarms.none": "Geen stijgingsalarm in deze periode.",
        "water.alarm": "{start} tot {end}: tot {rate} cm/u",
        "water.chart": "Peil van {name} in m NAP",
        "water.band.target": "streef ±5 cm",
        "water.band.band": "streefband",
        "water.spikes": "{count} losse uitschieters weggefilterd",
        "water.rate": "{rate} cm/u",
        "water.deviation.within": "binnen {cm} cm",
        "water.deviation.over": "{cm} cm of meer",
    },
    "en": {
        "water.title": "Water level",
        "water.intro": "{count} gauges. Levels in metres relative to NAP; rise in centimetres "
                       "per hour.",
        "water.period": "{start} to {end}",
        "water.none": "There are no gauges you may see.",
        "water.truncated": "Only the first {count} gauges are shown.",
        "water.level": "Level",
        "water.level.at": "at {time}",
        "water.level.none": "No readings in this period.",
        "water.target": "Target",
        "water.target.band": "{lower} to {upper} m NAP",
        "water.target.none": "no target set",
        "water.deviation": "{cm} cm from the target ({band})",
        "water.rise": "Rise now",
        "water.rise.max": "highest {rate} cm/h in this period; alarm from {threshold} cm/h",
        "water.alarms": "Alarms: fast rise",
        "water.alarms.none": "No rise alarm in this period.",
        "water.alarm": "{start} to {end}: up to {rate} cm/h",
        "water.chart": "Level of {name} in m NAP",
        "water.band.target": "target ±5 cm",
        "water.band.band": "target band",
        "water.spikes": "{count} isolated spikes filtered out",
        "water.rate": "{rate} cm/h",
        "water.deviation.within": "within {cm} cm",
        "water.deviation.over": "{cm} cm or more",
    },
})

#: Gauges on one page: each is two queries and a pandas pass.
MAX_GAUGES = 50
#: Points per line: more than a phone's width in pixels shows nothing more.
MAX_POINTS = 600
#: Half the height of the band drawn around a single target level: the water board's first
#: deviation band (analytics.water.DEVIATION_BANDS_CM).
TARGET_BAND_M = water.DEVIATION_BANDS_CM[0] / 100
#: A gap this long in the readings breaks the line (10-minute uplinks: three missed).
MAX_GAP = timedelta(minutes=35)


def thin(levels: pd.Series, max_points: int = MAX_POINTS) -> list[tuple[datetime, float]]:
    """At most ``max_points`` (time, level) points: the mean per equal slice of time when there
    are more, so a week of 10-minute readings is a line a phone can draw."""
    if levels.empty:
        return []
    if len(levels) > max_points:
        span = levels.index[-1] - levels.index[0]
        step = max(span / max_points, pd.Timedelta(seconds=1))
        levels = levels.resample(step).mean().dropna()
    return [(t.to_pydatetime(), float(v)) for t, v in levels.items()]


def y_range(points: list[tuple[datetime, float]], report: WaterReport
            ) -> tuple[float, float]:
    """The value axis: the levels and the target band with 5 cm to spare, in whole 5 cm."""
    values = [v for _, v in points if math.isfinite(v)]
    if report.target is not None:
        values += [report.target.lower_nap_m - TARGET_BAND_M,
                   report.target.upper_nap_m + TARGET_BAND_M]
    if not values:
        return -1.0, 0.0
    low = math.floor((min(values) - 0.05) * 20) / 20
    high = math.ceil((max(values) + 0.05) * 20) / 20
    return low, high


def bands(report: WaterReport, lang: Lang) -> list[Band]:
    """The target: a band as configured, or a single level with the water board's 5 cm."""
    if report.target is None:
        return []
    lower, upper = report.target.lower_nap_m, report.target.upper_nap_m
    if report.target.kind == "band" and upper > lower:
        return [Band(lower, upper, "#1b873f", i18n.text(lang, "water.band.band"))]
    return [Band(lower - TARGET_BAND_M, upper + TARGET_BAND_M, "#1b873f",
                 i18n.text(lang, "water.band.target"))]


def deviation_band(report: WaterReport, lang: Lang) -> str:
    """The water board's deviation band in the page's language, from the report's band numbers
    (its ``deviation_band`` is English)."""
    lower, upper = report.deviation_band_lower_cm, report.deviation_band_upper_cm
    if lower is None:
        return report.deviation_band or ""
    if lower <= 0 and upper is not None:
        return i18n.text(lang, "water.deviation.within", cm=i18n.number(upper, lang))
    return i18n.text(lang, "water.deviation.over", cm=i18n.number(lower, lang))


@dataclass(frozen=True, slots=True)
class GaugeView:
    report: WaterReport
    chart: Markup
    band: str  # the deviation band, in the page's language
    rising: bool  # the rate of rise now is at or over the gauge's alarm threshold


def levels(conn: psycopg.Connection[Any], eui: str, start: datetime, end: datetime
           ) -> pd.Series:
    """The gauge's levels as the report reads them, spikes removed as the report removes them."""
    points = queries.readings(conn, eui, "water_level", start=start, end=end,
                              limit=reports.MAX_POINTS)
    series = pd.Series([p.value for p in points],
                       index=pd.DatetimeIndex([p.time for p in points]), dtype=float)
    kept, _ = water.filter_spikes(series)
    return kept


def gauge_view(conn: psycopg.Connection[Any], device: queries.DeviceRow, start: datetime,
               end: datetime, lang: Lang) -> GaugeView:
    report = reports.report(conn, device, start, end)
    points = thin(levels(conn, device.dev_eui, start, end))
    low, high = y_range(points, report)
    chart = line_chart(points, start=start, end=end, bands=bands(report, lang), y_min=low,
                       y_max=high, fmt=lambda v: i18n.number(v, lang, 2), tz=LOCAL,
                       max_gap=MAX_GAP, title=i18n.text(lang, "water.chart", name=device.name),
                       height=260, stroke="#1f5f99")
    rising = report.rise_cm_h is not None and report.rise_cm_h >= report.rise_threshold_cm_h
    return GaugeView(report=report, chart=chart, band=deviation_band(report, lang),
                     rising=rising)


@router.get("/water")
def water_page(request: Request, conn: Conn, who: PageCaller, from_: ReportFrom = None,
               to: ReportTo = None) -> HTMLResponse:
    """Every visible gauge against its target, with its rise and alarms (docs/pages.md)."""
    lang = page_lang(request)
    start, end = report_window(from_, to)
    gauges = queries.list_devices(conn, use_case="water", organisation=who.organisation,
                                  limit=MAX_GAUGES + 1)
    views = [gauge_view(conn, g, start, end, lang) for g in gauges[:MAX_GAUGES]]
    return render(request, "water.html", lang=lang, who=who, gauges=views, start=start,
                  end=end, truncated=len(gauges) > MAX_GAUGES, max_gauges=MAX_GAUGES)
