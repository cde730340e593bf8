"""Dashboards as code: the committed JSON is what dashboards/build.py makes; every panel's SQL of
every dashboard runs on a real PostgreSQL with Grafana's macros and the `organisation` variable
filled in as Grafana would, logged in as the read-only role Grafana uses, and finds the data it
is meant to show (the water lines and the waste due list agree with the analytics); `push` is
checked against a recorded contract of the Grafana HTTP API, played by a real HTTP server."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from typer.testing import CliRunner

from alerts.runner import evaluate
from analytics import water as water_analytics
from analytics.waste import assess
from dashboards import build, panels
from dashboards.push import FOLDER_UID, DataSource, PushError, push
from dashboards.water import ALARM_M, water_dashboard
from meetnet.catalog import METRICS
from meetnet.cli import app
from meetnet.runtime import start_postgres
from meetnet.settings import Settings
from store.migrate import migrate

ROOT = Path(__file__).resolve().parents[2]
READER_SCRIPT = ROOT / "deploy" / "timescaledb" / "grafana-reader.sh"
DATASOURCES = ROOT / "dashboards" / "provisioning" / "datasources" / "meetnet.yaml"
PROVIDERS = ROOT / "dashboards" / "provisioning" / "dashboards" / "meetnet.yaml"

DASHBOARDS = build.all_dashboards()
PANELS = [(stem, panel) for stem, d in DASHBOARDS.items() for panel in d["panels"]]
PANEL_IDS = [f"{stem}: {panel['title']}" for stem, panel in PANELS]

# The time range and bucket width Grafana would send for the default view (last 7 days).
RANGE_TO = datetime.now(UTC).replace(microsecond=0)
RANGE_FROM = RANGE_TO - timedelta(days=7)
INTERVAL_MS = 15 * 60 * 1000


def expand_macros(sql: str, organisations: list[str], *, start: datetime = RANGE_FROM,
                  end: datetime = RANGE_TO) -> str:
    """Fill in Grafana's PostgreSQL macros as Grafana does (its `sqleng` macro engine): the time
    filter becomes BETWEEN two RFC 3339 literals, $__interval_ms an integer; and the
    multi-value `organisation` variable each value single-quoted (quotes doubled) and
    comma-separated, Grafana's SQL formatting of a multi-value variable. Any macro or variable
    left over fails the test, so a panel cannot use one that is not checked here."""
    since, until = (f"'{t.isoformat().replace('+00:00', 'Z')}'" for t in (start, end))
    sql = re.sub(r"\$__timeFilter\(([^()]+)\)", rf"\1 BETWEEN {since} AND {until}", sql)
    sql = sql.replace("$__timeFrom()", since).replace("$__timeTo()", until)
    sql = re.sub(r"\$__interval_ms\b", str(INTERVAL_MS), sql)
    quoted = ",".join("'" + o.replace("'", "''") + "'" for o in organisations)
    sql = re.sub(r"\$\{?organisation\}?", lambda _: quoted, sql)
    leftover = re.findall(r"\$\{?\w+", sql)
    assert not leftover, f"unexpanded Grafana macros or variables: {leftover}"
    return sql


# ------------------------------------------------------------------------------------ database


@dataclass(frozen=True)
class DashboardDb:
    owner_dsn: str
    #: Logged in as grafana_reader, made by deploy/timescaledb/grafana-reader.sh (None when psql
    #: is not installed: then panels run as the owner, in a read-only transaction).
    reader_dsn: str | None
    #: The `organisation` variable's values for that role (its query run as the role): "All".
    organisations: list[str]


def _run_reader_script(dsn: str, bindir: Path | None) -> str | None:
    """Run the compose init script as the timescaledb image does: before the migrations."""
    psql = shutil.which("psql", path=str(bindir) if bindir else None) or shutil.which("psql")
    if psql is None:
        return None
    info = conninfo_to_dict(dsn)
    env = {
        **os.environ,
        "PATH": f"{Path(psql).parent}:{os.environ.get('PATH', '')}",
        "POSTGRES_USER": str(info["user"]),
        "POSTGRES_DB": str(info["dbname"]),
        "GRAFANA_DB_PASSWORD": "reader-secret",
        "PGHOST": str(info["host"]),
        "PGPORT": str(info.get("port", "5432")),
    }
    for _ in range(2):  # idempotent: the comment tells operators to run it again by hand
        subprocess.run(["sh", str(READER_SCRIPT)], env=env, check=True, capture_output=True)
    return make_conninfo(dsn, user="grafana_reader", password="reader-secret")


_SEED = """
INSERT INTO organisations (slug, name) VALUES ('leiden', 'Gemeente Leiden'),
                                              ('bedrijf-x', 'Bedrijf X'),
                                              ('achter-slot', 'Achter Slot BV');
INSERT INTO devices (dev_eui, organisation_id, model_key, name, use_case, visibility, lat,
                     lon, config, battery_percent)
SELECT v.dev_eui, o.id, v.model_key, v.name, v.use_case, 'open', v.lat, v.lon,
       v.config::jsonb, v.battery
