"""Who sees what (issue 10 acceptance): organisations A and B, each with a private, a shared and
an open device; callers anonymous, A's reader, B's reader and a revoked key; every GET route of
the OpenAPI document that returns device data. A route nobody classified below fails the test,
so a new route cannot skip the matrix."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest

from meetnet.settings import Settings
from store import Batch, ReadingRow, Writer, keys
from store import devices as registry

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
WINDOW = {"from": "2026-11-20T00:00:00Z", "to": "2026-11-25T00:00:00Z"}


@dataclass(frozen=True)
class Dev:
    eui: str
    owner: str
    visibility: str
    shared_with: str | None = None


A, B = "gemeente-a", "school-b"
DEVICES = [
    Dev("a1a1a1a1a1a1a101", A, "private"),
    Dev("a1a1a1a1a1a1a102", A, "private", shared_with=B),  # becomes `shared`
    Dev("a1a1a1a1a1a1a103", A, "open"),
    Dev("b2b2b2b2b2b2b201", B, "private"),
    Dev("b2b2b2b2b2b2b202", B, "private", shared_with=A),
    Dev("b2b2b2b2b2b2b203", B, "open"),
]
#: The same pattern as waste bins, for list routes that show one use case: each such route is
#: checked on the devices of its use case, and the lists of every use case on both sets.
BINS = [
    Dev("c3c3c3c3c3c3c301", A, "private"),
    Dev("c3c3c3c3c3c3c302", A, "private", shared_with=B),
    Dev("c3c3c3c3c3c3c303", A, "open"),
    Dev("d4d4d4d4d4d4d401", B, "private"),
    Dev("d4d4d4d4d4d4d402", B, "private", shared_with=A),
    Dev("d4d4d4d4d4d4d403", B, "open"),
]

#: GET routes that answer for one device: the query they need.
DEVICE_ROUTES: dict[str, dict[str, str]] = {
    "/v1/devices/{dev_eui}": {},
    "/v1/devices/{dev_eui}/attributes": {},
    "/v1/devices/{dev_eui}/readings": {"metric": "co2", **WINDOW},
    "/v1/classrooms/{dev_eui}/report": WINDOW,
    "/v1/water/{dev_eui}/report": WINDOW,
    "/v1/devices/{dev_eui}/readings.csv": {"metric": "co2", **WINDOW},
    "/v1/devices/{dev_eui}/readings.senml": {"metric": "co2", **WINDOW},
    "/v1/devices/{dev_eui}/export.csv": WINDOW,
    "/v1/devices/{dev_eui}/export.senml": WINDOW,
}
#: GET routes of the owner's admin keys only (an organisation's administration of its devices):
#: other keys get 401/403 whatever the device, so the answer tells nothing about it.
OWNER_ROUTES: dict[str, dict[str, str]] = {
    "/v1/devices/{dev_eui}/shares": {},
}
#: GET routes that list many devices: the query they need.
LIST_ROUTES: dict[str, dict[str, str]] = {
    "/v1/devices": {},
    "/v1/latest": {},
    "/v1/latest.geojson": {},
    "/v1/use-cases/classroom/export.csv": WINDOW,
    "/v1/use-cases/classroom/export.senml": WINDOW,
}
#: List routes that show the devices of one use case only: the query and that use case. A
#: route here is checked like LIST_ROUTES, against that use case's devices.
USE_CASE_LIST_ROUTES: dict[str, tuple[dict[str, str], str]] = {
    "/v1/waste/bins": ({"at": "2026-11-23T09:00:00Z"}, "waste"),
    "/v1/waste/bins.geojson": ({"at": "2026-11-23T09:00:00Z"}, "waste"),
}
#: GET routes that answer for one organisation's devices of one use case: the query and that
#: use case. Each caller, for each organisation, sees exactly that organisation's devices it
#: may see, and a 404 when there are none (a private organisation looks like no organisation).
ORGANISATION_ROUTES: dict[str, tuple[dict[str, str], str]] = {
    "/v1/schools/{organisation}/report": (WINDOW, "classroom"),
}
#: One-device GET routes of one use case: the query, and the status a device of another use
#: case answers once it is visible (an invisible one is a 404 like everywhere, so the other
#: status tells nothing about devices the caller may not see). Checked on DEVICES (classrooms).
OTHER_USE_CASE_ROUTES: dict[str, tuple[dict[str, str], int]] = {
    "/v1/crossings/{dev_eui}/report": (WINDOW, 400),
}
#: GET routes that answer for several named devices (`dev_eui` repeated): the query they need.
#: Each answers 200 only when the caller may see every one of them, else a 404.
MULTI_DEVICE_ROUTES: dict[str, dict[str, str]] = {
    "/v1/water/compare": WINDOW,
}
#: GET routes of an organisation's own records (alerts, rules): a key sees its organisation's
#: only, no key is a 401 (tests/api/test_alerts_api.py checks them per organisation).
KEYED_ORGANISATION_ROUTES: dict[str, dict[str, str]] = {
    "/v1/alerts": {},
    "/v1/alerts/rules": {},
    "/v1/alerts/{alert_id}/deliveries": {},
}
#: GET routes that return no device data.
NO_DEVICE_DATA = {"/healthz", "/readyz"}


@dataclass(frozen=True)
class Callers:
    headers: dict[str, dict[str, str]]  # caller name -> request headers


@pytest.fixture(scope="module")
def world(module_db: str) -> Iterator[tuple[httpx.Client, Callers]]:
    from api import create_app
    from support import LiveServer

    db = module_db
    with psycopg.connect(db, autocommit=True) as conn:
        keys.create_organisation(conn, A, "Gemeente A")
        keys.create_organisation(conn, B, "School B")
        ids = []
        for d in DEVICES:
            ids.append(registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.eui, organisation=d.owner, model_key="elsys/ers-co2", name=d.eui,
                use_case="classroom", visibility=d.visibility, lat=52.16, lon=4.49)))
            if d.shared_with:
                registry.share_device(conn, d.eui, d.shared_with)
        bin_ids = []
        for d in BINS:
            bin_ids.append(registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.eui, organisation=d.owner, model_key="milesight-iot/em310-udl",
                name=d.eui, use_case="waste", visibility=d.visibility, lat=52.16, lon=4.49)))
            if d.shared_with:
                registry.share_device(conn, d.eui, d.shared_with)
        reader_a = keys.create_key(conn, A, "reader")[1]
        reader_b = keys.create_key(conn, B, "reader")[1]
        admin_a = keys.create_key(conn, A, "admin")[1]
        revoked_id, revoked = keys.create_key(conn, A, "admin")
        keys.revoke_key(conn, revoked_id)
    with Writer(db) as w:
        w.write(Batch(readings=[ReadingRow(T0 + timedelta(minutes=5 * k), i, "co2",
                                           700.0 + k)
                                for i in ids for k in range(3)]
                     + [ReadingRow(T0 + timedelta(minutes=5 * k), i, "fill_level", 40.0 + k)
                        for i in bin_ids for k in range(3)]))
    # Limits off: the matrix makes a few hundred requests from one address.
    settings = Settings(database_url=db, api_rate_limit_per_minute=0,  # type: ignore[arg-type]
                        api_anonymous_rate_limit_per_minute=0)
    with LiveServer(create_app(settings, db)) as client:
        yield client, Callers({
            "anonymous": {},
            "A reader": {"Authorization": f"Bearer {reader_a}"},
            "B reader": {"X-API-Key": reader_b},
            "A admin": {"Authorization": f"Bearer {admin_a}"},
            "revoked": {"Authorization": f"Bearer {revoked}"},
        })


def visible_to(caller: str, devices: list[Dev] = DEVICES) -> set[str]:
    org = {"A reader": A, "B reader": B, "A admin": A}.get(caller)
    return {d.eui for d in devices
            if d.visibility == "open" or d.owner == org or (org and d.shared_with == org)}


def administered_by(caller: str) -> set[str]:
    return {d.eui for d in DEVICES if d.owner == A} if caller == "A admin" else set()


CALLERS = ["anonymous", "A reader", "B reader", "A admin", "revoked"]


def test_every_get_route_is_in_the_matrix(world: tuple[httpx.Client, Callers]) -> None:
    client, _ = world
    paths = client.get("/openapi.json").json()["paths"]
    gets = {p for p, ops in paths.items() if "get" in ops}
    known = set(DEVICE_ROUTES) | set(OWNER_ROUTES) | NO_DEVICE_DATA | {
        p.replace("/classroom/", "/{use_case}/") for p in LIST_ROUTES} | set(LIST_ROUTES)
    known |= set(USE_CASE_LIST_ROUTES) | set(ORGANISATION_ROUTES) | set(OTHER_USE_CASE_ROUTES)
    known |= set(MULTI_DEVICE_ROUTES)
    known |= set(KEYED_ORGANISATION_ROUTES)
    assert gets - known == set(), "classify these routes in the isolation matrix"


def _routes(client: httpx.Client, table: dict[str, dict[str, str]]) -> list[str]:
    """The routes of ``table`` that the app has (exports and shares arrive in their own
    commits; the completeness test above keeps the table honest)."""
    paths = client.get("/openapi.json").json()["paths"]
    return [p for p in table if p.replace("/classroom/", "/{use_case}/") in paths]


@pytest.mark.parametrize("caller", CALLERS)
def test_one_device_routes_show_exactly_what_the_caller_may_see(
        world: tuple[httpx.Client, Callers], caller: str) -> None:
    client, callers = world
    headers = callers.headers[caller]
    leaks, missing = [], []
    for table, allowed in ((DEVICE_ROUTES, visible_to(caller)),
                           (OWNER_ROUTES, administered_by(caller))):
        refusals = {404} if table is DEVICE_ROUTES else {401, 403, 404}
        for route in _routes(client, table):
            for d in DEVICES:
                r = client.get(route.format(dev_eui=d.eui), params=table[route], headers=headers)
                if caller == "revoked":
                    assert r.status_code == 401, (route, d.eui, r.text)
                    continue
                if d.eui in allowed:
                    if r.status_code != 200:
                        missing.append((route, d.eui, r.status_code, r.text[:200]))
                elif r.status_code not in refusals:
                    leaks.append((route, d.eui, r.status_code))
    assert leaks == []
    assert missing == []


@pytest.mark.parametrize("caller", CALLERS)
def test_other_use_case_routes_refuse_invisible_devices_as_unknown(
        world: tuple[httpx.Client, Callers], caller: str) -> None:
    client, callers = world
    allowed = visible_to(caller)
    for route, (params, other) in OTHER_USE_CASE_ROUTES.items():
        for d in DEVICES:
            r = client.get(route.format(dev_eui=d.eui), params=params,
                           headers=callers.headers[caller])
            expected = 401 if caller == "revoked" else other if d.eui in allowed else 404
            assert r.status_code == expected, (route, d.eui, caller, r.text[:200])


@pytest.mark.parametrize("caller", CALLERS)
def test_list_routes_show_exactly_what_the_caller_may_see(
        world: tuple[httpx.Client, Callers], caller: str) -> None:
    client, callers = world
    allowed = visible_to(caller)
    for route in _routes(client, LIST_ROUTES):
        r = client.get(route, params=LIST_ROUTES[route], headers=callers.headers[caller])
        if caller == "revoked":
            assert r.status_code == 401, route
            continue
        assert r.status_code == 200, (route, r.text[:200])
        shown = {d.eui for d in DEVICES if d.eui in r.text}
        assert shown == allowed, route
        # Lists of every use case show the bins too, by the same rule.
        if "/classroom/" not in route:
            shown_bins = {d.eui for d in BINS if d.eui in r.text}
            assert shown_bins == visible_to(caller, BINS), route


@pytest.mark.parametrize("caller", CALLERS)
def test_use_case_list_routes_show_exactly_what_the_caller_may_see(
        world: tuple[httpx.Client, Callers], caller: str) -> None:
    client, callers = world
    for route, (params, use_case) in USE_CASE_LIST_ROUTES.items():
        devices = {"waste": BINS}[use_case]
        r = client.get(route, params=params, headers=callers.headers[caller])
        if caller == "revoked":
            assert r.status_code == 401, route
            continue
        assert r.status_code == 200, (route, r.text[:200])
        shown = {d.eui for d in DEVICES + BINS if d.eui in r.text}
        assert shown == visible_to(caller, devices), route
        assert visible_to(caller, devices)  # every caller sees at least the open ones


@pytest.mark.parametrize("caller", CALLERS)
def test_organisation_routes_show_exactly_what_the_caller_may_see(
        world: tuple[httpx.Client, Callers], caller: str) -> None:
    client, callers = world
    for route, (params, use_case) in ORGANISATION_ROUTES.items():
        devices = {"classroom": DEVICES, "waste": BINS}[use_case]
        # Every caller sees A's and B's open devices; the 404 is checked on no organisation
        # (tests/api/test_school_report.py: a private one answers the same).
        for org in (A, B, "no-such-organisation"):
            r = client.get(route.format(organisation=org), params=params,
                           headers=callers.headers[caller])
            if caller == "revoked":
                assert r.status_code == 401, (route, org)
                continue
            expected = visible_to(caller, [d for d in devices if d.owner == org])
            if not expected:
                assert r.status_code == 404, (route, org, caller, r.text[:200])
                continue
            assert r.status_code == 200, (route, org, r.text[:200])
            shown = {d.eui for d in DEVICES + BINS if d.eui in r.text}
            assert shown == expected, (route, org, caller)


@pytest.mark.parametrize("caller", CALLERS)
def test_multi_device_routes_answer_only_when_every_device_is_visible(
        world: tuple[httpx.Client, Callers], caller: str) -> None:
    client, callers = world
    seen = visible_to(caller)
    for route, params in MULTI_DEVICE_ROUTES.items():
        for d in DEVICES:
            partner = "b2b2b2b2b2b2b203" if d.eui == "a1a1a1a1a1a1a103" else "a1a1a1a1a1a1a103"
            r = client.get(route, params=[("dev_eui", d.eui), ("dev_eui", partner),
                                          *params.items()], headers=callers.headers[caller])
            if caller == "revoked":
                assert r.status_code == 401, route
                continue
            assert r.status_code == (200 if d.eui in seen else 404), (route, d, caller)


def test_the_matrix_is_not_trivial() -> None:
    # Each caller sees a different set, so a query that ignored the caller would fail above.
    sets = {c: frozenset(visible_to(c)) for c in ("anonymous", "A reader", "B reader")}
    assert administered_by("A admin") < visible_to("A admin")
    assert len(set(sets.values())) == 3
    assert sets["A reader"] == {"a1a1a1a1a1a1a101", "a1a1a1a1a1a1a102", "a1a1a1a1a1a1a103",
                                "b2b2b2b2b2b2b202", "b2b2b2b2b2b2b203"}


@pytest.mark.parametrize("caller", CALLERS)
def test_keyed_organisation_routes_need_a_key_and_show_no_device_data(
        world: tuple[httpx.Client, Callers], caller: str) -> None:
    client, callers = world
    for route in _routes(client, KEYED_ORGANISATION_ROUTES):
        r = client.get(route.format(alert_id=1), params=KEYED_ORGANISATION_ROUTES[route],
                       headers=callers.headers[caller])
        if caller in ("anonymous", "revoked"):
            assert r.status_code == 401, (route, caller)
            continue
        assert r.status_code in (200, 404), (route, caller, r.text[:200])
        assert not {d.eui for d in DEVICES + BINS if d.eui in r.text}, (route, caller)
