"""Exports (issue 10, item 4): CSV that pandas and spreadsheets read as they are, SenML JSON
checked against RFC 8428's rules, visibility per caller, and a body produced while it is sent
(a year of 5-minute data is never in memory). Real PostgreSQL, the real API over HTTP."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import pandas as pd
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetnet.catalog import METRICS
from store import devices as registry
from store import keys
from support import wait_for

OPEN, PRIVATE, BIN = "a81758fffe0399aa", "a81758fffe0399bb", "24e124713c012345"
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5, microseconds=123456)
RANGE = {"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"}

#: (dev_eui, time, metric, value) inserted; the last two lie outside RANGE.
READINGS = [
    (OPEN, T0, "co2", 812.0), (OPEN, T0, "temperature", 20.5), (OPEN, T0, "humidity", 45.0),
    (OPEN, T1, "co2", 900.5), (OPEN, T1, "temperature", 20.75),
    (PRIVATE, T0, "co2", 1500.0), (PRIVATE, T1, "co2", 1480.0),
    (BIN, T0, "distance", 0.5),
    (OPEN, T0 - timedelta(days=2), "co2", 500.0), (OPEN, T0 + timedelta(days=1), "co2", 501.0),
]

#: Unit symbols of IANA's SenML registries (iana.org/assignments/senml): the "SenML Units"
#: registry of RFC 8428 section 12.1 and RFC 8798 section 2, and the "Secondary Units"
#: registry of RFC 8798 section 3 plus later registrations (ppb). Only the ones meetnet could
#: plausibly use are listed; a catalog unit outside them is a test failure.
SENML_UNITS = {
    "m", "kg", "s", "A", "K", "cd", "mol", "Hz", "N", "Pa", "J", "W", "V", "Cel", "lm", "lx",
    "m2", "m3", "l", "m/s", "m/s2", "m3/s", "l/s", "W/m2", "lat", "lon", "pH", "dB", "dBW",
    "count", "/", "%", "%RH", "%EL", "EL", "1/s", "1/min", "S/m", "B", "kg/m3", "deg",
    "ms", "min", "h", "kW", "Wh", "kWh", "mV", "mA", "dBm", "ug/m3", "mm/h", "ppm", "/100",
    "/1000", "hPa", "mm", "cm", "km", "km/h", "ppb",
}
#: RFC 8428 section 4.5.1: the concatenated name's characters, first one alphanumeric.
SENML_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9\-:./_]*$")
#: Labels RFC 8428 section 4 defines (table 1); none ends in "_" (must-understand).
SENML_LABELS = {"bn", "bt", "bu", "bv", "bs", "bver", "n", "u", "v", "vs", "vb", "vd", "s",
                "t", "ut"}


@pytest.fixture
def school(db: str) -> str:
    """Two classroom sensors of obs-de-regenboog (one open, one private) and an open bin of
    gemeente-leiden, their READINGS, and a reader key of the school."""
    with psycopg.connect(db) as conn:
        keys.create_organisation(conn, "obs-de-regenboog", "OBS De Regenboog")
        keys.create_organisation(conn, "gemeente-leiden", "Gemeente Leiden")
        for eui, org, model, use_case, vis, name in (
                (OPEN, "obs-de-regenboog", "elsys/ers-co2", "classroom", "open",
                 "Lokaal 1, groep 3"),
                (PRIVATE, "obs-de-regenboog", "elsys/ers-co2", "classroom", "private",
                 "=HYPERLINK(\"http://x\")"),
                (BIN, "gemeente-leiden", "milesight-iot/em310-udl", "waste", "open",
                 "Afvalbak Stationsplein")):
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=eui, organisation=org, model_key=model, name=name, use_case=use_case,
                visibility=vis))
        insert(conn, READINGS)
        _, key = keys.create_key(conn, "obs-de-regenboog", "reader")
    return key


def insert(conn: psycopg.Connection[Any],
           rows: list[tuple[str, datetime, str, float]]) -> None:
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO readings (time, device_id, metric_id, value)
               SELECT %s, d.id, m.id, %s FROM devices d, metrics m
               WHERE d.dev_eui = %s AND m.name = %s""",
            [(t, v, eui, metric) for eui, t, metric, v in rows])