FROM organisations o, (VALUES
    ('a000000000000001', 'milesight-iot/em310-udl', 'Bin Breestraat', 'waste',
     52.1589, 4.4923, '{"bin_depth_m": 1.2}', 80),
    ('a000000000000002', 'milesight-iot/em310-udl', 'Bin Haarlemmerstraat', 'waste',
     52.1611, 4.4901, '{"bin_depth_m": 1.2}', 75),
    ('a000000000000003', 'milesight-iot/em310-udl', 'Bin Stationsplein', 'waste',
     52.1664, 4.4820, '{"bin_depth_m": 1.2}', NULL),
    ('a000000000000004', 'milesight-iot/em310-udl', 'Bin Markt', 'waste',
     52.1600, 4.4950, '{"bin_depth_m": 1.2}', 90),
    ('b000000000000001', 'elsys/ers-co2', 'Groep 7', 'classroom', NULL, NULL, '{}', 60),
    ('c000000000000001', 'parametric/tcr', 'Zebra Rijnsburgerweg', 'crossing', NULL, NULL,
     '{"speed_limit_kmh": 30}', NULL),
    ('c000000000000002', 'parametric/tcr', 'Zebra Geversstraat', 'crossing', NULL, NULL, '{}',
     NULL),
    ('d000000000000001', 'dragino/ldds75', 'Oude Rijn', 'water', NULL, NULL,
     '{"mount_height_nap_m": 1.5, "target_summer_nap_m": -0.61,
       "target_winter_nap_m": -0.64, "rise_alarm_cm_h": 4}', 70),
    ('d000000000000002', 'dragino/ldds75', 'Boezem', 'water', NULL, NULL,
     '{"mount_height_nap_m": 1.5, "target_lower_nap_m": -0.66, "target_upper_nap_m": -0.58}',
     70),
    ('d000000000000003', 'dragino/ldds75', 'Vliet', 'water', NULL, NULL,
     '{"mount_height_nap_m": 1.5, "target_nap_m": -0.60, "rise_alarm_cm_h": "fast"}', 70)
) AS v(dev_eui, model_key, name, use_case, lat, lon, config, battery)
WHERE o.slug = 'leiden';
-- Another organisation's private bin, nearly full: Grafana's role must never show it. Its open
-- crossing it must show, under its own organisation only.
INSERT INTO devices (dev_eui, organisation_id, model_key, name, use_case, lat, lon, config)
SELECT 'e000000000000001', o.id, 'milesight-iot/em310-udl', 'Bin Geheim', 'waste', 52.16, 4.49,
       '{"bin_depth_m": 1.2}'
FROM organisations o WHERE o.slug = 'bedrijf-x';
INSERT INTO devices (dev_eui, organisation_id, model_key, name, use_case, visibility, config)
SELECT 'f000000000000001', o.id, 'parametric/tcr', 'Zebra Bedrijfsweg', 'crossing', 'open',
       '{"speed_limit_kmh": 50}'
