"""Grafana dashboards as code: one pure function per use case returns that dashboard's JSON model.

``python -m dashboards.build`` writes them to ``dashboards/json/``, which Grafana provisions from
files (``dashboards/provisioning/``, mounted by docker-compose.yml); ``--check`` only compares, for
CI. ``meetnet dashboards push`` uploads the same models to any Grafana (``dashboards/push.py``).

Panels are raw SQL on the schema of ``store/migrations`` through Grafana's PostgreSQL data source.
Time buckets use ``date_bin`` (PostgreSQL 14+), not TimescaleDB's ``time_bucket``, so that every
panel works on stock PostgreSQL (the embedded demo) and on TimescaleDB alike; tests/dashboards runs
every panel's SQL against a real PostgreSQL. Grafana fills in ``$__timeFilter(col)`` (the
dashboard's time range) and ``$__interval_ms`` (a bucket width that suits the panel's width).
Thresholds are the defaults of docs/domain.md; a limit that differs per device (a crossing's speed
limit) comes from the device's configuration instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

Json = dict[str, Any]

#: Grafana's id of its built-in PostgreSQL data source plugin (10.3+; "postgres" before).
DATASOURCE_TYPE = "grafana-postgresql-datasource"
#: Panels name the data source through the ``datasource`` variable rather than a fixed uid, so a
#: pushed dashboard works on a Grafana whose PostgreSQL data source has another uid.
DATASOURCE: Json = {"type": DATASOURCE_TYPE, "uid": "${datasource}"}

JSON_DIR = Path(__file__).resolve().parent / "json"

#: Frisse Scholen CO2 classes (Programma van Eisen Frisse Scholen; docs/domain.md, "Classrooms").
CO2_CLASS_A_PPM = 800
CO2_CLASS_B_PPM = 950
CO2_CLASS_C_PPM = 1200

_Format = Literal["time_series", "table"]


# ------------------------------------------------------------------------------- panel builders


def _target(sql: str, fmt: _Format) -> Json:
    return {
        "refId": "A",
        "datasource": DATASOURCE,
        "editorMode": "code",
        "format": fmt,
        "rawQuery": True,
        "rawSql": _clean(sql),
    }


def _clean(sql: str) -> str:
    """Strip the indentation of a triple-quoted query, so the panel editor shows it flush left."""
    lines = [line.rstrip() for line in sql.strip("\n").splitlines()]
    indent = min(len(line) - len(line.lstrip()) for line in lines if line)
    return "\n".join(line[indent:] for line in lines)


def _per_device(metric: str, *, agg: str = "avg", hourly: bool = False,
                use_case: str | None = None) -> str:
    """One series per device of one catalog metric, bucketed by Grafana's interval (or per
    hour for counts, whose hourly total is the sum of their uplinks). ``metric``, ``agg`` and
    ``use_case`` are this module's constants, never user input."""
    bucket = ("date_bin(interval '1 hour', r.time, timestamptz '2000-01-01')" if hourly else
              "date_bin($__interval_ms * interval '1 millisecond', r.time,\n"
              "                timestamptz '2000-01-01')")
    where = f"m.name = '{metric}'"
    if use_case:
        where += f" AND d.use_case = '{use_case}'\n  AND $__timeFilter(r.time)"
    else:
        where += " AND $__timeFilter(r.time)"
    return (f"SELECT {bucket} AS time,\n"
            "       COALESCE(NULLIF(d.name, ''), d.dev_eui) AS metric,\n"
            f"       {agg}(r.value) AS value\n"
            "FROM grafana.readings r\n"
            "JOIN grafana.metrics m ON m.id = r.metric_id\n"
            "JOIN grafana.devices d ON d.id = r.device_id\n"
            f"WHERE {where}\n"
            "GROUP BY 1, 2\n"
            "ORDER BY 1")


def _thresholds(base: str, *steps: tuple[float, str]) -> Json:
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": color, "value": value} for value, color in steps],
    }


def _panel(kind: str, title: str, description: str, sql: str, fmt: _Format, *, w: int, h: int,
           defaults: Json, options: Json, overrides: list[Json] | None = None,
           interval: str | None = None) -> Json:
    panel: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": h, "w": w, "x": 0, "y": 0},  # placed by _layout
        "targets": [_target(sql, fmt)],
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": options,
    }
    if interval:
        # Lower bound for $__interval: finer buckets than the uplink period only draw gaps.
        panel["interval"] = interval
    return panel


