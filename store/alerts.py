"""Alerts in the database (migration 0010, docs/alerts.md): organisations' rules, alerts and
their states, webhooks, the notification outbox and every delivery attempt. All of the alerts'
SQL lives here; ``alerts/`` and ``api/routes/alerts.py`` call these functions.

Scoping: every read and write an organisation makes names its slug, and another
organisation's rule or alert is answered as if it did not exist (None / False).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, LiteralString
from urllib.parse import urlsplit

import psycopg
from psycopg import sql
from psycopg.rows import class_row
from psycopg.types.json import Jsonb

from store import queries
from store.keys import UnknownOrganisation

State = Literal["open", "acknowledged", "resolved"]
STATES: tuple[State, ...] = ("open", "acknowledged", "resolved")
Kind = Literal["threshold", "offline", "low_battery", "bin_due", "water_rise",
               "classroom_over_c"]
KINDS: tuple[Kind, ...] = ("threshold", "offline", "low_battery", "bin_due", "water_rise",
                           "classroom_over_c")
#: The runner takes this transaction-level advisory lock: one evaluation at a time, whatever
#: number of `meetnet alerts run` processes.
RUN_LOCK = 0x616C_7274  # "alrt"
WEBHOOK_SECRET_PREFIX = "mnwh_"
MAX_URL_LENGTH = 2000
MAX_RULES_PER_ORGANISATION = 1000
#: The longest duration a rule may ask for: 31 days, as the check in 0010.
MAX_DURATION_S = 31 * 86400


class AlertError(ValueError):
    """A request the alert store refuses, with the reason."""


class UnknownMetric(AlertError):
    pass


class NoSuchDevice(AlertError):
    pass


class TooManyRules(AlertError):
    pass


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    organisation_id: int
    organisation: str
    name: str
    metric: str
    unit: str
    condition: str
    threshold: float
    duration_s: int
    hysteresis: float
    dev_eui: str | None
    use_case: str | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    organisation: str
    dev_eui: str
    device_name: str
    rule_id: int | None
    kind: str
    state: str
    message: str
    value: float | None
    started_at: datetime
    resolved_at: datetime | None
    acknowledged_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    notification_id: int
    event: str
    attempt: int
    url: str
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class Target:
    """A device an evaluation looks at."""

    id: int
    dev_eui: str
    name: str
    organisation_id: int
    use_case: str
    config: dict[str, Any]
    last_seen_at: datetime | None
    battery_percent: float | None


@dataclass(frozen=True, slots=True)
class Unresolved:
    id: int
    started_at: datetime
    value: float | None
    state: str


@dataclass(frozen=True, slots=True)
class KeyState:
    """What is stored for one (organisation, kind, rule, device): its unresolved alert, and
    when the last resolved one ended."""

    open: Unresolved | None
    last_end: datetime | None


Key = tuple[int, str, int | None, int]  # organisation_id, kind, rule_id, device_id


@dataclass(frozen=True, slots=True)
class Pending:
    """A notification claimed for one delivery attempt."""

    id: int
    alert_id: int
    event: str
    body: dict[str, Any]
    attempt: int
    url: str
    secret: str


def _organisation_id(conn: psycopg.Connection[Any], organisation: str) -> int:
    row = conn.execute("SELECT id FROM organisations WHERE slug = %s", (organisation,)).fetchone()
    if row is None:
        raise UnknownOrganisation(f"no organisation {organisation!r} "
                                  "(create it with `meetnet orgs create`)")
    return int(row[0])


# --- rules -------------------------------------------------------------------------------

_RULE_SELECT = """
    SELECT r.id, r.organisation_id, o.slug AS organisation, r.name, m.name AS metric, m.unit,
           r.condition, r.threshold, r.duration_s, r.hysteresis, d.dev_eui, r.use_case,
           r.created_at
    FROM alert_rules r JOIN organisations o ON o.id = r.organisation_id
    JOIN metrics m ON m.id = r.metric_id LEFT JOIN devices d ON d.id = r.device_id