FROM organisations o WHERE o.slug = 'bedrijf-x';
-- An organisation with only a private device: not even its name reaches the variable.
INSERT INTO devices (dev_eui, organisation_id, model_key, name, use_case, config)
SELECT 'e000000000000002', o.id, 'elsys/ers-co2', 'Kluis', 'classroom', '{}'
FROM organisations o WHERE o.slug = 'achter-slot';
"""

#: Every open device's name, by organisation: what the organisation filter must keep apart.
OPEN_NAMES = {
    "leiden": {"Bin Breestraat", "Bin Haarlemmerstraat", "Bin Stationsplein", "Bin Markt",
               "Groep 7", "Zebra Rijnsburgerweg", "Zebra Geversstraat", "Oude Rijn", "Boezem",
               "Vliet"},
    "bedrijf-x": {"Zebra Bedrijfsweg"},
}
PRIVATE_NAMES = {"Bin Geheim", "Kluis"}

# (dev_eui, metric, mean, amplitude, hours since the last reading)
_SERIES = [
    ("a000000000000001", "fill_level", 70, 20, 0),
    ("a000000000000002", "fill_level", 50, 20, 0),
    ("a000000000000003", "fill_level", 30, 5, 48),      # silent for two days
    ("b000000000000001", "co2", 900, 400, 0),
    ("b000000000000001", "temperature", 21, 2, 0),
    ("b000000000000001", "humidity", 50, 10, 0),
    ("b000000000000001", "battery", 15, 0, 0),          # the reading beats the device's 60 %
    ("c000000000000001", "pedestrian_count", 20, 15, 0),
    ("c000000000000001", "vehicle_count", 60, 40, 0),
    ("c000000000000001", "vehicle_speed_v85", 32, 6, 0),
    ("c000000000000002", "vehicle_speed_v85", 45, 5, 0),
    ("d000000000000001", "water_level", -0.62, 0.05, 0),
    ("d000000000000001", "temperature", 12, 3, 0),      # a water temperature: not a classroom
    ("d000000000000002", "water_level", -0.55, 0.02, 0),
    ("d000000000000003", "water_level", -0.75, 0.02, 0),
    ("e000000000000001", "fill_level", 99, 0.5, 0),     # private: must not show
    ("e000000000000002", "co2", 700, 100, 0),           # private: must not show
    ("f000000000000001", "pedestrian_count", 5, 3, 0),
    ("f000000000000001", "vehicle_speed_v85", 55, 5, 0),
]

# (stage, dev_eui, times seen): the dead letters of the fleet dashboard.
_DEAD_LETTERS = [
    ("decode", "a000000000000001", 3),    # leiden's open bin
    ("parse", None, 2),                    # no device: the network's
    ("lookup", "ffffffffffffffff", 1),    # an unknown device: the network's
    ("decode", "e000000000000001", 5),    # bedrijf-x's private bin: never shown
    ("validate", "f000000000000001", 1),  # bedrijf-x's open crossing
]


def _seed(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        conn.execute(_SEED)
        for dev_eui, metric, mean, amplitude, silent_h in _SERIES:
            # Every 10 minutes for eight days: a wave with a daily period, so values cross the
            # thresholds.
            conn.execute(
                """INSERT INTO readings (time, device_id, metric_id, value)
                   SELECT t, d.id, m.id,
                          %(mean)s + %(amp)s * sin(2 * pi() * extract(epoch FROM t) / 86400)
                   FROM devices d, metrics m,
                        generate_series(date_trunc('minute', now()) - interval '8 days',
                                        now() - make_interval(hours => %(silent)s)
                                            - interval '2 minutes',
                                        interval '10 minutes') AS t
                   WHERE d.dev_eui = %(eui)s AND m.name = %(metric)s""",
                {"mean": mean, "amp": amplitude, "silent": silent_h, "eui": dev_eui,
                 "metric": metric},
            )
        # Bin Markt fills steadily from 20 to 85 %: over 80 % now, due whatever the hour.
        conn.execute(
            """INSERT INTO readings (time, device_id, metric_id, value)
               SELECT t, d.id, m.id,
                      20 + 65 * extract(epoch FROM t - (now() - interval '8 days')) / 691200
               FROM devices d, metrics m,
                    generate_series(now() - interval '8 days', now() - interval '2 minutes',
                                    interval '10 minutes') AS t
               WHERE d.dev_eui = 'a000000000000004' AND m.name = 'fill_level'""")
        # Uplinks every 10 minutes for three days, until each device's last reading: RSSI, SNR
        # and 1 to 3 gateways that differ per device.
        conn.execute(
            """INSERT INTO uplinks (received_at, dev_eui, f_cnt, f_port, payload, network,
                                    device_id, rssi, snr, gateway_count)
               SELECT t, d.dev_eui, (extract(epoch FROM t) / 600)::bigint, 1, '\\x00'::bytea,
                      'tts', d.id, -90 - mod(d.id, 30), 5 - mod(d.id, 12), 1 + mod(d.id, 3)
               FROM devices d
               CROSS JOIN LATERAL (SELECT max(r.time) AS last FROM readings r
                                   WHERE r.device_id = d.id) AS l
               CROSS JOIN LATERAL generate_series(now() - interval '3 days', l.last,
                                                  interval '10 minutes') AS t""")
        conn.execute("""UPDATE devices d SET last_seen_at = u.last
                        FROM (SELECT device_id, max(received_at) AS last FROM uplinks
                              GROUP BY device_id) AS u WHERE u.device_id = d.id""")
        for number, (stage, dev_eui, times) in enumerate(_DEAD_LETTERS):
            conn.execute(
                """INSERT INTO dead_letters (first_seen_at, last_seen_at, times_seen, stage,
                                             reason, dev_eui, payload, message_hash)
                   VALUES (now() - interval '3 hours', now() - interval '1 hour', %s, %s,
                           'seeded', %s, '\\x00'::bytea, %s)""",
                (times, stage, dev_eui, number.to_bytes(4, "big")))
        conn.execute(
            """INSERT INTO latest_readings (device_id, metric_id, time, value)
               SELECT DISTINCT ON (device_id, metric_id) device_id, metric_id, time, value
               FROM readings ORDER BY device_id, metric_id, time DESC""")
    # The alert runner assesses every bin, as `meetnet alerts run` does each interval, and
    # keeps each one's status for Grafana's due list.
    with psycopg.connect(dsn, autocommit=True) as conn:
        evaluate(conn, Settings(database_url=dsn))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def _dashboard_db() -> Iterator[DashboardDb]:
    # Under /tmp, not pytest's 0700 tree: as root the server runs as `postgres` and must reach it.
    root = Path(tempfile.mkdtemp(prefix="meetnet-dashboards-", dir="/tmp"))
    server = start_postgres(root, fast=True)
    try:
        reader = _run_reader_script(server.dsn, server.bindir)
        migrate(server.dsn)
        _seed(server.dsn)
        with psycopg.connect(reader or server.dsn) as conn:
            organisations = [str(r[1]) for r in conn.execute(panels.ORGANISATION_QUERY)]
        yield DashboardDb(server.dsn, reader, organisations)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _query(db: DashboardDb, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with psycopg.connect(db.reader_dsn or db.owner_dsn) as conn:
        conn.execute("SET TRANSACTION READ ONLY")
        cur = conn.execute(sql.encode())  # bytes: the panel text, sent unchanged
        columns = [c.name for c in cur.description or []]
        return columns, cur.fetchall()


def _panel_sql(panel: dict[str, Any]) -> str:
    [target] = panel["targets"]
    return str(target["rawSql"])


# -------------------------------------------------------------------------------------- files


def test_json_files_are_what_build_makes() -> None:
    assert build.stale() == [], "dashboards/json is out of date: run python -m dashboards.build"
    for stem, dashboard in DASHBOARDS.items():
        on_disk = json.loads((build.JSON_DIR / f"{stem}.json").read_text(encoding="utf-8"))
        assert on_disk == dashboard


def test_build_check_and_write(tmp_path: Path) -> None:
    assert build.main(["--check"]) == 0
    assert build.main(["--check", str(tmp_path)]) == 1  # nothing written there yet
    assert build.main([str(tmp_path)]) == 0
    assert build.main(["--check", str(tmp_path)]) == 0
    (tmp_path / "stray.json").write_text("{}")
    assert build.stale(tmp_path) == ["stray.json"]


def test_cli_export_writes_what_build_makes(tmp_path: Path) -> None:
    target = tmp_path / "out"
    result = CliRunner().invoke(app, ["dashboards", "export", str(target)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in target.iterdir()) == sorted(f"{s}.json" for s in DASHBOARDS)
    assert build.stale(target) == []
    assert CliRunner().invoke(app, ["dashboards", "export", "--check", str(target)]).exit_code == 0
    (target / "fleet.json").write_text("{}")
    checked = CliRunner().invoke(app, ["dashboards", "export", "--check", str(target)])
    assert checked.exit_code == 1 and "fleet.json" in checked.output


def test_one_dashboard_per_use_case_with_unique_uids() -> None:
    assert set(DASHBOARDS) == {"waste", "classroom", "crossing", "water", "fleet"}
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert len(set(uids)) == len(uids)
    for stem, d in DASHBOARDS.items():
        assert stem in d["tags"] and "meetnet" in d["tags"]
        assert d["uid"] == f"meetnet-{stem}"


@pytest.mark.parametrize("stem", sorted(DASHBOARDS))
def test_panels_fit_the_grid_without_overlap(stem: str) -> None:
    cells: set[tuple[int, int]] = set()
    panels = DASHBOARDS[stem]["panels"]
    assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
    for panel in panels:
        g = panel["gridPos"]
        assert g["x"] >= 0 and g["x"] + g["w"] <= 24, panel["title"]
        mine = {(x, y) for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])}
        assert not mine & cells, f"{panel['title']} overlaps another panel"
        cells |= mine


def test_panels_query_the_datasource_variable() -> None:
    for stem, panel in PANELS:
        assert panel["datasource"] == build.DATASOURCE, (stem, panel["title"])
        for target in panel["targets"]:
            assert target["datasource"] == build.DATASOURCE
            assert target["rawQuery"] is True and target["format"] in ("time_series", "table")
    for d in DASHBOARDS.values():
        datasource, organisation = d["templating"]["list"]
        assert (datasource["name"], datasource["type"], datasource["query"]) == (
            "datasource", "datasource", build.DATASOURCE_TYPE)
        assert (organisation["name"], organisation["type"]) == ("organisation", "query")
        assert organisation["datasource"] == build.DATASOURCE
        assert organisation["multi"] is True and organisation["includeAll"] is True
        assert organisation["query"] == panels.ORGANISATION_QUERY
        # No custom "All" value: Grafana then expands All to every option, quoted.
        assert "allValue" not in organisation or organisation["allValue"] in (None, "")


def test_every_panel_filters_by_the_organisation_variable() -> None:
    for stem, panel in PANELS:
        sql = _panel_sql(panel)
        assert "IN ($organisation)" in sql, (stem, panel["title"])
        assert "<org>" not in sql and "<name>" not in sql


def test_panels_read_only_the_grafana_views() -> None:
    for stem, panel in PANELS:
        sql = _panel_sql(panel)
        tables = set(re.findall(r"\b(?:FROM|JOIN)\s+([a-z_][\w.]*)(?![\w.(])", sql,
                                re.IGNORECASE))
        # extract(... FROM alias.column) and functions are not relations.
        tables = {t for t in tables if t != "LATERAL" and not re.fullmatch(r"[a-z]\.\w+", t)}
        assert tables and all(t.startswith("grafana.") for t in tables), (stem, panel["title"],
                                                                          tables)


def test_sql_uses_date_bin_and_catalog_metrics() -> None:
    for stem, panel in PANELS:
        sql = _panel_sql(panel)
        assert "time_bucket" not in sql, "date_bin works on stock PostgreSQL and TimescaleDB"
        names = re.findall(r"m\.name = '(\w+)'", sql)
        if "grafana.readings" in sql or "grafana.latest_readings" in sql:
            assert names, f"{stem}: {panel['title']} selects no metric by name"
        assert set(names) <= set(METRICS), (stem, panel["title"], names)


def test_classroom_co2_thresholds_are_frisse_scholen() -> None:
    co2_panels = [p for p in DASHBOARDS["classroom"]["panels"]
                  if p["fieldConfig"]["defaults"].get("unit") == "ppm"]
    assert len(co2_panels) == 2
    for panel in co2_panels:
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        assert [s["value"] for s in steps] == [None, 800, 950, 1200]
        assert [s["color"] for s in steps] == ["green", "yellow", "orange", "red"]
    [timeseries] = [p for p in co2_panels if p["type"] == "timeseries"]
    assert timeseries["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] != "off"


def test_provisioning_matches_the_dashboards_and_compose() -> None:
    [source] = yaml.safe_load(DATASOURCES.read_text(encoding="utf-8"))["datasources"]
    assert source["type"] == build.DATASOURCE_TYPE
    assert source["isDefault"] is True  # the datasource variable picks the default
    assert source["user"] == "grafana_reader"
    assert "grafana_reader" in READER_SCRIPT.read_text(encoding="utf-8")
    assert source["secureJsonData"]["password"] == "$GRAFANA_DB_PASSWORD"
    assert source["url"] == "timescaledb:5432" and source["jsonData"]["database"] == "meetnet"
    [provider] = yaml.safe_load(PROVIDERS.read_text(encoding="utf-8"))["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"] == "/var/lib/grafana/dashboards"


# ------------------------------------------------------------------------------ SQL on Postgres


def _run(db: DashboardDb, stem: str, title: str, organisations: list[str] | None = None,
         **window: datetime) -> tuple[list[str], list[tuple[Any, ...]]]:
    sql = expand_macros(_panel_sql(_panel(stem, title)),
                        db.organisations if organisations is None else organisations, **window)
    return _query(db, sql)


@pytest.mark.integration
@pytest.mark.parametrize(("stem", "panel"), PANELS, ids=PANEL_IDS)
def test_panel_sql_runs_and_finds_data(_dashboard_db: DashboardDb, stem: str,
                                       panel: dict[str, Any]) -> None:
    columns, rows = _query(_dashboard_db, expand_macros(_panel_sql(panel),
                                                        _dashboard_db.organisations))
    assert rows, f"{panel['title']} shows nothing on a database that has its data"
    [target] = panel["targets"]
    if target["format"] == "time_series":
        # Grafana's long-to-wide conversion: time, metric (the series name), value; by time.
        assert columns == ["time", "metric", "value"]
        times = [row[0] for row in rows]
        assert times == sorted(times)
        assert all(RANGE_FROM - timedelta(days=1) <= t <= RANGE_TO for t in times)
    if panel["type"] == "geomap":
        assert {"lat", "lon"} <= set(columns)
    if panel["type"] == "barchart":
        assert panel["options"]["xField"] in columns


def _panel(stem: str, title: str) -> dict[str, Any]:
    [panel] = [p for p in DASHBOARDS[stem]["panels"] if p["title"] == title]
    return panel


@pytest.mark.integration
def test_organisation_variable_lists_what_the_role_sees(_dashboard_db: DashboardDb) -> None:
    # bedrijf-x has an open device; achter-slot only a private one: its name stays hidden.
    assert sorted(_dashboard_db.organisations) == ["bedrijf-x", "leiden"]


@pytest.mark.integration
@pytest.mark.parametrize(("stem", "panel"), PANELS, ids=PANEL_IDS)
def test_organisation_variable_filters_the_panel(_dashboard_db: DashboardDb, stem: str,
                                                 panel: dict[str, Any]) -> None:
    shown: dict[str, str] = {}
    for organisation, others in (("leiden", "bedrijf-x"), ("bedrijf-x", "leiden")):
        _, rows = _query(_dashboard_db, expand_macros(_panel_sql(panel), [organisation]))
        text = shown[organisation] = repr(rows)
        for name in OPEN_NAMES[others] | PRIVATE_NAMES:
            assert name not in text, (panel["title"], organisation, name)
    everything = repr(_query(_dashboard_db, expand_macros(
        _panel_sql(panel), _dashboard_db.organisations))[1])
    for name in PRIVATE_NAMES:
        assert name not in everything


@pytest.mark.integration
def test_panel_answers_are_right(_dashboard_db: DashboardDb) -> None:
    def run(stem: str, title: str, organisations: list[str] | None = None
            ) -> list[tuple[Any, ...]]:
        return _run(_dashboard_db, stem, title, organisations)[1]

    due = run("waste", "Bins at or above 80 %")[0][0]
    latest = {r[0]: r[1] for r in run("waste", "Fullest bins")}
    assert due == sum(1 for v in latest.values() if v >= 80)
    assert run("waste", "Silent bins") == [(1,)]
    assert {r[0] for r in run("waste", "Bins on the map")} == set(latest)
    # Per room, the four class shares cover all school-hour readings.
    for room, *shares in run("classroom", "Share of school time per Frisse Scholen class"):
        assert room == "Groep 7"
        assert sum(float(s) for s in shares) == pytest.approx(100)
        assert all(float(s) > 0 for s in shares)  # the wave crosses every class
    # Classroom temperature leaves out the water sensor's temperature.
    series = {r[1] for r in run("classroom", "Temperature")}
    assert series == {"Groep 7"}
    speed = {r[0]: r for r in run("crossing", "Speed against the limit")}
    assert speed["Zebra Rijnsburgerweg"][1] == 30
    assert 0 < speed["Zebra Rijnsburgerweg"][4] < 100
    assert speed["Zebra Geversstraat"][1] is None and speed["Zebra Geversstraat"][4] is None
    assert speed["Zebra Bedrijfsweg"][1] == 50
    assert set(speed) - {r[0] for r in run("crossing", "Speed against the limit",
                                           ["leiden"])} == {"Zebra Bedrijfsweg"}


@pytest.mark.integration
def test_waste_due_list_is_the_analytics_answer(_dashboard_db: DashboardDb) -> None:
    columns, rows = _run(_dashboard_db, "waste", "Due list")
    listed = {r[0]: dict(zip(columns, r, strict=True)) for r in rows}
    assert "Bin Markt" in listed and listed["Bin Markt"]["why"] == "over threshold"
    [(count,)] = _run(_dashboard_db, "waste", "Due on the next round")[1]
    assert count == len(listed)
    # Every open bin, due or not, against analytics.waste.assess on the same readings at the
    # runner's assessment time.
    with psycopg.connect(_dashboard_db.owner_dsn) as conn:
        bins = conn.execute(
            """SELECT d.id, d.name, b.assessed_at, d.last_seen_at FROM devices d
               JOIN bin_status b ON b.device_id = d.id
               WHERE d.visibility = 'open'""").fetchall()
        assert {b[1] for b in bins} == OPEN_NAMES["leiden"] & {
            "Bin Breestraat", "Bin Haarlemmerstraat", "Bin Stationsplein", "Bin Markt"}
        for device_id, name, at, last_seen in bins:
            points = conn.execute(
                """SELECT r.time, r.value FROM readings r JOIN metrics m ON m.id = r.metric_id
                   WHERE r.device_id = %s AND m.name = 'fill_level'
                     AND r.time >= %s - interval '7 days' AND r.time <= %s ORDER BY 1""",
                (device_id, at, at)).fetchall()
            fill = pd.Series([v for _, v in points],
                             index=pd.DatetimeIndex([t for t, _ in points]), dtype=float)
            status = assess(fill, at=at, next_round=at + timedelta(hours=24),
                            last_seen=last_seen)
            assert (name in listed) == status.due, name
            if status.due:
                assert listed[name]["fill"] == pytest.approx(status.fill_pct)


def _config(db: DashboardDb, name: str) -> dict[str, Any]:
    with psycopg.connect(db.owner_dsn) as conn:
        [(config,)] = conn.execute("SELECT config FROM devices WHERE name = %s",
                                   (name,)).fetchall()
    return dict(config)


@pytest.mark.integration
@pytest.mark.parametrize("start", [datetime(2024, 3, 31, 12, tzinfo=UTC),
                                   datetime(2024, 9, 30, 12, tzinfo=UTC)],
                         ids=["into summer", "into winter"])
def test_water_lines_are_the_analytics_targets(_dashboard_db: DashboardDb,
                                               start: datetime) -> None:
    """Over a season change: every target and alarm line of each gauge is the band
    analytics.water reads from the gauge's config, at that time."""
    _, rows = _run(_dashboard_db, "water", "Water level", start=start,
                   end=start + timedelta(days=1))
    lines: dict[str, list[tuple[datetime, float]]] = {}
    for at, metric, value in rows:
        lines.setdefault(metric, []).append((at, value))
    assert set(lines) == {
        "Oude Rijn target", "Oude Rijn alarm high", "Oude Rijn alarm low",
        "Boezem target low", "Boezem target high", "Boezem alarm high", "Boezem alarm low",
        "Vliet target", "Vliet alarm high", "Vliet alarm low"}
    for gauge in ("Oude Rijn", "Boezem", "Vliet"):
        target = water_analytics.target_from_config(_config(_dashboard_db, gauge))
        assert target is not None
        for metric, points in lines.items():
            if not metric.startswith(gauge + " "):
                continue
            for at, value in points:
                lower, upper = target.band_at(pd.Timestamp(at))
                expected = {"target": lower, "target low": lower, "target high": upper,
                            "alarm high": upper + ALARM_M,
                            "alarm low": lower - ALARM_M}[metric.removeprefix(gauge + " ")]
                assert value == pytest.approx(expected), (metric, at)
    seasonal = {round(v, 2) for _, v in lines["Oude Rijn target"]}
    assert seasonal == {-0.61, -0.64}  # both seasons in the one day


