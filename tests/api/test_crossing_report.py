"""GET /v1/crossings/{dev_eui}/report over HTTP against a real database, fed two days of the
crossing scenario through ingest's own pipeline (issue 11, "Zebra crossings")."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.direct import DirectIngest
from simulators.run import messages
from simulators.scenario import Scenario
from simulators.scenario import crossing as sim
from simulators.scenario.weather import Weather
from store import devices as registry
from store import keys

SEED = 71
FROM = datetime(2025, 11, 17, 0, tzinfo=UTC)  # Monday
TO = FROM + timedelta(days=2)
WATER_GAUGE = "24e124fffe0a0009"


@pytest.fixture
def seeded(db: str) -> tuple[str, dict[str, float]]:
    """The scenario's radar (private) and people counter (open) with two days of uplinks stored
    by the real pipeline, and a water gauge of the same organisation. Returns a reader key of
    the municipality and the simulator's counts."""
    models = sim.models(SEED, Weather(SEED))
    with psycopg.connect(db) as conn:
        keys.create_organisation(conn, sim.ORGANISATION, "Gemeente Oegstgeest")
        for m in models:
            d = m.device
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key,
                device_id=d.device_id, application_id=d.application_id, name=d.name,
                use_case=d.use_case, config=dict(d.config), lat=d.lat, lon=d.lon,
                visibility="private" if d.model_key == sim.TRAFFIC_MODEL_KEY else "open"))
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=WATER_GAUGE, organisation=sim.ORGANISATION, model_key="milesight-iot/em500-swl",
            name="peil", use_case="water", visibility="open", config={"sensor_depth_nap_m": -1.6}))
        _, secret = keys.create_key(conn, sim.ORGANISATION, "reader")
    uplinks = list(Scenario(models, FROM).uplinks(TO))
    truth: dict[str, float] = defaultdict(float)
    for u in uplinks:
        for k, v in u.values.items():
            if k.startswith(("vehicle_count_", "pedestrian_count_")) and "_class" not in k:
                truth[k] += v
    direct = DirectIngest(db)
    try:
        stored = direct.ingest([(topic, body) for _, topic, body in messages(uplinks)])
    finally:
        direct.close()
    assert stored.uplinks == len(uplinks) and stored.dead_letters == 0
    return secret, truth


def _radar() -> str:
    return sim.models(SEED, Weather(SEED))[1].device.dev_eui


def _people() -> str:
    return sim.models(SEED, Weather(SEED))[0].device.dev_eui