def timeseries(title: str, description: str, sql: str, *, unit: str, w: int = 24, h: int = 9,
               thresholds: Json | None = None, threshold_style: str = "off",
               bars: bool = False, interval: str | None = None,
               minimum: float | None = None) -> Json:
    """One line (or bar) series per value of the query's ``metric`` column."""
    custom: Json = {
        "drawStyle": "bars" if bars else "line",
        "lineWidth": 1 if bars else 2,
        "fillOpacity": 80 if bars else 10,
        "showPoints": "never",
        # Sensors drop uplinks; a missing bucket is not a reason to break the line.
        "spanNulls": True,
        "thresholdsStyle": {"mode": threshold_style},
    }
    defaults: Json = {"unit": unit, "custom": custom, "color": {"mode": "palette-classic"}}
    if thresholds is not None:
        defaults["thresholds"] = thresholds
    if minimum is not None:
        defaults["min"] = minimum
    options = {
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return _panel("timeseries", title, description, sql, "time_series", w=w, h=h,
                  defaults=defaults, options=options, interval=interval)


def _reduce_all_rows() -> Json:
    # Show every row of a table query (one tile or bar per device) instead of one reduced value.
    return {"values": True, "calcs": [], "fields": ""}


def stat(title: str, description: str, sql: str, *, unit: str, thresholds: Json, w: int = 6,
         h: int = 5, per_row: bool = False, decimals: int | None = None) -> Json:
    defaults: Json = {"unit": unit, "thresholds": thresholds, "color": {"mode": "thresholds"}}
    if decimals is not None:
        defaults["decimals"] = decimals
    options = {
        "reduceOptions": _reduce_all_rows() if per_row
        else {"values": False, "calcs": ["lastNotNull"], "fields": ""},
        "colorMode": "background",
        "graphMode": "none",
        "justifyMode": "auto",
        "orientation": "auto",
        "textMode": "value_and_name" if per_row else "value",
    }
    return _panel("stat", title, description, sql, "table", w=w, h=h, defaults=defaults,
                  options=options)


def bargauge(title: str, description: str, sql: str, *, unit: str, thresholds: Json,
             minimum: float, maximum: float, w: int = 12, h: int = 10) -> Json:
    defaults: Json = {"unit": unit, "thresholds": thresholds, "min": minimum, "max": maximum,
                      "color": {"mode": "thresholds"}}
    options = {
        "reduceOptions": _reduce_all_rows(),
        "orientation": "horizontal",
        "displayMode": "gradient",
        "showUnfilled": True,
    }
    return _panel("bargauge", title, description, sql, "table", w=w, h=h, defaults=defaults,
                  options=options)


def table(title: str, description: str, sql: str, *, w: int = 24, h: int = 8,
          overrides: list[Json] | None = None) -> Json:
    options = {"showHeader": True, "cellHeight": "sm", "footer": {"show": False}}
    return _panel("table", title, description, sql, "table", w=w, h=h,
                  defaults={"custom": {"align": "auto"}}, options=options, overrides=overrides)


def colored_column(name: str, unit: str, thresholds: Json, decimals: int | None = None) -> Json:
    """Table override: colour one column's cells by thresholds."""
    properties: list[Json] = [
        {"id": "unit", "value": unit},
        {"id": "thresholds", "value": thresholds},
        {"id": "custom.cellOptions", "value": {"type": "color-background"}},
    ]
    if decimals is not None:
        properties.append({"id": "decimals", "value": decimals})
    return {"matcher": {"id": "byName", "options": name}, "properties": properties}


def column_unit(name: str, unit: str, decimals: int | None = None) -> Json:
    properties: list[Json] = [{"id": "unit", "value": unit}]
    if decimals is not None:
        properties.append({"id": "decimals", "value": decimals})
    return {"matcher": {"id": "byName", "options": name}, "properties": properties}


def geomap(title: str, description: str, sql: str, *, color_field: str, unit: str,
           thresholds: Json, w: int = 12, h: int = 10) -> Json:
    """Markers at the query's ``lat``/``lon`` columns, coloured by ``color_field``."""
    layer = {
        "type": "markers",
        "name": title,
        "location": {"mode": "coords", "latitude": "lat", "longitude": "lon"},
        "config": {
            "showLegend": True,
            "style": {
                "color": {"field": color_field, "fixed": "dark-green"},
                "size": {"fixed": 7},
                "opacity": 0.9,
                "symbol": {"fixed": "img/icons/marker/circle.svg", "mode": "fixed"},
            },
        },
        "tooltip": True,
    }
    options = {
        "view": {"id": "fit", "allLayers": True, "padding": 10},
        "controls": {"showZoom": True, "mouseWheelZoom": True},
        "basemap": {"type": "default", "name": "Basemap"},
        "layers": [layer],
        "tooltip": {"mode": "details"},
    }
    defaults: Json = {"unit": unit, "thresholds": thresholds, "color": {"mode": "thresholds"}}
    return _panel("geomap", title, description, sql, "table", w=w, h=h, defaults=defaults,
                  options=options)


def barchart(title: str, description: str, sql: str, *, x_field: str, unit: str,
             colors: dict[str, str], w: int = 24, h: int = 9) -> Json:
    """Horizontal stacked bars, one per row of a table query; ``colors`` per column name."""
    overrides = [
        {"matcher": {"id": "byName", "options": name},
         "properties": [{"id": "color", "value": {"mode": "fixed", "fixedColor": color}}]}
        for name, color in colors.items()
    ]
    options = {
        "xField": x_field,
        "orientation": "horizontal",
        "stacking": "normal",
        "showValue": "never",
        "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
        "tooltip": {"mode": "multi", "sort": "none"},
    }
    defaults: Json = {"unit": unit, "min": 0, "max": 100, "custom": {"fillOpacity": 85}}
    return _panel("barchart", title, description, sql, "table", w=w, h=h, defaults=defaults,
                  options=options, overrides=overrides)


# ------------------------------------------------------------------------------------ dashboard


_DATASOURCE_VARIABLE: Json = {
    "name": "datasource",
    "label": "Database",
    "type": "datasource",
    "query": DATASOURCE_TYPE,
    # Empty: Grafana selects the default PostgreSQL data source (the provisioned "meetnet").
    "current": {},
    "hide": 0,
    "includeAll": False,
    "multi": False,
    "options": [],
    "refresh": 1,
    "regex": "",
    "skipUrlSync": False,
}


def _layout(panels: Sequence[Json]) -> list[Json]:
    """Number the panels and flow them left to right over Grafana's 24-column grid."""
    out, x, y, row_height = [], 0, 0, 0
    for number, panel in enumerate(panels, start=1):
        w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if x + w > 24:
            x, y, row_height = 0, y + row_height, 0
        out.append({"id": number, **panel, "gridPos": {"h": h, "w": w, "x": x, "y": y}})
        x, row_height = x + w, max(row_height, h)
    return out


def _dashboard(uid: str, title: str, description: str, tags: list[str], panels: Sequence[Json],
               *, refresh: str = "5m", time_from: str = "now-7d") -> Json:
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": ["meetnet", *tags],
        "editable": True,
        "graphTooltip": 1,  # shared crosshair: compare devices at the same moment
        "schemaVersion": 39,
        "time": {"from": time_from, "to": "now"},
        "timezone": "browser",
        "refresh": refresh,
        "templating": {"list": [_DATASOURCE_VARIABLE]},
        "annotations": {"list": []},
        "links": [{"title": "meetnet", "type": "dashboards", "tags": ["meetnet"],
                   "asDropdown": True, "includeVars": False, "keepTime": True}],
        "panels": _layout(panels),
    }