@pytest.mark.integration
def test_water_levels_now_against_the_analytics(_dashboard_db: DashboardDb) -> None:
    columns, rows = _run(_dashboard_db, "water", "Levels now")
    now = {r[0]: dict(zip(columns, r, strict=True)) for r in rows}
    assert set(now) == {"Oude Rijn", "Boezem", "Vliet"}
    for gauge, row in now.items():
        config = _config(_dashboard_db, gauge)
        target = water_analytics.target_from_config(config)
        assert target is not None
        at = pd.Timestamp(row["measured at"])
        expected = water_analytics.deviation(pd.Series([row["level"]], index=[at]), target)
        assert float(row["deviation"]) == pytest.approx(float(expected.iloc[0]), abs=1e-9)
        assert float(row["off target"]) == pytest.approx(abs(float(expected.iloc[0])), abs=1e-9)
        assert row["rise"] is not None
    assert now["Oude Rijn"]["rise alarm at"] == 4
    assert now["Vliet"]["rise alarm at"] == water_analytics.RISE_ALARM_CM_H  # "fast" is no number
    assert now["Vliet"]["target"] == "-0.60"
    assert now["Boezem"]["target"] == "-0.66 .. -0.58"
    assert now["Vliet"]["deviation"] < -10  # -0.75 against -0.60