def rows_of(r: httpx.Response) -> list[list[str]]:
    assert r.status_code == 200, r.text[:300]
    return list(csv.reader(io.StringIO(r.text)))


# --- CSV -----------------------------------------------------------------------------------

def test_one_series_as_csv(api: httpx.Client, school: str) -> None:
    r = api.get(f"/v1/devices/{OPEN}/readings.csv", params={"metric": "co2", **RANGE})
    assert r.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.match(r'attachment; filename="a81758fffe0399aa_co2_[0-9TZ_]+\.csv"$',
                    r.headers["content-disposition"])
    assert "\r\n" in r.text  # RFC 4180 line ends
    assert rows_of(r) == [["time", "co2 [ppm]"],
                          ["2026-11-23T08:00:00.000000Z", "812.0"],
                          ["2026-11-23T08:05:00.123456Z", "900.5"]]


def test_one_device_is_one_row_per_time_wide_by_metric(api: httpx.Client, school: str) -> None:
    r = api.get(f"/v1/devices/{OPEN}/export.csv", params=RANGE)
    assert rows_of(r) == [["time", "co2 [ppm]", "temperature [Cel]", "humidity [%RH]"],
                          ["2026-11-23T08:00:00.000000Z", "812.0", "20.5", "45.0"],
                          ["2026-11-23T08:05:00.123456Z", "900.5", "20.75", ""]]
    assert r.headers["content-disposition"].endswith('.csv"')


def test_a_use_case_is_every_device_the_caller_may_see(api: httpx.Client, school: str) -> None:
    anonymous = rows_of(api.get("/v1/use-cases/classroom/export.csv", params=RANGE))
    assert anonymous == [
        ["time", "dev_eui", "name", "co2 [ppm]", "temperature [Cel]", "humidity [%RH]"],
        ["2026-11-23T08:00:00.000000Z", OPEN, "Lokaal 1, groep 3", "812.0", "20.5", "45.0"],
        ["2026-11-23T08:05:00.123456Z", OPEN, "Lokaal 1, groep 3", "900.5", "20.75", ""]]
    mine = rows_of(api.get("/v1/use-cases/classroom/export.csv", params=RANGE,
                           headers={"Authorization": f"Bearer {school}"}))
    assert [row[1] for row in mine[1:]] == [OPEN, PRIVATE, OPEN, PRIVATE]  # by time, then EUI
    # A name another organisation typed is text in a spreadsheet, never a formula.
    assert mine[2][2] == "'=HYPERLINK(\"http://x\")" and mine[2][3:] == ["1500.0", "", ""]
    waste = rows_of(api.get("/v1/use-cases/waste/export.csv", params=RANGE))
    assert waste == [["time", "dev_eui", "name", "distance [m]"],
                     ["2026-11-23T08:00:00.000000Z", BIN, "Afvalbak Stationsplein", "0.5"]]


def test_nothing_in_range_is_the_header_alone(api: httpx.Client, school: str) -> None:
    empty = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
    assert api.get(f"/v1/devices/{OPEN}/readings.csv",
                   params={"metric": "tvoc", **RANGE}).text == "time,tvoc [ppb]\r\n"
    assert api.get(f"/v1/devices/{OPEN}/export.csv", params=empty).text == "time\r\n"
    assert api.get("/v1/use-cases/nobody/export.csv", params=empty).text == \
        "time,dev_eui,name\r\n"
    senml = api.get(f"/v1/devices/{OPEN}/export.senml", params=empty)
    assert senml.status_code == 200 and senml.json() == []


