"""The device registry: organisations, network applications and devices (docs/architecture.md step 4)."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
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
    done = _upsert(conn, dev, ensure_organisation(conn, dev.organisation))
    assert done is not None
    return done[0]


def _upsert(conn: psycopg.Connection[Any], dev: NewDevice, org_id: int, *,
            keep_owner: bool = False) -> tuple[int, bool] | None:
    """(id, whether it is new); None when ``keep_owner`` and another organisation owns it."""
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
           WHERE NOT %s OR devices.organisation_id = EXCLUDED.organisation_id
           RETURNING id, xmax = 0""",
        (dev.dev_eui.lower(), dev.device_id, dev.application_id, org_id, dev.model_key, dev.name,
         dev.use_case, dev.visibility, json.dumps(dict(dev.config or {})), dev.lat, dev.lon,
         dev.network, dev.tenant_id, keep_owner),
    ).fetchone()
    # xmax = 0: the row version was inserted, not updated (PostgreSQL's system columns, 5.6).
    return None if row is None else (int(row[0]), bool(row[1]))


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
USE_CASES = ("waste", "classroom", "crossing", "water", "any")
#: The most rows one import takes (the API answers 413 beyond it).
MAX_IMPORT_ROWS = 10_000
#: Bounds of the text columns, the same as the API's device body (api/schemas.py DeviceIn).
_MAX_LENGTH = {"name": 200, "model_key": 128, "device_id": 128, "application_id": 128,
               "tenant_id": 128, "organisation": 64}


class DeviceImportError(ValueError):
    """A device CSV that cannot be read at all (encoding, header, CSV syntax); the message
    names the line when there is one."""


class TooManyRows(DeviceImportError):
    """More rows than one import takes."""


@dataclass(frozen=True, slots=True)
class Refused:
    """A CSV row that was not imported, and why; ``line`` is where the row starts."""

    line: int
    dev_eui: str
    reason: str


@dataclass(slots=True)
class ImportResult:
    imported: int = 0  # registered now
    updated: int = 0   # registered before, changed now
    refused: list[Refused] = field(default_factory=list)


