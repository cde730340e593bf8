"""Charts and maps drawn on the server as inline SVG (SVG 1.1, W3C): no JavaScript, no CDN, so
a page works offline and on any smartboard browser.

Every text that goes into the SVG (device names, labels, URLs) is escaped here with
`html.escape`; the results are `markupsafe.Markup`, which Jinja2's autoescape leaves alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from html import escape

from markupsafe import Markup

#: Fonts the phone or smartboard has: no web font is loaded.
FONT = "system-ui, sans-serif"


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _f(value: float) -> str:
    """A coordinate, short: SVG needs no more than 0.1 px."""
    return f"{value:.1f}"


@dataclass(frozen=True, slots=True)
class Band:
    """A horizontal band of the value axis, e.g. a Frisse Scholen class: [low, high) coloured."""

    low: float
    high: float
    colour: str
    label: str


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: float
    colour: str = "#1f5f99"
    text: str | None = None  # shown above the bar; default: the value


@dataclass(frozen=True, slots=True)
class Segment:
    """One part of a 100 % bar (a class's share of lesson time)."""

    label: str
    share: float
    colour: str
    text_colour: str = "#ffffff"


@dataclass(frozen=True, slots=True)
class MapPoint:
    lat: float
    lon: float
    label: str
    colour: str = "#1f5f99"
    href: str | None = None
    radius: float = 9.0


#: Hour steps for a chart of at most a day, and day steps beyond: about 6 to 12 ticks.
HOUR_STEPS = (1, 2, 3, 6)
DAY_STEPS = (1, 2, 7, 14, 28)


def time_ticks(start: datetime, end: datetime, tz: tzinfo) -> list[tuple[datetime, str]]:
    """The x axis's ticks and their labels, chosen by the span so no two labels are alike:
    up to a day (25 hours: the local day the clocks go back), round local hours as "HH:MM";
    up to three days, local midnight and noon as "dd-mm HH:MM"; beyond, local midnights
    (every 1, 2, 7, 14 or 28 days) as "dd-mm", with the year over 300 days."""
    if end <= start:
        return []
    span = end - start
    hours = span.total_seconds() / 3600
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    if hours <= 25:
        step = next((h for h in HOUR_STEPS if hours / h <= 12), HOUR_STEPS[-1])
        first = local_start.replace(minute=0, second=0, microsecond=0)
        first -= timedelta(hours=first.hour % step)
        ticks = []
        t = first
        while t <= local_end:
            if t >= local_start:
                ticks.append(t)
            # Step in UTC so a DST switch does not stop the loop; labels are local.
            t = (t.astimezone(UTC) + timedelta(hours=step)).astimezone(tz)
        # On the night the clocks go back an hour's label can come twice: keep the first.
        return _distinct([(t, t.strftime("%H:%M")) for t in ticks])
    days = span.total_seconds() / 86400
    # Local midnights (and noons for short spans) built from the local date, so they stay at
    # 00:00 and 12:00 across a DST switch.
    hours_of_day = (0, 12) if days <= 3 else (0,)
    day_step = 1 if days <= 3 else next((d for d in DAY_STEPS if days / d <= 12), 28)
    fmt = "%d-%m %H:%M" if days <= 3 else "%d-%m" if days <= 300 else "%d-%m-%Y"
    out = []
    day = local_start.date()
    if datetime(day.year, day.month, day.day, tzinfo=tz) < local_start and day_step > 1:
        day += timedelta(days=1)  # the first tick on the first midnight in the span
    while day <= local_end.date():
        for hour in hours_of_day:
            t = datetime(day.year, day.month, day.day, hour, tzinfo=tz)
            if local_start <= t <= local_end:
                out.append((t, t.strftime(fmt)))
        day += timedelta(days=day_step)
    return _distinct(out)


def _distinct(ticks: list[tuple[datetime, str]]) -> list[tuple[datetime, str]]:
    seen: set[str] = set()
    out = []
    for t, label in ticks:
        if label not in seen:
            seen.add(label)
            out.append((t, label))
    return out


def _nice_max(value: float) -> float:
    if value <= 0 or not math.isfinite(value):
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if value <= m * magnitude:
            return float(m * magnitude)
    return float(10 * magnitude)


def _nice_step(raw: float) -> float:
    """The round step (1, 2, 2.5 or 5 x 10^k) nearest above ``raw``."""
    if raw <= 0 or not math.isfinite(raw):
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return float(m * magnitude)
    return float(10 * magnitude)


def line_chart(points: Sequence[tuple[datetime, float]], *, start: datetime, end: datetime,
               title: str, bands: Sequence[Band] = (), y_min: float = 0.0,
               y_max: float | None = None, fmt: Callable[[float], str] = lambda v: f"{v:g}",
               tz: tzinfo = UTC, max_gap: timedelta | None = None, width: int = 800,
               height: int = 320, stroke: str = "#111111") -> Markup:
    """A time series over [start, end) as a line, over coloured horizontal ``bands`` (drawn
    behind the line and labelled at the right), with local-time ticks on the x axis. Gaps
    longer than ``max_gap`` break the line rather than drawing a slope across missing data."""
    left, right, top, bottom = 56, 96 if bands else 16, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, v in points if math.isfinite(v)]
    highest = max([*values, *(b.low for b in bands)], default=1.0)
    y_top = y_max if y_max is not None else _nice_max(highest * 1.05)
    if y_top <= y_min:
        y_top = y_min + 1.0
    span_s = max((end - start).total_seconds(), 1.0)

    def x(t: datetime) -> float:
        return left + plot_w * (t - start).total_seconds() / span_s

    def y(v: float) -> float:
        v = min(max(v, y_min), y_top)
        return top + plot_h * (1 - (v - y_min) / (y_top - y_min))

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'class="chart" role="img" aria-label="{_e(title)}" font-family="{FONT}">',
             f"<title>{_e(title)}</title>"]
    for band in bands:
        lo, hi = max(band.low, y_min), min(band.high, y_top)
        if hi <= lo:
            continue
        parts.append(f'<rect x="{left}" y="{_f(y(hi))}" width="{plot_w}" '
                     f'height="{_f(y(lo) - y(hi))}" fill="{_e(band.colour)}" opacity="0.28"/>')
        parts.append(f'<text x="{left + plot_w + 6}" y="{_f((y(lo) + y(hi)) / 2 + 5)}" '
                     f'font-size="14" fill="#222">{_e(band.label)}</text>')
    # y axis: gridlines at round values, about five of them
    step = _nice_step((y_top - y_min) / 5)
    for i in range(int((y_top - y_min) / step + 1e-9) + 1):
        v = y_min + i * step
        parts.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{_f(y(v))}" y2="{_f(y(v))}" '
                     f'stroke="#999" stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 6}" y="{_f(y(v) + 5)}" font-size="13" '
                     f'text-anchor="end" fill="#222">{_e(fmt(v))}</text>')
    for tick, label in time_ticks(start, end, tz):
        tx = x(tick)
        parts.append(f'<line x1="{_f(tx)}" x2="{_f(tx)}" y1="{top}" y2="{top + plot_h}" '
                     f'stroke="#bbb" stroke-width="0.5"/>')
        parts.append(f'<text x="{_f(tx)}" y="{top + plot_h + 22}" font-size="13" '
                     f'text-anchor="middle" fill="#222">{_e(label)}</text>')
    parts.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
                 f'stroke="#555" stroke-width="1"/>')
    line: list[str] = []
    previous: datetime | None = None
    for t, v in sorted(points, key=lambda p: p[0]):
        if not math.isfinite(v) or t < start or t > end:
            continue
        if previous is not None and max_gap is not None and t - previous > max_gap and line:
            parts.append(_polyline(line, stroke))
            line = []
        line.append(f"{_f(x(t))},{_f(y(v))}")
        previous = t
    if line:
        parts.append(_polyline(line, stroke))
    parts.append("</svg>")
    return Markup("".join(parts))


