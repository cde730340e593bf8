"""The device registry: organisations, network applications and devices (docs/architecture.md step 4)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import class_row

Visibility = str  # 'private' | 'shared' | 'open'


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    dev_eui: str
    organisation_id: int
    model_key: str
    use_case: str
    config: dict[str, Any]
    #: Where the device's uplinks must come from; '' / None: not recorded, any.
    application_id: str = ""
    network: str | None = None
    tenant_id: str | None = None


@dataclass(frozen=True, slots=True)
class NewDevice:
    dev_eui: str
    organisation: str  # slug
    model_key: str
    device_id: str = ""
    application_id: str = ""
    name: str = ""
    use_case: str = "any"
    visibility: Visibility = "private"
    config: Mapping[str, Any] | None = None
    lat: float | None = None
    lon: float | None = None
    network: str | None = None  # tts | chirpstack | webhook; None: any
    tenant_id: str | None = None


def ensure_organisation(conn: psycopg.Connection[Any], slug: str, name: str | None = None) -> int:
    row = conn.execute(
        """INSERT INTO organisations (slug, name) VALUES (%s, %s)
           ON CONFLICT (slug) DO UPDATE SET name = COALESCE(%s, organisations.name)
           RETURNING id""",
        (slug, name or slug, name),
    ).fetchone()
    assert row is not None
    return int(row[0])


def link_application(conn: psycopg.Connection[Any], network: str, application_id: str,
                     organisation: str, default_visibility: Visibility = "private") -> None:
    """Declare that uplinks of this network application belong to ``organisation``."""
    org_id = ensure_organisation(conn, organisation)
    conn.execute(
        """INSERT INTO applications (network, application_id, organisation_id, default_visibility)
           VALUES (%s, %s, %s, %s)
           ON CONFLICT (network, application_id) DO UPDATE
               SET organisation_id = EXCLUDED.organisation_id,
                   default_visibility = EXCLUDED.default_visibility""",
        (network, application_id, org_id, default_visibility),
    )


def upsert_device(conn: psycopg.Connection[Any], dev: NewDevice) -> int:
    """Register or update a device; returns its id. Idempotent."""
    org_id = ensure_organisation(conn, dev.organisation)
    row = conn.execute(
        """INSERT INTO devices (dev_eui, device_id, application_id, organisation_id, model_key,
                                name, use_case, visibility, config, lat, lon, network, tenant_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (dev_eui) DO UPDATE SET
               device_id = EXCLUDED.device_id, application_id = EXCLUDED.application_id,
               organisation_id = EXCLUDED.organisation_id, model_key = EXCLUDED.model_key,
               name = EXCLUDED.name, use_case = EXCLUDED.use_case,
               visibility = EXCLUDED.visibility, config = EXCLUDED.config,
               lat = EXCLUDED.lat, lon = EXCLUDED.lon, network = EXCLUDED.network,
               tenant_id = EXCLUDED.tenant_id, auto_registered = false
           RETURNING id""",
        (dev.dev_eui.lower(), dev.device_id, dev.application_id, org_id, dev.model_key, dev.name,
         dev.use_case, dev.visibility, json.dumps(dict(dev.config or {})), dev.lat, dev.lon,
         dev.network, dev.tenant_id),
    ).fetchone()
    assert row is not None
    return int(row[0])


def get_device(conn: psycopg.Connection[Any], dev_eui: str) -> DeviceInfo | None:
    with conn.cursor(row_factory=class_row(DeviceInfo)) as cur:
        return cur.execute(
            """SELECT id, dev_eui, organisation_id, model_key, use_case, config,
                      application_id, network, tenant_id
               FROM devices WHERE dev_eui = %s""",
            (dev_eui,),
        ).fetchone()


def registered_euis(conn: psycopg.Connection[Any]) -> set[str]:
    """Every registered dev_eui: lets ingest answer "unknown" for a dev_eui it has never seen
    without a query per message (a flood of made-up dev_euis)."""
    return {str(r[0]) for r in conn.execute("SELECT dev_eui FROM devices")}


def auto_register(conn: psycopg.Connection[Any], *, dev_eui: str, device_id: str, network: str,
                  application_id: str, model_key: str, use_case: str,
                  tenant_id: str | None = None) -> DeviceInfo | None:
    """Register an unknown device to the organisation owning its application (docs/architecture.md step 4).

    Returns None when the application belongs to no organisation: then nobody can own the data
    and the uplink is dead-lettered instead. The device is bound to the network, application and
    tenant of this first uplink: later uplinks naming it from elsewhere are refused.
    """
    row = conn.execute(
        """SELECT organisation_id, default_visibility FROM applications
           WHERE network = %s AND application_id = %s""",
        (network, application_id),
    ).fetchone()
    if row is None:
        return None
    conn.execute(
        """INSERT INTO devices (dev_eui, device_id, application_id, organisation_id, model_key,
                                name, use_case, visibility, auto_registered, network, tenant_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, true, %s, %s)
           ON CONFLICT (dev_eui) DO NOTHING""",
        (dev_eui, device_id, application_id, row[0], model_key, device_id, use_case, row[1],
         network, tenant_id),
    )
    return get_device(conn, dev_eui)


CSV_COLUMNS = ("dev_eui", "organisation", "model_key", "device_id", "application_id", "name",
               "use_case", "visibility", "lat", "lon", "config", "network", "tenant_id")


class DeviceImportError(ValueError):
    """A CSV row that cannot be imported; the message names the line."""


def read_devices_csv(path: Path) -> list[NewDevice]:
    """Parse a device CSV (header: dev_eui, organisation, model_key[, device_id, application_id,
    name, use_case, visibility, lat, lon, config, network, tenant_id]); ``config`` is a JSON
    object. ``application_id``, ``network`` and ``tenant_id``, when given, bind the device: ingest
    refuses its uplinks from anywhere else."""
    out: list[NewDevice] = []
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"dev_eui", "organisation", "model_key"} - set(reader.fieldnames or [])
        if missing:
            raise DeviceImportError(f"{path}: missing column(s) {', '.join(sorted(missing))}")
        unknown = set(reader.fieldnames or []) - set(CSV_COLUMNS)
        if unknown:
            raise DeviceImportError(f"{path}: unknown column(s) {', '.join(sorted(unknown))}")
        for lineno, row in enumerate(reader, start=2):
            try:
                out.append(_csv_row(row))
            except (ValueError, json.JSONDecodeError) as exc:
                raise DeviceImportError(f"{path}:{lineno}: {exc}") from None
    return out


def _csv_row(row: Mapping[str, str | None]) -> NewDevice:
    def opt(key: str) -> str:
        return (row.get(key) or "").strip()

    eui = opt("dev_eui").lower()
    if len(eui) != 16 or any(c not in "0123456789abcdef" for c in eui):
        raise ValueError(f"dev_eui {eui!r} is not 16 hex digits")
    vis = opt("visibility") or "private"
    if vis not in ("private", "shared", "open"):
        raise ValueError(f"visibility {vis!r} is not private, shared or open")
    config = json.loads(opt("config")) if opt("config") else {}
    if not isinstance(config, dict):
        raise ValueError("config must be a JSON object")
    network = opt("network") or None
    if network not in (None, "tts", "chirpstack", "webhook"):
        raise ValueError(f"network {network!r} is not tts, chirpstack or webhook")
    return NewDevice(
        dev_eui=eui, organisation=opt("organisation"), model_key=opt("model_key"),
        device_id=opt("device_id"), application_id=opt("application_id"), name=opt("name"),
        use_case=opt("use_case") or "any", visibility=vis, config=config,
        lat=float(opt("lat")) if opt("lat") else None,
        lon=float(opt("lon")) if opt("lon") else None,
        network=network, tenant_id=opt("tenant_id") or None,
    )


def import_devices(conn: psycopg.Connection[Any], devices: Iterable[NewDevice]) -> int:
    n = 0
    with conn.transaction():
        for dev in devices:
            upsert_device(conn, dev)
            n += 1
    return n


class RegistryError(ValueError):
    """A registry change that names a device or organisation that does not exist."""


def share_device(conn: psycopg.Connection[Any], dev_eui: str, organisation: str) -> str:
    """Share a device with another organisation: it can read the device's data from now on. A
    private device becomes `shared`; an open one stays open. Returns the new visibility."""
    with conn.transaction():
        dev = conn.execute("SELECT id, visibility FROM devices WHERE dev_eui = %s",
                           (dev_eui.lower(),)).fetchone()
        org = conn.execute("SELECT id FROM organisations WHERE slug = %s",
                           (organisation,)).fetchone()
        if dev is None:
            raise RegistryError(f"no device with dev_eui {dev_eui}")
        if org is None:
            raise RegistryError(f"no organisation {organisation!r}")
        conn.execute("INSERT INTO device_shares (device_id, organisation_id) VALUES (%s, %s) "
                     "ON CONFLICT DO NOTHING", (dev[0], org[0]))
        visibility = "shared" if dev[1] == "private" else str(dev[1])
        conn.execute("UPDATE devices SET visibility = %s WHERE id = %s", (visibility, dev[0]))
    return visibility


def unshare_device(conn: psycopg.Connection[Any], dev_eui: str, organisation: str) -> str:
    """Stop sharing a device with an organisation; a `shared` device shared with nobody any
    more becomes private. Returns the new visibility."""
    with conn.transaction():
        dev = conn.execute("SELECT id, visibility FROM devices WHERE dev_eui = %s",
                           (dev_eui.lower(),)).fetchone()
        if dev is None:
            raise RegistryError(f"no device with dev_eui {dev_eui}")
        gone = conn.execute(
            """DELETE FROM device_shares s USING organisations o
               WHERE s.organisation_id = o.id AND s.device_id = %s AND o.slug = %s""",
            (dev[0], organisation)).rowcount
        if not gone:
            raise RegistryError(f"device {dev_eui} is not shared with {organisation!r}")
        left = conn.execute("SELECT count(*) FROM device_shares WHERE device_id = %s",
                            (dev[0],)).fetchone()
        visibility = str(dev[1])
        if visibility == "shared" and left is not None and left[0] == 0:
            visibility = "private"
            conn.execute("UPDATE devices SET visibility = 'private' WHERE id = %s", (dev[0],))
    return visibility


def owner_of(conn: psycopg.Connection[Any], dev_eui: str) -> str | None:
    """The slug of the organisation a device belongs to, or None if it is not registered."""
    row = conn.execute("""SELECT o.slug FROM devices d JOIN organisations o
                          ON o.id = d.organisation_id WHERE d.dev_eui = %s""",
                       (dev_eui.lower(),)).fetchone()
    return None if row is None else str(row[0])


#: Columns a device's owner may change over the API (the identity fields stay: re-register).
EDITABLE = ("name", "visibility", "lat", "lon", "config")


def update_device(conn: psycopg.Connection[Any], dev_eui: str, organisation: str,
                  changes: Mapping[str, Any]) -> bool:
    """Change an organisation's own device; False if it has no such device."""
    fields = [f for f in EDITABLE if f in changes]
    if not fields:
        return owner_of(conn, dev_eui) == organisation
    values = [json.dumps(changes[f]) if f == "config" else changes[f] for f in fields]
    query = psycopg.sql.SQL(
        "UPDATE devices d SET {} FROM organisations o WHERE o.id = d.organisation_id "
        "AND d.dev_eui = %s AND o.slug = %s").format(
        psycopg.sql.SQL(", ").join(psycopg.sql.SQL("{} = %s").format(psycopg.sql.Identifier(f))
                                   for f in fields))
    return conn.execute(query, [*values, dev_eui.lower(), organisation]).rowcount == 1


def delete_device(conn: psycopg.Connection[Any], dev_eui: str, organisation: str) -> bool:
    """Remove an organisation's own device and its readings (latest values and shares go with
    it by cascade); its raw uplinks stay, keyed by dev_eui, unlinked. False if the organisation
    has no such device."""
    with conn.transaction():
        row = conn.execute(
            """DELETE FROM devices d USING organisations o
               WHERE o.id = d.organisation_id AND d.dev_eui = %s AND o.slug = %s
               RETURNING d.id""", (dev_eui.lower(), organisation)).fetchone()
        if row is None:
            return False
        # readings has no foreign key (a TimescaleDB hypertable cannot have one cheaply).
        conn.execute("DELETE FROM readings WHERE device_id = %s", (row[0],))
        conn.execute("UPDATE uplinks SET device_id = NULL WHERE device_id = %s", (row[0],))
    return True