def test_local_times_with_tz(api: httpx.Client, school: str) -> None:
    r = api.get(f"/v1/devices/{OPEN}/readings.csv",
                params={"metric": "co2", "tz": "Europe/Amsterdam", **RANGE})
    assert [row[0] for row in rows_of(r)[1:]] == ["2026-11-23T09:00:00.000000+01:00",
                                                  "2026-11-23T09:05:00.123456+01:00"]
    bad = api.get(f"/v1/devices/{OPEN}/readings.csv",
                  params={"metric": "co2", "tz": "../../etc/passwd"})
    assert bad.status_code == 400 and bad.json()["type"].endswith("/invalid-timezone")


def test_the_default_range_is_the_last_24_hours(api: httpx.Client, db: str,
                                                school: str) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(db) as conn:
        insert(conn, [(OPEN, now - timedelta(hours=1), "co2", 700.0),
                      (OPEN, now - timedelta(hours=25), "co2", 701.0)])
    assert [row[1] for row in rows_of(api.get(f"/v1/devices/{OPEN}/readings.csv",
                                              params={"metric": "co2"}))[1:]] == ["700.0"]


def test_pandas_reads_the_url_as_it_is(api: httpx.Client, school: str) -> None:
    """What the README shows: pandas.read_csv on the URL, nothing else."""
    base = str(api.base_url).rstrip("/")
    query = "from=2026-11-23T00:00:00Z&to=2026-11-24T00:00:00Z"
    df = pd.read_csv(f"{base}/v1/devices/{OPEN}/export.csv?{query}", parse_dates=["time"])
    assert len(df) == 2
    assert list(df.columns) == ["time", "co2 [ppm]", "temperature [Cel]", "humidity [%RH]"]
    assert str(df["time"].dtype).startswith("datetime64") and str(df["time"].dt.tz) == "UTC"
    assert all(df[c].dtype == "float64" for c in df.columns[1:])
    assert df["time"].tolist() == [pd.Timestamp(T0), pd.Timestamp(T1)]
    assert df["co2 [ppm]"].tolist() == [812.0, 900.5]
    assert df["humidity [%RH]"].iloc[0] == 45.0 and math.isnan(df["humidity [%RH]"].iloc[1])

    uc = pd.read_csv(f"{base}/v1/use-cases/classroom/export.csv?{query}", parse_dates=["time"])
    assert len(uc) == 2 and set(uc["dev_eui"]) == {OPEN}
    assert uc["co2 [ppm]"].dtype == "float64"
    series = pd.read_csv(f"{base}/v1/devices/{OPEN}/readings.csv?metric=co2&{query}",
                         index_col="time", parse_dates=True)
    assert series["co2 [ppm]"].mean() == pytest.approx((812.0 + 900.5) / 2)


# --- SenML ---------------------------------------------------------------------------------

def resolve(pack: Any) -> list[dict[str, Any]]:
    """Checks ``pack`` against RFC 8428 sections 4-5 and returns its resolved records
    (section 4.6): base name + name, base time + time, each with its unit and value."""
    assert isinstance(pack, list)
    resolved = []
    bn, bt = "", 0.0
    for i, record in enumerate(pack):
        assert isinstance(record, dict) and record, record
        assert set(record) <= SENML_LABELS, record  # no unknown or must-understand labels
        if i == 0:
            assert "bn" in record and "bt" in record, record
        if "bn" in record:
            assert isinstance(record["bn"], str)
            bn = record["bn"]
        if "bt" in record:
            assert isinstance(record["bt"], int | float) and not isinstance(record["bt"], bool)
            bt = record["bt"]
        name = bn + record.get("n", "")
        assert SENML_NAME.match(name), name  # section 4.5.1
        # Exactly one value field (section 4.5.4); ours are all numbers.
        assert sum(k in record for k in ("v", "vs", "vb", "vd")) == 1, record
        assert isinstance(record["v"], int | float) and math.isfinite(record["v"])
        assert isinstance(record["u"], str) and record["u"] in SENML_UNITS, record
        t = record.get("t", 0)
        assert isinstance(t, int | float)
        time = bt + t
        assert time >= 2**28, record  # absolute, not relative to now (section 4.5.3)
        resolved.append({"n": name, "u": record["u"], "v": record["v"], "t": time})
    return resolved