# ------------------------------------------------------------------------------------ use cases


def waste_dashboard() -> Json:
    """Waste bins (docs/domain.md, "Waste bins"): which bins need emptying, where they are, and which
    sensors went silent. 80 % is the level a bin should not pass before its round; a bin at 60 %
    forecast to pass 80 % tomorrow goes on today's route."""
    fill = _thresholds("green", (60, "yellow"), (80, "red"))
    panels = [
        stat("Bins at or above 80 %", "Bins whose latest fill level is at least 80 %.", """
            SELECT count(*) AS "bins at or above 80 %"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            WHERE m.name = 'fill_level' AND l.value >= 80
            """, unit="none", thresholds=_thresholds("green", (1, "orange"))),
        stat("Bins between 60 and 80 %", "Candidates for tomorrow's route.", """
            SELECT count(*) AS "bins between 60 and 80 %"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            WHERE m.name = 'fill_level' AND l.value >= 60 AND l.value < 80
            """, unit="none", thresholds=_thresholds("blue")),
        stat("Average fill level", "Mean of every bin's latest fill level.", """
            SELECT avg(l.value) AS "average fill level"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            WHERE m.name = 'fill_level'
            """, unit="percent", thresholds=fill, decimals=0),
        stat("Silent bins", "Bins without a fill level for 24 hours: a stale sensor.", """
            SELECT count(*) AS "silent bins"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            WHERE m.name = 'fill_level' AND l.time < now() - interval '24 hours'
            """, unit="none", thresholds=_thresholds("green", (1, "red"))),
        geomap("Bins on the map", "Each bin at its registered location, coloured by its latest "
               "fill level.", """
            SELECT COALESCE(NULLIF(d.name, ''), d.dev_eui) AS bin,
                   d.lat,
                   d.lon,
                   l.value AS "fill level",
                   l.time AS "measured at"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'fill_level' AND d.lat IS NOT NULL AND d.lon IS NOT NULL
            """, color_field="fill level", unit="percent", thresholds=fill),
        bargauge("Fullest bins", "The 30 fullest bins by their latest fill level.", """
            SELECT COALESCE(NULLIF(d.name, ''), d.dev_eui) AS bin,
                   l.value AS "fill level"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'fill_level'
            ORDER BY l.value DESC
            LIMIT 30
            """, unit="percent", thresholds=fill, minimum=0, maximum=100),
        timeseries("Fill level", "Fill level per bin; a sharp drop is an emptying.",
                   _per_device("fill_level"),
                   unit="percent", thresholds=fill, threshold_style="dashed", interval="15m",
                   minimum=0),
    ]
    return _dashboard("meetnet-waste", "Waste bins: fill levels",
                      "Fill level per bin, bins due for emptying, silent sensors.",
                      ["waste"], panels)


