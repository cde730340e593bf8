"""/waste: the beheer team's page. The bins the visitor may see on a map coloured by fill, the
bins due on the next round, and tomorrow's route per truck over the bins the visitor's
organisation owns (a key; without one the page says so).

The numbers come from the same builders as the API: the bins from `api.reports.waste.bins`
with `GET /v1/waste/bins`' defaults, the routes from the planner behind `POST /v1/waste/routes`
(docs/domain.md, "Waste bins", "Routing"). A page must answer quickly, so its plan gets a short
time limit and is kept per organisation and day for a few minutes.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
from fastapi import Request
from fastapi.responses import HTMLResponse
from starlette.datastructures import State

from analytics.routing import Depot
from api.deps import Conn
from api.pages import i18n
from api.pages.i18n import Lang
from api.pages.render import PageCaller, href, page_lang, page_router, render
from api.pages.svg import MapPoint, RouteLine, point_map
from api.reports import waste as reports
from api.reports.waste import HISTORY_DAYS, Bin, RoutePlanOut
from meetnet.settings import Settings

router = page_router()

i18n.add({
    "nl": {
        "waste.title": "Afvalbakken",
        "waste.intro": "{count} afvalbakken, {due} te legen in de volgende ronde.",
        "waste.map": "Afvalbakken op de kaart, gekleurd naar vulling",
        "waste.none": "Er zijn geen afvalbakken die u mag zien.",
        "waste.legend.low": "onder {half} %",
        "waste.legend.mid": "{half} tot {threshold} %",
        "waste.legend.high": "{threshold} % of voller",
        "waste.legend.none": "geen meting",
        "waste.due": "Te legen in de volgende ronde",
        "waste.due.none": "Geen afvalbak hoeft in de volgende ronde geleegd te worden.",
        "waste.col.bin": "Afvalbak",
        "waste.col.fill": "Vulling",
        "waste.col.why": "Waarom",
        "waste.col.full": "Vol (verwacht)",
        "waste.stale": "sensor stil",
        "waste.reason.over": "nu boven {threshold} %",
        "waste.reason.forecast": "verwacht boven {threshold} % voor de ronde",
        "waste.routes": "Routes voor {day}",
        "waste.routes.key": "Routes worden gepland over de afvalbakken van uw organisatie; "
                            "daarvoor is een sleutel nodig.",
        "waste.routes.busy": "De routeplanner is bezig; laad de pagina straks opnieuw.",
        "waste.routes.failed": "Voor deze afvalbakken kon geen route worden gemaakt.",
        "waste.routes.summary": "Wagens: {trucks}, samen {km} km.",
        "waste.routes.made": "Gepland om {time}.",
        "waste.routes.empty": "Er is morgen niets op te halen.",
        "waste.truck": "Wagen {truck}",
        "waste.truck.summary": "{stops} stops, {km} km, {load} L",
        "waste.stop.due": "moet",
        "waste.stop.due.why": "“Moet”: nu boven {threshold} % of verwacht boven {threshold} % "
                              "vóór de ronde van {after} {time}; de lijst hierboven kijkt "
                              "alleen tot de volgende ronde.",
        "waste.unserved": "Past niet in de wagens",
        "waste.skipped": "{count} afvalbakken kunnen wachten en blijven morgen staan.",
        "waste.not_planned": "Niet gepland",
    },
    "en": {
        "waste.title": "Waste bins",
        "waste.intro": "{count} bins, {due} due on the next round.",
        "waste.map": "Bins on the map, coloured by fill",
        "waste.none": "There are no bins you may see.",
        "waste.legend.low": "under {half} %",
        "waste.legend.mid": "{half} to {threshold} %",
        "waste.legend.high": "{threshold} % or fuller",
        "waste.legend.none": "no reading",
        "waste.due": "Due on the next round",
        "waste.due.none": "No bin is due on the next round.",
        "waste.col.bin": "Bin",
        "waste.col.fill": "Fill",
        "waste.col.why": "Why",
        "waste.col.full": "Full (forecast)",
        "waste.stale": "sensor silent",
        "waste.reason.over": "over {threshold} % now",
        "waste.reason.forecast": "forecast over {threshold} % before the round",
        "waste.routes": "Routes for {day}",
        "waste.routes.key": "Routes are planned over the bins your organisation owns; that "
                            "needs a key.",
        "waste.routes.busy": "The route planner is busy; reload the page in a moment.",
        "waste.routes.failed": "No route could be made for these bins.",
        "waste.routes.summary": "Trucks: {trucks}, {km} km together.",
        "waste.routes.made": "Planned at {time}.",
        "waste.routes.empty": "There is nothing to collect tomorrow.",
        "waste.truck": "Truck {truck}",
        "waste.truck.summary": "{stops} stops, {km} km, {load} L",
        "waste.stop.due": "must",
        "waste.stop.due.why": "“Must”: over {threshold} % now or forecast over {threshold} % "
                              "before the round of {after} {time}; the list above looks to the "
                              "next round only.",
        "waste.unserved": "Does not fit in the trucks",
        "waste.skipped": "{count} bins may wait and stay tomorrow.",
        "waste.not_planned": "Not planned",
    },
})

#: The collection threshold of `GET /v1/waste/bins` (its default), so "due" means the same.
THRESHOLD = 80.0
#: Under half full: no concern yet (the page's colour bands; the threshold makes the red one).
HALF = 50.0
FILL_COLOURS = {"low": "#1b873f", "mid": "#f0a30a", "high": "#d32f2f", "none": "#8a949e"}
TRUCK_COLOURS = ("#1f5f99", "#7b1fa2", "#00838f", "#6d4c41", "#c2185b", "#455a64")
#: A page waits for its plan: a short solve (the API's default is 5 s; bench/routes.py shows
#: a few seconds reach a good plan for city-sized rounds) ...
PAGE_TIME_LIMIT_S = 2.0
#: ... kept this long per organisation and day, so reloads and many visitors cost one solve.
PAGE_PLAN_TTL_S = 600.0
#: Page plans solving at once, over all organisations: a page never takes more than one core.
_page_solves = threading.BoundedSemaphore(1)
#: How long a page waits for another page's solve before it says the planner is busy.
SOLVE_WAIT_S = 10.0


@dataclass(frozen=True, slots=True)
class BinRow:
    """One bin as the page shows it."""

    dev_eui: str
    name: str
    fill_pct: float | None
    level: str  # low, mid, high, none: the colour band of its fill
    due: bool
    due_reason: str | None
    threshold_at: datetime | None
    full_at: datetime | None
    stale: bool
    located: bool


def fill_level(fill_pct: float | None, threshold: float = THRESHOLD) -> str:
    """The colour band of a fill: none (no reading), low (< 50 %), mid, high (>= threshold)."""
    if fill_pct is None:
        return "none"
    if fill_pct >= threshold:
        return "high"
    return "mid" if fill_pct >= HALF else "low"


def bin_rows(listing: list[Bin], threshold: float = THRESHOLD) -> list[BinRow]:
    return [BinRow(dev_eui=b.dev_eui, name=b.name, fill_pct=b.fill_pct,
                   level=fill_level(b.fill_pct, threshold), due=b.due, due_reason=b.due_reason,
                   threshold_at=b.threshold_at, full_at=b.full_at, stale=b.stale,
                   located=b.lat is not None and b.lon is not None) for b in listing]


def due_list(rows: list[BinRow]) -> list[BinRow]:
    """The due bins, fullest first (a bin without a reading last), then by name."""
    return sorted((r for r in rows if r.due),
                  key=lambda r: (r.fill_pct is None, -(r.fill_pct or 0.0), r.name, r.dev_eui))


def map_points(listing: list[Bin], lang: Lang, threshold: float = THRESHOLD) -> list[MapPoint]:
    points = []
    for b in listing:
        if b.lat is None or b.lon is None:
            continue
        fill = f"{i18n.number(b.fill_pct, lang)} %" if b.fill_pct is not None else i18n.NONE
        points.append(MapPoint(lat=b.lat, lon=b.lon, label=f"{b.name}: {fill}",
                               colour=FILL_COLOURS[fill_level(b.fill_pct, threshold)],
                               radius=11.0 if b.due else 8.0))
    return points


def truck_colour(truck: int) -> str:
    return TRUCK_COLOURS[(truck - 1) % len(TRUCK_COLOURS)]


def route_lines(plan: RoutePlanOut, lang: Lang) -> list[RouteLine]:
    """Each truck's line from the plan's GeoJSON (RFC 7946: lon, lat) as (lat, lon)."""
    lines = []
    for feature in plan.geojson.get("features", []):
        geometry = feature.get("geometry", {})
        if geometry.get("type") != "LineString":
            continue
        truck = int(feature.get("properties", {}).get("truck", 0))
        lines.append(RouteLine(path=tuple((lat, lon) for lon, lat in geometry["coordinates"]),
                               label=i18n.text(lang, "waste.truck", truck=truck),
                               colour=truck_colour(truck)))
    return lines


@dataclass(frozen=True, slots=True)
class PagePlan:
    plan: RoutePlanOut | None
    made_at: datetime | None
    busy: bool = False
    failed: bool = False


class PlanCache:
    """Plans per (organisation, day) for ``ttl_s``; one lock per key, so visitors arriving
    while a plan is solved wait for it instead of solving it again. Kept on the app (one per
    database), never in the module: two apps must not share an organisation's plan."""

    def __init__(self, ttl_s: float = PAGE_PLAN_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._plans: dict[tuple[str, date], tuple[float, PagePlan]] = {}
        self._locks: dict[tuple[str, date], threading.Lock] = {}
        self._guard = threading.Lock()

    def lock(self, key: tuple[str, date]) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: tuple[str, date]) -> PagePlan | None:
        with self._guard:
            found = self._plans.get(key)
            if found is None or time.monotonic() - found[0] > self.ttl_s:
                return None
            return found[1]

    def put(self, key: tuple[str, date], plan: PagePlan) -> None:
        with self._guard:
            now = time.monotonic()
            # Old days and expired plans go, so the cache stays the size of today's visitors.
            self._plans = {k: v for k, v in self._plans.items() if now - v[0] <= self.ttl_s}
            self._plans[key] = (now, plan)


