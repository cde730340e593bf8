"""Dashboards as code: the committed JSON is what dashboards/build.py makes, every panel's SQL runs
on a real PostgreSQL with Grafana's macros filled in as Grafana would, logged in as the read-only
role Grafana uses, and finds the data it is meant to show; `push` talks the Grafana HTTP API."""

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

import psycopg
import pytest
import yaml
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from dashboards import build
from dashboards.push import push
from meetnet.catalog import METRICS
from meetnet.runtime import start_postgres
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


def expand_macros(sql: str) -> str:
    """Fill in Grafana's PostgreSQL macros as Grafana does (its `sqleng` macro engine): the time
    filter becomes BETWEEN two RFC 3339 literals, $__interval_ms an integer. Any macro or
    variable left over fails the test, so a panel cannot use one that is not checked here."""
    start, end = (f"'{t.isoformat().replace('+00:00', 'Z')}'" for t in (RANGE_FROM, RANGE_TO))
    sql = re.sub(r"\$__timeFilter\(([^()]+)\)", rf"\1 BETWEEN {start} AND {end}", sql)
    sql = sql.replace("$__timeFrom()", start).replace("$__timeTo()", end)
    sql = re.sub(r"\$__interval_ms\b", str(INTERVAL_MS), sql)
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
                                              ('bedrijf-x', 'Bedrijf X');
INSERT INTO devices (dev_eui, organisation_id, model_key, name, use_case, visibility, lat,
                     lon, config)
SELECT v.dev_eui, o.id, v.model_key, v.name, v.use_case, 'open', v.lat, v.lon,
       v.config::jsonb
FROM organisations o, (VALUES
    ('a000000000000001', 'milesight-iot/em310-udl', 'Bin Breestraat', 'waste',
     52.1589, 4.4923, '{"bin_depth_m": 1.2}'),
    ('a000000000000002', 'milesight-iot/em310-udl', 'Bin Haarlemmerstraat', 'waste',
     52.1611, 4.4901, '{"bin_depth_m": 1.2}'),
    ('a000000000000003', 'milesight-iot/em310-udl', 'Bin Stationsplein', 'waste',
     52.1664, 4.4820, '{"bin_depth_m": 1.2}'),
    ('b000000000000001', 'elsys/ers-co2', 'Groep 7', 'classroom', NULL, NULL, '{}'),
    ('c000000000000001', 'parametric/tcr', 'Zebra Rijnsburgerweg', 'crossing', NULL, NULL,
     '{"speed_limit_kmh": 30}'),
    ('c000000000000002', 'parametric/tcr', 'Zebra Geversstraat', 'crossing', NULL, NULL, '{}'),
    ('d000000000000001', 'dragino/ldds75', 'Oude Rijn', 'water', NULL, NULL, '{}')
) AS v(dev_eui, model_key, name, use_case, lat, lon, config)
WHERE o.slug = 'leiden';
-- Another organisation's private bin, nearly full: Grafana's role must never show it.
INSERT INTO devices (dev_eui, organisation_id, model_key, name, use_case, lat, lon, config)
SELECT 'e000000000000001', o.id, 'milesight-iot/em310-udl', 'Bin Geheim', 'waste', 52.16, 4.49,
       '{"bin_depth_m": 1.2}'
