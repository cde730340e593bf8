"""A fleet over the API (issue 10, "Devices" and "Sharing"): CSV import by writer and admin keys
into their own organisation, every refused row reported, and sharing by admin keys only."""

from __future__ import annotations

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.routes.fleet import MAX_IMPORT_BYTES
from store import devices as registry
from store import keys as key_store

CSV = {"Content-Type": "text/csv"}

GOOD = (
    "dev_eui,model_key,name,use_case,visibility,lat,lon,config\n"
    '24E124713C0700A1,milesight-iot/em310-udl,Bak 1,waste,open,52.16,4.49,"{""bin_depth_m"": 1.1}"\n'
    "a81758fffe0700a2,elsys/ers-co2,Groep 8,classroom,private,,,\n"
)


def _key(db: str, org: str, role: key_store.Role) -> dict[str, str]:
    with psycopg.connect(db) as conn:
        key_store.create_organisation(conn, org, org)
        _, secret = key_store.create_key(conn, org, role)
    return {"Authorization": f"Bearer {secret}"}


def _devices(db: str) -> list[tuple[str, str, str, object]]:
    with psycopg.connect(db) as conn:
        return [(str(r[0]), str(r[1]), str(r[2]), r[3]) for r in conn.execute(
            """SELECT d.dev_eui, o.slug, d.visibility, d.config FROM devices d
               JOIN organisations o ON o.id = d.organisation_id ORDER BY 1""")]


# ------------------------------------------------------------------------------------- import


def test_import_good_rows_then_update(api: httpx.Client, db: str) -> None:
    writer = _key(db, "gemeente-leiden", "writer")
    r = api.post("/v1/devices/import", content=GOOD, headers={**writer, **CSV})
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 2, "updated": 0, "refused": []}
    assert _devices(db) == [
        ("24e124713c0700a1", "gemeente-leiden", "open", {"bin_depth_m": 1.1}),
        ("a81758fffe0700a2", "gemeente-leiden", "private", {})]
    # Again, with the organisation column naming the key's own organisation and a BOM as a
    # spreadsheet writes it: the same devices, updated.
    again = "\ufeff" + "\n".join(
        ("organisation," if i == 0 else "gemeente-leiden,") + line
        for i, line in enumerate(GOOD.strip().split("\n"))) + "\n"
    r = api.post("/v1/devices/import", content=again.encode(), headers={**writer, **CSV})
    assert r.status_code == 200, r.text
    assert r.json() == {"imported": 0, "updated": 2, "refused": []}
    # The key's organisation sees them; anonymous only the open one.
    assert api.get("/v1/devices/a81758fffe0700a2", headers=writer).status_code == 200
    assert api.get("/v1/devices/a81758fffe0700a2").status_code == 404


