"""The command line as integrators use it, against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

from meetnet.cli import app
from meetnet.runtime import free_port

runner = CliRunner()


def _commands() -> list[list[str]]:
    """Every command path of the CLI, found by walking click's tree: a new command is covered
    without being listed here."""
    import typer

    found: list[list[str]] = []

    def walk(cmd: object, path: list[str]) -> None:
        found.append(path)
        # Typer vendors its own click: a group is whatever has sub-commands.
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def test_every_command_has_help() -> None:
    commands = _commands()
    assert ["backfill"] in commands and ["orgs", "ingest-secret", "create"] in commands
    for path in commands:
        result = runner.invoke(app, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)


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


# ------------------------------------------------------------------- errors, as a user sees them

def _meetnet(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The installed `meetnet` script in a clean environment (no MEETNET_* of the caller, no
    .env file), as a user runs it."""
    script = Path(sys.executable).parent / "meetnet"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MEETNET_")}
    return subprocess.run([str(script), *args], capture_output=True, text=True, cwd=tmp_path,
                          env={**clean, **env}, timeout=120)


def test_unreachable_database_is_one_line_and_status_1(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"postgresql://meetnet:s3cret-pw@127.0.0.1:{port}/meetnet"
    for args in (["migrate"], ["codecs", "list"]):
        result = _meetnet(args, tmp_path, MEETNET_DATABASE_URL=url)
        assert result.returncode == 1, result.stderr
        lines = result.stderr.strip().splitlines()
        assert lines == [f"error: cannot reach the database at 127.0.0.1:{port} (Connection "
                         "refused); is PostgreSQL running there? (set MEETNET_DATABASE_URL)"], \
            result.stderr
        assert "s3cret-pw" not in result.stderr + result.stdout


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    url = f"postgresql://meetnet:s3cret-pw@127.0.0.1:{free_port()}/meetnet"
    plain = _meetnet(["migrate"], tmp_path, MEETNET_DATABASE_URL=url)
    assert "Traceback" not in plain.stderr
    for result in (_meetnet(["--debug", "migrate"], tmp_path, MEETNET_DATABASE_URL=url),
                   _meetnet(["migrate"], tmp_path, MEETNET_DATABASE_URL=url,
                            MEETNET_LOG_LEVEL="DEBUG")):
        assert result.returncode == 1
        assert "Traceback" in result.stderr and "OperationalError" in result.stderr
        assert "s3cret-pw" not in result.stderr


def test_bad_settings_are_one_line_and_status_2(tmp_path: Path) -> None:
    result = _meetnet(["migrate"], tmp_path, MEETNET_BATCH_SIZE="abc")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: invalid setting MEETNET_BATCH_SIZE: Input should be a valid integer, unable to "
        "parse string as an integer"]


def test_a_password_never_shows_in_an_error(tmp_path: Path) -> None:
    # libpq quotes the malformed part of a URL, here the password itself.
    result = _meetnet(["migrate"], tmp_path,
                      MEETNET_DATABASE_URL="postgresql://meetnet:pw%zz-secret@127.0.0.1:1/x")
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "secret" not in result.stderr and "pw%zz" not in result.stderr


def test_migrate_says_which_path_it_took(db: str, tmp_path: Path) -> None:
    result = _meetnet(["migrate"], tmp_path, MEETNET_DATABASE_URL=db)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("schema up to date on ")
    assert "applied: nothing new" in result.stdout
    # The reason, e.g. "(TimescaleDB is not installed on this PostgreSQL server)".
    assert "(" in result.stdout.split("applied:")[0]


def test_help_loads_no_heavy_library() -> None:
    code = ("import sys; import meetnet.cli; "
            "print(sorted(m for m in ('psycopg', 'fastapi', 'pandas', 'paho') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
