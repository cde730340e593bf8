"""The alert loop: reads the store, evaluates every organisation's threshold rules and the
built-in conditions, and opens, updates and resolves alerts (docs/alerts.md).

Built-in conditions, for every device and sent to the organisation that owns it:

- offline: no uplink for 3x the device's uplink interval (config ``uplink_interval_s``, else
  the median gap of its recent uplinks);
- low battery: ``battery`` readings (or the network server's battery level) at or below
  MEETNET_ALERTS_LOW_BATTERY_PCT;
- bin due (waste bins): analytics.waste's ``due`` for the next round (24 h ahead);
- water rising (water gauges): analytics.water's rate of rise at or above the gauge's
  ``rise_alarm_cm_h`` (default 5 cm/h), spikes filtered first;
- classroom over class C for a lesson hour (classrooms): analytics.alerts on the room's
  timetable and holidays.

Idempotent: an evaluation derives episodes from readings only (analytics.alerts), and each is
matched with what the store holds for its (organisation, kind, rule, device): the unresolved
alert it continues, or the time the last one ended, before which nothing is opened again. A
unique index allows one unresolved alert per key, and one evaluation runs at a time (an
advisory lock), in one transaction with the notifications it queues.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import psycopg
from pydantic import ValidationError

from alerts.delivery import DeliveryReport, Policy, deliver_due
from analytics import alerts as rules
from analytics import water
from analytics.classroom import FrisseScholen, Timetable
from analytics.waste import HISTORY, assess
from decoders.config import ClassroomConfig
from meetnet.settings import Settings
from store import alerts as store
from store import bin_status

log = logging.getLogger(__name__)

#: How far ahead a bin's round is (analytics.waste's "60 % today, 80 % tomorrow" rule).
NEXT_ROUND = timedelta(hours=24)
#: A bin is assessed over the same history as the API's (analytics.waste.HISTORY), so Grafana's
#: due list and GET /v1/waste/bins agree.
WASTE_LOOKBACK = HISTORY
#: Readings before a window that the water rate (1 h trailing slope) and spike filter
#: (1 h centred) need to give the same answer at the window's start as on any later run.
WATER_WARMUP = timedelta(hours=2)
#: The longest time an open alert's readings are read back.
MAX_OPEN_LOOKBACK = timedelta(days=31)


@dataclass
class RunReport:
    """What one evaluation changed."""

    opened: int = 0
    resolved: int = 0
    updated: int = 0
    skipped: bool = False  # another runner held the lock
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Found:
    """Episodes of one key, and how to match them with the store."""

    key: store.Key
    episodes: list[rules.Episode]
    message: Callable[[rules.Episode], str]
    #: State-based conditions (offline, bin due) are "holds now or not": their episode's start
    #: is recomputed each run, so the last end is no fence for them.
    state_based: bool = False


def _series(points: list[tuple[datetime, float]]) -> pd.Series:
    return pd.Series([v for _, v in points], index=pd.DatetimeIndex(
        [t for t, _ in points]), dtype=float)


class _Readings:
    """Readings of many devices fetched in one query per metric set, cut per device."""

    def __init__(self, conn: psycopg.Connection[Any], device_ids: list[int], metrics: list[str],
                 start: datetime, end: datetime) -> None:
        self.by: dict[tuple[int, str], list[tuple[datetime, float]]] = defaultdict(list)
        for device, metric, at, value in store.series(conn, sorted(set(device_ids)), metrics,
                                                     start=start, end=end):
            self.by[(device, metric)].append((at, value))

    def get(self, device: int, metric: str, since: datetime | None = None) -> pd.Series:
        points = self.by.get((device, metric), [])
        if since is not None:
            points = [p for p in points if p[0] >= since]
        return _series(points)


def _window_start(state: store.KeyState | None, now: datetime, lookback: timedelta
                  ) -> tuple[datetime, datetime | None]:
    """(first reading time to look at, the open alert's start or None)."""
    if state is not None and state.open is not None:
        return max(state.open.started_at, now - MAX_OPEN_LOOKBACK), state.open.started_at
    start = now - lookback
    if state is not None and state.last_end is not None:
        start = max(start, state.last_end)
    return start, None


def _notify(conn: psycopg.Connection[Any], alert_id: int, event: str) -> None:
    alert = store.get_alert(conn, alert_id)
    if alert is not None:
        store.notify(conn, alert_id, event, payload(event, alert))


def payload(event: str, alert: store.Alert) -> dict[str, Any]:
    """The JSON a webhook receives (docs/alerts.md, "What is posted")."""
    return {"event": f"alert.{event}", "alert": {
        "id": alert.id, "organisation": alert.organisation, "kind": alert.kind,
        "state": alert.state, "dev_eui": alert.dev_eui, "device_name": alert.device_name,
        "rule_id": alert.rule_id, "message": alert.message, "value": alert.value,
        "started_at": alert.started_at.isoformat(),
        "resolved_at": None if alert.resolved_at is None else alert.resolved_at.isoformat()}}


def reconcile(conn: psycopg.Connection[Any], found: Found, state: store.KeyState | None,
              now: datetime, report: RunReport) -> None:
    """Bring the stored alerts of one key in line with its episodes."""
    episodes = sorted(found.episodes, key=lambda e: e.start)
    current = state.open if state is not None else None
    if current is None and not found.state_based and state is not None and state.last_end:
        last_end = state.last_end
        episodes = [e for e in episodes if e.start > last_end]
    if current is not None:
        first = None
        if episodes and (found.state_based or episodes[0].start <= current.started_at):
            first = episodes.pop(0)
        if first is None:
            # Nothing holds any more (a state-based condition that stopped, or readings that
            # end the episode no longer in reach): resolved now.
            if store.resolve_alert(conn, current.id, now):
                report.resolved += 1
                _notify(conn, current.id, "resolved")
        elif first.end is not None:
            if store.resolve_alert(conn, current.id, first.end):
                report.resolved += 1
                _notify(conn, current.id, "resolved")
        elif store.update_value(conn, current.id, first.value, found.message(first)):
            report.updated += 1
        if first is not None and first.end is None:
            return  # still holding: nothing after it
    for episode in episodes:
        alert_id = store.open_alert(conn, found.key, started_at=episode.start,
                                    value=episode.value, message=found.message(episode),
                                    resolved_at=episode.end)
        if alert_id is None:
            continue  # another runner's, or a second unresolved one: the index refused it
        report.opened += 1
        _notify(conn, alert_id, "opened")
        if episode.end is not None:
            report.resolved += 1
            _notify(conn, alert_id, "resolved")


def _fmt_duration(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"


def _threshold_findings(conn: psycopg.Connection[Any], states: dict[store.Key, store.KeyState],
                        now: datetime, lookback: timedelta) -> list[tuple[Found, store.KeyState | None]]:
    out: list[tuple[Found, store.KeyState | None]] = []
    for rule in store.list_rules(conn):
        spec = rules.ThresholdRule(rule.condition, rule.threshold,  # type: ignore[arg-type]
                                   timedelta(seconds=rule.duration_s), rule.hysteresis)
        targets = store.rule_targets(conn, rule)
        if not targets:
            continue
        back = lookback + timedelta(seconds=rule.duration_s)
        starts = {}
        for t in targets:
            key: store.Key = (rule.organisation_id, "threshold", rule.id, t.id)
            starts[t.id] = (key, *_window_start(states.get(key), now, back))
        earliest = min(s[1] for s in starts.values())
        readings = _Readings(conn, [t.id for t in targets], [rule.metric], earliest, now)
        what = (f"{rule.metric} {rule.condition} {rule.threshold:g} {rule.unit}"
                + (f" for {_fmt_duration(rule.duration_s)}" if rule.duration_s else ""))
        label = f"rule {rule.id}" + (f" ({rule.name})" if rule.name else "")
        for t in targets:
            key, since, active = starts[t.id]
            episodes = rules.threshold_episodes(readings.get(t.id, rule.metric, since), spec,
                                                active_since=active)

            def message(e: rules.Episode, what: str = what, label: str = label) -> str:
                peak = "" if e.value is None else f"; {e.value:g}"
                return f"{what}{peak} ({label})"

            out.append((Found(key, episodes, message), states.get(key)))
    return out


def _interval(target: store.Target, uplinks: list[datetime]) -> float | None:
    configured = target.config.get("uplink_interval_s") if isinstance(target.config, dict) else None
    if isinstance(configured, int | float) and not isinstance(configured, bool) and configured > 0:
        return float(configured)
    return rules.uplink_interval_s(uplinks)


def _builtin_findings(conn: psycopg.Connection[Any], settings: Settings,
                      states: dict[store.Key, store.KeyState], now: datetime,
                      lookback: timedelta) -> list[tuple[Found, store.KeyState | None]]:
    out: list[tuple[Found, store.KeyState | None]] = []
    targets = store.owned_devices(conn)
    if not targets:
        return out
    uplinks = store.recent_uplinks(conn, [t.dev_eui for t in targets], before=now)
    # One read of everything the built-ins need, from the earliest start any of them wants.
    earliest = now - lookback - WATER_WARMUP
    for k, st in states.items():
        if st.open is not None and k[1] != "threshold":
            earliest = min(earliest, max(st.open.started_at, now - MAX_OPEN_LOOKBACK)
                           - WATER_WARMUP)
    readings = _Readings(conn, [t.id for t in targets],
                         ["battery", "temperature", "water_level", "co2"], earliest, now)
    # Four weeks of fill for the bins only, not of every metric of every device.
    fills = _Readings(conn, [t.id for t in targets if t.use_case == "waste"],
                      ["fill_level", "tilt"], now - WASTE_LOOKBACK, now)
    bins: list[bin_status.BinStatusRow] = []
    for t in targets:
        org = t.organisation_id
        # Offline
        key: store.Key = (org, "offline", None, t.id)
        interval = _interval(t, uplinks.get(t.dev_eui, []))
        last_seen = t.last_seen_at if t.last_seen_at is not None and t.last_seen_at <= now \
            else (max(uplinks[t.dev_eui]) if uplinks.get(t.dev_eui) else None)
        since = rules.offline_since(last_seen, interval, now)
        silent = [] if since is None or last_seen is None else [
            rules.Episode(since, None, round((now - last_seen).total_seconds() / 3600, 2))]

        def offline_msg(e: rules.Episode, interval: float | None = interval,
                        last_seen: datetime | None = last_seen) -> str:
            return (f"no uplink for {e.value:g} h (3x its {_fmt_duration(interval or 0)} "
                    f"interval); last seen {last_seen:%Y-%m-%d %H:%M} UTC")

        out.append((Found(key, silent, offline_msg, state_based=True), states.get(key)))
        # Low battery
        bkey: store.Key = (org, "low_battery", None, t.id)
        since_b, active = _window_start(states.get(bkey), now, lookback)
        battery = readings.get(t.id, "battery", since_b)
        if battery.empty and t.battery_percent is not None and last_seen is not None \
                and last_seen >= since_b:
            battery = _series([(last_seen, float(t.battery_percent))])
        level = settings.alerts_low_battery_pct

        def battery_msg(e: rules.Episode, level: float = level) -> str:
            charge = "low" if e.value is None else f"{e.value:g} %"
            return f"battery {charge} (at or below {level:g} %)"

        out.append((Found(bkey, rules.low_battery_episodes(battery, level=level,
                                                           active_since=active), battery_msg),
                    states.get(bkey)))
        if t.use_case == "waste":
            out.append(_bin_due(t, fills, states, now, bins))
        elif t.use_case == "water":
            out.append(_water_rise(t, readings, states, now, lookback))
        elif t.use_case == "classroom":
            out.append(_classroom(t, readings, states, now, lookback))
    # Grafana's due list (view grafana.bin_status): the same assessment, kept per bin.
    bin_status.upsert(conn, bins)
    return out


def _bin_due(t: store.Target, readings: _Readings, states: dict[store.Key, store.KeyState],
             now: datetime, bins: list[bin_status.BinStatusRow]
             ) -> tuple[Found, store.KeyState | None]:
    key: store.Key = (t.organisation_id, "bin_due", None, t.id)
    since = now - WASTE_LOOKBACK
    fill = readings.get(t.id, "fill_level", since)
    found: list[rules.Episode] = []
    last_seen = t.last_seen_at if t.last_seen_at and t.last_seen_at <= now else None
    if fill.empty:
        # No fill level in the lookback: a silent sensor, not an empty bin.
        bins.append(bin_status.BinStatusRow(t.id, now, None, None, None, None, None, False,
                                            None, True, last_seen, None))
    if not fill.empty:
        status = assess(fill, at=now, next_round=now + NEXT_ROUND,
                        tilt=readings.get(t.id, "tilt", since), last_seen=last_seen)
        bins.append(bin_status.BinStatusRow(
            t.id, now, status.fill_pct, status.rate_pct_per_day, status.last_emptied,
            status.full_at, status.threshold_at, status.due, status.due_reason, status.stale,
            status.last_seen, status.rate_basis))
        if status.due:
            state = states.get(key)
            start = state.open.started_at if state and state.open else now
            found = [rules.Episode(start, None, status.fill_pct)]
            reason = status.due_reason or "due"
        else:
            reason = ""
    else:
        reason = ""

    def message(e: rules.Episode, reason: str = reason) -> str:
        fill_txt = "" if e.value is None else f"fill {e.value:.0f} %, "
        return f"bin due on the next round ({fill_txt}{reason.replace('-', ' ')})"

    return Found(key, found, message, state_based=True), states.get(key)


def _water_rise(t: store.Target, readings: _Readings, states: dict[store.Key, store.KeyState],
                now: datetime, lookback: timedelta) -> tuple[Found, store.KeyState | None]:
    key: store.Key = (t.organisation_id, "water_rise", None, t.id)
    since, active = _window_start(states.get(key), now, lookback)
    threshold = t.config.get("rise_alarm_cm_h") if isinstance(t.config, dict) else None
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or threshold <= 0:
        threshold = water.RISE_ALARM_CM_H
    levels = readings.get(t.id, "water_level", since - WATER_WARMUP)
    episodes: list[rules.Episode] = []
    if not levels.empty:
        kept, _ = water.filter_spikes(levels)
        rate = water.rate_of_rise(kept)
        times = pd.DatetimeIndex(rate.index[rate.index >= pd.Timestamp(since)])
        episodes = rules.rise_episodes(times, rate, float(threshold), active_since=active)
    th = float(threshold)

    def message(e: rules.Episode) -> str:
        rate = "" if e.value is None else f" {e.value:.1f} cm/h"
        return f"water rising{rate} (alarm at {th:g} cm/h)"

    return Found(key, episodes, message), states.get(key)


def _classroom(t: store.Target, readings: _Readings, states: dict[store.Key, store.KeyState],
               now: datetime, lookback: timedelta) -> tuple[Found, store.KeyState | None]:
    key: store.Key = (t.organisation_id, "classroom_over_c", None, t.id)
    since, active = _window_start(states.get(key), now, lookback + rules.CLASSROOM_OVER_C_FOR)
    try:
        cfg = ClassroomConfig.model_validate(t.config if isinstance(t.config, dict) else {})
    except ValidationError:
        cfg = ClassroomConfig()  # a config stored before these fields: the defaults
    tt = cfg.timetable
    timetable = Timetable() if tt is None else Timetable(
        start=tt.start, end=tt.end, weekdays=tt.weekdays, end_by_weekday=dict(tt.end_by_weekday),
        timezone=tt.timezone)
    episodes = rules.classroom_over_c_episodes(
        readings.get(t.id, "co2", since), timetable=timetable,
        holidays=[(h.start, h.end) for h in cfg.holidays],
        limits=FrisseScholen(outdoor_ppm=cfg.outdoor_co2_ppm), active_since=active)
    def message(e: rules.Episode) -> str:
        peak = "" if e.value is None else f"; up to {e.value:.0f} ppm"
        return f"CO2 over Frisse Scholen class C (1200 ppm) for a lesson hour{peak}"

    return Found(key, episodes, message), states.get(key)


def evaluate(conn: psycopg.Connection[Any], settings: Settings, *,
             now: datetime | None = None) -> RunReport:
    """One evaluation of every rule and built-in condition as of ``now`` (default: the
    clock), in one transaction. ``conn`` must not be in a transaction already."""
    at = now or datetime.now(UTC)
    if at.tzinfo is None:
        raise ValueError("`now` must be timezone-aware")
    lookback = timedelta(hours=settings.alerts_lookback_h)
    report = RunReport()
    with conn.transaction():
        if not store.try_run_lock(conn):
            report.skipped = True
            return report
        states = store.key_states(conn)
        found = _threshold_findings(conn, states, at, lookback)
        found += _builtin_findings(conn, settings, states, at, lookback)
        for item, state in found:
            reconcile(conn, item, state, at, report)
    return report


def run_once(dsn: str, settings: Settings, *, now: datetime | None = None
             ) -> tuple[RunReport, DeliveryReport]:
    """Evaluate, then deliver whatever notifications are due (`meetnet alerts run --once`)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        report = evaluate(conn, settings, now=now)
        delivered = deliver_due(conn, Policy.from_settings(settings))
    return report, delivered


def run_forever(dsn: str, settings: Settings, stop: threading.Event, *,
                interval_s: float | None = None,
                on_run: Callable[[RunReport, DeliveryReport], None] | None = None) -> None:
    """Evaluate every ``interval_s`` (MEETNET_ALERTS_INTERVAL_S) and deliver due notifications
    in between, until ``stop`` is set. A failed evaluation (the database away) is logged and
    tried again at the next interval; the loop itself ends only on ``stop``."""
    every = interval_s or settings.alerts_interval_s
    policy = Policy.from_settings(settings)
    next_run = 0.0
    conn: psycopg.Connection[Any] | None = None
    while not stop.is_set():
        wait = 1.0
        try:
            if conn is None or conn.closed or conn.broken:
                conn = psycopg.connect(dsn, autocommit=True, connect_timeout=5)
            report = RunReport()
            if time.monotonic() >= next_run:
                next_run = time.monotonic() + every
                report = evaluate(conn, settings)
                if report.opened or report.resolved:
                    log.info("alerts: %d opened, %d resolved", report.opened, report.resolved)
            delivered = deliver_due(conn, policy)
            if on_run is not None:
                on_run(report, delivered)
            due = store.next_due_in_s(conn)
            # Notifications come only from evaluations (this loop's): with none due, the
            # next evaluation is the next thing to do.
            until_run = next_run - time.monotonic()
            wait = max(0.05, until_run if due is None else min(until_run, due))
        except psycopg.Error as exc:
            log.warning("alert evaluation failed: %s", str(exc).strip().splitlines()[0]
                        if str(exc).strip() else type(exc).__name__)
            if conn is not None:
                conn.close()
            conn = None
            wait = min(every, 5.0)
        except Exception:
            # A bug or data no evaluator expected must not end alerting for everyone: logged
            # with its traceback, tried again at the next interval.
            log.exception("alert evaluation failed")
            wait = max(0.05, next_run - time.monotonic())
        stop.wait(wait)
    if conn is not None:
        conn.close()