"""


def create_rule(conn: psycopg.Connection[Any], organisation: str, *, metric: str,
                condition: str, threshold: float, duration_s: int = 0,
                hysteresis: float = 0.0, dev_eui: str | None = None,
                use_case: str | None = None, name: str = "") -> Rule:
    """A new threshold rule of ``organisation``. Its scope is one device the organisation may
    see (``dev_eui``: its own, shared with it, or open), or the organisation's own devices of
    ``use_case``, or (neither) all its own devices. An unknown metric, a device it may not see,
    or a value the schema refuses is an `AlertError` with the reason."""
    org_id = _organisation_id(conn, organisation)
    metric_row = conn.execute("SELECT id FROM metrics WHERE name = %s", (metric,)).fetchone()
    if metric_row is None:
        raise UnknownMetric(f"{metric!r} is not a metric of the catalog")
    if dev_eui is not None and use_case is not None:
        raise AlertError("a rule names a device or a use case, not both")
    device_id = None
    if dev_eui is not None:
        if queries.get_device(conn, dev_eui.lower(), organisation=organisation) is None:
            raise NoSuchDevice(f"no visible device with dev_eui {dev_eui}")
        found = conn.execute("SELECT id FROM devices WHERE dev_eui = %s",
                             (dev_eui.lower(),)).fetchone()
        assert found is not None
        device_id = int(found[0])
    count = conn.execute("SELECT count(*) FROM alert_rules WHERE organisation_id = %s",
                         (org_id,)).fetchone()
    if count is not None and int(count[0]) >= MAX_RULES_PER_ORGANISATION:
        raise TooManyRules(f"an organisation has at most {MAX_RULES_PER_ORGANISATION} rules")
    with conn.transaction():
        row = conn.execute(
            """INSERT INTO alert_rules (organisation_id, name, metric_id, condition, threshold,
                   duration_s, hysteresis, device_id, use_case)
               VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id""",
            (org_id, name, metric_row[0], condition, threshold, duration_s, hysteresis,
             device_id, use_case)).fetchone()
    assert row is not None
    rule = get_rule(conn, organisation, int(row[0]))
    assert rule is not None
    return rule


def get_rule(conn: psycopg.Connection[Any], organisation: str, rule_id: int) -> Rule | None:
    with conn.cursor(row_factory=class_row(Rule)) as cur:
        return cur.execute(_RULE_SELECT + " WHERE o.slug = %s AND r.id = %s",
                           (organisation, rule_id)).fetchone()


def list_rules(conn: psycopg.Connection[Any], organisation: str | None = None) -> list[Rule]:
    """An organisation's rules, or (None) every organisation's, oldest first."""
    with conn.cursor(row_factory=class_row(Rule)) as cur:
        return cur.execute(_RULE_SELECT + " WHERE %(org)s::text IS NULL OR o.slug = %(org)s::text"
                           " ORDER BY r.id", {"org": organisation}).fetchall()


def delete_rule(conn: psycopg.Connection[Any], organisation: str, rule_id: int) -> bool:
    """Delete a rule of ``organisation``; its unresolved alerts are resolved now (a rule that
    is gone raises nothing any more). False when the organisation has no such rule."""
    with conn.transaction():
        row = conn.execute(
            """SELECT r.id FROM alert_rules r JOIN organisations o ON o.id = r.organisation_id
               WHERE o.slug = %s AND r.id = %s FOR UPDATE OF r""",
            (organisation, rule_id)).fetchone()
        if row is None:
            return False
        conn.execute(
            """UPDATE alerts SET state = 'resolved', resolved_at = greatest(now(), started_at),
                   updated_at = now(), message = message || ' (rule deleted)'
               WHERE rule_id = %s AND state <> 'resolved'""", (rule_id,))
        conn.execute("DELETE FROM alert_rules WHERE id = %s", (rule_id,))
    return True


def rule_targets(conn: psycopg.Connection[Any], rule: Rule) -> list[Target]:
    """The devices a rule looks at: its device if its organisation may still see it, else
    the organisation's own devices (of its use case)."""
    if rule.dev_eui is not None:
        if queries.get_device(conn, rule.dev_eui, organisation=rule.organisation) is None:
            return []
        return _targets(conn, "d.dev_eui = %s", [rule.dev_eui])
    if rule.use_case is not None:
        return _targets(conn, "d.organisation_id = %s AND d.use_case = %s",
                        [rule.organisation_id, rule.use_case])
    return _targets(conn, "d.organisation_id = %s", [rule.organisation_id])


def owned_devices(conn: psycopg.Connection[Any]) -> list[Target]:
    """Every registered device, with its owner: the built-in alerts (offline, battery, the
    analytics' events) go to the organisation that owns the device."""
    return _targets(conn, "true", [])


def _targets(conn: psycopg.Connection[Any], where: LiteralString, params: list[Any]) -> list[Target]:
    with conn.cursor(row_factory=class_row(Target)) as cur:
        return cur.execute(sql.SQL(
            "SELECT d.id, d.dev_eui, d.name, d.organisation_id, d.use_case, d.config, "
            "d.last_seen_at, d.battery_percent FROM devices d WHERE {} ORDER BY d.id"
        ).format(sql.SQL(where)), params).fetchall()


