"""Organisations and API keys (issue 10, first slice): made with the real CLI, stored hashed,
used over the real HTTP API. An organisation's key shows its own private devices; any other
caller gets 404 for them, a bad or revoked key 401."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime

import httpx
import psycopg
import pytest

from store import Batch, ReadingRow, Writer
from store import devices as registry

OPEN, PRIVATE = "a81758fffe0399aa", "a81758fffe0399bb"
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def meetnet(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETNET_")}
    env["MEETNET_DATABASE_URL"] = db
    return subprocess.run([sys.executable, "-m", "meetnet.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


@pytest.fixture
def school(db: str) -> str:
    """Organisation obs-de-regenboog with one private and one open classroom sensor, and a
    reader key made with the CLI."""
    made = meetnet(db, "orgs", "create", "obs-de-regenboog", "--name", "OBS De Regenboog")
    assert made.returncode == 0, made.stderr
    with psycopg.connect(db) as conn:
        ids = [registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation="obs-de-regenboog", model_key="elsys/ers-co2",
            name=eui, use_case="classroom", visibility=vis))
            for eui, vis in ((OPEN, "open"), (PRIVATE, "private"))]
    with Writer(db) as w:
        w.write(Batch(readings=[ReadingRow(T0, i, "co2", 800.0) for i in ids]))
    key = meetnet(db, "keys", "create", "--org", "obs-de-regenboog", "--role", "reader",
                  "--name", "groep 7 dashboard")
    assert key.returncode == 0, key.stderr
    return key.stdout.strip().splitlines()[-1]  # the key is the last line


def test_a_key_shows_its_organisations_private_devices(api: httpx.Client, school: str) -> None:
    anonymous = {d["dev_eui"] for d in api.get("/v1/devices").json()}
    assert anonymous == {OPEN}
    for headers in ({"Authorization": f"Bearer {school}"}, {"X-API-Key": school}):
        mine = {d["dev_eui"] for d in api.get("/v1/devices", headers=headers).json()}
        assert mine == {OPEN, PRIVATE}
        r = api.get(f"/v1/devices/{PRIVATE}/readings", params={"metric": "co2",
                                                               "from": "2026-11-01T00:00:00Z"},
                    headers=headers)
        assert r.status_code == 200 and [p["value"] for p in r.json()["readings"]] == [800.0]
        latest = {d["dev_eui"] for d in api.get("/v1/latest", headers=headers).json()}
        assert PRIVATE in latest
    # Without the key, the private device does not exist (404, not 403).
    assert api.get(f"/v1/devices/{PRIVATE}").status_code == 404


def test_another_organisations_key_does_not_see_them(api: httpx.Client, db: str,
                                                     school: str) -> None:
    assert meetnet(db, "orgs", "create", "bedrijf-x", "--name", "Bedrijf X").returncode == 0
    other = meetnet(db, "keys", "create", "--org", "bedrijf-x").stdout.strip().splitlines()[-1]
    r = api.get(f"/v1/devices/{PRIVATE}", headers={"Authorization": f"Bearer {other}"})
    assert r.status_code == 404


@pytest.mark.parametrize("header", [{"Authorization": "Bearer mn_not-a-key"},
                                    {"X-API-Key": "nonsense"}, {"Authorization": "Basic eDp5"},
                                    {"Authorization": "Bearer"}])
def test_a_bad_key_is_401_not_anonymous(api: httpx.Client, school: str,
                                        header: dict[str, str]) -> None:
    r = api.get("/v1/devices", headers=header)
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-type"].startswith("application/problem+json")


def test_keys_are_stored_hashed_listed_by_prefix_and_revocable(api: httpx.Client, db: str,
                                                               school: str) -> None:
    with psycopg.connect(db) as conn:
        stored = conn.execute("SELECT prefix, key_hash FROM api_keys").fetchall()
    assert len(stored) == 1 and school not in str(stored) and school.startswith(stored[0][0])
    listed = meetnet(db, "keys", "list", "--org", "obs-de-regenboog")
    assert listed.returncode == 0 and school not in listed.stdout
    key_id = listed.stdout.split()[0]
    assert "active" in listed.stdout
    assert meetnet(db, "keys", "revoke", key_id).returncode == 0
    r = api.get("/v1/devices", headers={"Authorization": f"Bearer {school}"})
    assert r.status_code == 401
    again = meetnet(db, "keys", "revoke", key_id)
    assert again.returncode == 1 and again.stderr.strip().startswith("error:")


def test_keys_for_an_unknown_organisation_or_role_are_one_clear_error(db: str) -> None:
    r = meetnet(db, "keys", "create", "--org", "nobody")
    assert r.returncode == 1 and "no organisation 'nobody'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = meetnet(db, "keys", "create", "--org", "nobody", "--role", "root")
    assert r.returncode == 1 and "role must be one of" in r.stderr


def test_a_device_shared_with_an_organisation_is_readable_by_its_keys(
        api: httpx.Client, db: str, school: str) -> None:
    assert meetnet(db, "orgs", "create", "gemeente-leiden", "--name", "Gemeente Leiden"
                   ).returncode == 0
    assert meetnet(db, "orgs", "create", "bedrijf-x", "--name", "Bedrijf X").returncode == 0
    city = meetnet(db, "keys", "create", "--org", "gemeente-leiden").stdout.strip().splitlines()[-1]
    other = meetnet(db, "keys", "create", "--org", "bedrijf-x").stdout.strip().splitlines()[-1]

    def sees(key: str) -> bool:
        r = api.get(f"/v1/devices/{PRIVATE}", headers={"X-API-Key": key})
        assert r.status_code in (200, 404)
        return r.status_code == 200

    assert not sees(city)
    shared = meetnet(db, "devices", "share", PRIVATE, "--with", "gemeente-leiden")
    assert shared.returncode == 0 and "visibility: shared" in shared.stdout
    assert sees(city) and sees(school) and not sees(other)
    assert api.get(f"/v1/devices/{PRIVATE}").status_code == 404  # still not for everyone
    back = meetnet(db, "devices", "unshare", PRIVATE, "--with", "gemeente-leiden")
    assert back.returncode == 0 and "visibility: private" in back.stdout
    assert not sees(city) and sees(school)
    again = meetnet(db, "devices", "unshare", PRIVATE, "--with", "gemeente-leiden")
    assert again.returncode == 1 and "not shared with" in again.stderr