def classroom_dashboard() -> Json:
    """Classroom air (Meet de Klas; docs/domain.md, "Classrooms"): a live traffic light per room in the
    Frisse Scholen CO2 classes, the week's course, and the share of school time in each class."""
    co2 = _thresholds("green", (CO2_CLASS_A_PPM, "yellow"), (CO2_CLASS_B_PPM, "orange"),
                      (CO2_CLASS_C_PPM, "red"))
    # Comfort 18-22 Cel; performance drops above 25. Relative humidity 35-70 %.
    temperature = _thresholds("blue", (18, "green"), (22, "yellow"), (25, "red"))
    humidity = _thresholds("orange", (35, "green"), (70, "orange"))
    panels = [
        stat("CO2 now", "Latest CO2 per room, measured within the last hour, coloured by Frisse "
             "Scholen class: green A (≤ 800 ppm), yellow B (≤ 950), orange C (≤ 1200), red above.",
             """
            SELECT COALESCE(NULLIF(d.name, ''), d.dev_eui) AS room,
                   l.value AS co2
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'co2' AND l.time > now() - interval '1 hour'
            ORDER BY 1
            """, unit="ppm", thresholds=co2, w=24, h=5, per_row=True, decimals=0),
        timeseries("CO2", "CO2 per room against the Frisse Scholen class limits 800, 950 and "
                   "1200 ppm.",
                   _per_device("co2"),
                   unit="ppm", thresholds=co2, threshold_style="line+area", interval="5m",
                   minimum=400),
        barchart("Share of school time per Frisse Scholen class",
                 "Per room, the share of CO2 readings in each class during school hours "
                 "(Monday to Friday, 08:30-15:30 Europe/Amsterdam) in the selected time range. "
                 "With regular uplinks this is the share of time.", """
            SELECT COALESCE(NULLIF(d.name, ''), d.dev_eui) AS room,
                   100.0 * count(*) FILTER (WHERE r.value <= 800) / count(*)
                       AS "A (≤ 800 ppm)",
                   100.0 * count(*) FILTER (WHERE r.value > 800 AND r.value <= 950) / count(*)
                       AS "B (≤ 950 ppm)",
                   100.0 * count(*) FILTER (WHERE r.value > 950 AND r.value <= 1200) / count(*)
                       AS "C (≤ 1200 ppm)",
                   100.0 * count(*) FILTER (WHERE r.value > 1200) / count(*)
                       AS "above C (> 1200 ppm)"
            FROM grafana.readings r
            JOIN grafana.metrics m ON m.id = r.metric_id
            JOIN grafana.devices d ON d.id = r.device_id
            WHERE m.name = 'co2' AND $__timeFilter(r.time)
              AND extract(isodow FROM r.time AT TIME ZONE 'Europe/Amsterdam') <= 5
              AND (r.time AT TIME ZONE 'Europe/Amsterdam')::time >= time '08:30'
              AND (r.time AT TIME ZONE 'Europe/Amsterdam')::time < time '15:30'
            GROUP BY 1
            ORDER BY 1
            """, x_field="room", unit="percent",
                 colors={"A (≤ 800 ppm)": "green", "B (≤ 950 ppm)": "yellow",
                         "C (≤ 1200 ppm)": "orange", "above C (> 1200 ppm)": "red"}),
        # Water and waste sensors report temperature too: only classroom devices here.
        timeseries("Temperature", "Air temperature per room; comfortable between 18 and 22 °C.",
                   _per_device("temperature", use_case="classroom"),
                   unit="celsius", thresholds=temperature, threshold_style="dashed", w=12,
                   interval="5m"),
        timeseries("Relative humidity", "Relative humidity per room; healthy between 35 and "
                   "70 %.",
                   _per_device("humidity"),
                   unit="humidity", thresholds=humidity, threshold_style="dashed", w=12,
                   interval="5m"),
    ]
    return _dashboard("meetnet-classroom", "Classrooms: CO2, temperature and humidity",
                      "Indoor air per classroom in the Frisse Scholen classes.",
                      ["classroom"], panels, refresh="1m")