@pytest.mark.integration
def test_fleet_panels(_dashboard_db: DashboardDb) -> None:
    def by_stage(organisations: list[str] | None = None) -> dict[str, float]:
        totals: dict[str, float] = {}
        for _, stage, count in _run(_dashboard_db, "fleet", "Dead letters by stage",
                                    organisations)[1]:
            totals[stage] = totals.get(stage, 0) + float(count)
        return totals

    # The private bin's 5 decode letters never count; the network's show under any selection.
    assert by_stage() == {"decode": 3, "parse": 2, "lookup": 1, "validate": 1}
    assert by_stage(["leiden"]) == {"decode": 3, "parse": 2, "lookup": 1}
    assert by_stage(["bedrijf-x"]) == {"parse": 2, "lookup": 1, "validate": 1}
    assert _run(_dashboard_db, "fleet", "Dead letters")[1] == [(7,)]
    assert _run(_dashboard_db, "fleet", "Fleet size")[1] == [
        (len(OPEN_NAMES["leiden"] | OPEN_NAMES["bedrijf-x"]),)]
    assert _run(_dashboard_db, "fleet", "Fleet size", ["bedrijf-x"])[1] == [(1,)]
    columns, rows = _run(_dashboard_db, "fleet", "Devices")
    table = {r[0]: dict(zip(columns, r, strict=True)) for r in rows}
    assert rows[0][0] == "Bin Stationsplein"  # the longest silent first
    assert table["Bin Stationsplein"]["silent for"] > 47 * 3600
    assert table["Groep 7"]["battery"] == pytest.approx(15)  # the reading, not the 60 %
    assert table["Bin Markt"]["battery"] == pytest.approx(90)  # no reading: the device's
    assert table["Zebra Bedrijfsweg"]["organisation"] == "bedrijf-x"
    for row in table.values():
        assert row["uplinks"] > 0 and row["RSSI"] < -89 and 1 <= row["gateways"] <= 3
    assert _run(_dashboard_db, "fleet", "Lowest batteries")[1][0][0] == "Groep 7"
    fewest = _run(_dashboard_db, "fleet", "Fewest gateways")[1]
    assert [float(r[1]) for r in fewest] == sorted(float(r[1]) for r in fewest)
    uplinks = _run(_dashboard_db, "fleet", "Uplinks per 5 minutes")[1]
    assert {r[1] for r in uplinks} == {"waste", "classroom", "crossing", "water"}
    assert max(float(r[2]) for r in uplinks) <= len(table)  # one per device per 10 minutes
    [(silent,)] = _run(_dashboard_db, "fleet", "Silent for a day")[1]
    assert silent == 1


