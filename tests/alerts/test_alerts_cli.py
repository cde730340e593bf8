"""`meetnet alerts ...` against a real database: rules, the webhook's secret shown once, and
`run --once` opening a bin-due alert (analytics.waste) once however often it runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from typer.testing import CliRunner

from meetnet.cli import app
from store import Batch, ReadingRow, Writer, keys
from store import alerts as store
from store import devices as registry

runner = CliRunner()
ORG = "gemeente-leiden"
BIN = "24e124713c000010"


@pytest.fixture
def db_env(db: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    with psycopg.connect(db, autocommit=True) as conn:
        keys.create_organisation(conn, ORG, "Gemeente Leiden")
        device = registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN, organisation=ORG, model_key="milesight-iot/em310-udl", name="Bak 10",
            use_case="waste", visibility="open", config={"bin_depth_m": 1.1}))
    now = datetime.now(UTC)
    with Writer(db) as w:  # a bin filling steadily to 86 % over the last 12 hours
        w.write(Batch(readings=[ReadingRow(now - timedelta(hours=12 - h), device, "fill_level",
                                           50.0 + 3 * h) for h in range(13)]))
    return db


def test_rules_and_webhook(db_env: str) -> None:
    r = runner.invoke(app, ["alerts", "rules", "add", "--org", ORG, "--metric", "fill_level",
                            "--condition", ">=", "--threshold", "95", "--duration", "3600",
                            "--hysteresis", "10", "--use-case", "waste", "--name", "overflow"])
    assert r.exit_code == 0, r.output
    assert "fill_level >= 95 % for 3600 s, hysteresis 10 on own waste devices" in r.output
    listed = runner.invoke(app, ["alerts", "rules", "list", "--org", ORG])
    assert "overflow" in listed.output
    rule_id = listed.output.split()[0]
    bad = runner.invoke(app, ["alerts", "rules", "add", "--org", ORG, "--metric", "nope",
                              "--condition", ">", "--threshold", "1"])
    assert bad.exit_code == 1 and "not a metric of the catalog" in bad.output
    assert runner.invoke(app, ["alerts", "rules", "remove", "--org", ORG,
                               rule_id]).exit_code == 0
    assert runner.invoke(app, ["alerts", "rules", "remove", "--org", ORG,
                               rule_id]).exit_code == 1
    r = runner.invoke(app, ["alerts", "webhook", "set", "--org", ORG,
                            "https://example.org/hooks/meetnet"])
    assert r.exit_code == 0
    secret = r.stdout.strip().splitlines()[-1]
    assert secret.startswith("mnwh_") and len(secret) > 40
    with psycopg.connect(db_env) as conn:
        assert store.webhook_url(conn, ORG) == "https://example.org/hooks/meetnet"
    assert runner.invoke(app, ["alerts", "webhook", "set", "--org", ORG,
                               "ftp://example.org"]).exit_code == 1
    assert runner.invoke(app, ["alerts", "webhook", "remove", "--org", ORG]).exit_code == 0


def test_run_once_opens_a_bin_due_alert_once(db_env: str) -> None:
    first = runner.invoke(app, ["alerts", "run", "--once"])
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("1 opened")
    again = runner.invoke(app, ["alerts", "run", "--once"])
    assert again.stdout.startswith("0 opened, 0 resolved")
    listed = runner.invoke(app, ["alerts", "list", "--org", ORG])
    (line,) = listed.stdout.strip().splitlines()
    assert "open" in line and "bin_due" in line and BIN in line and "fill 86 %" in line
