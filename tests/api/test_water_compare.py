"""GET /v1/water/compare over HTTP against a real database: measuring points side by side with
the water scenario's levels (issue 11, "Water": a comparison of the measuring points)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from simulators.scenario import Scenario
from simulators.scenario import water as sim_water
from simulators.scenario.weather import Weather
from store import Batch, ReadingRow, Writer, keys
from store import devices as registry

SEED = 71
FROM = datetime(2025, 8, 8, tzinfo=UTC)
TO = FROM + timedelta(days=2)
ORG, OTHER = "hoogheemraadschap-rijnland", "gemeente-leiden"
PRIVATE, OPEN, OTHERS = "24e124fffe0b0001", "24e124fffe0b0002", "24e124fffe0b0003"
OFFSET_M = 0.07  # the open gauge reads 7 cm higher (another point on the water)
SPIKE_AT = FROM + timedelta(hours=20)


@pytest.fixture
def seeded(db: str) -> str:
    """Three gauges on the same simulated water: Rijnland's private one (the reference), its
    open one 7 cm higher with a spike and a gap of six hours, and another organisation's
    private one. Returns a reader key of Rijnland."""
    with psycopg.connect(db) as conn:
        keys.create_organisation(conn, ORG, "Hoogheemraadschap van Rijnland")
        keys.create_organisation(conn, OTHER, "Gemeente Leiden")
        ids = [registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation=org, model_key="milesight-iot/em500-swl", name=name,
            use_case="water", visibility=vis, config={"sensor_depth_nap_m": -1.6}))
            for eui, org, vis, name in ((PRIVATE, ORG, "private", "Galgewater"),
                                        (OPEN, ORG, "open", "Zijlpoort"),
                                        (OTHERS, OTHER, "private", "Gemeentegracht"))]
        _, secret = keys.create_key(conn, ORG, "reader")
    model = sim_water.models(SEED, Weather(SEED))[0]
    rows = []
    for u in Scenario([model], FROM - timedelta(days=1)).uplinks(TO):
        if u.time < FROM:
            continue
        level = u.values["water_depth"] - 1.6
        rows += [ReadingRow(u.time, ids[0], "water_level", level),
                 ReadingRow(u.time, ids[2], "water_level", level)]
        if not FROM + timedelta(hours=30) <= u.time < FROM + timedelta(hours=36):
            spike = 0.5 if abs(u.time - SPIKE_AT) < timedelta(minutes=5) else 0.0
            rows.append(ReadingRow(u.time, ids[1], "water_level", level + OFFSET_M + spike))
    with Writer(db) as w:
        w.write(Batch(readings=rows))
    return secret


def _compare(api: httpx.Client, euis: list[str], key: str | None = None,
             **params: str) -> httpx.Response:
    return api.get("/v1/water/compare",
                   params=[("dev_eui", e) for e in euis] + [("from", FROM.isoformat()),
                                                            ("to", TO.isoformat())]
                   + list(params.items()),
                   headers={"Authorization": f"Bearer {key}"} if key else {})


def test_differences_from_the_reference_over_common_buckets(api: httpx.Client,
                                                             seeded: str) -> None:
    r = _compare(api, [PRIVATE, OPEN.upper()], seeded)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["reference"] == PRIVATE and body["bucket_minutes"] == 10
    # Two days of 10-minute buckets, less the open gauge's six silent hours and the bucket of
    # its one reading the spike filter dropped.
    assert body["common_buckets"] == 2 * 144 - 36 - 1
    ref, other = body["gauges"]
    assert ref["dev_eui"] == PRIVATE and ref["difference_cm"] is None
    assert other["spikes_removed"] == 1
    diff = other["difference_cm"]
    for k in ("mean", "median", "min", "max", "newest"):
        assert diff[k] == pytest.approx(OFFSET_M * 100, abs=0.01), k
    assert other["mean_level_nap_m"] - ref["mean_level_nap_m"] == pytest.approx(OFFSET_M)
    # Another reference turns the sign.
    body = _compare(api, [PRIVATE, OPEN], seeded, reference=OPEN).json()
    assert body["reference"] == OPEN
    assert [g["dev_eui"] for g in body["gauges"]] == [OPEN, PRIVATE]
    assert body["gauges"][1]["difference_cm"]["mean"] == pytest.approx(-OFFSET_M * 100, abs=0.01)


def test_only_visible_gauges_and_2_to_20(api: httpx.Client, seeded: str) -> None:
    # Without the key, Rijnland's private gauge is a 404 like a gauge that does not exist;
    # so is another organisation's private gauge with the key.
    for euis, key in (([OPEN, PRIVATE], None), ([PRIVATE, OTHERS], seeded),
                      ([OPEN, "ffffffffffffffff"], seeded)):
        r = _compare(api, euis, key)
        assert r.status_code == 404, (euis, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    assert _compare(api, [OPEN], seeded).status_code == 400
    assert _compare(api, [OPEN, OPEN.upper()], seeded).status_code == 400  # one gauge twice
    many = [f"24e124fffe0c{k:04x}" for k in range(21)]
    assert _compare(api, many, seeded).json()["type"].endswith("gauge-count")
    assert _compare(api, [PRIVATE, OPEN], seeded, reference=OTHERS).status_code == 400
    # A period without readings compares nothing and says so.
    r = api.get("/v1/water/compare", params=[("dev_eui", OPEN), ("dev_eui", PRIVATE),
                                             ("from", "2020-01-01T00:00:00Z"),
                                             ("to", "2020-01-02T00:00:00Z")],
                headers={"Authorization": f"Bearer {seeded}"})
    assert r.status_code == 200
    assert r.json()["common_buckets"] == 0
    assert all(g["difference_cm"] is None and g["readings"] == 0 for g in r.json()["gauges"])


_hostile = (st.text(max_size=30)
            | st.sampled_from(["\x00", "1e999", "NaN", "-1", "9999-12-31T23:59:59Z",
                               "0001-01-01T00:00:00+14:00", "2026-11-23T08:00:00", "9" * 5000,
                               "\ud800", OPEN, PRIVATE, OTHERS, OPEN.upper(), "%ff"]))


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(euis=st.lists(_hostile, max_size=25), reference=st.none() | _hostile,
       frm=st.none() | _hostile, to=st.none() | _hostile)
def test_junk_parameters_never_500(api: httpx.Client, seeded: str, euis: list[str],
                                   reference: str | None, frm: str | None,
                                   to: str | None) -> None:
    def q(v: str) -> str:
        return quote(v.encode("utf-8", "surrogatepass"), safe="")

    parts = [f"dev_eui={q(e)}" for e in euis]
    for name, value in (("reference", reference), ("from", frm), ("to", to)):
        if value is not None:
            parts.append(f"{name}={q(value)}")
    r = api.get("/v1/water/compare?" + "&".join(parts),
                headers={"Authorization": f"Bearer {seeded}"})
    assert r.status_code < 500, (euis, reference, frm, to, r.text[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