FROM organisations o WHERE o.slug = 'bedrijf-x';
"""

# (dev_eui, metric, mean, amplitude, hours since the last reading)
_SERIES = [
    ("a000000000000001", "fill_level", 70, 20, 0),      # latest ~90 %: due
    ("a000000000000002", "fill_level", 50, 20, 0),
    ("a000000000000003", "fill_level", 30, 5, 48),      # silent for two days
    ("b000000000000001", "co2", 900, 400, 0),
    ("b000000000000001", "temperature", 21, 2, 0),
    ("b000000000000001", "humidity", 50, 10, 0),
    ("c000000000000001", "pedestrian_count", 20, 15, 0),
    ("c000000000000001", "vehicle_count", 60, 40, 0),
    ("c000000000000001", "vehicle_speed_v85", 32, 6, 0),
    ("c000000000000002", "vehicle_speed_v85", 45, 5, 0),
    ("d000000000000001", "water_level", -0.62, 0.05, 0),
    ("d000000000000001", "temperature", 12, 3, 0),      # a water temperature: not a classroom
    ("e000000000000001", "fill_level", 99, 0.5, 0),     # private: must not show
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
        conn.execute(
            """INSERT INTO latest_readings (device_id, metric_id, time, value)
               SELECT DISTINCT ON (device_id, metric_id) device_id, metric_id, time, value
               FROM readings ORDER BY device_id, metric_id, time DESC""")


@pytest.fixture(scope="module")
def _dashboard_db() -> Iterator[DashboardDb]:
    # Under /tmp, not pytest's 0700 tree: as root the server runs as `postgres` and must reach it.
    root = Path(tempfile.mkdtemp(prefix="meetnet-dashboards-", dir="/tmp"))
    server = start_postgres(root, fast=True)
    try:
        reader = _run_reader_script(server.dsn, server.bindir)
        migrate(server.dsn)
        _seed(server.dsn)
        yield DashboardDb(server.dsn, reader)
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


def test_one_dashboard_per_use_case_with_unique_uids() -> None:
    assert set(DASHBOARDS) == {"waste", "classroom", "crossing", "water"}
    uids = [d["uid"] for d in DASHBOARDS.values()]
    assert len(set(uids)) == len(uids)
    for stem, d in DASHBOARDS.items():
        assert stem in d["tags"] and "meetnet" in d["tags"]


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
        [variable] = d["templating"]["list"]
        assert (variable["name"], variable["type"], variable["query"]) == (
            "datasource", "datasource", build.DATASOURCE_TYPE)


def test_sql_uses_date_bin_and_catalog_metrics() -> None:
    for stem, panel in PANELS:
        sql = _panel_sql(panel)
        assert "time_bucket" not in sql, "date_bin works on stock PostgreSQL and TimescaleDB"
        names = re.findall(r"m\.name = '(\w+)'", sql)
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


@pytest.mark.integration
@pytest.mark.parametrize(("stem", "panel"), PANELS, ids=PANEL_IDS)
def test_panel_sql_runs_and_finds_data(_dashboard_db: DashboardDb, stem: str,
                                       panel: dict[str, Any]) -> None:
    columns, rows = _query(_dashboard_db, expand_macros(_panel_sql(panel)))
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
def test_panel_answers_are_right(_dashboard_db: DashboardDb) -> None:
    def run(stem: str, title: str) -> list[tuple[Any, ...]]:
        return _query(_dashboard_db, expand_macros(_panel_sql(_panel(stem, title))))[1]

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
    [(location, level, _, rise)] = run("water", "Levels now")
    assert location == "Oude Rijn" and -0.7 < level < -0.5 and rise is not None


@pytest.mark.integration
def test_no_panel_shows_another_organisations_private_device(_dashboard_db: DashboardDb) -> None:
    for stem, panel in PANELS:
        _, rows = _query(_dashboard_db, expand_macros(_panel_sql(panel)))
        assert "Bin Geheim" not in repr(rows), (stem, panel["title"])
    fullest = _query(_dashboard_db, expand_macros(_panel_sql(_panel("waste", "Fullest bins"))))
    assert len(fullest[1]) == 3  # the three open bins of the seed, not the private fourth


@pytest.mark.integration
def test_grafana_role_reads_the_views_only_and_writes_nothing(_dashboard_db: DashboardDb) -> None:
    if _dashboard_db.reader_dsn is None:
        pytest.skip("needs psql to run deploy/timescaledb/grafana-reader.sh")
    with psycopg.connect(_dashboard_db.owner_dsn) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")]
        views = [r[0] for r in conn.execute(
            "SELECT viewname FROM pg_views WHERE schemaname = 'grafana' ORDER BY 1")]
    assert "readings" in tables and "api_keys" in tables
    assert views == ["devices", "latest_readings", "metrics", "readings"]
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
            conn.execute("INSERT INTO grafana_access VALUES ('grafana_reader', 1)")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("CREATE TABLE grafana_was_here (x int)")


# ----------------------------------------------------------------------------------------- push


class _FakeGrafana(BaseHTTPRequestHandler):
    """The three endpoints of Grafana's HTTP API that push uses, remembering what it got."""

    folders: dict[str, str]
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
        uid = self.path.removeprefix("/api/folders/")
        if uid in self.folders:
            self._answer(200, {"uid": uid, "title": self.folders[uid]})
        else:
            self._answer(404, {"message": "folder not found"})

    def do_POST(self) -> None:
        body = self._record()
        if self.path == "/api/folders":
            self.folders[body["uid"]] = body["title"]
            self._answer(200, {"uid": body["uid"], "title": body["title"]})
        elif self.path == "/api/dashboards/db":
            uid = body["dashboard"]["uid"]
            self._answer(200, {"status": "success", "uid": uid, "url": f"/d/{uid}/x"})
        else:
            self._answer(404, {"message": "not found"})


@pytest.fixture
def fake_grafana() -> Iterator[tuple[str, type[_FakeGrafana]]]:
    handler = type("Handler", (_FakeGrafana,), {"folders": {}, "requests": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_push_creates_the_folder_once_and_overwrites_dashboards(
        fake_grafana: tuple[str, type[_FakeGrafana]]) -> None:
    url, handler = fake_grafana
    first = push(url, "glsa_token")
    second = push(url + "/", "glsa_token")
    assert [p.uid for p in first] == [d["uid"] for d in DASHBOARDS.values()]
    assert first == second
    assert first[0].url == f"/d/{first[0].uid}/x"
    assert all(auth == "Bearer glsa_token" for _, _, auth, _ in handler.requests)
    folder_creations = [r for r in handler.requests if r[:2] == ("POST", "/api/folders")]
    assert len(folder_creations) == 1 and folder_creations[0][3]["uid"] == "meetnet"
    uploads = [r[3] for r in handler.requests if r[:2] == ("POST", "/api/dashboards/db")]
    assert len(uploads) == 2 * len(DASHBOARDS)
    for body in uploads:
        assert body["overwrite"] is True and body["folderUid"] == "meetnet"
        assert "id" not in body["dashboard"]
        assert body["dashboard"] == DASHBOARDS[body["dashboard"]["uid"].removeprefix("meetnet-")]


def test_push_of_chosen_dashboards(fake_grafana: tuple[str, type[_FakeGrafana]]) -> None:
    url, handler = fake_grafana
    pushed = push(url, "t", [build.water_dashboard()], folder_uid="water", folder_title="Water")
    assert [p.uid for p in pushed] == ["meetnet-water"]
    assert handler.folders == {"water": "Water"}
