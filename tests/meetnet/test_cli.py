"""The command line as integrators use it, against a real database."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from meetnet.cli import app

runner = CliRunner()


def test_every_command_has_help() -> None:
    for args in (["--help"], ["demo", "--help"], ["migrate", "--help"], ["ingest", "--help"],
                 ["api", "--help"], ["simulate", "--help"], ["devices", "import", "--help"],
                 ["decoders", "list", "--help"], ["decode", "--help"],
                 ["dashboards", "push", "--help"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)


def test_decode_prints_catalog_readings() -> None:
    result = runner.invoke(app, ["decode", "milesight-iot/em310-udl", "01755c03824408040001",
                                 "--port", "85", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout) == [
        {"metric": "battery", "value": 92.0, "unit": "%"},
        {"metric": "distance", "value": 2.116, "unit": "m"},
        {"metric": "tilt", "value": 1.0, "unit": "/"},
    ]
    bad = runner.invoke(app, ["decode", "milesight-iot/em310-udl", "0175", "--port", "85"])
    assert bad.exit_code == 1 and "cannot decode" in bad.output


def test_decoders_list_names_every_model() -> None:
    import decoders

    result = runner.invoke(app, ["decoders", "list"], env={"COLUMNS": "250"})
    assert result.exit_code == 0
    for key in decoders.MODELS:
        assert key in result.output


def test_migrate_and_devices_import(db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                    ) -> None:
    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 0 and "schema up to date" in result.output
    good = tmp_path / "devices.csv"
    good.write_text(
        "dev_eui,organisation,model_key,name,use_case,visibility,lat,lon,config\n"
        '24E124713C000010,gemeente-leiden,milesight-iot/em310-udl,Bak 10,waste,open,52.16,4.49,'
        '"{""bin_depth_m"": 1.1}"\n'
        "a81758fffe000011,obs-de-regenboog,elsys/ers-co2,Groep 8,classroom,private,,,\n")
    result = runner.invoke(app, ["devices", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "imported 2" in result.output
    # Importing again updates, never duplicates.
    assert runner.invoke(app, ["devices", "import", str(good)]).exit_code == 0
    with psycopg.connect(db) as conn:
        rows = conn.execute("SELECT dev_eui, visibility, config FROM devices ORDER BY 1").fetchall()
    assert rows == [("24e124713c000010", "open", {"bin_depth_m": 1.1}),
                    ("a81758fffe000011", "private", {})]

    bad = tmp_path / "bad.csv"
    bad.write_text("dev_eui,organisation,model_key,use_case,config\n"
                   "24e124713c000012,x,no-such/model,any,\n"
                   '24e124713c000013,x,milesight-iot/em310-udl,any,"{""bin_dept_m"": 1}"\n'
                   "24e124713c000014,x,milesight-iot/em310-udl,waste,\n")
    result = runner.invoke(app, ["devices", "import", str(bad)])
    assert result.exit_code == 1
    assert "unknown model 'no-such/model'" in result.output
    assert "bin_dept_m" in result.output
    assert ":4: invalid config" in result.output and "bin_depth_m" in result.output
