"""The alerts API over HTTP (issue 11): scoped by the key's organisation, writer keys for
changes, paging, and hostile bodies and parameters answered with a 4xx problem."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.runner import evaluate
from meetnet.settings import Settings
from store import Batch, ReadingRow, Writer, keys
from store import alerts as store
from store import devices as registry

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
A, B = "gemeente-a", "school-b"
A_DEV, B_DEV, B_OPEN = "a1a1a1a1a1a1a101", "b2b2b2b2b2b2b201", "b2b2b2b2b2b2b203"


@pytest.fixture
def world(api: httpx.Client, db: str) -> Iterator[tuple[httpx.Client, dict[str, dict[str, str]],
                                                         psycopg.Connection]]:
    with psycopg.connect(db, autocommit=True) as conn:
        ids = {}
        for org in (A, B):
            keys.create_organisation(conn, org, org)
        for eui, org, vis in ((A_DEV, A, "private"), (B_DEV, B, "private"),
                              (B_OPEN, B, "open")):
            ids[eui] = registry.upsert_device(conn, registry.NewDevice(
                dev_eui=eui, organisation=org, model_key="elsys/ers-co2", name=eui,
                use_case="classroom", visibility=vis))
        headers = {name: {"Authorization": f"Bearer {keys.create_key(conn, org, role)[1]}"}  # type: ignore[arg-type]
                   for name, org, role in (("A reader", A, "reader"), ("A writer", A, "writer"),
                                           ("B writer", B, "writer"))}
        with Writer(db) as w:
            w.write(Batch(readings=[ReadingRow(T0 + timedelta(minutes=10 * k), ids[e], "co2",
                                               1500.0 if k % 2 == 0 else 600.0)
                                    for e in (A_DEV, B_DEV) for k in range(5)]))
        yield api, headers, conn


def test_anonymous_callers_get_401_everywhere(world: Any) -> None:
    client, _, _ = world
    for method, path in (("GET", "/v1/alerts"), ("GET", "/v1/alerts/rules"),
                         ("GET", "/v1/alerts/1/deliveries"), ("POST", "/v1/alerts/1/acknowledge"),
                         ("DELETE", "/v1/alerts/rules/1")):
        r = client.request(method, path)
        assert r.status_code == 401, (method, path, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    r = client.post("/v1/alerts/rules", json={"metric": "co2", "condition": ">",
                                              "threshold": 1})
    assert r.status_code == 401


def test_rules_are_made_listed_and_deleted_by_writers_of_one_organisation(world: Any) -> None:
    client, h, _ = world
    rule = {"metric": "co2", "condition": ">", "threshold": 1200, "duration_s": 1800,
            "hysteresis": 100, "name": "stuffy"}
    assert client.post("/v1/alerts/rules", json=rule, headers=h["A reader"]).status_code == 403
    r = client.post("/v1/alerts/rules", json=rule, headers=h["A writer"])
    assert r.status_code == 201, r.text
    made = r.json()
    assert (made["metric"], made["unit"], made["duration_s"], made["dev_eui"]) == (
        "co2", "ppm", 1800, None)
    assert [x["id"] for x in client.get("/v1/alerts/rules", headers=h["A reader"]).json()] == [
        made["id"]]
    assert client.get("/v1/alerts/rules", headers=h["B writer"]).json() == []
    # B may not delete A's rule, and learns nothing about it.
    r = client.delete(f"/v1/alerts/rules/{made['id']}", headers=h["B writer"])
    assert r.status_code == 404
    assert client.delete(f"/v1/alerts/rules/{made['id']}",
                         headers=h["A writer"]).status_code == 204
    assert client.get("/v1/alerts/rules", headers=h["A reader"]).json() == []


def test_a_rule_names_a_device_the_organisation_may_see(world: Any) -> None:
    client, h, _ = world
    base = {"metric": "co2", "condition": ">", "threshold": 1200}
    ok = client.post("/v1/alerts/rules", json={**base, "dev_eui": B_OPEN}, headers=h["A writer"])
    assert ok.status_code == 201 and ok.json()["dev_eui"] == B_OPEN  # open: anyone may watch
    r = client.post("/v1/alerts/rules", json={**base, "dev_eui": B_DEV}, headers=h["A writer"])
    assert r.status_code == 404 and r.json()["type"].endswith("device-not-found")
    r = client.post("/v1/alerts/rules", json={**base, "metric": "no_such_metric"},
                    headers=h["A writer"])
    assert r.status_code == 422 and r.json()["type"].endswith("unknown-metric")
    r = client.post("/v1/alerts/rules", json={**base, "dev_eui": A_DEV, "use_case": "water"},
                    headers=h["A writer"])
    assert r.status_code == 422


def test_history_is_scoped_paged_and_acknowledged(world: Any) -> None:
    client, h, conn = world
    for org in (A, B):
        store.create_rule(conn, org, metric="co2", condition=">", threshold=1000)
    evaluate(conn, Settings(), now=T0 + timedelta(minutes=55))
    # Readings alternate 1500 / 600: three episodes per device, the last one still open.
    page = client.get("/v1/alerts", params={"limit": 2}, headers=h["A reader"])
    assert page.status_code == 200
    body = page.json()
    assert [a["dev_eui"] for a in body["alerts"]] == [A_DEV, A_DEV]
    assert body["alerts"][0]["state"] == "open" and body["alerts"][1]["state"] == "resolved"
    assert body["alerts"][0]["id"] > body["alerts"][1]["id"]
    rest = client.get(body["next"], headers=h["A reader"]).json()
    assert len(rest["alerts"]) == 1 and rest["next"] is None
    mine = body["alerts"] + rest["alerts"]
    opened = client.get("/v1/alerts", params={"state": "open"}, headers=h["A reader"]).json()
    assert [a["id"] for a in opened["alerts"]] == [mine[0]["id"]]
    b_alerts = client.get("/v1/alerts", headers=h["B writer"]).json()["alerts"]
    assert {a["dev_eui"] for a in b_alerts} == {B_DEV}
    assert not {a["id"] for a in b_alerts} & {a["id"] for a in mine}
    # Acknowledge: a reader may not; another organisation's alert is a 404.
    target = mine[0]["id"]
    assert client.post(f"/v1/alerts/{target}/acknowledge",
                       headers=h["A reader"]).status_code == 403
    assert client.post(f"/v1/alerts/{target}/acknowledge",
                       headers=h["B writer"]).status_code == 404
    assert client.get(f"/v1/alerts/{target}/deliveries",
                      headers=h["B writer"]).status_code == 404
    r = client.post(f"/v1/alerts/{target}/acknowledge", headers=h["A writer"])
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert client.get("/v1/alerts", params={"state": "acknowledged"},
                      headers=h["A reader"]).json()["alerts"][0]["id"] == target
    assert client.get(f"/v1/alerts/{target}/deliveries", headers=h["A reader"]).json() == []


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)
FIELDS = ["metric", "condition", "threshold", "duration_s", "hysteresis", "dev_eui",
          "use_case", "name"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), JSON, max_size=8),
    st.fixed_dictionaries({"metric": st.sampled_from(["co2", "x", "\x00", "a" * 100]),
                           "condition": st.sampled_from([">", "<=", "=", ""]),
                           "threshold": st.one_of(st.floats(), st.integers(-2**80, 2**80),
                                                  st.text())},
                          optional={"duration_s": st.integers(-2**70, 2**70),
                                    "hysteresis": st.floats(),
                                    "dev_eui": st.text(max_size=20),
                                    "name": st.text(max_size=300)}),
    JSON))
def test_hostile_rule_bodies_are_4xx_problems(world: Any, body: Any) -> None:
    client, h, _ = world
    # json.dumps writes NaN and Infinity as bare words: not JSON, so hostile input too.
    r = client.post("/v1/alerts/rules", content=json.dumps(body).encode(),
                    headers={**h["A writer"], "Content-Type": "application/json"})
    assert r.status_code < 500, (body, r.text)
    if r.status_code != 201:
        assert r.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("raw", [
    b"[" * 100_000 + b"]" * 100_000,  # deeply nested
    b'{"metric": "co2", "condition": ">", "threshold": 1, "name": "' + b"x" * 2_000_000 + b'"}',
    b'{"metric": "\xff\xfe", "condition": ">", "threshold": 1}',  # invalid UTF-8
    b'{"metric": "co2\\u0000", "condition": ">", "threshold": 1}',
    b'{"metric": "co2", "condition": ">", "threshold": 1e999}',
    b"not json",
])
def test_malformed_bodies_are_4xx_problems(world: Any, raw: bytes) -> None:
    client, h, _ = world
    r = client.post("/v1/alerts/rules", content=raw,
                    headers={**h["A writer"], "Content-Type": "application/json"})
    assert 400 <= r.status_code < 500, r.text[:300]
    assert r.headers["content-type"] == "application/problem+json"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(params=st.dictionaries(st.sampled_from(["state", "limit", "cursor"]),
                              st.one_of(st.text(), st.integers(-2**70, 2**70).map(str)),
                              max_size=3),
       alert_id=st.one_of(st.integers(-2**70, 2**70).map(str),
                          st.text(min_size=1).filter(lambda s: s not in (".", "..")).map(
                              lambda s: quote(s, safe=""))))
def test_hostile_parameters_are_4xx_problems(world: Any, params: dict[str, str],
                                             alert_id: str) -> None:
    client, h, _ = world
    answers = [client.get("/v1/alerts", params=params, headers=h["A reader"]),
               client.get(f"/v1/alerts/{alert_id}/deliveries", headers=h["A reader"]),
               client.post(f"/v1/alerts/{alert_id}/acknowledge", headers=h["A writer"]),
               client.delete(f"/v1/alerts/rules/{alert_id}", headers=h["A writer"])]
    for r in answers:
        assert r.status_code < 500, (params, alert_id, r.text)
