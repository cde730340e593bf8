"""`meetnet classrooms report|school` and `meetnet water report|compare` against a real
database: the operator sees every organisation's devices, and `--json` is the API's answer."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from typer.testing import CliRunner

from meetnet.cli import app
from store import Batch, ReadingRow, Writer, keys
from store import devices as registry

runner = CliRunner()
T0 = datetime(2026, 11, 23, tzinfo=UTC)  # a Monday
PERIOD = ["--from", (T0 - timedelta(days=1)).isoformat(), "--to", (T0 + timedelta(days=2)).isoformat()]
SCHOOL, BOARD = "obs-de-regenboog", "hoogheemraadschap-rijnland"
ROOM_1, ROOM_2 = "a81758fffe0d0001", "a81758fffe0d0002"
GAUGE_1, GAUGE_2 = "24e124fffe0d0001", "24e124fffe0d0002"


@pytest.fixture
def seeded(db: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Two private classrooms of a school (one stuffy, one fresh, each decaying after 15:00
    local) and two private gauges of a water board, the second 5 cm higher. Returns reader keys
    per organisation."""
    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    with psycopg.connect(db) as conn:
        secrets = {}
        for org in (SCHOOL, BOARD):
            keys.create_organisation(conn, org, org)
            secrets[org] = keys.create_key(conn, org, "reader")[1]
        ids = {eui: registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation=org, model_key=model, name=name, use_case=use_case,
            visibility="private", config=config))
            for eui, org, model, name, use_case, config in (
                (ROOM_1, SCHOOL, "elsys/ers-co2", "Lokaal 1", "classroom",
                 {"room_volume_m3": 165, "pupils": 24}),
                (ROOM_2, SCHOOL, "elsys/ers-co2", "Lokaal 2", "classroom", {}),
                (GAUGE_1, BOARD, "milesight-iot/em500-swl", "Galgewater", "water",
                 {"sensor_depth_nap_m": -1.6, "target_nap_m": -0.61}),
                (GAUGE_2, BOARD, "milesight-iot/em500-swl", "Zijlpoort", "water",
                 {"sensor_depth_nap_m": -1.6}))}
    rows = []
    for k in range(2 * 24 * 12):  # every 5 minutes for two days
        t = T0 + timedelta(minutes=5 * k)
        local_h = (t.hour + 1 + t.minute / 60) % 24  # Europe/Amsterdam in winter
        for eui, peak, ach in ((ROOM_1, 1500.0, 1.0), (ROOM_2, 800.0, 3.0)):
            if 8.5 <= local_h < 15:
                co2 = peak
            elif local_h >= 15:
                co2 = 420 + (peak - 420) * math.exp(-ach * (local_h - 15))
            else:
                co2 = 420.0
            rows.append(ReadingRow(t, ids[eui], "co2", co2))
        level = -0.62 + 0.02 * math.sin(k / 40)
        rows += [ReadingRow(t, ids[GAUGE_1], "water_level", level),
                 ReadingRow(t, ids[GAUGE_2], "water_level", level + 0.05)]
    with Writer(db) as w:
        w.write(Batch(readings=rows))
    return secrets


def _api_json(api: httpx.Client, path: str, key: str, params: list[tuple[str, str]]
              ) -> object:
    r = api.get(path, params=[*params, ("from", PERIOD[1]), ("to", PERIOD[3])],
                headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200, r.text
    return r.json()


def test_json_is_the_apis_answer(api: httpx.Client, seeded: dict[str, str]) -> None:
    cases = [
        (["classrooms", "report", ROOM_1.upper()], f"/v1/classrooms/{ROOM_1}/report", SCHOOL, []),
        (["classrooms", "school", SCHOOL], f"/v1/schools/{SCHOOL}/report", SCHOOL, []),
        (["water", "report", GAUGE_1], f"/v1/water/{GAUGE_1}/report", BOARD, []),
        (["water", "compare", GAUGE_1, GAUGE_2], "/v1/water/compare", BOARD,
         [("dev_eui", GAUGE_1), ("dev_eui", GAUGE_2)]),
    ]
    for args, path, org, params in cases:
        result = runner.invoke(app, [*args, *PERIOD, "--json"])
        assert result.exit_code == 0, (args, result.output)
        assert json.loads(result.output) == _api_json(api, path, seeded[org], params), args
    # The figures are the real ones, not just equal.
    room = json.loads(runner.invoke(app, ["classrooms", "report", ROOM_1, *PERIOD,
                                          "--json"]).output)
    assert room["ventilation"]["air_changes_per_hour"] == pytest.approx(1.0, rel=0.05)
    compared = json.loads(runner.invoke(app, ["water", "compare", GAUGE_1, GAUGE_2, *PERIOD,
                                              "--json"]).output)
    assert compared["gauges"][1]["difference_cm"]["mean"] == pytest.approx(5.0, abs=0.01)


def test_tables_for_people(seeded: dict[str, str]) -> None:
    env = {"COLUMNS": "200"}
    out = runner.invoke(app, ["classrooms", "school", SCHOOL, *PERIOD], env=env)
    assert out.exit_code == 0, out.output
    assert "Lokaal 1" in out.output and "Lokaal 2" in out.output and "2 rooms" in out.output
    out = runner.invoke(app, ["classrooms", "report", ROOM_2, *PERIOD], env=env)
    assert out.exit_code == 0 and "air changes per hour" in out.output
    out = runner.invoke(app, ["water", "report", GAUGE_1, *PERIOD], env=env)
    assert out.exit_code == 0 and "-0.61" in out.output
    out = runner.invoke(app, ["water", "compare", GAUGE_1, GAUGE_2, "--reference", GAUGE_2,
                              *PERIOD], env=env)
    assert out.exit_code == 0 and "-5.00" in out.output


def test_mistakes_are_one_line_and_status_1(seeded: dict[str, str]) -> None:
    for args, says in ((["water", "report", "ffffffffffffffff"], "no device"),
                       (["water", "compare", GAUGE_1], "2 to 20"),
                       (["water", "compare", GAUGE_1, GAUGE_2, "--reference", ROOM_1],
                        "--reference"),
                       (["classrooms", "school", "no-such-school"], "no classrooms"),
                       (["classrooms", "report", ROOM_1, "--from", "yesterday"], "RFC 3339"),
                       (["classrooms", "report", ROOM_1, "--from", "2026-11-24T00:00:00Z",
                         "--to", "2026-11-23T00:00:00Z"], "before")):
        result = runner.invoke(app, args)
        assert result.exit_code == 1, (args, result.output)
        assert says in result.output, (args, result.output)
