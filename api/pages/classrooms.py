"""/classrooms/{dev_eui} and /schools/{organisation}: the air in a classroom for the teacher
and the smartboard, and a school's rooms side by side.

The air now is `/v1/latest`'s data (`store.queries.latest`); the week is the classroom report
of `/v1/classrooms/{dev_eui}/report` and the school the report of `/v1/schools/{organisation}/
report` (`api/reports/classrooms.py`, one copy of the logic); the classes and their limits are
analytics/classroom.py's (Programma van Eisen Frisse Scholen 2021).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from analytics.classroom import (
    DECAY_MIN_EXCESS_PPM,
    DECAY_MIN_MINUTES,
    FrisseScholen,
    co2_class,
)
from api.deps import Conn, visible_device
from api.pages import i18n
from api.pages.i18n import Lang
from api.pages.render import LOCAL, PageCaller, page_lang, page_router, render
from api.pages.svg import Band, Segment, line_chart, share_bar
from api.problems import Problem
from api.reports import classrooms as reports
from store import queries

router = page_router()

#: The week a page reports: the last seven days up to now, so a Monday morning still shows a
#: whole school week.
WEEK = timedelta(days=7)
#: A classroom page reloads itself this often by default (a smartboard left on all day).
REFRESH_S = 300
#: CO2 readings drawn for one day: a reading a minute is 1,440.
MAX_DAY_POINTS = 5000
#: Colours of the classes (pages.css has the same, as --cls-*).
CLASS_COLOURS = {"A": "#1b873f", "B": "#8bc34a", "C": "#f0a30a", "-": "#d32f2f"}
CLASS_TEXT = {"A": "#ffffff", "B": "#11210a", "C": "#231500", "-": "#ffffff"}
#: What the page says to do in each class.
ADVICE = {"A": "room.advice.ok", "B": "room.advice.watch", "C": "room.advice.window",
          "-": "room.advice.window"}
_EUI = re.compile(r"[0-9a-fA-F]{16}")
_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")

Refresh = Annotated[int, Query(ge=0, le=3600, description="seconds between reloads; 0: none")]
Day = Annotated[date | None, Query(description="the local day whose CO2 curve is shown; "
                                   "default today")]
#: The earliest day a page draws: before it no sensor of this network sent anything.
FIRST_DAY = date(2000, 1, 1)


def ventilation_reason(vent: reports.VentilationOut, lang: Lang) -> str:
    """Why no ventilation rate could be fitted, in the page's language: from the report's
    stable ``reason_code`` (its ``reason`` is English); a code this page does not know yet
    shows the report's own text."""
    key = f"room.ventilation.reason.{vent.reason_code}"
    if vent.reason_code is None or key not in i18n.STRINGS[lang]:
        return vent.reason or ""
    return i18n.text(lang, key, minutes=i18n.number(DECAY_MIN_MINUTES, lang),
                     excess=i18n.number(DECAY_MIN_EXCESS_PPM, lang))


def css_class(cls: str | None) -> str:
    """The CSS class of a Frisse Scholen class ("-" is no valid CSS name)."""
    return "cls-none" if cls == "-" else f"cls-{cls}" if cls else ""


def class_name(cls: str, lang: Lang) -> str:
    return i18n.text(lang, f"class.{cls}")


def bands(lang: Lang) -> list[Band]:
    """The Frisse Scholen classes as bands of the CO2 axis, from analytics' limits."""
    limits = sorted(FrisseScholen().co2_limits.items(), key=lambda kv: kv[1])
    out, low = [], 0.0
    for name, high in limits:
        out.append(Band(low, high, CLASS_COLOURS.get(name, "#999999"), name))
        low = high
    out.append(Band(low, float("inf"), CLASS_COLOURS["-"], "> " + limits[-1][0]))
    return out


def shares(report: reports.ClassroomReport, lang: Lang) -> list[Segment]:
    return [Segment(label=f"{cls} {i18n.percent(share, lang)}" if cls != "-"
                    else f"> C {i18n.percent(share, lang)}", share=share,
                    colour=CLASS_COLOURS.get(cls, "#999999"),
                    text_colour=CLASS_TEXT.get(cls, "#ffffff"))
            for cls, share in sorted(report.class_shares.items(), key=lambda kv: _order(kv[0]))]


def _order(cls: str) -> str:
    return "~" if cls == "-" else cls  # "-" (above C) last


def ordered(class_shares: dict[str, float]) -> list[tuple[str, float]]:
    """Class shares A, B, C, then above C."""
    return sorted(class_shares.items(), key=lambda kv: _order(kv[0]))


@dataclass(frozen=True)
class Now:
    """A room's newest values: what /v1/latest answers for it."""

    co2: queries.LatestRow | None
    temperature: queries.LatestRow | None
    humidity: queries.LatestRow | None

    @property
    def co2_class(self) -> str | None:
        return co2_class(self.co2.value) if self.co2 is not None else None


def _now(conn: Conn, organisation: str | None, euis: tuple[str, ...]) -> dict[str, Now]:
    _, rows = queries.latest(conn, organisation=organisation, dev_euis=euis)
    found: dict[str, dict[str, queries.LatestRow]] = {}
    for r in rows:
        found.setdefault(r.dev_eui, {})[r.metric] = r
    return {eui: Now(found.get(eui, {}).get("co2"), found.get(eui, {}).get("temperature"),
                     found.get(eui, {}).get("humidity")) for eui in euis}