def test_refused_rows_are_reported_with_line_and_reason(api: httpx.Client, db: str) -> None:
    writer = _key(db, "gemeente-leiden", "writer")
    other = _key(db, "bedrijf-x", "writer")
    taken = ("dev_eui,model_key,use_case,config\n"
             '24e124713c0700c1,milesight-iot/em310-udl,waste,"{""bin_depth_m"": 1}"\n')
    assert api.post("/v1/devices/import", content=taken,
                    headers={**other, **CSV}).json()["imported"] == 1
    body = (
        "dev_eui,organisation,model_key,name,use_case,config,lat\n"
        "24e124713c0700b1,,milesight-iot/em310-udl,ok,any,,\n"                         # 2 good
        "24e124713c0700b2,,no-such/model,,any,,\n"                                    # 3
        '24e124713c0700b3,,milesight-iot/em310-udl,,any,"{""bin_dept_m"": 1}",\n'     # 4
        "24e124713c0700b4,,milesight-iot/em310-udl,,waste,,\n"                        # 5
        "24e124713c0700b5,bedrijf-x,milesight-iot/em310-udl,,any,,\n"                 # 6
        "24e124713c0700c1,,milesight-iot/em310-udl,mine now?,any,,\n"                 # 7
        "xyz,,milesight-iot/em310-udl,,any,,\n"                                       # 8
        '24e124713c0700b6,,milesight-iot/em310-udl,"two\nlines",any,,91\n'            # 9-10
        "24e124713c0700b1,,milesight-iot/em310-udl,again,any,,\n"                     # 11
        "\n"                                                                           # 12 blank
        "24e124713c0700b7,,milesight-iot/em310-udl,,any,{,\n"                         # 13
        "24e124713c0700b8,,milesight-iot/em310-udl,,any,,nan\n"                       # 14
        "24e124713c0700b9,,milesight-iot/em310-udl,,any,,,extra\n"                    # 15
        '24e124713c0700ba,,milesight-iot/em310-udl,,any,"{""offsets"": {""x"": 1e999}}",\n'  # 16
    )
    r = api.post("/v1/devices/import", content=body, headers={**writer, **CSV})
    assert r.status_code == 200, r.text
    report = r.json()
    assert (report["imported"], report["updated"]) == (1, 0)
    refused = {row["line"]: (row["dev_eui"], row["reason"]) for row in report["refused"]}
    assert sorted(refused) == [3, 4, 5, 6, 7, 8, 9, 11, 13, 14, 15, 16]
    assert refused[3] == ("24e124713c0700b2", "unknown model 'no-such/model' (neither a "
                                              "built-in decoder nor a stored codec)")
    assert refused[4][1] == "invalid config: bin_dept_m: Extra inputs are not permitted"
    assert refused[5][1] == "invalid config: bin_depth_m: Field required"
    assert "not the key's organisation" in refused[6][1]
    assert refused[7] == ("24e124713c0700c1", "dev_eui is registered to another organisation")
    assert refused[8] == ("xyz", "dev_eui 'xyz' is not 16 hex digits")
    assert refused[9][1] == "lat '91' is not between -90 and 90"
    assert refused[11][1] == "dev_eui 24e124713c0700b1 is on line 2 already"
    assert refused[13][1].startswith("config is not JSON")
    assert refused[14][1] == "lat 'nan' is not between -90 and 90"
    assert "fields, but the header names" in refused[15][1]
    assert refused[16][1] == "invalid config: config holds a number that is not finite"
    # Another organisation's device stayed theirs, unchanged.
    owners = {eui: org for eui, org, _, _ in _devices(db)}
    assert owners == {"24e124713c0700b1": "gemeente-leiden", "24e124713c0700c1": "bedrijf-x"}


def test_import_roles(api: httpx.Client, db: str) -> None:
    assert api.post("/v1/devices/import", content=GOOD, headers=CSV).status_code == 401
    reader = _key(db, "gemeente-leiden", "reader")
    r = api.post("/v1/devices/import", content=GOOD, headers={**reader, **CSV})
    assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    admin = _key(db, "gemeente-leiden", "admin")
    assert api.post("/v1/devices/import", content=GOOD,
                    headers={**admin, **CSV}).json()["imported"] == 2
    assert _devices(db)[0][1] == "gemeente-leiden"