def test_one_series_as_senml(api: httpx.Client, school: str) -> None:
    r = api.get(f"/v1/devices/{OPEN}/readings.senml", params={"metric": "co2", **RANGE})
    assert r.status_code == 200 and r.headers["content-type"] == "application/senml+json"
    pack = r.json()
    assert pack[0]["bn"] == f"urn:dev:mac:{OPEN}:" and pack[0]["bt"] == T0.timestamp()
    assert [(x["n"], x["u"], x["v"], x["t"]) for x in pack] == [("co2", "ppm", 812.0, 0),
                                                                ("co2", "ppm", 900.5, 300.123456)]
    assert resolve(pack)[1] == {"n": f"urn:dev:mac:{OPEN}:co2", "u": "ppm", "v": 900.5,
                                "t": pytest.approx(T1.timestamp(), abs=1e-6)}


def test_a_use_case_as_senml_holds_every_reading_with_its_catalog_unit(
        api: httpx.Client, school: str) -> None:
    r = api.get("/v1/use-cases/classroom/export.senml", params=RANGE,
                headers={"X-API-Key": school})
    got = {(x["n"], round(x["t"], 6), x["v"]): x["u"] for x in resolve(r.json())}
    want = {(f"urn:dev:mac:{eui}:{metric}", round(t.timestamp(), 6), v): METRICS[metric].unit
            for eui, t, metric, v in READINGS
            if eui in (OPEN, PRIVATE) and T0 <= t < T0 + timedelta(hours=1)}
    assert got == want
    device = api.get(f"/v1/devices/{OPEN}/export.senml", params=RANGE)
    assert len(resolve(device.json())) == 5
    assert device.headers["content-disposition"].endswith('.senml"')


def test_every_catalog_unit_is_a_registered_senml_unit() -> None:
    assert {m.unit for m in METRICS.values()} <= SENML_UNITS
    assert all(SENML_NAME.match(f"urn:dev:mac:{OPEN}:{name}") for name in METRICS)


# --- Who sees what, and refusals -----------------------------------------------------------

DEVICE_ROUTES = ["readings.csv?metric=co2", "readings.senml?metric=co2", "export.csv",
                 "export.senml"]


@pytest.mark.parametrize("route", DEVICE_ROUTES)
def test_a_private_device_is_404_but_to_its_organisations_key(api: httpx.Client, db: str,
                                                               school: str, route: str) -> None:
    path, _, metric = route.partition("?metric=")
    url = f"/v1/devices/{PRIVATE}/{path}"
    params = {**RANGE, **({"metric": metric} if metric else {})}
    r = api.get(url, params=params)
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    assert PRIVATE not in api.get("/v1/use-cases/classroom/export.csv", params=RANGE).text
    assert "1500" not in api.get("/v1/use-cases/classroom/export.senml", params=RANGE).text
    mine = api.get(url, params=params, headers={"Authorization": f"Bearer {school}"})
    assert mine.status_code == 200 and ("1500" in mine.text)
    with psycopg.connect(db) as conn:
        _, other = keys.create_key(conn, "gemeente-leiden", "reader")
        key_id = keys.list_keys(conn, "obs-de-regenboog")[0].id
        keys.revoke_key(conn, key_id)
    assert api.get(url, params=params, headers={"X-API-Key": other}).status_code == 404
    assert api.get(url, params=params, headers={"X-API-Key": school}).status_code == 401


