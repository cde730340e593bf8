"""Shared parts of meetnet's Grafana dashboards: panel builders, the dashboard variables, the
grid layout and the SQL fragments every panel uses (docs/grafana.md).

Panels are raw SQL through Grafana's PostgreSQL data source, on the views of schema ``grafana``
only (migrations 0009 and 0011): Grafana's role reads no table. Time buckets use ``date_bin``
(PostgreSQL 14+), not TimescaleDB's ``time_bucket``, so every panel works on stock PostgreSQL
(the embedded demo) and on TimescaleDB alike. Grafana fills in ``$__timeFilter(col)``,
``$__timeFrom()``/``$__timeTo()`` (the dashboard's time range), ``$__interval_ms`` (a bucket
width that suits the panel) and ``$organisation`` (the organisations picked, each quoted as an
SQL string literal, comma-separated: Grafana's formatting of a multi-value variable for SQL data
sources), so every panel filters with ``IN ($organisation)``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any, Literal

Json = dict[str, Any]

#: Grafana's id of its built-in PostgreSQL data source plugin (10.3+; "postgres" before).
DATASOURCE_TYPE = "grafana-postgresql-datasource"
#: Panels name the data source through the ``datasource`` variable rather than a fixed uid, so a
#: pushed dashboard works on a Grafana whose PostgreSQL data source has another uid.
DATASOURCE: Json = {"type": DATASOURCE_TYPE, "uid": "${datasource}"}

#: Every panel's filter on the ``organisation`` variable (column ``organisation`` of
#: grafana.devices, the owner's slug), so a municipality sees its own fleet only when it asks.
#: Panel texts write ``<org>`` for it.
ORGANISATION_FILTER = "d.organisation IN ($organisation)"
#: A device's label in legends and tables: its name, else its DevEUI. Panel texts write
#: ``<name>`` for it.
DEVICE_NAME = "COALESCE(NULLIF(d.name, ''), d.dev_eui)"
#: The panel texts' shorthands: this module's constants, so no outside text reaches the SQL.
_SHORTHANDS = {"<org>": ORGANISATION_FILTER, "<name>": DEVICE_NAME}

Format = Literal["time_series", "table"]


# ------------------------------------------------------------------------------- panel builders


def _target(sql: str, fmt: Format) -> Json:
    return {
        "refId": "A",
        "datasource": DATASOURCE,
        "editorMode": "code",
        "format": fmt,
        "rawQuery": True,
        "rawSql": _clean(sql),
    }


def _clean(sql: str) -> str:
    """Strip the indentation of a triple-quoted query, so the panel editor shows it flush left,
    and write out the shorthands ``<org>`` and ``<name>``."""
    for short, full in _SHORTHANDS.items():
        sql = sql.replace(short, full)
    lines = [line.rstrip() for line in sql.strip("\n").splitlines()]
    indent = min(len(line) - len(line.lstrip()) for line in lines if line)
    return "\n".join(line[indent:] for line in lines)


def per_device(metric: str, *, agg: str = "avg", hourly: bool = False,
               use_case: str | None = None) -> str:
    """One series per device of one catalog metric, bucketed by Grafana's interval (or per
    hour for counts, whose hourly total is the sum of their uplinks), of the organisations
    picked. ``metric``, ``agg`` and ``use_case`` are this package's constants, never user
    input."""
    bucket = ("date_bin(interval '1 hour', r.time, timestamptz '2000-01-01')" if hourly else
              "date_bin($__interval_ms * interval '1 millisecond', r.time,\n"
              "                timestamptz '2000-01-01')")
    where = f"m.name = '{metric}'"
    if use_case:
        where += f" AND d.use_case = '{use_case}'"
    return (f"SELECT {bucket} AS time,\n"
            "       <name> AS metric,\n"
            f"       {agg}(r.value) AS value\n"
            "FROM grafana.readings r\n"
            "JOIN grafana.metrics m ON m.id = r.metric_id\n"
            "JOIN grafana.devices d ON d.id = r.device_id\n"
            f"WHERE {where}\n"
            "  AND <org> AND $__timeFilter(r.time)\n"
            "GROUP BY 1, 2\n"
            "ORDER BY 1")


def color_steps(base: str, *steps: tuple[float, str]) -> Json:
    """Grafana thresholds: ``base`` below the first step, then each step's colour from its
    value on."""
    return {
        "mode": "absolute",
        "steps": [{"color": base, "value": None}]
        + [{"color": color, "value": value} for value, color in steps],
    }


def _panel(kind: str, title: str, description: str, sql: str, fmt: Format, *, w: int, h: int,
           defaults: Json, options: Json, overrides: list[Json] | None = None,
           interval: str | None = None) -> Json:
    panel: Json = {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": DATASOURCE,
        "gridPos": {"h": h, "w": w, "x": 0, "y": 0},  # placed by layout
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
               minimum: float | None = None, overrides: list[Json] | None = None) -> Json:
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
                  defaults=defaults, options=options, interval=interval, overrides=overrides)


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


def dashed_series(pattern: str, color: str | None = None, *, dash: int = 10,
                  width: int = 1) -> Json:
    """Time series override: the series whose names match the regular expression ``pattern``
    drawn as thin dashed lines (a target or an alarm level, not a measurement)."""
    properties: list[Json] = [
        {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [dash, dash]}},
        {"id": "custom.lineWidth", "value": width},
        {"id": "custom.fillOpacity", "value": 0},
    ]
    if color is not None:
        properties.append({"id": "color", "value": {"mode": "fixed", "fixedColor": color}})
    return {"matcher": {"id": "byRegexp", "options": pattern}, "properties": properties}


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
    # Empty: Grafana selects the default PostgreSQL data source (the provisioned "meetnet");
    # `meetnet dashboards push` fills in the data source it manages.
    "current": {},
    "hide": 0,
    "includeAll": False,
    "multi": False,
    "options": [],
    "refresh": 1,
    "regex": "",
    "skipUrlSync": False,
}

#: The organisations whose devices the logged-in role sees (view grafana.organisations); shown
#: by name, filtered by slug. Grafana's SQL data sources take a query's ``__text`` and
#: ``__value`` columns as an option's label and value.
ORGANISATION_QUERY = ("SELECT name AS __text, slug AS __value FROM grafana.organisations "
                      "ORDER BY name")

_ORGANISATION_VARIABLE: Json = {
    "name": "organisation",
    "label": "Organisation",
    "type": "query",
    "datasource": DATASOURCE,
    "query": ORGANISATION_QUERY,
    "definition": ORGANISATION_QUERY,
    # All by default: without an "allValue", Grafana expands All to every option, quoted, so
    # `IN ($organisation)` stays valid SQL.
    "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
    "hide": 0,
    "includeAll": True,
    "multi": True,
    "options": [],
    "refresh": 1,  # on dashboard load: a newly granted organisation appears without an edit
    "regex": "",
    "skipUrlSync": False,
    "sort": 0,
}

VARIABLES: list[Json] = [_DATASOURCE_VARIABLE, _ORGANISATION_VARIABLE]


def layout(panels: Sequence[Json]) -> list[Json]:
    """Number the panels and flow them left to right over Grafana's 24-column grid."""
    out, x, y, row_height = [], 0, 0, 0
    for number, panel in enumerate(panels, start=1):
        w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
        if x + w > 24:
            x, y, row_height = 0, y + row_height, 0
        out.append({"id": number, **panel, "gridPos": {"h": h, "w": w, "x": x, "y": y}})
        x, row_height = x + w, max(row_height, h)
    return out


def dashboard(uid: str, title: str, description: str, tags: list[str], panels: Sequence[Json],
              *, refresh: str = "5m", time_from: str = "now-7d") -> Json:
    """A dashboard model (Grafana's JSON model, schemaVersion 39) with meetnet's variables,
    tags and cross-links, its panels laid out by :func:`layout`."""
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
        "templating": {"list": copy.deepcopy(VARIABLES)},
        "annotations": {"list": []},
        "links": [{"title": "meetnet", "type": "dashboards", "tags": ["meetnet"],
                   "asDropdown": True, "includeVars": True, "keepTime": True}],
        "panels": layout(panels),
    }