_cache_guard = threading.Lock()


def plan_cache(state: State) -> PlanCache:
    with _cache_guard:
        cache = getattr(state, "waste_page_plans", None)
        if not isinstance(cache, PlanCache):
            cache = PlanCache()
            state.waste_page_plans = cache
        return cache


def page_plan(conn: psycopg.Connection[Any], settings: Settings, cache: PlanCache, organisation: str,
              day: date) -> PagePlan:
    """Tomorrow's plan for ``organisation`` as `POST /v1/waste/routes` makes it with the
    server's trucks, capacity, depot and detour factor, solved for at most
    ``PAGE_TIME_LIMIT_S`` (or the server's limit when shorter), from the cache when fresh."""
    key = (organisation, day)
    found = cache.get(key)
    if found is not None:
        return found
    with cache.lock(key):
        found = cache.get(key)
        if found is not None:
            return found
        if not _page_solves.acquire(timeout=SOLVE_WAIT_S):
            return PagePlan(plan=None, made_at=None, busy=True)
        try:
            answer = reports.plan_day(
                conn, organisation, day,
                depot=Depot(settings.waste_depot_lat, settings.waste_depot_lon),
                trucks=settings.waste_trucks, capacity=settings.waste_truck_capacity_l,
                detour_factor=settings.waste_detour_factor,
                time_limit_s=min(PAGE_TIME_LIMIT_S, settings.waste_route_time_limit_s),
                threshold=THRESHOLD)
        except ValueError:
            # A bin whose stored position or load the planner refuses: the page still shows
            # the bins and the due list, and says the route could not be made.
            return PagePlan(plan=None, made_at=None, failed=True)
        finally:
            _page_solves.release()
        made = PagePlan(plan=answer, made_at=datetime.now(UTC))
        cache.put(key, made)
        return made


