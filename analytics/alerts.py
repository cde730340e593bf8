"""Alert conditions as pure functions over pandas series (no I/O): threshold rules with a
duration and hysteresis, offline devices, low battery, and classrooms over Frisse Scholen
class C for a lesson hour (docs/alerts.md).

Every evaluator answers with :class:`Episode` s, spans of time in which a condition held: the
runner (``alerts/runner.py``) turns each into one alert, open while its ``end`` is None. They
are computed from the readings alone, so evaluating the same readings twice gives the same
episodes (the runner's idempotence rests on this).

Hysteresis as in control engineering (a Schmitt trigger, IEC 60050-351 "hysteresis"): a rule
``value > 30`` with hysteresis 2 opens above 30 and closes only at or below 28, so a value
dithering around 30 raises one alert, not one per reading.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from analytics.classroom import FrisseScholen, Holidays, Timetable, in_lessons

Condition = Literal[">", ">=", "<", "<="]
CONDITIONS: tuple[Condition, ...] = (">", ">=", "<", "<=")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}

#: A device is offline after this many of its uplink intervals without an uplink.
OFFLINE_INTERVALS = 3.0
#: Low battery: at or below this charge (%), cleared above it plus the hysteresis. 20 % is the
#: common "replace soon" level of LoRaWAN sensor vendors' apps (practice, not a standard).
LOW_BATTERY_PCT = 20.0
LOW_BATTERY_HYSTERESIS_PCT = 5.0
#: Classroom: CO2 over class C for this long within lesson time.
CLASSROOM_OVER_C_FOR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ThresholdRule:
    """``value <condition> threshold`` held for ``duration``; cleared once the value is back
    past ``threshold`` -/+ ``hysteresis`` (towards the safe side)."""

    condition: Condition
    threshold: float
    duration: timedelta = timedelta(0)
    hysteresis: float = 0.0

    def __post_init__(self) -> None:
        if self.condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {' '.join(CONDITIONS)}")
        if not np.isfinite(self.threshold):
            raise ValueError("threshold must be a finite number")
        if not np.isfinite(self.hysteresis) or self.hysteresis < 0:
            raise ValueError("hysteresis must be a finite number >= 0")
        if self.duration < timedelta(0):
            raise ValueError("duration must not be negative")

    @property
    def clear_level(self) -> float:
        """The level the value must be back past for the alert to clear."""
        upward = self.condition in (">", ">=")
        return self.threshold - self.hysteresis if upward else self.threshold + self.hysteresis


@dataclass(frozen=True, slots=True)
class Episode:
    """A span in which a condition held. ``start``: when it began to hold (the first reading
    that met it); ``end``: the first reading that cleared it, None while it still holds.
    ``value``: the most extreme value of the span (highest for an upward condition)."""

    start: datetime
    end: datetime | None
    value: float | None


def clean(series: pd.Series) -> pd.Series:
    """Finite float values on a sorted, duplicate-free UTC DatetimeIndex (the last value of a
    time wins). A series that is not indexed by time is a ValueError."""
    if series.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError("the series needs a DatetimeIndex")
    s = pd.to_numeric(series, errors="coerce").astype(float)
    s = s[np.isfinite(s.to_numpy()) & s.index.notna()]
    s.index = s.index.tz_localize("UTC") if s.index.tz is None else s.index.tz_convert("UTC")
    return s[~s.index.duplicated(keep="last")].sort_index()


def _py(ts: pd.Timestamp) -> datetime:
    out: datetime = ts.floor("us").to_pydatetime()
    return out


def spans(times: pd.DatetimeIndex, holds: np.ndarray, clears: np.ndarray,
          values: np.ndarray, *, duration: timedelta = timedelta(0), upward: bool = True,
          active_since: datetime | None = None) -> list[Episode]:
    """Episodes of a two-level trigger over readings at ``times``: a candidate starts at the
    first reading where ``holds``; it becomes an episode once it has held, reading after
    reading, for ``duration`` (``duration`` 0: at once); a reading that does not hold before
    then drops the candidate. An episode ends at the first reading where ``clears``.
    ``active_since``: an episode already under way when the readings begin (an open alert),
    ended only by a clearing reading."""
    out: list[Episode] = []
    pick = max if upward else min
    candidate: int | None = None
    active = active_since is not None
    start: datetime | None = active_since
    extreme: float | None = None
    for i in range(len(times)):
        v = float(values[i])
        if active:
            if clears[i]:
                assert start is not None
                out.append(Episode(start, _py(times[i]), extreme))
                active, start, extreme = False, None, None
            else:
                if np.isfinite(v):
                    extreme = v if extreme is None else pick(extreme, v)
                continue
        if not holds[i]:
            candidate = None
            continue
        if candidate is None:
            candidate = i
        if times[i] - times[candidate] >= pd.Timedelta(duration):
            active, start = True, _py(times[candidate])
            held = values[candidate:i + 1]
            held = held[np.isfinite(held)]
            extreme = float(pick(held)) if len(held) else None
            candidate = None
    if active:
        assert start is not None
        out.append(Episode(start, None, extreme))
    return out


def threshold_episodes(series: pd.Series, rule: ThresholdRule, *,
                       active_since: datetime | None = None) -> list[Episode]:
    """Episodes of a threshold rule over ``series`` (see :class:`ThresholdRule`)."""
    s = clean(series)
    values = s.to_numpy()
    op = _OPS[rule.condition]
    holds = np.asarray(op(values, rule.threshold), dtype=bool)
    clears = ~np.asarray(op(values, rule.clear_level), dtype=bool)
    return spans(pd.DatetimeIndex(s.index), holds, clears, values, duration=rule.duration,
                 upward=rule.condition in (">", ">="), active_since=active_since)


def low_battery_episodes(battery_pct: pd.Series, *, level: float = LOW_BATTERY_PCT,
                         hysteresis: float = LOW_BATTERY_HYSTERESIS_PCT,
                         active_since: datetime | None = None) -> list[Episode]:
    """Low battery: charge at or below ``level`` %, cleared above ``level + hysteresis``
    (a fresh battery, not a warm afternoon's few percent)."""
    return threshold_episodes(battery_pct, ThresholdRule("<=", level, timedelta(0), hysteresis),
                              active_since=active_since)


def offline_since(last_seen: datetime | None, interval_s: float | None, now: datetime, *,
                  intervals: float = OFFLINE_INTERVALS) -> datetime | None:
    """When the device counts as offline: ``intervals`` uplink intervals after the last
    uplink, if that moment lies at or before ``now``; None while it is online, or when its
    interval or last uplink is unknown (a device never heard cannot go silent)."""
    if last_seen is None or interval_s is None or not np.isfinite(interval_s) or interval_s <= 0:
        return None
    since = last_seen + timedelta(seconds=intervals * interval_s)
    return since if since <= now else None


def uplink_interval_s(times: pd.DatetimeIndex | list[datetime]) -> float | None:
    """A device's usual uplink interval: the median gap between its uplinks (robust to the one
    long gap an alert is about), None with fewer than two."""
    idx = pd.DatetimeIndex(times).dropna().sort_values().unique()
    if len(idx) < 2:
        return None
    # In seconds whatever the index's unit (pandas 2 keeps microseconds from datetimes).
    gaps = np.diff(idx.as_unit("ns").asi8) / 1e9
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else None


def classroom_over_c_episodes(co2: pd.Series, *, timetable: Timetable | None = None,
                              holidays: Holidays = (), limits: FrisseScholen | None = None,
                              lasting: timedelta = CLASSROOM_OVER_C_FOR,
                              active_since: datetime | None = None) -> list[Episode]:
    """CO2 above Frisse Scholen class C (1200 ppm, Programma van Eisen Frisse Scholen 2021)
    through ``lasting`` (a lesson hour) of lesson time: readings outside lesson time, or in a
    lower class, end it (analytics.classroom's timetable and holidays)."""
    lim = limits or FrisseScholen()
    s = clean(co2)
    c_limit = lim.co2_limits["C"] + (lim.outdoor_ppm if lim.relative else 0.0)
    lessons = in_lessons(pd.DatetimeIndex(s.index), timetable, holidays)
    holds = (s.to_numpy() > c_limit) & lessons
    return spans(pd.DatetimeIndex(s.index), holds, ~holds, s.to_numpy(), duration=lasting,
                 active_since=active_since)


def rise_episodes(times: pd.DatetimeIndex, rate_cm_h: pd.Series, threshold_cm_h: float, *,
                  active_since: datetime | None = None) -> list[Episode]:
    """Water rising at or above ``threshold_cm_h`` (analytics.water's rate of rise, default
    5 cm/h, docs/domain.md "Water level"): an episode from the first alarming rate to the first
    rate below it (NaN rates, too few readings for a slope, neither start nor end one)."""
    rate = rate_cm_h.reindex(times)
    values = rate.to_numpy(dtype=float)
    known = np.isfinite(values)
    holds = known & (values >= threshold_cm_h)
    clears = known & (values < threshold_cm_h)
    return spans(times, holds, clears, np.where(known, values, -np.inf),
                 active_since=active_since)
