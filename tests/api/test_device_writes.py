"""Writer and admin keys change their own organisation's devices over the API (issue 10,
"Devices"); a reader key gets 403, no key 401, another organisation's device 404."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import Batch, ReadingRow, Writer
from store import keys as key_store

BIN = {"dev_eui": "24E124713C0600A1", "model_key": "milesight-iot/em310-udl",
       "name": "Bak Breestraat", "use_case": "waste", "visibility": "private",
       "lat": 52.158, "lon": 4.488, "config": {"bin_depth_m": 1.2}}


def _key(db: str, org: str, role: key_store.Role) -> dict[str, str]:
    with psycopg.connect(db) as conn:
        key_store.create_organisation(conn, org, org)
        _, secret = key_store.create_key(conn, org, role)
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def writer(db: str) -> dict[str, str]:
    return _key(db, "gemeente-leiden", "writer")


def test_create_read_update_delete_own_device(api: httpx.Client, db: str,
                                              writer: dict[str, str]) -> None:
    r = api.post("/v1/devices", json=BIN, headers=writer)
    assert r.status_code == 201, r.text
    assert r.json()["organisation"] == "gemeente-leiden" and r.json()["dev_eui"] == "24e124713c0600a1"
    assert api.get("/v1/devices/24e124713c0600a1").status_code == 404  # private: not anonymous
    assert api.post("/v1/devices", json=BIN, headers=writer).status_code == 409
    r = api.patch("/v1/devices/24e124713c0600a1", json={"name": "Bak 2", "visibility": "open",
                                                        "lat": None}, headers=writer)
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["visibility"], r.json()["lat"]) == ("Bak 2", "open", None)
    assert api.get("/v1/devices/24e124713c0600a1").status_code == 200  # open now
    with psycopg.connect(db) as conn:
        dev_id = conn.execute("SELECT id FROM devices WHERE dev_eui = '24e124713c0600a1'"
                              ).fetchone()
    assert dev_id is not None
    with Writer(db) as w:
        w.write(Batch(readings=[ReadingRow(datetime.now(UTC), dev_id[0], "fill_level", 50.0)]))
    assert api.delete("/v1/devices/24e124713c0600a1", headers=writer).status_code == 204
    assert api.get("/v1/devices/24e124713c0600a1").status_code == 404
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone() == (0,)


def test_roles_and_ownership(api: httpx.Client, db: str, writer: dict[str, str]) -> None:
    reader = _key(db, "gemeente-leiden", "reader")
    other = _key(db, "bedrijf-x", "admin")
    assert api.post("/v1/devices", json=BIN).status_code == 401
    r = api.post("/v1/devices", json=BIN, headers=reader)
    assert r.status_code == 403 and "reader" in r.json()["detail"]
    assert api.post("/v1/devices", json=BIN, headers=writer).status_code == 201
    # Another organisation's admin cannot change or remove it, nor learn more than "not found".
    assert api.patch("/v1/devices/24e124713c0600a1", json={"name": "x"},
                     headers=other).status_code == 404
    assert api.delete("/v1/devices/24e124713c0600a1", headers=other).status_code == 404


@pytest.mark.parametrize(("change", "status"), [
    ({"config": {}}, 422),  # a waste bin needs its depth
    ({"model_key": "acme/unknown"}, 422),
    ({"dev_eui": "xyz"}, 422),
    ({"lat": 91}, 422),
    ({"visibility": "public"}, 422),
    ({"owner": "someone"}, 422),  # unknown fields are refused, not ignored
])
def test_bad_devices_are_refused_with_a_reason(api: httpx.Client, writer: dict[str, str],
                                               change: dict[str, object], status: int) -> None:
    r = api.post("/v1/devices", json={**BIN, **change}, headers=writer)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")


_values = st.recursive(st.none() | st.booleans() | st.integers()
                       | st.floats(allow_nan=False, allow_infinity=False)
                       | st.text(max_size=20) | st.just("\x00"),
                       lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=5),
                                                                           c, max_size=3),
                       max_leaves=10)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(field=st.sampled_from([*BIN, "network", "tenant_id", "device_id", "application_id"]),
       value=_values, patch=st.booleans())
def test_any_body_is_a_clear_answer_never_a_500(api: httpx.Client, db: str,
                                                writer: dict[str, str], field: str,
                                                value: object, patch: bool) -> None:
    if patch:
        api.post("/v1/devices", json=BIN, headers=writer)
        r = api.patch("/v1/devices/24e124713c0600a1", json={field: value}, headers=writer)
    else:
        r = api.post("/v1/devices", json={**BIN, "dev_eui": "24e124713c0600b2", field: value},
                     headers=writer)
        api.delete("/v1/devices/24e124713c0600b2", headers=writer)
    assert r.status_code < 500, r.text