def crossing_dashboard() -> Json:
    """Zebra crossings (docs/domain.md, "Zebra crossings"): pedestrians and vehicles per hour, and the
    V85 of approaching vehicles against each crossing's own speed limit (device configuration
    ``speed_limit_kmh``: a limit is configuration, not a constant)."""
    panels = [
        stat("Pedestrians", "People counted crossing in the selected time range.", """
            SELECT sum(r.value) AS pedestrians
            FROM grafana.readings r
            JOIN grafana.metrics m ON m.id = r.metric_id
            WHERE m.name = 'pedestrian_count' AND $__timeFilter(r.time)
            """, unit="none", thresholds=_thresholds("blue"), w=12, h=4, decimals=0),
        stat("Vehicles", "Vehicles counted in the selected time range.", """
            SELECT sum(r.value) AS vehicles
            FROM grafana.readings r
            JOIN grafana.metrics m ON m.id = r.metric_id
            WHERE m.name = 'vehicle_count' AND $__timeFilter(r.time)
            """, unit="none", thresholds=_thresholds("purple"), w=12, h=4, decimals=0),
        # Counts are "since the previous uplink", so an hour's total is the sum of its uplinks.
        timeseries("Pedestrians per hour", "People crossing per hour, per crossing.",
                   _per_device("pedestrian_count", agg="sum", hourly=True),
                   unit="short", bars=True, w=12, minimum=0),
        timeseries("Vehicles per hour", "Vehicles passing per hour, per crossing.",
                   _per_device("vehicle_count", agg="sum", hourly=True),
                   unit="short", bars=True, w=12, minimum=0),
        timeseries("Vehicle speed V85", "The speed 85 % of approaching vehicles do not exceed, "
                   "per reporting interval.",
                   _per_device("vehicle_speed_v85", agg="max"),
                   unit="velocitykmh", interval="15m", minimum=0),
        table("Speed against the limit", "Per crossing over the selected time range: its speed "
              "limit (device configuration speed_limit_kmh), the median and highest V85 of the "
              "reporting intervals, and the share of intervals whose V85 exceeded the limit.", """
            SELECT COALESCE(NULLIF(d.name, ''), d.dev_eui) AS crossing,
                   (d.config ->> 'speed_limit_kmh')::double precision AS "limit",
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.value) AS "median V85",
                   max(r.value) AS "highest V85",
                   CASE WHEN d.config ? 'speed_limit_kmh' THEN
                       100.0 * count(*) FILTER (
                           WHERE r.value > (d.config ->> 'speed_limit_kmh')::double precision)
                       / count(*)
                   END AS "intervals above the limit"
            FROM grafana.readings r
            JOIN grafana.metrics m ON m.id = r.metric_id
            JOIN grafana.devices d ON d.id = r.device_id
            WHERE m.name = 'vehicle_speed_v85' AND $__timeFilter(r.time)
            GROUP BY d.id, d.name, d.dev_eui, d.config
            ORDER BY 1
            """, overrides=[
                column_unit("limit", "velocitykmh", 0),
                column_unit("median V85", "velocitykmh", 1),
                column_unit("highest V85", "velocitykmh", 1),
                colored_column("intervals above the limit", "percent",
                               _thresholds("green", (15, "orange"), (50, "red")), 0),
            ]),
    ]
    return _dashboard("meetnet-crossing", "Zebra crossings: pedestrians, vehicles and speed",
                      "Counts per hour and vehicle speed V85 at each crossing.",
                      ["crossing"], panels)