@pytest.mark.parametrize(("query", "status", "kind"), [
    ({"from": "2025-01-01T00:00:00Z", "to": "2026-01-03T00:00:00Z"}, 400, "range-too-long"),
    ({"from": "2026-11-23T00:00:00"}, 400, "naive-time"),
    ({"from": "2026-11-24T00:00:00Z", "to": "2026-11-23T00:00:00Z"}, 400, "invalid-range"),
    ({"to": "0001-01-01T00:00:00Z"}, 400, "invalid-time"),
    ({"metric": "nonsense"}, 400, "unknown-metric"),
    ({"tz": "Mars/Olympus_Mons"}, 400, "invalid-timezone"),
])
def test_refusals_are_problems(api: httpx.Client, school: str, query: dict[str, str],
                               status: int, kind: str) -> None:
    r = api.get(f"/v1/devices/{OPEN}/readings.csv", params={"metric": "co2", **query})
    assert r.status_code == status, r.text
    assert r.json()["type"].endswith("/" + kind)
    assert api.get("/v1/use-cases/Classroom!/export.csv").status_code == 400
    year = {"from": "2025-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"}  # 366 days: allowed
    assert api.get(f"/v1/devices/{OPEN}/export.csv", params=year).status_code == 200


_hostile = (st.text(max_size=30)
            | st.sampled_from(["\x00", "co2\x00", "\ud800", "9" * 5000, "1e999", "-1", "NaN",
                               "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+14:00",
                               "0001-01-01T00:00:00Z", "2026-11-23T08:00:00", "co2", "UTC",
                               "Europe/Amsterdam", "/etc/localtime", "../zoneinfo/UTC",
                               "2026-11-23T08:00:00Z", "\u202e", "Etc/GMT+14"]))
_raw = st.sampled_from(["%00", "%ff%fe", "%c3%28", "%ed%a0%80", "a%00b", "%"])


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(route=st.sampled_from([f"/v1/devices/{{eui}}/{r.split('?')[0]}" for r in DEVICE_ROUTES]
                             + ["/v1/use-cases/{uc}/export.csv",
                                "/v1/use-cases/{uc}/export.senml"]),
       names=st.lists(st.sampled_from(["metric", "from", "to", "tz"]), max_size=5),
       values=st.lists(_hostile, min_size=5, max_size=5), raw=_raw,
       eui=st.sampled_from([OPEN, PRIVATE, OPEN.upper()]) | _hostile,
       uc=st.sampled_from(["classroom", "waste"]) | _hostile)
