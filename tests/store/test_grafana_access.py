"""Grafana's database roles see open data only, unless an organisation is configured for them
(migration 0009, store/grafana.py, `meetnet grafana`). Tested as separate login roles: the owner
of the tables sees everything by definition."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from importlib import resources

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from typer.testing import CliRunner

from meetnet.cli import app
from store import devices as registry
from store import grafana
from store.migrate import _statements

# name -> (organisation, visibility, shared with)
DEVICES = {
    "a-private": ("gemeente-leiden", "private", ()),
    "a-shared-b": ("gemeente-leiden", "private", ("obs-de-regenboog",)),
    "a-open": ("gemeente-leiden", "open", ()),
    "b-private": ("obs-de-regenboog", "private", ()),
    "c-private": ("bedrijf-x", "private", ()),
    "c-shared-a": ("bedrijf-x", "private", ("gemeente-leiden",)),
    "c-open-shared-b": ("bedrijf-x", "open", ("obs-de-regenboog",)),
}
OPEN = {"a-open", "c-open-shared-b"}


def _eui(i: int) -> str:
    return f"{0xabc0_0000_0000_0000 + i:016x}"


@pytest.fixture
def fleet(db: str) -> dict[int, str]:
    """The devices above, each with readings and a latest value; their ids by name."""
    ids: dict[int, str] = {}
    with psycopg.connect(db) as conn:
        for i, (name, (org, visibility, shares)) in enumerate(DEVICES.items()):
            dev_id = registry.upsert_device(conn, registry.NewDevice(
                _eui(i), org, "milesight-iot/em310-udl", name=name, visibility=visibility))
            for other in shares:
                registry.ensure_organisation(conn, other)
                registry.share_device(conn, _eui(i), other)
            ids[dev_id] = name
        now = datetime.now(UTC)
        for dev_id in ids:
            for k in range(3):
                conn.execute("""INSERT INTO readings (time, device_id, metric_id, value)
                                SELECT %s, %s, id, %s FROM metrics WHERE name = 'fill_level'""",
                             (now - timedelta(minutes=10 * k), dev_id, 40 + k))
            conn.execute("""INSERT INTO latest_readings (device_id, metric_id, time, value)
                            SELECT %s, id, %s, 40 FROM metrics WHERE name = 'fill_level'""",
                         (dev_id, now))
    return ids


@pytest.fixture
def make_role(db: str) -> Iterator[list[str]]:
    """Login roles for the test (roles are per server: unique names, dropped afterwards)."""
    made: list[str] = []
    yield made
    with psycopg.connect(db, autocommit=True) as conn:
        for role in made:
            conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(role)))
            conn.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(role)))


def _role(db: str, made: list[str], name: str | None = None) -> str:
    role = name or f"grafana_t_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS").format(
            sql.Identifier(role)))
    made.append(role)
    return role


def _seen(db: str, role: str, ids: dict[int, str]) -> dict[str, set[str]]:
    """What the role sees through each view: device names."""
    with psycopg.connect(make_conninfo(db, user=role)) as conn:
        return {
            "devices": {str(r[0]) for r in conn.execute("SELECT name FROM grafana.devices")},
            "readings": {ids[r[0]] for r in conn.execute(
                "SELECT DISTINCT device_id FROM grafana.readings")},
            "latest": {ids[r[0]] for r in conn.execute(
                "SELECT device_id FROM grafana.latest_readings")},
        }


def _all(names: set[str]) -> dict[str, set[str]]:
    return {"devices": names, "readings": names, "latest": names}


def test_a_role_without_organisation_sees_open_devices_only(
        db: str, fleet: dict[int, str], make_role: list[str]) -> None:
    role = _role(db, make_role)
    with psycopg.connect(db) as conn:
        grafana.grant(conn, role)
    assert _seen(db, role, fleet) == _all(OPEN)
    with psycopg.connect(make_conninfo(db, user=role)) as conn:
        assert conn.execute("SELECT count(*) FROM grafana.metrics").fetchone() != (0,)
        for table in ("readings", "latest_readings", "devices", "device_shares",
                      "grafana_access", "api_keys", "uplinks"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(sql.SQL("SELECT 1 FROM public.{}").format(sql.Identifier(table)))
    # A role granted nothing reads nothing, not even the views.
    stranger = _role(db, make_role)
    with psycopg.connect(make_conninfo(db, user=stranger)) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT 1 FROM grafana.readings")


def test_an_organisation_adds_its_own_and_shared_devices_never_anothers_private(
        db: str, fleet: dict[int, str], make_role: list[str]) -> None:
    leiden, school, both = (_role(db, make_role) for _ in range(3))
    with psycopg.connect(db) as conn:
        grafana.grant(conn, leiden, "gemeente-leiden")
        grafana.grant(conn, leiden, "gemeente-leiden")  # idempotent
        grafana.grant(conn, school, "obs-de-regenboog")
        grafana.grant(conn, both, "gemeente-leiden")
        grafana.grant(conn, both, "obs-de-regenboog")
    assert _seen(db, leiden, fleet) == _all(OPEN | {"a-private", "a-shared-b", "c-shared-a"})
    assert _seen(db, school, fleet) == _all(OPEN | {"a-shared-b", "b-private"})
    assert _seen(db, both, fleet) == _all(OPEN | {"a-private", "a-shared-b", "c-shared-a",
                                                  "b-private"})
    # Sharing follows the registry at once: unsharing takes the device away from the role.
    with psycopg.connect(db) as conn:
        registry.unshare_device(conn, _eui(list(DEVICES).index("a-shared-b")), "obs-de-regenboog")
    assert _seen(db, school, fleet) == _all(OPEN | {"b-private"})
    with psycopg.connect(db) as conn:
        grafana.revoke(conn, both, "gemeente-leiden")
        assert grafana.access(conn) == sorted([(leiden, ["gemeente-leiden"]),
                                               (school, ["obs-de-regenboog"]),
                                               (both, ["obs-de-regenboog"])])
        grafana.revoke(conn, leiden)
    assert _seen(db, both, fleet) == _all(OPEN | {"b-private"})
    with psycopg.connect(make_conninfo(db, user=leiden)) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT 1 FROM grafana.devices")


def test_the_owner_keeps_full_access(db: str, fleet: dict[int, str],
                                     make_role: list[str]) -> None:
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(DISTINCT device_id) FROM readings").fetchone() == (
            len(DEVICES),)
        conn.execute("""INSERT INTO readings (time, device_id, metric_id, value)
                        SELECT now(), %s, id, 1 FROM metrics WHERE name = 'battery'""",
                     (next(iter(fleet)),))
        # The owner has no organisation configured: through the views it sees open data too.
        assert {str(r[0]) for r in conn.execute("SELECT name FROM grafana.devices")} == OPEN


def test_errors_and_the_command_line(db: str, fleet: dict[int, str], make_role: list[str],
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    role = _role(db, make_role)
    with psycopg.connect(db) as conn:
        with pytest.raises(grafana.GrafanaAccessError, match="no database role"):
            grafana.grant(conn, "no_such_role_here", "gemeente-leiden")
        with pytest.raises(grafana.GrafanaAccessError, match="no organisation"):
            grafana.grant(conn, role, "no-such-org")
        with pytest.raises(grafana.GrafanaAccessError, match="was not granted"):
            grafana.revoke(conn, role, "gemeente-leiden")
    # Role names are identifiers, never SQL.
    odd = _role(db, make_role, 'grafana "odd"; DROP TABLE readings; --')
    with psycopg.connect(db) as conn:
        grafana.grant(conn, odd, "bedrijf-x")
    assert _seen(db, odd, fleet)["devices"] == OPEN | {"c-private", "c-shared-a"}

    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    runner = CliRunner()
    result = runner.invoke(app, ["grafana", "grant", role, "--org", "obs-de-regenboog"])
    assert result.exit_code == 0, result.output
    assert _seen(db, role, fleet) == _all(OPEN | {"a-shared-b", "b-private"})
    listed = runner.invoke(app, ["grafana", "list"])
    assert listed.exit_code == 0 and any(
        line.split()[0] == role and "obs-de-regenboog" in line
        for line in listed.output.splitlines())
    bad = runner.invoke(app, ["grafana", "grant", role, "--org", "no-such-org"])
    assert bad.exit_code == 1 and "no organisation 'no-such-org'" in bad.output
    result = runner.invoke(app, ["grafana", "revoke", role, "--org", "obs-de-regenboog"])
    assert result.exit_code == 0, result.output
    assert _seen(db, role, fleet) == _all(OPEN)


def test_migration_is_idempotent_and_takes_back_the_old_blanket_grant(
        db: str, fleet: dict[int, str], make_role: list[str]) -> None:
    text = (resources.files("store.migrations") / "0009_grafana_access.sql").read_text("utf-8")
    # The shipped role as earlier versions of deploy/timescaledb/grafana-reader.sh left it.
    reader = _role(db, make_role, "grafana_reader")
    with psycopg.connect(db, autocommit=True) as conn:
        conn.execute("GRANT SELECT ON ALL TABLES IN SCHEMA public TO grafana_reader")
    with psycopg.connect(make_conninfo(db, user=reader)) as conn:
        assert conn.execute("SELECT count(*) FROM public.devices").fetchone() == (len(DEVICES),)
    with psycopg.connect(db, autocommit=True) as conn:
        for _ in range(2):
            for statement in _statements(text):
                conn.execute(statement.encode())
    assert _seen(db, reader, fleet) == _all(OPEN)
    with psycopg.connect(make_conninfo(db, user=reader)) as conn, \
            pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SELECT 1 FROM public.devices")