@pytest.mark.integration
def test_no_panel_shows_another_organisations_private_device(_dashboard_db: DashboardDb) -> None:
    for stem, panel in PANELS:
        _, rows = _query(_dashboard_db, expand_macros(_panel_sql(panel),
                                                      _dashboard_db.organisations))
        for name in PRIVATE_NAMES:
            assert name not in repr(rows), (stem, panel["title"])
    fullest = _run(_dashboard_db, "waste", "Fullest bins")
    assert len(fullest[1]) == 4  # the four open bins of the seed, not the private fifth


@pytest.mark.integration
def test_grafana_role_reads_the_views_only_and_writes_nothing(_dashboard_db: DashboardDb) -> None:
    if _dashboard_db.reader_dsn is None:
        pytest.skip("needs psql to run deploy/timescaledb/grafana-reader.sh")
    with psycopg.connect(_dashboard_db.owner_dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        views = [r[0] for r in conn.execute(
            "SELECT viewname FROM pg_views WHERE schemaname = 'grafana' ORDER BY 1")]
    assert "readings" in tables and "api_keys" in tables and "bin_status" in tables
    assert views == ["bin_status", "dead_letters", "devices", "latest_readings", "metrics",
                     "organisations", "readings", "uplinks", "water_targets"]
    with psycopg.connect(_dashboard_db.reader_dsn, autocommit=True) as conn:
        # The views, made by the migrations after the script ran, are readable, also by the
        # unqualified names an editor types (the role's search_path)...
        for view in views:
            conn.execute(psycopg.sql.SQL("SELECT * FROM grafana.{} LIMIT 1").format(
                psycopg.sql.Identifier(view)))
        [(visibility,)] = conn.execute("SELECT DISTINCT visibility FROM devices").fetchall()
        assert visibility == "open"
        # ...no table is: not the readings of private devices, not the API keys' hashes.
        for table in tables:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(psycopg.sql.SQL("SELECT * FROM public.{} LIMIT 1").format(
                    psycopg.sql.Identifier(table)))
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)
        assert conn.execute("SHOW statement_timeout").fetchone() == ("30s",)
        # ...and nothing is writable, even after switching the read-only default off.
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("CREATE TEMPORARY TABLE grafana_scratch (x int)")
        conn.execute("SET default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM grafana.readings")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("DELETE FROM grafana.bin_status")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("INSERT INTO grafana_access VALUES ('grafana_reader', 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE grafana_was_here (x int)")