def decode_csv(data: bytes) -> str:
    """The text of a device CSV: UTF-8 (RFC 3629), with or without the byte order mark a
    spreadsheet writes; invalid UTF-8 or a NUL character (which PostgreSQL text cannot hold) is
    a DeviceImportError."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise DeviceImportError(f"line {line}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise DeviceImportError(f"line {line}: contains a NUL character")
    return text


def read_devices_csv(path: Path) -> list[NewDevice]:
    """Parse a device CSV file (see :func:`parse_devices_csv`); any refused row is an error."""
    rows, refused = parse_devices_csv(decode_csv(path.read_bytes()))
    if refused:
        raise DeviceImportError("; ".join(f"{path}:{r.line}: {r.reason}" for r in refused))
    return [dev for _, dev in rows]


def parse_devices_csv(text: str, *, organisation: str | None = None,
                      max_rows: int | None = None) -> tuple[list[tuple[int, NewDevice]],
                                                             list[Refused]]:
    """Parse and check a device CSV (RFC 4180; header: dev_eui, organisation, model_key[,
    device_id, application_id, name, use_case, visibility, lat, lon, config, network,
    tenant_id]); ``config`` is a JSON object (RFC 8259). ``application_id``, ``network`` and
    ``tenant_id``, when given, bind the device: ingest refuses its uplinks from anywhere else.

    With ``organisation`` (an API key's), every device goes to it: the ``organisation`` column
    may be left out or empty, and a row naming another organisation is refused. Returns the good
    rows with the line each starts on, and the refused ones with the reason. A file that cannot
    be read as a whole (header, CSV syntax) is a DeviceImportError; more than ``max_rows`` rows
    a TooManyRows. Models and configs are checked by :func:`check_devices`.
    """
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader, [])]
    except csv.Error as exc:
        raise DeviceImportError(f"line 1: {exc}") from None
    required = {"dev_eui", "model_key"} | (set() if organisation else {"organisation"})
    missing = required - set(header)
    if missing:
        raise DeviceImportError(f"missing column(s) {', '.join(sorted(missing))}")
    unknown = set(header) - set(CSV_COLUMNS)
    if unknown:
        raise DeviceImportError("unknown column(s) "
                                + ", ".join(repr(u[:40]) for u in sorted(unknown)[:10]))
    if len(set(header)) != len(header):
        raise DeviceImportError("a column is named twice in the header")
    rows: list[tuple[int, NewDevice]] = []
    refused: list[Refused] = []
    first_line: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            values = next(reader, None)
        except csv.Error as exc:
            raise DeviceImportError(f"line {line}: {exc}") from None
        if values is None:
            break
        if values and max_rows is not None and len(rows) + len(refused) >= max_rows:
            raise TooManyRows(f"more than {max_rows} rows; split the file")
        if values:  # a blank line is no row
            raw = dict(zip(header, values, strict=False))
            eui = (raw.get("dev_eui") or "").strip().lower()[:40]
            try:
                if len(values) > len(header):
                    raise ValueError(f"{len(values)} fields, but the header names {len(header)}")
                dev = _csv_row(raw, organisation)
            except (ValueError, RecursionError) as exc:
                refused.append(Refused(line, eui, str(exc)))
            else:
                if dev.dev_eui in first_line:
                    refused.append(Refused(line, eui, f"dev_eui {dev.dev_eui} is on line "
                                                      f"{first_line[dev.dev_eui]} already"))
                else:
                    first_line[dev.dev_eui] = line
                    rows.append((line, dev))
        line = reader.line_num + 1
    return rows, refused


def _csv_row(row: Mapping[str, str], organisation: str | None) -> NewDevice:
    def opt(key: str) -> str:
        value = (row.get(key) or "").strip()
        limit = _MAX_LENGTH.get(key)
        if limit is not None and len(value) > limit:
            raise ValueError(f"{key} is longer than {limit} characters")
        return value

    eui = opt("dev_eui").lower()
    if len(eui) != 16 or any(c not in "0123456789abcdef" for c in eui):
        raise ValueError(f"dev_eui {eui[:40]!r} is not 16 hex digits")
    org = opt("organisation")
    if organisation is None and not org:
        raise ValueError("no organisation")
    if organisation is not None and org not in ("", organisation):
        raise ValueError(f"organisation {org!r} is not the key's organisation ({organisation})")
    if not opt("model_key"):
        raise ValueError("no model_key")
    use_case = opt("use_case") or "any"
    if use_case not in USE_CASES:
        raise ValueError(f"use_case {use_case[:40]!r} is not one of {', '.join(USE_CASES)}")
    vis = opt("visibility") or "private"
    if vis not in ("private", "shared", "open"):
        raise ValueError(f"visibility {vis[:40]!r} is not private, shared or open")
    config = _config_json(opt("config"))
    network = opt("network") or None
    if network not in (None, "tts", "chirpstack", "webhook"):
        raise ValueError(f"network {network[:40]!r} is not tts, chirpstack or webhook")
    return NewDevice(
        dev_eui=eui, organisation=organisation or org, model_key=opt("model_key"),
        device_id=opt("device_id"), application_id=opt("application_id"), name=opt("name"),
        use_case=use_case, visibility=vis, config=config,
        lat=_degrees(opt("lat"), "lat", 90), lon=_degrees(opt("lon"), "lon", 180),
        network=network, tenant_id=opt("tenant_id") or None,
    )


def _config_json(text: str) -> dict[str, Any]:
    if not text:
        return {}

    def no_constant(name: str) -> Any:
        raise ValueError(f"config holds {name}, which JSON (RFC 8259) has not")

    try:
        config = json.loads(text, parse_constant=no_constant)
    except RecursionError:
        raise ValueError("config is nested too deeply") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"config is not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(config, dict):
        raise ValueError("config must be a JSON object")
    return config


def _degrees(text: str, name: str, bound: float) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{name} {text[:40]!r} is not a number") from None
    if not (math.isfinite(value) and -bound <= value <= bound):
        raise ValueError(f"{name} {text[:40]!r} is not between -{bound:g} and {bound:g}")
    return value


def config_problem(use_case: str, config: Mapping[str, Any]) -> str | None:
    """Why a device's config is refused for its use case, or None: the one check of a device's
    config at registration, for the CLI import, the API import and the API's device writes.
    Per kind (decoders/config.py): a waste bin needs its depth, a water gauge its NAP
    reference; and nothing PostgreSQL's jsonb cannot hold (NUL, NaN or infinite numbers)."""
    from pydantic import ValidationError

    from decoders.config import config_model

    bad = _unstorable(config)
    if bad:
        return bad
    try:
        config_model(use_case).model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"]))
        return f"{where}: {first['msg']}" if where else str(first["msg"])
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _unstorable(value: Any, depth: int = 0) -> str | None:
    if depth > 32:
        return "config is nested more than 32 levels deep"
    if isinstance(value, str):
        if "\x00" in value:
            return "config holds a NUL character"
        # A lone surrogate (JSON "\ud800") is no Unicode character, and jsonb refuses it.
        return "config holds an unpaired surrogate" if _SURROGATE.search(value) else None
    if isinstance(value, float):
        return None if math.isfinite(value) else "config holds a number that is not finite"
    if isinstance(value, Mapping):
        items: Iterable[Any] = [*value.keys(), *value.values()]
    elif isinstance(value, list | tuple):
        items = value
    else:
        return None
    for item in items:
        bad = _unstorable(item, depth + 1)
        if bad:
            return bad
    return None


def known_models(conn: psycopg.Connection[Any]) -> set[str]:
    """Model keys a device may be registered with: the built-in decoders and stored codecs."""
    from decoders import MODELS

    return set(MODELS) | {str(r[0]) for r in conn.execute("SELECT model_key FROM codecs")}


def check_devices(conn: psycopg.Connection[Any], rows: list[tuple[int, NewDevice]]
                  ) -> tuple[list[tuple[int, NewDevice]], list[Refused]]:
    """Split parsed rows into those a registry takes and those it refuses: an unknown model
    (neither built in nor a stored codec) or a config its use case refuses
    (:func:`config_problem`)."""
    models = known_models(conn)
    good: list[tuple[int, NewDevice]] = []
    refused: list[Refused] = []
    for line, dev in rows:
        if dev.model_key not in models:
            refused.append(Refused(line, dev.dev_eui, f"unknown model {dev.model_key!r} "
                                   "(neither a built-in decoder nor a stored codec)"))
            continue
        problem = config_problem(dev.use_case, dev.config or {})
        if problem:
            refused.append(Refused(line, dev.dev_eui, f"invalid config: {problem}"))
            continue
        good.append((line, dev))
    return good, refused


def import_devices(conn: psycopg.Connection[Any], devices: Iterable[NewDevice]) -> int:
    """Register or update devices, each for the organisation it names; returns how many."""
    result = import_checked(conn, list(enumerate(devices, start=1)))
    return result.imported + result.updated


def import_checked(conn: psycopg.Connection[Any], rows: list[tuple[int, NewDevice]], *,
                   keep_owners: bool = False) -> ImportResult:
    """Register or update checked rows in one transaction. With ``keep_owners`` (the API: one
    organisation imports its fleet) a dev_eui registered to another organisation is refused,
    never taken over; without (the operator's CLI) a row may move a device."""
    result = ImportResult()
    org_ids: dict[str, int] = {}
    with conn.transaction():
        for line, dev in rows:
            if dev.organisation not in org_ids:
                org_ids[dev.organisation] = ensure_organisation(conn, dev.organisation)
            done = _upsert(conn, dev, org_ids[dev.organisation], keep_owner=keep_owners)
            if done is None:
                result.refused.append(Refused(line, dev.dev_eui, "dev_eui is registered to "
                                              "another organisation"))
            elif done[1]:
                result.imported += 1
            else:
                result.updated += 1
    result.refused.sort(key=lambda r: r.line)
    return result


class RegistryError(ValueError):
    """A registry change that names a device or organisation that does not exist."""


class NoSuchDevice(RegistryError):
    pass


class NoSuchOrganisation(RegistryError):
    pass


class NotShared(RegistryError):
    pass


def _owned_device(conn: psycopg.Connection[Any], dev_eui: str,
                  owner: str | None) -> tuple[int, str, str]:
    """(id, visibility, owner slug) of a device, locked for the change; with ``owner``, only
    that organisation's device is found."""
    row = conn.execute(
        """SELECT d.id, d.visibility, o.slug FROM devices d
           JOIN organisations o ON o.id = d.organisation_id
           WHERE d.dev_eui = %s FOR UPDATE OF d""", (dev_eui.lower(),)).fetchone()
    if row is None or (owner is not None and row[2] != owner):
        raise NoSuchDevice(f"no device with dev_eui {dev_eui}"
                           + (f" of {owner}" if owner is not None else ""))
    return int(row[0]), str(row[1]), str(row[2])


def share_device(conn: psycopg.Connection[Any], dev_eui: str, organisation: str, *,
                 owner: str | None = None) -> str:
    """Share a device with another organisation: it can read the device's data from now on. A
    private device becomes `shared`; an open one stays open. Returns the new visibility. With
    ``owner``, only that organisation's device may be shared (the API's admin keys)."""
    with conn.transaction():
        dev_id, visibility, dev_owner = _owned_device(conn, dev_eui, owner)
        org = conn.execute("SELECT id FROM organisations WHERE slug = %s",
                           (organisation,)).fetchone()
        if org is None:
            raise NoSuchOrganisation(f"no organisation {organisation!r}")
        if organisation == dev_owner:
            raise RegistryError(f"{dev_eui} belongs to {organisation} already")
        conn.execute("INSERT INTO device_shares (device_id, organisation_id) VALUES (%s, %s) "
                     "ON CONFLICT DO NOTHING", (dev_id, org[0]))
        visibility = "shared" if visibility == "private" else visibility
        conn.execute("UPDATE devices SET visibility = %s WHERE id = %s", (visibility, dev_id))
    return visibility


def unshare_device(conn: psycopg.Connection[Any], dev_eui: str, organisation: str, *,
                   owner: str | None = None) -> str:
    """Stop sharing a device with an organisation; a `shared` device shared with nobody any
    more becomes private. Returns the new visibility."""
    with conn.transaction():
        dev_id, visibility, _ = _owned_device(conn, dev_eui, owner)
        if conn.execute("SELECT 1 FROM organisations WHERE slug = %s",
                        (organisation,)).fetchone() is None:
            raise NoSuchOrganisation(f"no organisation {organisation!r}")
        gone = conn.execute(
            """DELETE FROM device_shares s USING organisations o
               WHERE s.organisation_id = o.id AND s.device_id = %s AND o.slug = %s""",
            (dev_id, organisation)).rowcount
        if not gone:
            raise NotShared(f"device {dev_eui} is not shared with {organisation!r}")
        left = conn.execute("SELECT count(*) FROM device_shares WHERE device_id = %s",
                            (dev_id,)).fetchone()
        if visibility == "shared" and left is not None and left[0] == 0:
            visibility = "private"
            conn.execute("UPDATE devices SET visibility = 'private' WHERE id = %s", (dev_id,))
    return visibility


def shares_of(conn: psycopg.Connection[Any], dev_eui: str,
              owner: str) -> tuple[str, list[str]] | None:
    """An organisation's own device's visibility and the organisations it is shared with (by
    slug), or None if it has no such device."""
    row = conn.execute(
        """SELECT d.id, d.visibility FROM devices d JOIN organisations o
           ON o.id = d.organisation_id WHERE d.dev_eui = %s AND o.slug = %s""",
        (dev_eui.lower(), owner)).fetchone()
    if row is None:
        return None
    slugs = [str(r[0]) for r in conn.execute(
        """SELECT o.slug FROM device_shares s JOIN organisations o ON o.id = s.organisation_id
           WHERE s.device_id = %s ORDER BY o.slug""", (row[0],))]
    return str(row[1]), slugs


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