def water_dashboard() -> Json:
    """Surface water (docs/domain.md, "Water level"): level in m NAP, how fast it rises (the practice
    alarm is 5 cm/h), and sensors gone silent."""
    rise = _thresholds("green", (2, "orange"), (5, "red"))
    panels = [
        timeseries("Water level", "Water level per location in metres relative to NAP.",
                   _per_device("water_level"),
                   unit="suffix: m NAP", w=18, interval="10m"),
        stat("Silent sensors", "Water level sensors without a reading for an hour.", """
            SELECT count(*) AS "silent sensors"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            WHERE m.name = 'water_level' AND l.time < now() - interval '1 hour'
            """, unit="none", thresholds=_thresholds("green", (1, "red")), w=6, h=9),
        # The rise is the least-squares slope over the two hours before the latest reading: a
        # short fit that one spike cannot dominate the way a difference of two readings can.
        table("Levels now", "Latest level per location and its rise in cm per hour over the two "
              "hours before it (alarm practice: faster than 5 cm/h).", """
            SELECT COALESCE(NULLIF(d.name, ''), d.dev_eui) AS location,
                   l.value AS "level",
                   l.time AS "measured at",
                   (SELECT 360000 * regr_slope(r.value, extract(epoch FROM r.time))
                    FROM grafana.readings r
                    WHERE r.device_id = l.device_id AND r.metric_id = l.metric_id
                      AND r.time > l.time - interval '2 hours') AS "rise"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'water_level'
            ORDER BY 1
            """, overrides=[
                column_unit("level", "suffix: m NAP", 2),
                colored_column("rise", "suffix: cm/h", rise, 1),
            ]),
    ]
    return _dashboard("meetnet-water", "Water levels (m NAP)",
                      "Surface water level against NAP, rate of rise and silent sensors.",
                      ["water"], panels)


def all_dashboards() -> dict[str, Json]:
    """File stem -> dashboard model, in the order Grafana lists them."""
    return {
        "waste": waste_dashboard(),
        "classroom": classroom_dashboard(),
        "crossing": crossing_dashboard(),
        "water": water_dashboard(),
    }


def render(dashboard: Json) -> str:
    """The file text of one dashboard: stable, so regenerating changes nothing."""
    return json.dumps(dashboard, indent=2, ensure_ascii=False) + "\n"


def write(directory: Path = JSON_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, dashboard in all_dashboards().items():
        path = directory / f"{stem}.json"
        path.write_text(render(dashboard), encoding="utf-8")
        paths.append(path)
    return paths


def stale(directory: Path = JSON_DIR) -> list[str]:
    """Names of files in ``directory`` that differ from what this module builds (or are extra)."""
    expected = {f"{stem}.json": render(d) for stem, d in all_dashboards().items()}
    present = {p.name for p in directory.glob("*.json")}
    wrong = [name for name, text in expected.items()
             if not (directory / name).is_file()
             or (directory / name).read_text(encoding="utf-8") != text]
    return sorted(wrong + sorted(present - expected.keys()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dashboards.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory", nargs="?", type=Path, default=JSON_DIR)
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if the files differ from the code")
    args = parser.parse_args(argv)
    if args.check:
        wrong = stale(args.directory)
        if wrong:
            print(f"out of date in {args.directory}: {', '.join(wrong)} "
                  "(run python -m dashboards.build)", file=sys.stderr)
            return 1
        return 0
    for path in write(args.directory):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