def test_no_parameter_makes_an_export_answer_500(api: httpx.Client, school: str, route: str,
                                                 names: list[str], values: list[str], raw: str,
                                                 eui: str, uc: str) -> None:
    def seg(text: str) -> str:
        return quote(text.encode("utf-8", "surrogatepass"), safe="") or "x"

    path = route.replace("{eui}", seg(eui)).replace("{uc}", seg(uc))
    parts = [f"{n}={seg(v)}" for n, v in zip(names, values, strict=False)]
    if len(names) % 2:
        parts.append(f"tz={raw}")
    r = api.get(f"{path}?{'&'.join(parts)}")
    assert r.status_code < 500, (path, parts, r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
    elif path.endswith(".senml"):
        resolve(r.json())
    else:
        assert r.text.startswith("time")


# --- Streaming -----------------------------------------------------------------------------

LONG_NAME = "Lokaal 1 " + "x" * 300  # about 350 bytes a row: a year is ~37 MB of CSV
YEAR = {"from": "2025-11-23T00:00:00Z", "to": "2026-11-23T00:00:00Z"}


@pytest.fixture
def a_year(db: str, school: str) -> int:
    """A year of 5-minute CO2 readings of the open classroom sensor, made by PostgreSQL
    itself; returns the number of rows (365 days of 288)."""
    with psycopg.connect(db) as conn:
        conn.execute("UPDATE devices SET name = %s WHERE dev_eui = %s", (LONG_NAME, OPEN))
        conn.execute(
            """INSERT INTO readings (time, device_id, metric_id, value)
               SELECT t, d.id, m.id, 400 + extract(epoch FROM t)::bigint %% 997
               FROM devices d, metrics m, generate_series(%s::timestamptz,
                    %s::timestamptz - interval '5 minutes', interval '5 minutes') t
               WHERE d.dev_eui = %s AND m.name = 'co2'
               ON CONFLICT DO NOTHING""",  # one of READINGS lies on the grid already
            (YEAR["from"], YEAR["to"], OPEN))
    return 365 * 288


def export_sessions(db: str) -> list[tuple[str, str]]:
    """(state, query) of the API's database sessions reading an export's cursor."""
    with psycopg.connect(db) as conn:
        return [(str(s), str(q)) for s, q in conn.execute(
            """SELECT state, query FROM pg_stat_activity
               WHERE datname = current_database() AND pid <> pg_backend_pid()
                 AND query LIKE '%%meetnet_export%%'""")]


def in_transaction(db: str) -> bool:
    return any(state.startswith("idle in transaction") for state, _ in export_sessions(db))


def test_a_year_is_streamed_while_the_database_still_holds_the_rest(
        api: httpx.Client, db: str, a_year: int) -> None:
    """The client takes the first chunk and then waits: the server has sent the header and
    some rows, and its transaction and cursor are still open, waiting for the next FETCH; so
    the rows not yet sent are in PostgreSQL, not in the API's memory. Then the rest arrives,
    every row once, and the transaction ends."""
    with api.stream("GET", "/v1/use-cases/classroom/export.csv", params=YEAR) as r:
        assert r.status_code == 200 and "content-length" not in r.headers
        chunks = r.iter_bytes()
        first = next(chunks)
        assert first.startswith(b"time,dev_eui,name,co2 [ppm]\r\n")
        wait_for(lambda: in_transaction(db), timeout=30)
        assert any("FETCH" in q for _, q in export_sessions(db))
        rest = [first, *chunks]
    lines = b"".join(rest).decode().split("\r\n")
    assert len(rest) > 10 and lines[-1] == "" and len(lines) - 2 == a_year
    assert lines[1].startswith(f"2025-11-23T00:00:00.000000Z,{OPEN},Lokaal 1 x")
    wait_for(lambda: not in_transaction(db), timeout=30)


def test_a_client_that_hangs_up_ends_the_export(api: httpx.Client, db: str, a_year: int,
                                                caplog: pytest.LogCaptureFixture) -> None:
    """Its cursor and transaction end on the connection that had them before the pool takes
    it back (the pool never has to roll back a transaction left open), and that connection
    serves the next request."""
    for _ in range(3):  # more than once: the pooled connections come back clean
        with api.stream("GET", "/v1/use-cases/classroom/export.csv", params=YEAR) as r:
            assert r.status_code == 200
            assert next(r.iter_bytes()).startswith(b"time")
            # The export has reached the database (how far it got before the hang-up depends
            # on the sockets' buffers, which the test does not control).
            wait_for(lambda: export_sessions(db), timeout=30)
        wait_for(lambda: not in_transaction(db), timeout=30)
    assert not [r for r in caplog.records if "rolling back" in r.getMessage()]
    small = api.get(f"/v1/devices/{OPEN}/readings.csv",
                    params={"metric": "co2", "from": "2025-11-23T00:00:00Z",
                            "to": "2025-11-23T00:15:00Z"})
    assert len(rows_of(small)) == 4


def test_senml_of_a_year_is_one_valid_pack(api: httpx.Client, a_year: int) -> None:
    r = api.get(f"/v1/devices/{OPEN}/readings.senml", params={"metric": "co2", **YEAR})
    pack = json.loads(r.content)
    assert len(pack) == a_year
    records = resolve(pack)
    assert records[0]["t"] == datetime(2025, 11, 23, tzinfo=UTC).timestamp()
    assert records[-1]["t"] == pytest.approx(
        datetime(2026, 11, 22, 23, 55, tzinfo=UTC).timestamp(), abs=1e-6)
