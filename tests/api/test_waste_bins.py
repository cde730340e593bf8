"""GET /v1/waste/bins(.geojson) over HTTP against a real database (issue 11)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import simulators.scenario.waste as sim
from decoders.derive import fill_percent
from store import Batch, ReadingRow, Writer
from store import devices as registry

T0 = datetime(2026, 11, 2, tzinfo=UTC)
SITE = sim.SITES[-1]  # the underground container: ~12 %/day


@pytest.fixture
def bins(db: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """The scenario's underground container, open, filling steadily for three days from empty;
    and a private bin of another organisation."""
    monkeypatch.setattr(sim, "activity", lambda local: 1.0)
    monkeypatch.setattr(sim, "FILL_NOISE_SIGMA", 0.1)
    monkeypatch.setattr(sim, "EMPTY_TRIGGER", 2.0)
    model = sim.BinModel(dataclasses.replace(SITE, collection_weekdays=()), seed=1)
    model.fill = 0.0
    kind = SITE.kind
    with psycopg.connect(db) as conn:
        open_id = registry.upsert_device(conn, registry.NewDevice(
            dev_eui=model.device.dev_eui, organisation="gemeente-leiden",
            model_key=sim.MODEL_KEY, name=SITE.name, use_case="waste", visibility="open",
            lat=SITE.lat, lon=SITE.lon))
        private_id = registry.upsert_device(conn, registry.NewDevice(
            dev_eui="24e1240000000001", organisation="bedrijf-x", model_key=sim.MODEL_KEY,
            name="Private bin", use_case="waste", visibility="private", lat=52.1, lon=4.4))
    rows, t = [], T0.timestamp()
    for _ in range(72):
        t += 3600
        v = model.step(t)
        when = datetime.fromtimestamp(t, UTC)
        rows.append(ReadingRow(when, open_id, "fill_level",
                               fill_percent(v["distance"], kind.depth_m, kind.full_distance_m)))
        rows.append(ReadingRow(when, open_id, "tilt", v["tilt"]))
        rows.append(ReadingRow(when, private_id, "fill_level", 95.0))
    with Writer(db) as w:
        w.write(Batch(readings=rows))
    fills = [model.fill]
    last = t
    while model.fill < 1.0:
        t += 3600
        model.step(t)
        fills.append(model.fill)
    crossing = t - 3600 + 3600 * (1.0 - fills[-2]) / max(fills[-2] - fills[-3], 1e-9)
    return {"eui": model.device.dev_eui, "last": last, "crossing": crossing}


def test_bins_forecast_full_within_ten_percent_and_hide_private_bins(
        api: httpx.Client, bins: dict[str, object]) -> None:
    at = datetime.fromtimestamp(float(bins["last"]), UTC).isoformat()  # type: ignore[arg-type]
    r = api.get("/v1/waste/bins", params={"at": at})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [b["dev_eui"] for b in body] == [bins["eui"]]  # not the private bin
    b = body[0]
    full_at = datetime.fromisoformat(b["full_at"]).timestamp()
    last, crossing = float(bins["last"]), float(bins["crossing"])  # type: ignore[arg-type]
    assert abs((full_at - last) / (crossing - last) - 1) <= 0.10
    assert b["stale"] is False and b["fire_risk"] is None
    assert b["rate_pct_per_day"] == pytest.approx(12.0, rel=0.10)
    geo = api.get("/v1/waste/bins.geojson", params={"at": at})
    assert geo.headers["content-type"].startswith("application/geo+json")
    feature = geo.json()["features"][0]
    assert feature["geometry"]["coordinates"] == [SITE.lon, SITE.lat]
    assert feature["properties"]["full_at"] == b["full_at"]
    later = api.get("/v1/waste/bins", params={"at": "2026-11-10T00:00:00Z"}).json()[0]
    assert later["stale"] is True


junk = st.one_of(st.text(max_size=40), st.floats().map(str), st.integers().map(str),
                 st.just("9999-12-31T23:59:59Z"), st.just("0001-01-01T00:00:00Z"),
                 st.just("2026-11-02T00:00:00"))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(at=junk, next_round=junk, threshold=junk, days=junk)
def test_junk_parameters_are_never_a_500(api: httpx.Client, at: str, next_round: str,
                                         threshold: str, days: str) -> None:
    for path in ("/v1/waste/bins", "/v1/waste/bins.geojson"):
        r = api.get(path, params={"at": at, "next_round": next_round, "threshold": threshold,
                                  "days": days})
        assert r.status_code < 500, (path, r.status_code, r.text[:300])
