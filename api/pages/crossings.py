"""/crossings/{dev_eui}: a zebra crossing counter's page for the traffic officer. Counts per
hour (the last 24 hours of the period) and per local day and direction, and for a speed radar
the V85 per direction against the crossing's limit (docs/domain.md, "Zebra crossings").

Everything comes from the crossing report builder behind `GET /v1/crossings/{dev_eui}/report`
(`api.reports.crossings.build_report`), over the same period (`from`, `to`; default the last 7
days) in hourly buckets; the daily counts are the hourly buckets summed per local day.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated

from fastapi import Path, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from api.deps import Conn, visible_device
from api.pages import i18n
from api.pages.i18n import Lang
from api.pages.render import PageCaller, error_page, page_lang, page_router, render
from api.pages.svg import Bar, bar_chart
from api.params import ReportFrom, ReportTo, report_window
from api.reports.crossings import CountBucket, CrossingReport, DirectionSpeeds, build_report
from store import devices, queries

router = page_router()

i18n.add({
    "nl": {
        "crossing.title": "{name}",  # the names say "Zebrapad ..." already
        "crossing.period": "{start} tot {end}",
        "crossing.not_a_crossing": "Apparaat {dev_eui} is geen teller van een zebrapad.",
        "crossing.series.pedestrians_in": "voetgangers in",
        "crossing.series.pedestrians_out": "voetgangers uit",
        "crossing.series.vehicles_ltr": "voertuigen links → rechts",
        "crossing.series.vehicles_rtl": "voertuigen rechts → links",
        "crossing.direction.ltr": "links → rechts",
        "crossing.direction.rtl": "rechts → links",
        "crossing.totals": "Totaal in deze periode",
        "crossing.hourly": "Per uur, de laatste 24 uur",
        "crossing.hourly.chart": "{series} per uur",
        "crossing.daily": "Per dag",
        "crossing.col.day": "Dag",
        "crossing.col.total": "Totaal",
        "crossing.none": "Geen tellingen in deze periode.",
        "crossing.speeds": "Snelheid per richting (limiet {limit} km/u)",
        "crossing.speeds.chart": "V85 per richting tegen de limiet van {limit} km/u",
        "crossing.speeds.none": "Deze teller meet geen snelheden.",
        "crossing.col.direction": "Richting",
        "crossing.col.vehicles": "Voertuigen",
        "crossing.col.v85": "V85",
        "crossing.col.mean": "Gemiddeld",
        "crossing.col.over": "Boven {limit} km/u",
        "crossing.v85.over": "te hard",
        "crossing.v85.ok": "binnen de limiet",
        "crossing.v85.explain": "V85: de snelheid die 85 % van de voertuigen niet overschrijdt, "
                                "uit de snelheidsklassen van de radar over de hele periode.",
        "crossing.others": "Andere tellers",
        "crossing.limit": "limiet",
    },
    "en": {
        "crossing.title": "{name}",
        "crossing.period": "{start} to {end}",
        "crossing.not_a_crossing": "Device {dev_eui} is not a zebra crossing counter.",
        "crossing.series.pedestrians_in": "pedestrians in",
        "crossing.series.pedestrians_out": "pedestrians out",
        "crossing.series.vehicles_ltr": "vehicles left → right",
        "crossing.series.vehicles_rtl": "vehicles right → left",
        "crossing.direction.ltr": "left → right",
        "crossing.direction.rtl": "right → left",
        "crossing.totals": "Totals in this period",
        "crossing.hourly": "Per hour, the last 24 hours",
        "crossing.hourly.chart": "{series} per hour",
        "crossing.daily": "Per day",
        "crossing.col.day": "Day",
        "crossing.col.total": "Total",
        "crossing.none": "No counts in this period.",
        "crossing.speeds": "Speed per direction (limit {limit} km/h)",
        "crossing.speeds.chart": "V85 per direction against the limit of {limit} km/h",
        "crossing.speeds.none": "This counter measures no speeds.",
        "crossing.col.direction": "Direction",
        "crossing.col.vehicles": "Vehicles",
        "crossing.col.v85": "V85",
        "crossing.col.mean": "Mean",
        "crossing.col.over": "Over {limit} km/h",
        "crossing.v85.over": "too fast",
        "crossing.v85.ok": "within the limit",
        "crossing.v85.explain": "V85: the speed 85 % of vehicles do not exceed, from the radar's "
                                "speed classes over the whole period.",
        "crossing.others": "Other counters",
        "crossing.limit": "limit",
    },
})

SERIES = ("pedestrians_in", "pedestrians_out", "vehicles_ltr", "vehicles_rtl")
SERIES_COLOURS = {"pedestrians_in": "#7b1fa2", "pedestrians_out": "#ba68c8",
                  "vehicles_ltr": "#1f5f99", "vehicles_rtl": "#4f9fd9"}
OK_COLOUR, OVER_COLOUR = "#1b873f", "#d32f2f"


def series_of(report: CrossingReport) -> list[str]:
    """The series this counter gives (people or vehicles per direction), in a fixed order."""
    present = set(report.totals)
    for b in report.buckets:
        present |= {s for s in SERIES if getattr(b, s) is not None}
    return [s for s in SERIES if s in present]


def _count(bucket: CountBucket, series: str) -> int:
    value = getattr(bucket, series)
    return int(value) if value is not None else 0


@dataclass(frozen=True, slots=True)
class DayCounts:
    day: date
    counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def daily(report: CrossingReport, series: list[str]) -> list[DayCounts]:
    """The hourly buckets summed per local day (their start carries the local offset, so a
    day is the local calendar day, 23 or 25 hours at a DST switch)."""
    days: dict[date, dict[str, int]] = defaultdict(lambda: dict.fromkeys(series, 0))
    for b in report.buckets:
        for s in series:
            days[b.start.date()][s] += _count(b, s)
    return [DayCounts(d, c) for d, c in sorted(days.items())]


def last_hours(report: CrossingReport, hours: int = 24) -> list[CountBucket]:
    """The buckets of the last ``hours`` of the period."""
    since = report.end - timedelta(hours=hours)
    return [b for b in report.buckets if b.start >= since]


def hourly_charts(report: CrossingReport, series: list[str], lang: Lang) -> list[tuple[str, Markup]]:
    buckets = last_hours(report)
    charts: list[tuple[str, Markup]] = []
    for s in series:
        label = i18n.text(lang, f"crossing.series.{s}")
        bars = [Bar(label=b.start.strftime("%H"), value=float(_count(b, s)),
                    colour=SERIES_COLOURS[s], text=i18n.number(_count(b, s), lang))
                for b in buckets]
        charts.append((s, bar_chart(bars, title=i18n.text(lang, "crossing.hourly.chart",
                                                          series=label),
                                    label_every=3, height=240)))
    return charts


def over_limit(speeds: DirectionSpeeds, limit_kmh: float) -> bool | None:
    return None if speeds.v85_kmh is None else speeds.v85_kmh > limit_kmh


def v85_chart(report: CrossingReport, lang: Lang) -> Markup | None:
    """V85 per direction as bars, red over the limit, the limit as a grey bar beside them."""
    if not report.speeds:
        return None
    limit = report.speed_limit_kmh
    bars = [Bar(label=i18n.text(lang, "crossing.direction." + s.direction),
                value=s.v85_kmh or 0.0,
                colour=OVER_COLOUR if over_limit(s, limit) else OK_COLOUR,
                text=f"{i18n.number(s.v85_kmh, lang, 1)} km/h")
            for s in report.speeds]
    bars.append(Bar(label=i18n.text(lang, "crossing.limit"), value=limit, colour="#8a949e",
                    text=f"{i18n.number(limit, lang)} km/h"))
    top = max([b.value for b in bars] + [limit]) * 1.25
    return bar_chart(bars, title=i18n.text(lang, "crossing.speeds.chart",
                                           limit=i18n.number(limit, lang)),
                     max_value=top, height=240)


@router.get("/crossings/{dev_eui}")
def crossing_page(request: Request, conn: Conn, who: PageCaller,
                  dev_eui: Annotated[str, Path(max_length=64)],
                  from_: ReportFrom = None, to: ReportTo = None) -> HTMLResponse:
    """One crossing counter: counts per hour and day and direction, V85 per direction."""
    lang = page_lang(request)
    device = visible_device(conn, who, dev_eui)
    info = devices.get_device(conn, device.dev_eui)
    if info is None or info.use_case != "crossing":
        return error_page(request, 404, i18n.text(lang, "crossing.not_a_crossing",
                                                  dev_eui=device.dev_eui))
    start, end = report_window(from_, to)
    report = build_report(conn, info, device.name, start, end, "1h")
    series = series_of(report)
    others = [d for d in queries.list_devices(conn, use_case="crossing",
                                              organisation=who.organisation, limit=50)
              if d.dev_eui != device.dev_eui]
    return render(request, "crossing.html", lang=lang, who=who, report=report, series=series,
                  days=daily(report, series), hourly=hourly_charts(report, series, lang),
                  v85=v85_chart(report, lang), over_limit=over_limit, others=others)
