"""POST /v1/waste/routes over HTTP against a real database (issue 11)."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.routing import haversine_km
from store import devices as registry
from store import keys
from support import SeedBin, seed_bins

LITTER = {"bin_depth_m": 0.9, "full_distance_m": 0.15}
DEPOT = {"lat": 52.1652, "lon": 4.4893}
FAST = {"time_limit_s": 1.0}


def seed(db: str) -> dict[str, str]:
    """Bins of gemeente-leiden in Leiden's centre: two full (due now), one filling fast (due by
    forecast), one near-empty 6 km away (may wait), one with its own volume, one without a
    position; and bins gemeente-leiden sees but does not own: another organisation's open
    bin, and a private one it cannot see at all. Readings are hourly over the last 30 hours
    up to now. Returns names -> dev_euis and the organisation's key."""
    org, other = "gemeente-leiden", "bedrijf-x"
    bins = {
        "full-a": SeedBin("24e1240000000a01", org, "Bin full-a", 52.1662, 4.4821,
                          lambda h: 95.0, "private"),
        "full-b": SeedBin("24e1240000000a02", org, "Bin full-b", 52.1587, 4.4894,
                          lambda h: 90.0, "private"),
        # 28.8 points a day: at ~76 % now
        "rising": SeedBin("24e1240000000a03", org, "Bin rising", 52.1604, 4.4910,
                          lambda h: 40.0 + 1.2 * h, "private"),
        "far-empty": SeedBin("24e1240000000a04", org, "Bin far-empty", 52.2150, 4.4893,
                             lambda h: 20.0, "private"),
        "big": SeedBin("24e1240000000a05", org, "Bin big", 52.1595, 4.4936, lambda h: 50.0,
                       "private", {**LITTER, "bin_volume_l": 1000.0}),
        "nowhere": SeedBin("24e1240000000a06", org, "Bin nowhere", None, None,
                           lambda h: 95.0, "private"),
        "other-open": SeedBin("24e1240000000b01", other, "Bin other-open", 52.1609, 4.4861,
                              lambda h: 99.0, "open"),
        "other-private": SeedBin("24e1240000000b02", other, "Bin other-private", 52.1581,
                                 4.4916, lambda h: 99.0, "private"),
    }
    key = seed_bins(db, bins, key_for=org)
    return {name: b.dev_eui for name, b in bins.items()} | {"key": key}


@pytest.fixture
def bins(db: str) -> dict[str, str]:
    return seed(db)


def test_routes_visit_every_due_bin_the_organisation_owns(api: httpx.Client,
                                                          bins: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {bins['key']}"}
    r = api.post("/v1/waste/routes", headers=auth,
                 json={"trucks": 2, "capacity_l": 20000, "depot": DEPOT, **FAST})
    assert r.status_code == 200, r.text
    plan = r.json()
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert plan["date"] in (tomorrow, datetime.now(UTC).date().isoformat(),
                            (datetime.now(UTC) + timedelta(days=2)).date().isoformat())
    stops = {s["dev_eui"]: s for t in plan["trucks"] for s in t["stops"]}
    on_routes = [s["dev_eui"] for t in plan["trucks"] for s in t["stops"]]
    assert len(on_routes) == len(set(on_routes))
    # Due: the two full bins and the one forecast over 80 % before the next round.
    for name in ("full-a", "full-b", "rising"):
        assert stops[bins[name]]["due"] is True, name
    # The near-empty bin 6 km north is not worth the detour.
    assert plan["skipped"] == [bins["far-empty"]]
    assert plan["unserved"] == [] and plan["feasible"] is True
    # Only the organisation's own bins are planned; a bin without a position is reported.
    planned = set(on_routes) | set(plan["skipped"])
    assert bins["other-open"] not in planned and bins["other-private"] not in planned
    assert [(n["dev_eui"], n["reason"]) for n in plan["not_planned"]] == [
        (bins["nowhere"], "no position")]
    # Load: the bin's volume (config, else a 120 L litter bin) x the predicted fill.
    for s in stops.values():
        volume = 1000.0 if s["dev_eui"] == bins["big"] else 120.0
        assert s["load_l"] == pytest.approx(volume * s["fill_pct"] / 100, abs=0.1)
    assert stops[bins["full-a"]]["fill_pct"] == pytest.approx(95.0)
    # km: the legs' haversine x 1.3 from the depot and back, as the GeoJSON line shows.
    lines = [f for f in plan["geojson"]["features"] if f["geometry"]["type"] == "LineString"]
    assert len(lines) == len(plan["trucks"])
    for truck, line in zip(plan["trucks"], lines, strict=True):
        coords = line["geometry"]["coordinates"]
        assert coords[0] == coords[-1] == [DEPOT["lon"], DEPOT["lat"]]
        km = sum(haversine_km(a[1], a[0], b[1], b[0]) for a, b in itertools.pairwise(coords))
        assert truck["km"] == pytest.approx(km * 1.3, abs=0.002)
        assert truck["load_l"] == pytest.approx(sum(s["load_l"] for s in truck["stops"]),
                                                abs=0.2)
    assert plan["km"] == pytest.approx(sum(t["km"] for t in plan["trucks"]), abs=0.005)
    points = {f["properties"]["dev_eui"]: f["properties"]
              for f in plan["geojson"]["features"] if f["geometry"]["type"] == "Point"}
    assert points[bins["far-empty"]]["status"] == "skipped"
    assert points[bins["full-a"]]["status"] == "route" and points[bins["full-a"]]["order"] >= 1


def test_due_bins_over_the_trucks_capacity_are_unserved(api: httpx.Client,
                                                        bins: dict[str, str]) -> None:
    auth = {"X-API-Key": bins["key"]}
    # One truck of 150 L: one full litter bin (~114 L) fits, the others are unserved.
    r = api.post("/v1/waste/routes", headers=auth,
                 json={"trucks": 1, "capacity_l": 150, "depot": DEPOT, **FAST})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["feasible"] is False
    assert len(plan["trucks"]) == 1 and len(plan["trucks"][0]["stops"]) == 1
    assert plan["trucks"][0]["load_l"] <= 150
    due = {bins["full-a"], bins["full-b"], bins["rising"]}
    assert set(plan["unserved"]) | {plan["trucks"][0]["stops"][0]["dev_eui"]} >= due


def test_routes_need_a_key_and_a_bounded_time(api: httpx.Client, bins: dict[str, str]) -> None:
    r = api.post("/v1/waste/routes", json=FAST)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    auth = {"Authorization": f"Bearer {bins['key']}"}
    r = api.post("/v1/waste/routes", headers=auth, json={"time_limit_s": 61})
    assert r.status_code == 422 and "at most 60" in r.json()["detail"]
    r = api.post("/v1/waste/routes", headers=auth, json={"date": "2099-01-01", **FAST})
    assert r.status_code == 422


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                   max_size=4),
    max_leaves=20)
