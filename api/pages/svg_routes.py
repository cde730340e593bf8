"""A map of points with route lines over them (the waste page's bins and trucks), drawn on the
server as inline SVG 1.1 in the same Web Mercator frame as `api.pages.svg.point_map`, so
optional background tiles line up the same way.

Every text is escaped here; the result is `markupsafe.Markup`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup

from api.pages.svg import FONT, MapPoint, _e, _f, _mercator, _tiles


@dataclass(frozen=True, slots=True)
class RouteLine:
    """One truck's round: (lat, lon) from the depot through its stops back to the depot."""

    path: tuple[tuple[float, float], ...]
    label: str
    colour: str


def _located(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def route_map(points: Sequence[MapPoint], routes: Sequence[RouteLine] = (), *, title: str,
              depot: tuple[float, float] | None = None, tile_url: str | None = None,
              attribution: str = "", width: int = 800, height: int = 480) -> Markup:
    """Points and route lines fitted together to the box (Web Mercator, EPSG:3857): each route
    a polyline in its colour under the points, the depot a dark square. No background unless
    ``tile_url`` is given."""
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'class="chart map" role="img" aria-label="{_e(title)}" font-family="{FONT}">',
             f"<title>{_e(title)}</title>",
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eef3f6"/>']
    located = [p for p in points if _located(p.lat, p.lon)]
    paths = [[(lat, lon) for lat, lon in r.path if _located(lat, lon)] for r in routes]
    where = [(p.lat, p.lon) for p in located] + [c for path in paths for c in path]
    if depot is not None and _located(*depot):
        where.append(depot)
    else:
        depot = None
    if not where:
        parts.append("</svg>")
        return Markup("".join(parts))
    coords = [_mercator(lat, lon) for lat, lon in where]
    xs, ys = [c[0] for c in coords], [c[1] for c in coords]
    # At least ~1 km across, as point_map: one bin is not blown up to fill the map.
    span = max(max(xs) - min(xs), max(ys) - min(ys), 3e-5)
    margin = 40
    scale = min((width - 2 * margin) / span, (height - 2 * margin) / span)
    cx, cy = (max(xs) + min(xs)) / 2, (max(ys) + min(ys)) / 2

    def px(lat: float, lon: float) -> tuple[float, float]:
        wx, wy = _mercator(lat, lon)
        return width / 2 + (wx - cx) * scale, height / 2 + (wy - cy) * scale

    if tile_url:
        parts.extend(_tiles(tile_url, scale, cx, cy, width, height))
        if attribution:
            parts.append(f'<text x="{width - 4}" y="{height - 4}" font-size="11" '
                         f'text-anchor="end" fill="#333">{_e(attribution)}</text>')
    for route, path in zip(routes, paths, strict=True):
        if len(path) < 2:
            continue
        xy = " ".join(f"{_f(x)},{_f(y)}" for x, y in (px(*c) for c in path))
        parts.append(f'<polyline points="{xy}" fill="none" stroke="{_e(route.colour)}" '
                     f'stroke-width="4" stroke-linejoin="round" stroke-linecap="round" '
                     f'opacity="0.85"><title>{_e(route.label)}</title></polyline>')
    if depot is not None:
        x, y = px(*depot)
        parts.append(f'<rect x="{_f(x - 8)}" y="{_f(y - 8)}" width="16" height="16" '
                     f'fill="#222" stroke="#fff" stroke-width="2"><title>depot</title></rect>')
    for p in sorted(located, key=lambda p: -p.lat):
        x, y = px(p.lat, p.lon)
        dot = (f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(p.radius)}" fill="{_e(p.colour)}" '
               f'stroke="#ffffff" stroke-width="2"><title>{_e(p.label)}</title></circle>')
        if p.href:
            dot = f'<a href="{_e(p.href)}">{dot}</a>'
        parts.append(dot)
    parts.append("</svg>")
    return Markup("".join(parts))