def test_import_limits_and_bad_bodies(api: httpx.Client, db: str) -> None:
    writer = _key(db, "gemeente-leiden", "writer")

    def post(content: bytes, **headers: str) -> httpx.Response:
        return api.post("/v1/devices/import", content=content,
                        headers={**writer, **CSV, **headers})

    header = b"dev_eui,model_key\n"
    big = post(header + b"24e124713c0700d1,x\n" * (MAX_IMPORT_BYTES // 19 + 1))
    assert big.status_code == 413 and big.json()["type"].endswith("/import-too-large")
    rows = post(header + b"\n".join(b"%016x,x" % i for i in range(registry.MAX_IMPORT_ROWS + 1)))
    assert rows.status_code == 413 and "10000 rows" in rows.json()["detail"]
    # Exactly the maximum is taken (each row refused for its model, none stored).
    ok = post(header + b"\n".join(b"%016x,x" % i for i in range(registry.MAX_IMPORT_ROWS)))
    assert ok.status_code == 200 and len(ok.json()["refused"]) == registry.MAX_IMPORT_ROWS
    for content, words in ((header + b"24e124713c0700d1,\xff\xfe\n", "line 2: not UTF-8"),
                           (header + b"24e124713c0700d1,a\x00b\n", "line 2: contains a NUL"),
                           (b"", "missing column(s) dev_eui, model_key"),
                           (b"dev_eui,model_key,colour\n", "unknown column(s) 'colour'"),
                           (b"dev_eui,model_key,dev_eui\n", "named twice"),
                           (header + b'"24e124713c0700d1' + b"x" * 200_000 + b'",m\n',
                            "line 2: field larger than field limit")):
        r = post(content)
        assert r.status_code == 400, (content[:40], r.text)
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"].endswith("/invalid-csv") and words in r.json()["detail"]
    assert post(GOOD.encode(), **{"Content-Type": "application/json"}).status_code == 415
    assert post(GOOD.encode(), **{"Content-Type": "text/csv; charset=latin-1"}).status_code == 415
    assert post(GOOD.encode(), **{"Content-Type": "text/csv; charset=UTF-8"}).status_code == 200
    assert _devices(db) == [
        ("24e124713c0700a1", "gemeente-leiden", "open", {"bin_depth_m": 1.1}),
        ("a81758fffe0700a2", "gemeente-leiden", "private", {})]


_JUNK = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.lists(st.lists(st.one_of(st.text(max_size=40), st.sampled_from(
        ["24e124713c0700e1", "milesight-iot/em310-udl", "waste", "open", "{}", "nan", "1e999",
         '{"bin_depth_m": 1e308}', '{"field_map": {"\\u0000": "x"}}', '{"x": "\\ud800"}',
         "[" * 3000, "9" * 5000, "\x00", "\udcff"])), max_size=8), max_size=6).map(
        lambda rows: ("dev_eui,model_key,use_case,visibility,config,lat,name\n" + "\n".join(
            ",".join('"' + f.replace('"', '""') + '"' for f in row) for row in rows)
                      ).encode("utf-8", "surrogatepass")),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_JUNK)
def test_junk_bodies_are_never_a_server_error(api: httpx.Client, db: str, body: bytes) -> None:
    headers = _writer_headers(db)
    r = api.post("/v1/devices/import", content=body, headers={**headers, **CSV})
    assert r.status_code in (200, 400, 413), (body[:80], r.status_code, r.text[:300])
    if r.status_code != 200:
        assert r.headers["content-type"] == "application/problem+json"


_WRITERS: dict[str, dict[str, str]] = {}


def _writer_headers(db: str) -> dict[str, str]:
    # One key per database: hypothesis runs the test body many times on one fixture.
    if db not in _WRITERS:
        _WRITERS[db] = _key(db, "gemeente-leiden", "writer")
    return _WRITERS[db]


# ------------------------------------------------------------------------------------- shares


@pytest.fixture
def fleet(db: str) -> dict[str, dict[str, str]]:
    keys = {name: _key(db, org, role) for name, org, role in (
        ("admin", "gemeente-leiden", "admin"), ("writer", "gemeente-leiden", "writer"),
        ("reader", "gemeente-leiden", "reader"), ("b", "obs-de-regenboog", "reader"),
        ("b-admin", "obs-de-regenboog", "admin"))}
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            "24e124713c0700f1", "gemeente-leiden", "milesight-iot/em310-udl"))
        registry.upsert_device(conn, registry.NewDevice(
            "24e124713c0700f2", "gemeente-leiden", "milesight-iot/em310-udl", visibility="open"))
        registry.upsert_device(conn, registry.NewDevice(
            "24e124713c0700f3", "obs-de-regenboog", "milesight-iot/em310-udl"))
        key_store.create_organisation(conn, "bedrijf-x", "Bedrijf X")
    return keys