def _polyline(coords: list[str], stroke: str) -> str:
    if len(coords) == 1:
        cx, cy = coords[0].split(",")
        return f'<circle cx="{cx}" cy="{cy}" r="3" fill="{_e(stroke)}"/>'
    return (f'<polyline points="{" ".join(coords)}" fill="none" stroke="{_e(stroke)}" '
            f'stroke-width="2.5" stroke-linejoin="round"/>')


def bar_chart(bars: Sequence[Bar], *, title: str, max_value: float | None = None,
              fmt: Callable[[float], str] = lambda v: f"{v:g}", width: int = 800,
              height: int = 280, label_every: int = 1) -> Markup:
    """Vertical bars with their value above and their label below (every ``label_every``-th
    label, so 24 hourly bars stay readable on a phone)."""
    left, right, top, bottom = 12, 12, 24, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [b.value for b in bars if math.isfinite(b.value)]
    top_value = max_value if max_value is not None else _nice_max(max(finite, default=1.0))
    if top_value <= 0:
        top_value = 1.0
    slot = plot_w / max(len(bars), 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'class="chart" role="img" aria-label="{_e(title)}" font-family="{FONT}">',
             f"<title>{_e(title)}</title>",
             f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
             f'stroke="#555"/>']
    for i, bar in enumerate(bars):
        value = bar.value if math.isfinite(bar.value) else 0.0
        h = plot_h * min(max(value, 0.0), top_value) / top_value
        bx = left + i * slot + slot * 0.12
        parts.append(f'<rect x="{_f(bx)}" y="{_f(top + plot_h - h)}" width="{_f(slot * 0.76)}" '
                     f'height="{_f(h)}" fill="{_e(bar.colour)}"><title>{_e(bar.label)}: '
                     f'{_e(bar.text if bar.text is not None else fmt(value))}</title></rect>')
        cx = left + i * slot + slot / 2
        if len(bars) <= 16:
            parts.append(f'<text x="{_f(cx)}" y="{_f(top + plot_h - h - 6)}" font-size="14" '
                         f'text-anchor="middle" fill="#222">'
                         f'{_e(bar.text if bar.text is not None else fmt(value))}</text>')
        if i % max(label_every, 1) == 0:
            parts.append(f'<text x="{_f(cx)}" y="{top + plot_h + 22}" font-size="13" '
                         f'text-anchor="middle" fill="#222">{_e(bar.label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def share_bar(segments: Sequence[Segment], *, title: str, width: int = 800,
              height: int = 56) -> Markup:
    """One bar split by shares (they need not sum to 1: the bar is scaled to their sum), each
    part labelled when it is wide enough."""
    total = sum(s.share for s in segments if s.share > 0 and math.isfinite(s.share))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'class="chart share" role="img" aria-label="{_e(title)}" font-family="{FONT}">',
             f"<title>{_e(title)}</title>"]
    if total <= 0:
        parts.append(f'<rect x="0" y="0" width="{width}" height="{height}" fill="#eee"/>')
    x = 0.0
    for s in segments:
        if s.share <= 0 or not math.isfinite(s.share) or total <= 0:
            continue
        w = width * s.share / total
        parts.append(f'<rect x="{_f(x)}" y="0" width="{_f(w)}" height="{height}" '
                     f'fill="{_e(s.colour)}"><title>{_e(s.label)}</title></rect>')
        if w >= 70:
            parts.append(f'<text x="{_f(x + w / 2)}" y="{height / 2 + 7:.1f}" font-size="20" '
                         f'font-weight="bold" text-anchor="middle" fill="{_e(s.text_colour)}">'
                         f'{_e(s.label)}</text>')
        x += w
    parts.append("</svg>")
    return Markup("".join(parts))