def advice(now: Now, lang: Lang) -> tuple[str, str]:
    """One plain sentence for the teacher, and its CSS class."""
    if now.co2 is None or now.co2_class is None:
        return i18n.text(lang, "room.advice.none"), ""
    cls = now.co2_class
    return (i18n.text(lang, ADVICE.get(cls, "room.advice.window"),
                      ppm=i18n.number(now.co2.value, lang), cls=class_name(cls, lang)),
            css_class(cls))


def _classroom(conn: Conn, who: PageCaller, dev_eui: str) -> queries.DeviceRow:
    """The classroom sensor if the visitor may see it: a malformed dev_eui, an invisible device
    and a device that is no classroom sensor are the same 404 page."""
    if not _EUI.fullmatch(dev_eui):
        raise Problem(404, "device-not-found", "Device not found", "")
    device = visible_device(conn, who, dev_eui)
    if device.use_case != "classroom":
        raise Problem(404, "device-not-found", "Device not found", "")
    return device


# :path, so a dev_eui with an encoded slash (%2F) is this page's 404 too, not the app's JSON one.
@router.get("/classrooms/{dev_eui:path}")
def classroom(request: Request, dev_eui: str, conn: Conn, who: PageCaller,
              refresh: Refresh = REFRESH_S, day: Day = None) -> HTMLResponse:
    """The air now, a day's CO2 curve (today, or ``day``), the last seven days' lesson-time
    classes and ventilation, and one sentence of advice."""
    lang = page_lang(request)
    device = _classroom(conn, who, dev_eui)
    end = datetime.now(UTC)
    today = end.astimezone(LOCAL).date()
    shown = today if day is None else day
    if not FIRST_DAY <= shown <= today:
        raise Problem(400, "invalid-day", "Invalid day", "")
    now = _now(conn, who.organisation, (device.dev_eui,))[device.dev_eui]
    midnight = datetime(shown.year, shown.month, shown.day, tzinfo=LOCAL)
    day_start = midnight.astimezone(UTC)
    # Local midnight to midnight, in UTC: 23 or 25 hours on the days the clocks change.
    day_end = datetime.combine(shown + timedelta(days=1), midnight.time(),
                               tzinfo=LOCAL).astimezone(UTC)
    points = queries.readings(conn, device.dev_eui, "co2", start=day_start,
                              end=min(end, day_end), limit=MAX_DAY_POINTS)
    chart = line_chart([(p.time, p.value) for p in points], start=day_start, end=day_end,
                       title=i18n.text(lang, "room.chart"), bands=bands(lang),
                       y_max=max([1600.0, *(p.value * 1.05 for p in points)]),
                       fmt=lambda v: i18n.number(v, lang), tz=LOCAL,
                       max_gap=timedelta(minutes=45))
    week = reports.room_report(conn, device, end - WEEK, end)
    sentence, sentence_class = advice(now, lang)
    return render(request, "classroom.html", lang=lang, who=who, device=device, now=now,
                  advice=sentence, advice_class=sentence_class, chart=chart,
                  has_today=bool(points), is_today=shown == today, day_start=day_start,
                  week=week, ordered=ordered,
                  week_bar=share_bar(shares(week, lang), title=i18n.text(lang, "room.shares")),
                  css_class=css_class, class_name=lambda c: class_name(c, lang),
                  ventilation_reason=ventilation_reason(week.ventilation, lang),
                  refresh=refresh or None, refresh_minutes=max(refresh // 60, 1))


@router.get("/schools/{organisation:path}")
def school(request: Request, organisation: str, conn: Conn, who: PageCaller) -> HTMLResponse:
    lang = page_lang(request)
    if not _SLUG.fullmatch(organisation):
        raise Problem(404, "school-not-found", "School not found", "")
    end = datetime.now(UTC)
    devices = queries.list_devices(
        conn, organisation=who.organisation,
        where=queries.DeviceFilter(owner=organisation, use_case="classroom"),
        limit=reports.MAX_ROOMS + 1)
    if not devices:
        raise Problem(404, "school-not-found", "School not found", "")
    report = reports.school_report(conn, organisation, devices, end - WEEK, end)
    now = _now(conn, who.organisation, tuple(r.dev_eui for r in report.rooms))
    # Narrow bars (a card is a third of the page): their labels stay legible.
    bars = {r.dev_eui: share_bar(shares(r, lang), title=i18n.text(lang, "room.shares"),
                                 width=400, height=48) for r in report.rooms}
    school_bar = share_bar(
        [Segment(label=f"{'> C' if c == '-' else c} {i18n.percent(s, lang)}", share=s,
                 colour=CLASS_COLOURS.get(c, "#999999"), text_colour=CLASS_TEXT.get(c, "#fff"))
         for c, s in sorted(report.summary.class_shares.items(), key=lambda kv: _order(kv[0]))],
        title=i18n.text(lang, "room.shares"))
    return render(request, "school.html", lang=lang, who=who, report=report, now=now,
                  bars=bars, school_bar=school_bar, css_class=css_class,
                  class_name=lambda c: class_name(c, lang), refresh=REFRESH_S)
