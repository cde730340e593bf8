"""The real API over HTTP against a real database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from store import Batch, ReadingRow, Writer
from store import devices as registry

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def seeded(db: str) -> dict[str, int]:
    ids = {}
    with psycopg.connect(db) as conn:
        ids["klas"] = registry.upsert_device(conn, registry.NewDevice(
            dev_eui="a81758fffe0312ab", organisation="obs-de-regenboog", model_key="elsys/ers-co2",
            name="Groep 7", use_case="classroom", visibility="open", lat=52.16, lon=4.49))
        ids["secret"] = registry.upsert_device(conn, registry.NewDevice(
            dev_eui="a81758fffe0312ac", organisation="bedrijf-x", model_key="elsys/ers-co2",
            name="Vergaderzaal", use_case="classroom", visibility="private"))
    co2 = [600, 700, 900, 1000, 1300, 800]
    with Writer(db) as w:
        w.write(Batch(readings=[
            ReadingRow(T0 + timedelta(minutes=10 * i), dev, "co2", v)
            for dev in ids.values() for i, v in enumerate(co2)]))
    return ids


def test_private_devices_are_not_shown_without_a_key(api: httpx.Client,
                                                     seeded: dict[str, int]) -> None:
    euis = [d["dev_eui"] for d in api.get("/v1/devices").json()]
    assert euis == ["a81758fffe0312ab"]
    r = api.get("/v1/devices/a81758fffe0312ac/readings", params={"metric": "co2"})
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("/device-not-found")
    assert [d["dev_eui"] for d in api.get("/v1/latest").json()] == ["a81758fffe0312ab"]


def test_readings_window_and_pages(api: httpx.Client, seeded: dict[str, int]) -> None:
    r = api.get("/v1/devices/A81758FFFE0312AB/readings",
                params={"metric": "co2", "from": "2026-11-23T08:10:00Z",
                        "to": "2026-11-23T08:50:00Z", "limit": 2})
    assert r.status_code == 200
    page = r.json()
    assert [p["value"] for p in page["readings"]] == [700, 900]
    page2 = api.get(page["next"]).json()
    assert [p["value"] for p in page2["readings"]] == [1000, 1300]
    assert page2["next"] is None
    bad = api.get("/v1/devices/a81758fffe0312ab/readings", params={"metric": "nonsense"})
    assert bad.status_code == 400 and bad.json()["type"].endswith("/unknown-metric")
    naive = api.get("/v1/devices/a81758fffe0312ab/readings",
                    params={"metric": "co2", "from": "2026-11-23T08:10:00"})
    assert naive.status_code == 400
    invalid = api.get("/v1/devices/a81758fffe0312ab/readings",
                      params={"metric": "co2", "limit": 0})
    assert invalid.status_code == 422
    assert invalid.headers["content-type"] == "application/problem+json"


def test_latest_and_geojson(api: httpx.Client, seeded: dict[str, int]) -> None:
    latest = api.get("/v1/latest", params={"use_case": "classroom"}).json()
    assert latest[0]["readings"]["co2"] == {"value": 800, "unit": "ppm",
                                            "time": "2026-11-23T08:50:00Z"}
    geo = api.get("/v1/latest.geojson").json()
    assert geo["type"] == "FeatureCollection"
    assert geo["features"][0]["geometry"]["coordinates"] == [4.49, 52.16]
    assert geo["features"][0]["properties"]["co2"] == 800


def test_classroom_report_in_frisse_scholen_classes(api: httpx.Client,
                                                   seeded: dict[str, int]) -> None:
    r = api.get("/v1/classrooms/a81758fffe0312ab/report",
                params={"from": "2026-11-23T00:00:00Z", "to": "2026-11-24T00:00:00Z"}).json()
    assert r["readings"] == 6 and r["co2_max_ppm"] == 1300 and r["current_class"] == "A"
    # 600, 700 -> A (20 min); 900 -> B; 1000 -> C; 1300 -> none; 800 -> A (10 min, median).
    assert r["class_shares"] == pytest.approx({"A": 0.5, "B": 1 / 6, "C": 1 / 6, "-": 1 / 6})


def test_openapi_and_metrics(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()
    assert "/v1/devices/{dev_eui}/readings" in spec["paths"]
    assert api.get("/docs").status_code == 200
    api.get("/v1/devices/0000000000000001")
    metrics = api.get("/metrics").text
    assert ('meetnet_api_requests_total{method="GET",route="/v1/devices/{dev_eui}",status="404"}'
            in metrics)


def test_readings_default_to_the_last_24_hours_and_refuse_huge_ranges(
        api: httpx.Client, db: str, seeded: dict[str, int]) -> None:
    now = datetime.now(UTC)
    with Writer(db) as w:
        w.write(Batch(readings=[ReadingRow(now - timedelta(hours=1), seeded["klas"], "co2", 555.0)]))
    url = "/v1/devices/a81758fffe0312ab/readings"
    recent = api.get(url, params={"metric": "co2"}).json()["readings"]
    assert [p["value"] for p in recent] == [555.0]  # not the readings of days ago
    before = api.get(url, params={"metric": "co2", "to": "2026-11-23T09:00:00Z"}).json()
    assert len(before["readings"]) == 6  # 24 h before `to`
    huge = api.get(url, params={"metric": "co2", "from": "2020-01-01T00:00:00Z"})
    assert huge.status_code == 400 and huge.json()["type"].endswith("/range-too-long")