# ----------------------------------------------------------------------------------------- push


class _Grafana(BaseHTTPRequestHandler):
    """Grafana's HTTP API as its documentation describes it (grafana.com/docs, "Data source
    HTTP API", "Folder HTTP API", "Dashboard HTTP API"), for the requests push makes: a real
    HTTP server on 127.0.0.1 that keeps state and records every request (method, path,
    Authorization header, JSON body). An unknown path or method is a 404, so a request outside
    the contract fails the test."""

    datasources: dict[str, dict[str, Any]]
    folders: dict[str, str]
    dashboards: dict[str, dict[str, Any]]
    requests: list[tuple[str, str, str, Any]]

    def log_message(self, format: str, *args: object) -> None:  # quiet test output
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.requests.append((self.command, self.path, self.headers.get("Authorization", ""),
                              body))
        return body

    def do_GET(self) -> None:
        self._record()
        if self.path.startswith("/api/datasources/uid/"):
            uid = self.path.removeprefix("/api/datasources/uid/")
            if uid in self.datasources:
                # Grafana never returns secureJsonData, only which secrets are set.
                stored = {k: v for k, v in self.datasources[uid].items()
                          if k != "secureJsonData"}
                self._answer(200, {"id": 1, **stored, "secureJsonFields": {"password": True}})
            else:
                self._answer(404, {"message": "Data source not found"})
        elif self.path.startswith("/api/folders/"):
            uid = self.path.removeprefix("/api/folders/")
            if uid in self.folders:
                self._answer(200, {"uid": uid, "title": self.folders[uid]})
            else:
                self._answer(404, {"message": "folder not found"})
        else:
            self._answer(404, {"message": "not found"})

    def do_POST(self) -> None:
        body = self._record()
        if self.path == "/api/datasources":
            if body["uid"] in self.datasources:
                self._answer(409, {"message": "data source with the same uid already exists"})
                return
            self.datasources[body["uid"]] = body
            self._answer(200, {"id": 1, "message": "Datasource added", "name": body["name"],
                               "datasource": body})
        elif self.path == "/api/folders":
            self.folders[body["uid"]] = body["title"]
            self._answer(200, {"uid": body["uid"], "title": body["title"]})
        elif self.path == "/api/dashboards/db":
            uid = body["dashboard"]["uid"]
            if uid in self.dashboards and not body.get("overwrite"):
                self._answer(412, {"status": "name-exists", "message": "exists"})
                return
            self.dashboards[uid] = body
            self._answer(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x",
                               "version": 1})
        else:
            self._answer(404, {"message": "not found"})

    def do_PUT(self) -> None:
        body = self._record()
        uid = self.path.removeprefix("/api/datasources/uid/")
        if not self.path.startswith("/api/datasources/uid/") or uid not in self.datasources:
            self._answer(404, {"message": "Data source not found"})
            return
        kept = self.datasources[uid].get("secureJsonData")
        self.datasources[uid] = {**body, "secureJsonData": body.get("secureJsonData", kept)}
        self._answer(200, {"id": 1, "message": "Datasource updated", "name": body["name"],
                           "datasource": body})