fields = st.fixed_dictionaries({}, optional={
    "date": st.one_of(st.dates().map(str), st.text(max_size=12), json_values),
    "trucks": st.one_of(st.integers(-10, 100), json_values),
    "capacity_l": st.one_of(st.floats(), json_values),
    "depot": st.one_of(st.fixed_dictionaries({"lat": st.floats(), "lon": st.floats()}),
                       json_values),
    "time_limit_s": st.one_of(st.floats(-1, 1000), json_values),
    "detour_factor": st.one_of(st.floats(), json_values),
    "threshold": st.one_of(st.floats(), json_values),
    "extra": json_values,
})
raw_bodies = st.one_of(
    fields.map(lambda d: json.dumps(d).encode()),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),  # invalid UTF-8 and not JSON
    st.text(max_size=50).map(lambda t: json.dumps({"date": t + "\x00"}).encode()),
    st.integers(1, 50).map(lambda n: ("[" * n * 40 + "]" * n * 40).encode()),  # deep nesting
    st.just(b'{"trucks": ' + b"9" * 5000 + b"}"),  # a huge number
    st.just(json.dumps({"date": "x" * 200_000}).encode()),  # a huge string
)


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(body=raw_bodies)
def test_junk_bodies_are_a_problem_never_a_500(api: httpx.Client, org_key: str,
                                               body: bytes) -> None:
    r = api.post("/v1/waste/routes", content=body,
                 headers={"Authorization": f"Bearer {org_key}",
                          "Content-Type": "application/json"})
    assert r.status_code < 500, (r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


@pytest.fixture
def org_key(db: str) -> str:
    """A key of an organisation without bins: a valid body plans nothing (no solver run)."""
    with psycopg.connect(db) as conn:
        registry.ensure_organisation(conn, "gemeente-leiden")
        _, key = keys.create_key(conn, "gemeente-leiden", "reader")
    return key


def test_cli_plans_and_lists_the_organisations_bins(db: str, bins: dict[str, str],
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from meetnet.cli import app

    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    monkeypatch.setenv("MEETNET_WASTE_DEPOT_LAT", str(DEPOT["lat"]))
    monkeypatch.setenv("MEETNET_WASTE_DEPOT_LON", str(DEPOT["lon"]))
    runner = CliRunner()
    r = runner.invoke(app, ["waste", "route", "--org", "gemeente-leiden", "--trucks", "1",
                            "--time-limit", "1", "--json"])
    assert r.exit_code == 0, r.output
    plan = json.loads(r.stdout)
    on_routes = {s["dev_eui"] for t in plan["trucks"] for s in t["stops"]}
    assert {bins["full-a"], bins["full-b"], bins["rising"]} <= on_routes
    assert plan["skipped"] == [bins["far-empty"]] and len(plan["trucks"]) == 1
    assert plan["trucks"][0]["stops"] and plan["geojson"]["type"] == "FeatureCollection"

    r = runner.invoke(app, ["waste", "route", "--org", "gemeente-leiden", "--time-limit", "0.5",
                            "--date", "2026-13-01"])
    assert r.exit_code != 0
    r = runner.invoke(app, ["waste", "route", "--org", "gemeente-leiden", "--time-limit", "0.5"],
                      env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "truck 1:" in r.stdout and "Bin full-a" in r.stdout
    assert "not planned: " + bins["nowhere"] in r.stdout

    r = runner.invoke(app, ["waste", "bins", "--org", "gemeente-leiden", "--json"])
    assert r.exit_code == 0, r.output
    listed = {b["dev_eui"]: b for b in json.loads(r.stdout)}
    assert bins["other-open"] not in listed and bins["other-private"] not in listed
    assert listed[bins["full-a"]]["due"] is True and listed[bins["far-empty"]]["due"] is False
    r = runner.invoke(app, ["waste", "bins", "--org", "gemeente-leiden"], env={"COLUMNS": "200"})
    assert r.exit_code == 0 and "Bin full-a" in r.stdout and "over-threshold" in r.stdout

    r = runner.invoke(app, ["waste", "route", "--org", "no-such-org", "--time-limit", "0.5"])
    assert r.exit_code == 1 and "no organisation 'no-such-org'" in r.output