@router.get("/waste")
def waste_page(request: Request, conn: Conn, who: PageCaller) -> HTMLResponse:
    """The bins, the due list and tomorrow's routes (docs/pages.md)."""
    lang = page_lang(request)
    settings: Settings = request.app.state.settings
    now = datetime.now(UTC)
    listing = reports.bins(conn, who.organisation, at=now, next_round=now + timedelta(days=1),
                           threshold=THRESHOLD, days=HISTORY_DAYS)
    rows = bin_rows(listing)
    planned: PagePlan | None = None
    day = reports.tomorrow()
    if who.organisation is not None:
        planned = page_plan(conn, settings, plan_cache(request.app.state), who.organisation, day)
    lines = route_lines(planned.plan, lang) if planned is not None and planned.plan else []
    depot = (settings.waste_depot_lat, settings.waste_depot_lon) if lines else None
    names = {r.dev_eui: r.name for r in rows}
    return render(
        request, "waste.html", lang=lang, who=who, rows=rows, due=due_list(rows),
        threshold=THRESHOLD, half=HALF, colours=FILL_COLOURS, day=day, planned=planned,
        # The route's "must": due before the round after this one (reports.round_bins).
        after_round=reports.round_times(day)[1],
        names=names, truck_colour=truck_colour, key_url=href("/key", lang),
        bins_map=point_map(map_points(listing, lang), lines, depot=depot,
                           title=i18n.text(lang, "waste.map"), tile_url=settings.pages_tile_url,
                           attribution=settings.pages_tile_attribution))