# --- what the runner reads ------------------------------------------------------------------

def series(conn: psycopg.Connection[Any], device_ids: list[int], metrics: list[str], *,
           start: datetime, end: datetime, limit: int = 2_000_000
           ) -> list[tuple[int, str, datetime, float]]:
    """(device_id, metric, time, value) of ``metrics`` of the devices in [start, end],
    oldest first."""
    if not device_ids or not metrics:
        return []
    return [(int(r[0]), str(r[1]), r[2], float(r[3])) for r in conn.execute(
        """SELECT r.device_id, m.name, r.time, r.value FROM readings r
           JOIN metrics m ON m.id = r.metric_id
           WHERE r.device_id = ANY(%s) AND m.name = ANY(%s) AND r.time >= %s AND r.time <= %s
           ORDER BY r.device_id, m.name, r.time LIMIT %s""",
        (device_ids, metrics, start, end, limit))]


def recent_uplinks(conn: psycopg.Connection[Any], dev_euis: list[str], *, per_device: int = 25,
                   before: datetime | None = None) -> dict[str, list[datetime]]:
    """The newest ``per_device`` uplink times of each device (before ``before``), for its
    usual uplink interval."""
    if not dev_euis:
        return {}
    out: dict[str, list[datetime]] = {}
    for eui, at in conn.execute(
            """SELECT d.eui, u.received_at FROM unnest(%s::text[]) AS d(eui)
               CROSS JOIN LATERAL (SELECT received_at FROM uplinks
                                   WHERE dev_eui = d.eui
                                     AND (%s::timestamptz IS NULL OR received_at <= %s)
                                   ORDER BY received_at DESC LIMIT %s) u""",
            (dev_euis, before, before, per_device)):
        out.setdefault(str(eui), []).append(at)
    return out


def key_states(conn: psycopg.Connection[Any]) -> dict[Key, KeyState]:
    """Per (organisation, kind, rule, device): the unresolved alert and the end of the last
    resolved one."""
    out: dict[Key, KeyState] = {}
    for org, kind, rule, dev, last_end in conn.execute(
            """SELECT organisation_id, kind, rule_id, device_id, max(resolved_at) FROM alerts
               WHERE state = 'resolved' GROUP BY 1, 2, 3, 4"""):
        out[(int(org), str(kind), rule, int(dev))] = KeyState(None, last_end)
    for aid, org, kind, rule, dev, started, value, state in conn.execute(
            """SELECT id, organisation_id, kind, rule_id, device_id, started_at, value, state
               FROM alerts WHERE state <> 'resolved'"""):
        key = (int(org), str(kind), rule, int(dev))
        before = out.get(key)
        out[key] = KeyState(Unresolved(int(aid), started, value, str(state)),
                            before.last_end if before else None)
    return out


def try_run_lock(conn: psycopg.Connection[Any]) -> bool:
    """Take the runner's lock for the current transaction; False when another runner has it."""
    row = conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (RUN_LOCK,)).fetchone()
    return bool(row and row[0])


# --- alert transitions ----------------------------------------------------------------------

def open_alert(conn: psycopg.Connection[Any], key: Key, *, started_at: datetime,
               value: float | None, message: str, resolved_at: datetime | None = None
               ) -> int | None:
    """Insert an alert for ``key``: open, or already resolved at ``resolved_at`` (an episode
    that began and ended between two runs). None when an unresolved one exists already (the
    unique index decides, so two runners cannot both open one)."""
    org, kind, rule, device = key
    state = "open" if resolved_at is None else "resolved"
    row = conn.execute(
        """INSERT INTO alerts (organisation_id, kind, rule_id, device_id, state, message, value,
               started_at, resolved_at)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (organisation_id, kind, (COALESCE(rule_id, 0)), device_id)
               WHERE state <> 'resolved' DO NOTHING
           RETURNING id""",
        (org, kind, rule, device, state, message, value, started_at, resolved_at)).fetchone()
    return None if row is None else int(row[0])


def resolve_alert(conn: psycopg.Connection[Any], alert_id: int, at: datetime) -> bool:
    cur = conn.execute(
        """UPDATE alerts SET state = 'resolved', resolved_at = greatest(%s, started_at),
               updated_at = now()
           WHERE id = %s AND state <> 'resolved'""", (at, alert_id))
    return cur.rowcount == 1


