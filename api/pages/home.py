"""/: the front door. What the network measures (the four use cases), a map of the open
devices, the open datasets with their CSV, SenML and GeoJSON links and a curl and pandas
snippet each, and how to get a key. It shows open data only, whoever looks: the same page for
every visitor, a student's starting point."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse

from api.deps import Conn
from api.pages import i18n
from api.pages import render as pages
from api.pages.i18n import Lang
from api.pages.render import PageCaller, href, page_lang, page_router, render
from api.pages.svg import MapPoint, point_map
from store import queries

router = page_router()

#: The use cases in the order the page tells them, with their map colour (pages.css legend).
USE_CASES = (("classroom", "#1b873f"), ("waste", "#6d4c41"), ("crossing", "#7b1fa2"),
             ("water", "#1f5f99"))
OTHER_COLOUR = "#777777"
#: Most devices drawn on the map: beyond this a map of points is a blot, and the GeoJSON link
#: below it has them all.
MAP_LIMIT = 2000


@dataclass(frozen=True)
class Dataset:
    use_case: str
    devices: int
    csv: str
    senml: str
    geojson: str
    curl: str
    pandas: str


def _datasets(base: str, counts: dict[str, int]) -> list[Dataset]:
    out = []
    for use_case, _ in USE_CASES:
        csv = f"{base}/v1/use-cases/{use_case}/export.csv"
        senml = f"{base}/v1/use-cases/{use_case}/export.senml"
        geojson = f"{base}/v1/latest.geojson?use_case={use_case}"
        out.append(Dataset(
            use_case=use_case, devices=counts.get(use_case, 0), csv=csv, senml=senml,
            geojson=geojson,
            curl=f"curl -o {use_case}.csv '{csv}'\ncurl -o {use_case}.geojson '{geojson}'",
            pandas=(f"import pandas as pd\n\n{use_case} = pd.read_csv(\"{csv}\", "
                    f"parse_dates=[\"time\"])\nprint({use_case}.groupby(\"name\").mean("
                    f"numeric_only=True))")))
    return out


def _device_href(device: queries.DeviceRow, lang: Lang) -> str | None:
    """The page that shows this device, where there is one."""
    for use_case, prefix in (("classroom", "/classrooms/"), ("crossing", "/crossings/")):
        if device.use_case == use_case and any(p.startswith(prefix + "{") for p in pages.PATHS):
            return href(prefix + device.dev_eui, lang)
    for use_case, path in (("waste", "/waste"), ("water", "/water")):
        if device.use_case == use_case and path in pages.PATHS:
            return href(path, lang)
    return None


def public_base(request: Request) -> str:
    """Where the snippets point: ``MEETNET_PUBLIC_URL`` when it is an http(s) URL (the address
    people reach the API at, e.g. behind a proxy), else the address this request came to."""
    configured = (request.app.state.settings.public_url or "").strip()
    parts = urlsplit(configured)
    if parts.scheme in ("http", "https") and parts.netloc:
        return configured.rstrip("/")
    return str(request.base_url).rstrip("/")


@router.get("/")
def home(request: Request, conn: Conn, who: PageCaller) -> HTMLResponse:
    lang = page_lang(request)
    # Open data only, whoever looks (no organisation): the front door is the same for all.
    devices = queries.list_devices(conn, organisation=None, limit=MAP_LIMIT)
    colours = dict(USE_CASES)
    counts: dict[str, int] = {}
    for d in devices:
        counts[d.use_case] = counts.get(d.use_case, 0) + 1
    points = [MapPoint(lat=d.lat, lon=d.lon, label=f"{d.name} ({d.use_case})",
                       colour=colours.get(d.use_case, OTHER_COLOUR),
                       href=_device_href(d, lang))
              for d in devices if d.lat is not None and d.lon is not None]
    tiles = pages.tile_server(request)
    title = i18n.text(lang, "home.map")
    the_map = point_map(points, title=title, tile_url=tiles[1] if tiles else None,
                        attribution=tiles[2] if tiles else "")
    rooms = [d for d in devices if d.use_case == "classroom"]
    schools = sorted({d.organisation for d in rooms})
    base = public_base(request)
    return render(request, "home.html", lang=lang, who=who, use_cases=USE_CASES, counts=counts,
                  located=len(points), the_map=the_map, rooms=rooms, schools=schools,
                  datasets=_datasets(base, counts), base=base)