def _mercator(lat: float, lon: float) -> tuple[float, float]:
    """Web Mercator (EPSG:3857) in world units 0..1, the projection of slippy-map tiles, so
    points and optional tiles line up."""
    lat = max(min(lat, 85.05112878), -85.05112878)
    s = math.sin(math.radians(lat))
    return (lon + 180.0) / 360.0, 0.5 - math.log((1 + s) / (1 - s)) / (4 * math.pi)


#: Most tiles one map draws (a misconfigured zoom must not make a page of thousands).
MAX_TILES = 64


@dataclass(frozen=True, slots=True)
class RouteLine:
    """One truck's round: (lat, lon) from the depot through its stops back to the depot."""

    path: tuple[tuple[float, float], ...]
    label: str
    colour: str


def _located(lat: float, lon: float) -> bool:
    return math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180


def point_map(points: Sequence[MapPoint], routes: Sequence[RouteLine] = (), *, title: str,
              depot: tuple[float, float] | None = None, tile_url: str | None = None,
              attribution: str = "", width: int = 800, height: int = 480) -> Markup:
    """Points by latitude and longitude in Web Mercator (EPSG:3857), fitted with any route
    lines and the depot to the box with a margin: each route a polyline in its colour under the
    points, the depot a dark square. No background unless ``tile_url`` (a ``{z}/{x}/{y}``
    template) is given: then the slippy-map tiles under the points are drawn behind them (and
    only then does the page ask another server for anything)."""
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
    # At least ~1 km across, so one device or a cluster is not blown up to a single point.
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
    # North first, so a point further south is drawn over one just north of it.
    for p in sorted(located, key=lambda p: -p.lat):
        x, y = px(p.lat, p.lon)
        dot = (f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(p.radius)}" fill="{_e(p.colour)}" '
               f'stroke="#ffffff" stroke-width="2"><title>{_e(p.label)}</title></circle>')
        if p.href:
            dot = f'<a href="{_e(p.href)}">{dot}</a>'
        parts.append(dot)
    parts.append("</svg>")
    return Markup("".join(parts))


def _tiles(template: str, scale: float, cx: float, cy: float, width: int,
           height: int) -> list[str]:
    zoom = max(0, min(19, math.floor(math.log2(max(scale / 256.0, 1.0)))))
    n = 2 ** zoom
    size = scale / n
    x0 = math.floor((cx - width / 2 / scale) * n)
    x1 = math.floor((cx + width / 2 / scale) * n)
    y0 = max(0, math.floor((cy - height / 2 / scale) * n))
    y1 = min(n - 1, math.floor((cy + height / 2 / scale) * n))
    if (x1 - x0 + 1) * (y1 - y0 + 1) > MAX_TILES:
        return []
    out = []
    for ty in range(y0, y1 + 1):
        for tx in range(x0, x1 + 1):
            url = (template.replace("{z}", str(zoom)).replace("{x}", str(tx % n))
                   .replace("{y}", str(ty)))
            left = width / 2 + (tx / n - cx) * scale
            top = height / 2 + (ty / n - cy) * scale
            out.append(f'<image href="{_e(url)}" x="{_f(left)}" y="{_f(top)}" '
                       f'width="{_f(size + 0.5)}" height="{_f(size + 0.5)}"/>')
    return out