def update_value(conn: psycopg.Connection[Any], alert_id: int, value: float | None,
                 message: str) -> bool:
    """The newest figure of an unresolved alert; True when it changed."""
    cur = conn.execute(
        """UPDATE alerts SET value = %s, message = %s, updated_at = now()
           WHERE id = %s AND state <> 'resolved'
             AND (value IS DISTINCT FROM %s OR message <> %s)""",
        (value, message, alert_id, value, message))
    return cur.rowcount == 1


_ALERT_SELECT = """
    SELECT a.id, o.slug AS organisation, d.dev_eui, d.name AS device_name, a.rule_id, a.kind,
           a.state, a.message, a.value, a.started_at, a.resolved_at, a.acknowledged_at,
           a.created_at, a.updated_at
    FROM alerts a JOIN organisations o ON o.id = a.organisation_id
    JOIN devices d ON d.id = a.device_id
"""


def get_alert(conn: psycopg.Connection[Any], alert_id: int,
              organisation: str | None = None) -> Alert | None:
    """One alert; with ``organisation``, only if it is that organisation's."""
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        return cur.execute(
            _ALERT_SELECT + " WHERE a.id = %(id)s"
            " AND (%(org)s::text IS NULL OR o.slug = %(org)s::text)",
            {"id": alert_id, "org": organisation}).fetchone()


def list_alerts(conn: psycopg.Connection[Any], organisation: str, *, state: str | None = None,
                before_id: int | None = None, limit: int = 100) -> list[Alert]:
    """An organisation's alerts, newest first; ``before_id`` is the cursor (the id of the
    last alert of the previous page)."""
    with conn.cursor(row_factory=class_row(Alert)) as cur:
        return cur.execute(
            _ALERT_SELECT + """ WHERE o.slug = %(org)s
                 AND (%(state)s::text IS NULL OR a.state = %(state)s::text)
                 AND (%(before)s::bigint IS NULL OR a.id < %(before)s::bigint)
               ORDER BY a.id DESC LIMIT %(limit)s""",
            {"org": organisation, "state": state, "before": before_id,
             "limit": limit}).fetchall()


def acknowledge(conn: psycopg.Connection[Any], organisation: str, alert_id: int
                ) -> Alert | None:
    """A person has seen the alert: an open one becomes acknowledged (a resolved one stays
    resolved, with the time noted). Idempotent. None when the organisation has no such alert."""
    with conn.transaction():
        conn.execute(
            """UPDATE alerts a SET
                   state = CASE WHEN a.state = 'open' THEN 'acknowledged' ELSE a.state END,
                   acknowledged_at = coalesce(a.acknowledged_at, now()), updated_at = now()
               FROM organisations o
               WHERE o.id = a.organisation_id AND o.slug = %s AND a.id = %s""",
            (organisation, alert_id))
    return get_alert(conn, alert_id, organisation)


def deliveries(conn: psycopg.Connection[Any], organisation: str, alert_id: int
               ) -> list[Delivery] | None:
    """Every delivery attempt of an alert's notifications, oldest first; None when the
    organisation has no such alert."""
    if get_alert(conn, alert_id, organisation) is None:
        return None
    with conn.cursor(row_factory=class_row(Delivery)) as cur:
        return cur.execute(
            """SELECT x.id, x.notification_id, n.event, x.attempt, x.url, x.attempted_at,
                      x.status_code, x.error, x.duration_ms
               FROM alert_deliveries x JOIN alert_notifications n ON n.id = x.notification_id
               WHERE x.alert_id = %s ORDER BY x.id""", (alert_id,)).fetchall()


# --- webhooks and the outbox ----------------------------------------------------------------