def test_share_and_unshare_by_admin(api: httpx.Client, fleet: dict[str, dict[str, str]]) -> None:
    admin, b = fleet["admin"], fleet["b"]
    path = "/v1/devices/24E124713C0700F1/shares"
    assert api.get(path, headers=admin).json() == {
        "dev_eui": "24e124713c0700f1", "visibility": "private", "shared_with": []}
    assert api.get("/v1/devices/24e124713c0700f1", headers=b).status_code == 404
    for _ in range(2):  # idempotent
        r = api.put(f"{path}/obs-de-regenboog", headers=admin)
        assert r.status_code == 200, r.text
        assert r.json() == {"dev_eui": "24e124713c0700f1", "visibility": "shared",
                            "shared_with": ["obs-de-regenboog"]}
    assert api.get("/v1/devices/24e124713c0700f1", headers=b).status_code == 200
    assert api.put(f"{path}/bedrijf-x", headers=admin).json()["shared_with"] == [
        "bedrijf-x", "obs-de-regenboog"]
    assert api.delete(f"{path}/bedrijf-x", headers=admin).json()["visibility"] == "shared"
    r = api.delete(f"{path}/obs-de-regenboog", headers=admin)
    assert r.json() == {"dev_eui": "24e124713c0700f1", "visibility": "private", "shared_with": []}
    assert api.get("/v1/devices/24e124713c0700f1", headers=b).status_code == 404
    gone = api.delete(f"{path}/obs-de-regenboog", headers=admin)
    assert gone.status_code == 404 and gone.json()["type"].endswith("/share-not-found")
    # An open device stays open, shared or not.
    open_path = "/v1/devices/24e124713c0700f2/shares/obs-de-regenboog"
    assert api.put(open_path, headers=admin).json()["visibility"] == "open"
    assert api.delete(open_path, headers=admin).json()["visibility"] == "open"
    # Unknown organisation; one's own organisation.
    r = api.put(f"{path}/no-such-org", headers=admin)
    assert r.status_code == 404 and r.json()["type"].endswith("/organisation-not-found")
    assert api.put(f"{path}/gemeente-leiden", headers=admin).status_code == 400


def test_shares_need_an_admin_key_of_the_owner(api: httpx.Client,
                                               fleet: dict[str, dict[str, str]]) -> None:
    path = "/v1/devices/24e124713c0700f1/shares"
    for method, url in (("GET", path), ("PUT", f"{path}/obs-de-regenboog"),
                        ("DELETE", f"{path}/obs-de-regenboog")):
        assert api.request(method, url).status_code == 401
        for role in ("reader", "writer"):
            r = api.request(method, url, headers=fleet[role])
            assert r.status_code == 403, (method, role, r.text)
            assert r.json()["type"].endswith("/forbidden")
        # Another organisation's admin: the device does not exist for it, even when shared.
        r = api.request(method, url, headers=fleet["b-admin"])
        assert r.status_code == 404 and r.json()["type"].endswith("/device-not-found")
    assert api.put(f"{path}/obs-de-regenboog", headers=fleet["admin"]).status_code == 200
    # B can read it now, but not share it on or see whom it is shared with.
    assert api.get(path, headers=fleet["b-admin"]).status_code == 404
    assert api.put("/v1/devices/24e124713c0700f1/shares/bedrijf-x",
                   headers=fleet["b-admin"]).status_code == 404
    # Nor take back B's own device from an A admin's side.
    assert api.get("/v1/devices/24e124713c0700f3/shares", headers=fleet["admin"]).status_code == 404
    bad = api.put("/v1/devices/24e124713c0700f1/shares/x", headers={"X-API-Key": "mn_nope"})
    assert bad.status_code == 401