@pytest.fixture
def grafana() -> Iterator[tuple[str, type[_Grafana]]]:
    handler = type("Handler", (_Grafana,), {"datasources": {}, "folders": {}, "dashboards": {},
                                            "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


SOURCE = DataSource(uid="meetnet-db", name="meetnet", url="db.example.org:5432",
                    database="meetnet", user="grafana_reader", password="reader-secret",
                    sslmode="verify-full")

EXPECTED_SOURCE_BODY = {
    "uid": "meetnet-db", "name": "meetnet", "type": "grafana-postgresql-datasource",
    "access": "proxy", "url": "db.example.org:5432", "user": "grafana_reader",
    "basicAuth": False, "isDefault": False,
    "jsonData": {"database": "meetnet", "sslmode": "verify-full", "postgresVersion": 1400,
                 "maxOpenConns": 10, "maxIdleConns": 2, "connMaxLifetime": 14400},
    "secureJsonData": {"password": "reader-secret"},
}


def _on_source(dashboard: dict[str, Any], source: DataSource) -> dict[str, Any]:
    expected = json.loads(json.dumps(dashboard))
    expected["templating"]["list"][0]["current"] = {"selected": True, "text": source.name,
                                                    "value": source.uid}
    return expected


def test_push_creates_then_updates_datasource_folder_and_dashboards(
        grafana: tuple[str, type[_Grafana]]) -> None:
    url, handler = grafana
    first = push(url, "glsa_token", datasource=SOURCE)
    assert first.datasource == "created"
    n = len(DASHBOARDS)
    # The recorded contract of a push to an empty Grafana...
    assert [r[:2] for r in handler.requests] == [
        ("GET", "/api/datasources/uid/meetnet-db"),
        ("POST", "/api/datasources"),
        ("GET", "/api/folders/meetnet"),
        ("POST", "/api/folders"),
        *[("POST", "/api/dashboards/db")] * n,
    ]
    assert handler.requests[1][3] == EXPECTED_SOURCE_BODY
    assert handler.requests[3][3] == {"uid": "meetnet", "title": "meetnet"}
    uploads = [r[3] for r in handler.requests[4:]]
    assert [b["dashboard"]["uid"] for b in uploads] == [d["uid"] for d in DASHBOARDS.values()]
    for body, dashboard in zip(uploads, DASHBOARDS.values(), strict=True):
        assert body["overwrite"] is True and body["folderUid"] == "meetnet"
        assert body["message"] == "meetnet dashboards push"
        # The model as built, without "id", its datasource variable on the pushed source.
        assert "id" not in body["dashboard"]
        assert body["dashboard"] == _on_source(dashboard, SOURCE)
    assert all(auth == "Bearer glsa_token" for _, _, auth, _ in handler.requests)
    assert [p.uid for p in first.dashboards] == [d["uid"] for d in DASHBOARDS.values()]
    assert first.dashboards[0].url == f"/d/{first.dashboards[0].uid}/x"

    # ...and of a second push, to a Grafana that has them: an update in place, no creation.
    handler.requests.clear()
    moved = DataSource(**{**{f: getattr(SOURCE, f) for f in SOURCE.__slots__},  # type: ignore[arg-type]
                          "url": "db2.example.org:5432", "password": None})
    second = push(url + "/", "glsa_token", datasource=moved)
    assert second.datasource == "updated" and second.dashboards == first.dashboards
    assert [r[:2] for r in handler.requests] == [
        ("GET", "/api/datasources/uid/meetnet-db"),
        ("PUT", "/api/datasources/uid/meetnet-db"),
        ("GET", "/api/folders/meetnet"),
        *[("POST", "/api/dashboards/db")] * n,
    ]
    update = handler.requests[1][3]
    assert update == {**{k: v for k, v in EXPECTED_SOURCE_BODY.items()
                         if k != "secureJsonData"}, "url": "db2.example.org:5432"}
    # Sent without a password, so Grafana keeps the one it has.
    assert handler.datasources["meetnet-db"]["secureJsonData"] == {"password": "reader-secret"}


def test_push_without_datasource_and_of_chosen_dashboards(
        grafana: tuple[str, type[_Grafana]]) -> None:
    url, handler = grafana
    report = push(url, "t", [water_dashboard()], folder_uid="water", folder_title="Water")
    assert report.datasource is None and [p.uid for p in report.dashboards] == ["meetnet-water"]
    assert [r[:2] for r in handler.requests] == [
        ("GET", "/api/folders/water"), ("POST", "/api/folders"),
        ("POST", "/api/dashboards/db")]
    assert handler.folders == {"water": "Water"} and handler.datasources == {}
    # Without a data source the variable stays empty: Grafana picks its default one.
    assert handler.requests[2][3]["dashboard"] == water_dashboard()


def test_push_refuses_to_create_a_datasource_without_password(
        grafana: tuple[str, type[_Grafana]]) -> None:
    url, handler = grafana
    with pytest.raises(PushError, match="MEETNET_GRAFANA_DATASOURCE_PASSWORD"):
        push(url, "t", datasource=DataSource("meetnet-db", "meetnet", "db:5432", "meetnet",
                                             "grafana_reader"))
    assert [r[:2] for r in handler.requests] == [("GET", "/api/datasources/uid/meetnet-db")]


def test_push_reports_grafanas_refusal_without_the_password(
        grafana: tuple[str, type[_Grafana]]) -> None:
    url, handler = grafana
    handler.datasources["meetnet-db"] = {"uid": "meetnet-db"}
    handler.do_PUT = lambda self: (self._record(),  # type: ignore[method-assign]
                                   self._answer(403, {"message": "Cannot update read-only "
                                                                 "data source"}))
    with pytest.raises(PushError, match="403") as caught:
        push(url, "t", datasource=SOURCE)
    assert "reader-secret" not in str(caught.value) and "reader-secret" not in repr(SOURCE)


def test_push_keeps_a_provisioned_datasource_and_pushes_the_dashboards(
        grafana: tuple[str, type[_Grafana]]) -> None:
    """The compose setup provisions the data source from a file: Grafana reports it readOnly
    and refuses a PUT, so push leaves it to the file and still stores the dashboards."""
    url, handler = grafana
    handler.datasources["meetnet-db"] = {"uid": "meetnet-db", "readOnly": True}
    report = push(url, "t", datasource=SOURCE)
    assert report.datasource == "kept (provisioned, read-only)"
    assert [r[:2] for r in handler.requests][:2] == [("GET", "/api/datasources/uid/meetnet-db"),
                                                     ("GET", f"/api/folders/{FOLDER_UID}")]
    assert not [r for r in handler.requests if r[0] == "PUT"]
    assert handler.dashboards and handler.datasources["meetnet-db"] == {"uid": "meetnet-db",
                                                                        "readOnly": True}


def test_cli_push_from_settings(grafana: tuple[str, type[_Grafana]],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    url, handler = grafana
    for key in [k for k in os.environ if k.startswith("MEETNET_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("MEETNET_GRAFANA_URL", url)
    monkeypatch.setenv("MEETNET_GRAFANA_TOKEN", "glsa_cli")
    # Host, port and database from the database URL; the role and password never from it.
    monkeypatch.setenv("MEETNET_DATABASE_URL",
                       "postgresql://meetnet:owner-secret@db.internal:6543/meetnet_prod")
    monkeypatch.setenv("MEETNET_GRAFANA_DATASOURCE_PASSWORD", "reader-secret")
    result = CliRunner().invoke(app, ["dashboards", "push"])
    assert result.exit_code == 0, result.output
    assert "reader-secret" not in result.output and "owner-secret" not in result.output
    assert "glsa_cli" not in result.output
    assert "data source meetnet (meetnet-db) created" in result.output
    created = handler.datasources["meetnet-db"]
    assert (created["url"], created["user"], created["jsonData"]["database"]) == (
        "db.internal:6543", "grafana_reader", "meetnet_prod")
    assert created["jsonData"]["sslmode"] == "require"
    assert created["secureJsonData"] == {"password": "reader-secret"}
    assert all(r[2] == "Bearer glsa_cli" for r in handler.requests)
    assert len(handler.dashboards) == len(DASHBOARDS)
    # Grafana's refusal is one line and exit status 1, with nothing secret in it.
    handler.do_POST = lambda self: (self._record(),  # type: ignore[method-assign]
                                    self._answer(403, {"message": "permission denied"}))
    refused = CliRunner().invoke(app, ["dashboards", "push", "--no-datasource"])
    assert refused.exit_code == 1
    assert "403" in refused.output and "glsa_cli" not in refused.output