def test_radar_report_counts_and_v85(api: httpx.Client, seeded: tuple[str, dict[str, float]]
                                     ) -> None:
    secret, truth = seeded
    r = api.get(f"/v1/crossings/{_radar()}/report",
                params={"from": FROM.isoformat(), "to": TO.isoformat(), "bucket": "1d"},
                headers={"Authorization": f"Bearer {secret}"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["model"] == "parametric/tcr" and body["speed_limit_kmh"] == sim.SPEED_LIMIT_KMH
    assert body["totals"] == {"vehicles_ltr": truth["vehicle_count_ltr"],
                              "vehicles_rtl": truth["vehicle_count_rtl"]}
    # Local days: Monday from 01:00 (00:00 UTC), Tuesday, Wednesday until 01:00.
    assert [b["start"] for b in body["buckets"]] == [
        "2025-11-17T00:00:00+01:00", "2025-11-18T00:00:00+01:00", "2025-11-19T00:00:00+01:00"]
    assert all(b["pedestrians_in"] is None and b["vehicles_ltr"] > 0 for b in body["buckets"])
    speeds = {s["direction"]: s for s in body["speeds"]}
    for direction, dist in sim.SPEEDS.items():
        s = speeds[direction]
        assert s["vehicles"] == truth[f"vehicle_count_{direction}"]
        assert abs(s["v85_kmh"] - dist.v85) <= 1.0, (direction, s["v85_kmh"], dist.v85)
        assert s["share_over_limit"] == pytest.approx(dist.share_above(30), abs=0.05)
        assert sum(c["vehicles"] for c in s["classes"]) == s["vehicles"]
    assert body["frames_skipped"] == 0


def test_people_counter_report_and_buckets(api: httpx.Client,
                                           seeded: tuple[str, dict[str, float]]) -> None:
    _, truth = seeded
    r = api.get(f"/v1/crossings/{_people()}/report",
                params={"from": FROM.isoformat(), "to": TO.isoformat(), "bucket": "15m"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["totals"] == {"pedestrians_in": truth["pedestrian_count_in"],
                              "pedestrians_out": truth["pedestrian_count_out"]}
    assert body["speeds"] == []
    assert len(body["buckets"]) == 2 * 96 and body["bucket"] == "15m"
    hourly = api.get(f"/v1/crossings/{_people()}/report",
                     params={"from": FROM.isoformat(), "to": TO.isoformat()}).json()
    assert hourly["bucket"] == "1h" and len(hourly["buckets"]) == 48
    assert hourly["totals"] == body["totals"]


def test_private_radar_is_404_and_other_use_cases_are_400(
        api: httpx.Client, seeded: tuple[str, dict[str, float]]) -> None:
    params = {"from": FROM.isoformat(), "to": TO.isoformat()}
    r = api.get(f"/v1/crossings/{_radar()}/report", params=params)
    assert r.status_code == 404 and r.json()["type"].endswith("/device-not-found")
    r = api.get(f"/v1/crossings/{WATER_GAUGE}/report", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["type"].endswith("/not-a-crossing")
    assert r.headers["content-type"].startswith("application/problem+json")
    r = api.get(f"/v1/crossings/{_people()}/report", params={**params, "bucket": "5m"})
    assert r.status_code == 422
    year = {"from": "2025-01-01T00:00:00Z", "to": "2025-12-31T00:00:00Z", "bucket": "15m"}
    r = api.get(f"/v1/crossings/{_people()}/report", params=year)
    assert r.status_code == 400 and r.json()["type"].endswith("/too-many-buckets")


_hostile = (st.text(max_size=30)
            | st.sampled_from(["\x00", "1e999", "NaN", "inf", "-1", "9999-12-31T23:59:59Z",
                               "0001-01-01T00:00:00+14:00", "2026-11-23T08:00:00", "9" * 5000,
                               "\ud800", "1h\x00", "15m ", "1D", "", "1h" * 3000]))


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(frm=_hostile, to=_hostile, bucket=_hostile,
       eui=st.sampled_from(["people", WATER_GAUGE, "x", "%00", "%ff"]))
def test_junk_parameters_never_500(api: httpx.Client, seeded: tuple[str, dict[str, float]],
                                   frm: str, to: str, bucket: str, eui: str) -> None:
    def q(v: str) -> str:
        return quote(v.encode("utf-8", "surrogatepass"), safe="")

    eui = _people() if eui == "people" else eui
    r = api.get(f"/v1/crossings/{eui}/report?from={q(frm)}&to={q(to)}&bucket={q(bucket)}")
    assert r.status_code < 500, (frm, to, bucket, eui, r.text[:300])
    if bucket not in ("15m", "1h", "1d"):
        assert r.status_code >= 400, (frm, to, bucket, eui)
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


def test_cli_report_prints_the_same_report(db: str, seeded: tuple[str, dict[str, float]]) -> None:
    import json

    from typer.testing import CliRunner

    from meetnet.cli import app

    _, truth = seeded
    args = ["crossings", "report", _radar(), "--from", "2025-11-17T00:00:00+00:00",
            "--to", "2025-11-19T00:00:00+00:00"]
    env = {"MEETNET_DATABASE_URL": db}
    result = CliRunner().invoke(app, [*args, "--json"], env=env)
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["totals"]["vehicles_ltr"] == truth["vehicle_count_ltr"]
    text = CliRunner().invoke(app, args, env=env)
    assert text.exit_code == 0 and "V85" in text.output, text.output
    junk = CliRunner().invoke(app, [*args, "--bucket", "5m"], env=env)
    assert junk.exit_code == 2
    water = CliRunner().invoke(app, ["crossings", "report", WATER_GAUGE], env=env)
    assert water.exit_code == 1