def check_url(url: str) -> str:
    """An http(s) URL with a host, at most MAX_URL_LENGTH characters; AlertError otherwise."""
    if len(url) > MAX_URL_LENGTH or any(c in url for c in "\x00\r\n "):
        raise AlertError(f"a webhook URL is one line of at most {MAX_URL_LENGTH} characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AlertError("a webhook URL is http:// or https:// with a host")
    return url


def set_webhook(conn: psycopg.Connection[Any], organisation: str, url: str) -> str:
    """Post ``organisation``'s alerts to ``url`` from now on, signed with a new secret, which
    is returned (shown once by the CLI). Replaces an earlier webhook and its secret."""
    org_id = _organisation_id(conn, organisation)
    secret = WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute(
            """INSERT INTO alert_webhooks (organisation_id, url, secret) VALUES (%s, %s, %s)
               ON CONFLICT (organisation_id) DO UPDATE SET url = EXCLUDED.url,
                   secret = EXCLUDED.secret, created_at = now()""",
            (org_id, check_url(url), secret))
    return secret


def remove_webhook(conn: psycopg.Connection[Any], organisation: str) -> bool:
    """Stop posting; notifications not yet delivered are dropped with it (marked failed)."""
    org_id = _organisation_id(conn, organisation)
    with conn.transaction():
        conn.execute(
            """UPDATE alert_notifications n SET failed_at = now() FROM alerts a
               WHERE a.id = n.alert_id AND a.organisation_id = %s
                 AND n.delivered_at IS NULL AND n.failed_at IS NULL""", (org_id,))
        cur = conn.execute("DELETE FROM alert_webhooks WHERE organisation_id = %s", (org_id,))
    return cur.rowcount == 1


def webhook_url(conn: psycopg.Connection[Any], organisation: str) -> str | None:
    row = conn.execute(
        """SELECT w.url FROM alert_webhooks w JOIN organisations o ON o.id = w.organisation_id
           WHERE o.slug = %s""", (organisation,)).fetchone()
    return None if row is None else str(row[0])


def notify(conn: psycopg.Connection[Any], alert_id: int, event: str, body: dict[str, Any]
           ) -> int | None:
    """Queue ``body`` for delivery when the alert's organisation has a webhook; its id, or
    None when there is nobody to tell."""
    row = conn.execute(
        """INSERT INTO alert_notifications (alert_id, event, body)
           SELECT a.id, %s, %s FROM alerts a
           JOIN alert_webhooks w ON w.organisation_id = a.organisation_id
           WHERE a.id = %s RETURNING id""", (event, Jsonb(body), alert_id)).fetchone()
    return None if row is None else int(row[0])


def claim_due(conn: psycopg.Connection[Any], *, lease_s: float, limit: int = 50
              ) -> list[Pending]:
    """Notifications due for an attempt, each counted as attempted and leased for ``lease_s``
    seconds (another delivery loop skips it meanwhile; a loop that died lets it come due
    again). One short transaction: the HTTP requests happen outside it."""
    with conn.transaction():
        rows = conn.execute(
            """UPDATE alert_notifications n
               SET attempts = n.attempts + 1,
                   next_attempt_at = now() + make_interval(secs => %s)
               FROM alerts a JOIN alert_webhooks w ON w.organisation_id = a.organisation_id
               WHERE a.id = n.alert_id AND n.id IN (
                   SELECT id FROM alert_notifications
                   WHERE delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= now()
                     -- one alert's notifications in order: "resolved" never overtakes "opened"
                     AND NOT EXISTS (
                         SELECT 1 FROM alert_notifications p
                         WHERE p.alert_id = alert_notifications.alert_id
                           AND p.id < alert_notifications.id
                           AND p.delivered_at IS NULL AND p.failed_at IS NULL)
                   ORDER BY next_attempt_at, id LIMIT %s FOR UPDATE SKIP LOCKED)
               RETURNING n.id, n.alert_id, n.event, n.body, n.attempts, w.url, w.secret""",
            (lease_s, limit)).fetchall()
    return sorted((Pending(int(r[0]), int(r[1]), str(r[2]), dict(r[3]), int(r[4]), str(r[5]),
                           str(r[6])) for r in rows), key=lambda p: p.id)


def record_attempt(conn: psycopg.Connection[Any], pending: Pending, *,
                   status_code: int | None, error: str | None, duration_ms: float,
                   delivered: bool, retry_in_s: float | None) -> None:
    """Record one attempt and what follows: delivered, another attempt in ``retry_in_s``
    seconds, or (None) given up."""
    with conn.transaction():
        conn.execute(
            """INSERT INTO alert_deliveries (notification_id, alert_id, attempt, url,
                   status_code, error, duration_ms)
               VALUES (%s, %s, %s, %s, %s, %s, %s)""",
            (pending.id, pending.alert_id, pending.attempt, pending.url, status_code,
             None if error is None else error[:500], duration_ms))
        if delivered:
            conn.execute("UPDATE alert_notifications SET delivered_at = now() WHERE id = %s",
                         (pending.id,))
        elif retry_in_s is None:
            conn.execute("UPDATE alert_notifications SET failed_at = now() WHERE id = %s",
                         (pending.id,))
        else:
            conn.execute(
                """UPDATE alert_notifications
                   SET next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s""",
                (retry_in_s, pending.id))


def next_due_in_s(conn: psycopg.Connection[Any]) -> float | None:
    """Seconds until the next notification comes due (0 if one is due now); None: none."""
    row = conn.execute(
        """SELECT extract(epoch FROM min(next_attempt_at) - now())
           FROM alert_notifications WHERE delivered_at IS NULL AND failed_at IS NULL"""
    ).fetchone()
    return None if row is None or row[0] is None else max(0.0, float(row[0]))
