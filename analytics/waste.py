"""Waste bins: emptyings, fill rate, time to full, due, stale and fire risk (issue 11).

Pure functions over pandas series (no I/O). Every figure is a parameter of `WastePolicy` with
its default and source in docs/domain.md, "Waste bins":

- emptied: a tilt event, or a drop of >= 30 percentage points of fill;
- collection threshold 80 %, and Rotterdam's rule: a bin forecast to pass it before the next
  round goes on this round (the "60 % today / 80 % tomorrow" rule);
- stale sensor: no uplink for 24 h;
- fire risk (*practice*): temperature above 60 °C or a rise of more than 10 °C in an hour.

The fill rate since the last emptying is the Theil-Sen estimator (the median of the slopes of
all pairs of points; Sen 1968, "Estimates of the regression coefficient based on Kendall's
tau", JASA 63:1379-1389): a lump of refuse or a misread distance moves it far less than a
least-squares line.

Once the bin's history covers three weeks (``pattern_min_history``), the forecast follows the
bin's own weekly rhythm (shopping hours, Friday and Saturday nights): :func:`weekly_profile`
estimates a relative fill rate per weekday and hour of the day (local time) from the
increments between readings outside emptyings, winsorised so a lump of refuse counts as an
ordinary reading, and the Theil-Sen fit then runs on "activity time" (the integral of that
profile) instead of clock time, so an evening rush or a quiet Sunday moves the forecast the way
it moves the bin (a seasonal index, as in classical decomposition; Hyndman & Athanasopoulos,
"Forecasting: principles and practice", 3rd ed., ch. 3).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

SECONDS_PER_DAY = 86_400.0
HOURS_PER_WEEK = 168

#: How much of a bin's history an assessment reads (the API, the route plans, the alert runner
#: and Grafana's due list alike): four weeks, since the forecast follows a bin's weekly rhythm
#: once it has three weeks of readings (``WastePolicy.pattern_min_history``), and a week more
#: keeps that true right after an outage.
HISTORY = timedelta(days=28)


@dataclass(frozen=True)
class WastePolicy:
    """The thresholds of the analysis; defaults from docs/domain.md, "Waste bins"."""

    threshold_pct: float = 80.0  # collect at or above this fill
    full_pct: float = 100.0
    emptied_drop_pct: float = 30.0  # a fall of this many points between readings is an emptying
    stale_after: timedelta = timedelta(hours=24)
    fire_temperature_c: float = 60.0
    fire_rise_c_per_hour: float = 10.0
    #: The fit uses at most this many points (evenly spaced): pairwise slopes are O(n^2).
    max_fit_points: int = 400
    #: A rate needs this many readings since the emptying and this much time between them.
    min_fit_points: int = 3
    min_fit_span: timedelta = timedelta(hours=2)
    #: The weekday pattern needs this much history (three weeks: each hour of the week seen
    #: three times) and is read in this time zone (refuse follows local shop hours).
    pattern_min_history: timedelta = timedelta(days=21)
    pattern_timezone: str = "Europe/Amsterdam"
    #: With the pattern, the rate is the cycle's own Theil-Sen slope and the history's mean
    #: rate, weighted by the cycle's length against this: after a week since the emptying the
    #: two count alike (on the waste scenario a week beat 1 and 3 days, tests/analytics).
    pattern_history_weight: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        for name in ("threshold_pct", "full_pct", "emptied_drop_pct", "fire_temperature_c",
                     "fire_rise_c_per_hour"):
            if not np.isfinite(getattr(self, name)):
                raise ValueError(f"{name} must be a finite number")
        if not 0 < self.threshold_pct <= self.full_pct:
            raise ValueError("threshold_pct must be in (0, full_pct]")
        if self.emptied_drop_pct <= 0:
            raise ValueError("emptied_drop_pct must be positive")
        if self.max_fit_points < 2 or self.min_fit_points < 2:
            raise ValueError("a fit needs at least two points")
        if self.pattern_history_weight <= timedelta(0):
            raise ValueError("pattern_history_weight must be positive")
        try:
            ZoneInfo(self.pattern_timezone)
        except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown time zone {self.pattern_timezone!r}") from exc


@dataclass(frozen=True)
class BinStatus:
    """What the beheer team needs to know of one bin at ``at``."""

    fill_pct: float | None  # newest reading
    rate_pct_per_day: float | None  # Theil-Sen slope since the last emptying
    last_emptied: datetime | None
    full_at: datetime | None  # forecast: reaches full_pct (now, if it already has)
    threshold_at: datetime | None  # forecast: reaches threshold_pct
    due: bool
    due_reason: str | None  # "over-threshold" or "forecast-over-threshold"
    stale: bool
    last_seen: datetime | None
    fire_risk: bool | None  # None: the sensor reports no temperature
    fire_reason: str | None
    #: How the forecast was made: "theil-sen" (clock time) or "weekday-pattern" (>= three
    #: weeks of history; ``rate_pct_per_day`` is then the rate of an average hour of the week).
    rate_basis: str = "theil-sen"


def clean(series: pd.Series, *, low: float | None = None, high: float | None = None
          ) -> pd.Series:
    """A series as the analysis needs it: float values on a sorted UTC DatetimeIndex without
    duplicate times (the newest value of a time wins), NaN and infinities dropped, values
    clipped to [low, high]. Anything that is not a time-indexed series is a ValueError."""
    if not isinstance(series, pd.Series):
        raise ValueError("expected a pandas Series indexed by time")
    if len(series) == 0:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    try:
        index = pd.DatetimeIndex(series.index)
        values = pd.to_numeric(series, errors="coerce").to_numpy(dtype=float)
    except (TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"expected numbers indexed by time: {exc}") from exc
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    out = pd.Series(values, index=index)
    out = out[np.isfinite(out.to_numpy()) & out.index.notna()]
    out = out[~out.index.duplicated(keep="last")].sort_index()
    if low is not None or high is not None:
        out = out.clip(lower=low, upper=high)
    return out


def emptyings(fill: pd.Series, tilt: pd.Series | None = None,
              policy: WastePolicy | None = None) -> pd.DatetimeIndex:
    """Times a bin was emptied: a tilt reading > 0 (the lid tilts when the truck lifts the
    bin), or a fill reading at least ``emptied_drop_pct`` points below the one before it
    (docs/domain.md, "Waste bins")."""
    p = policy or WastePolicy()
    f = clean(fill, low=0.0, high=p.full_pct)
    drops = f.index[1:][np.diff(f.to_numpy()) <= -p.emptied_drop_pct] if len(f) > 1 else f.index[:0]
    times = pd.DatetimeIndex(drops)
    if tilt is not None:
        t = clean(tilt)
        times = times.union(pd.DatetimeIndex(t.index[t.to_numpy() > 0]))
    return times.sort_values()


def theil_sen(x: np.ndarray, y: np.ndarray, max_points: int = 400) -> tuple[float, float]:
    """Slope and intercept by Theil-Sen (Sen 1968): the median of the slopes of all pairs with
    distinct x, and the median of ``y - slope * x``. Above ``max_points`` points an evenly
    spaced sample of them is used, so the cost stays bounded."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be one-dimensional and of equal length")
    keep = np.isfinite(x) & np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) > max_points:
        pick = np.unique(np.linspace(0, len(x) - 1, max_points).round().astype(int))
        x, y = x[pick], y[pick]
    i, j = np.triu_indices(len(x), k=1)
    dx = x[j] - x[i]
    ok = dx != 0
    if not ok.any():
        raise ValueError("a slope needs two points at different x")
    slopes = (y[j][ok] - y[i][ok]) / dx[ok]
    slope = float(np.median(slopes))
    return slope, float(np.median(y - slope * x))


def fill_rate(fill: pd.Series, since: datetime | None = None,
              policy: WastePolicy | None = None) -> tuple[float, float] | None:
    """Fill rate in percentage points per day since ``since`` (the last emptying; None: the
    whole series), by Theil-Sen, and the fitted fill at the newest reading. None when there
    are too few readings or too short a span to tell."""
    p = policy or WastePolicy()
    f = clean(fill, low=0.0, high=p.full_pct)
    if since is not None:
        f = f[f.index >= pd.Timestamp(since)]
    if len(f) < p.min_fit_points or f.index[-1] - f.index[0] < p.min_fit_span:
        return None
    days = (f.index - f.index[-1]).total_seconds().to_numpy() / SECONDS_PER_DAY
    slope, intercept = theil_sen(days, f.to_numpy(), p.max_fit_points)
    return slope, intercept  # the intercept is the fitted fill at the newest reading (x = 0)


def weekly_profile(fill: pd.Series, tilt: pd.Series | None = None,
                   policy: WastePolicy | None = None) -> np.ndarray | None:
    """See :func:`weekly_pattern`; the profile alone."""
    found = weekly_pattern(fill, tilt, policy)
    return None if found is None else found[0]


def weekly_pattern(fill: pd.Series, tilt: pd.Series | None = None,
                   policy: WastePolicy | None = None) -> tuple[np.ndarray, float] | None:
    """Relative fill rate per hour of the week (168 values, Monday 00-01 local first, mean 1),
    or None with less than ``pattern_min_history`` of readings.

    Built from the increments between consecutive readings (rate per hour, assigned to the
    interval's local weekday and hour), leaving out intervals that hold an emptying, a gap of
    more than six hours, or a reading at full (a full bin stops rising). Lumps are winsorised
    within each hour of the day at the median +- 3.5 scaled MADs (Hampel's bounds) before the
    means, so one dumped bag is an ordinary reading. The profile is the product of a weekday
    factor and an hour-of-day factor (the weekly seasonal index of classical decomposition;
    three weeks give each hour of the day 21 samples but each hour of the week only three).
    Also returns the history's mean fill rate (percentage points per day, lumps included: the
    mean of the increments is what fills the bin)."""
    p = policy or WastePolicy()
    f = clean(fill, low=0.0, high=p.full_pct)
    if len(f) < 3 or f.index[-1] - f.index[0] < pd.Timedelta(p.pattern_min_history):
        return None
    empties = emptyings(f, tilt, p)
    times = f.index
    hours = np.diff(times.as_unit("ns").asi8) / 3.6e12
    rise = np.diff(f.to_numpy())
    values = f.to_numpy()
    ok = ((hours > 0) & (hours <= 6) & ~times[1:].isin(empties)
          & (rise > -p.emptied_drop_pct) & (values[1:] < p.full_pct - 1)
          & (values[:-1] < p.full_pct - 1))
    if ok.sum() < HOURS_PER_WEEK:
        return None
    rate = rise[ok] / hours[ok]
    mean_rate = float(rise[ok].sum() / hours[ok].sum()) * 24.0
    middle = pd.DatetimeIndex(times[:-1][ok] + (times[1:][ok] - times[:-1][ok]) / 2)
    local = middle.tz_convert(ZoneInfo(p.pattern_timezone))
    hour = local.hour.to_numpy()
    day = local.day_of_week.to_numpy()
    # numpy per hour of the day rather than a pandas groupby-transform: the sensor-driven replay
    # (simulators/waste_replay.py) assesses every bin every morning, and this was most of it.
    clipped = rate.copy()
    for h in np.unique(hour):
        sel = hour == h
        centre = np.median(rate[sel])
        spread = 3.5 * 1.4826 * np.median(np.abs(rate[sel] - centre))
        clipped[sel] = np.clip(rate[sel], centre - spread, centre + spread)
    overall = float(clipped.mean())
    if not np.isfinite(overall) or overall <= 0:
        return None
    with np.errstate(invalid="ignore", divide="ignore"):  # an hour or day without data: NaN
        hour_factor = (np.bincount(hour, clipped, 24) / np.bincount(hour, minlength=24)) / overall
        day_factor = (np.bincount(day, clipped, 7) / np.bincount(day, minlength=7)) / overall
    if np.isnan(hour_factor).any() or np.isnan(day_factor).any():
        return None
    profile = np.outer(day_factor, hour_factor).ravel()
    # Noise can make a quiet hour's mean negative; refuse never leaves a bin, so keep a floor
    # that still lets the forecast move through the night.
    profile = np.clip(profile, 0.05, None)
    return np.asarray(profile / profile.mean(), dtype=float), mean_rate


class _ActivityClock:
    """Time measured in "activity days": the integral of the weekly profile (mean 1 per hour),
    so one activity day passes in a quiet night-and-morning slower than in a busy afternoon."""

    def __init__(self, profile: np.ndarray, zone: ZoneInfo, start: pd.Timestamp,
                 end: pd.Timestamp) -> None:
        first = start.floor("h")
        hours = int(np.ceil((end - first) / pd.Timedelta(hours=1))) + 1
        self.grid = pd.date_range(first, periods=hours + 1, freq="h").as_unit("ns")
        local = self.grid[:-1].tz_convert(zone)
        weights = profile[local.day_of_week.to_numpy() * 24 + local.hour.to_numpy()]
        self.cumulative = np.r_[0.0, np.cumsum(weights)] / 24.0
        self.seconds = self.grid.asi8 / 1e9

    def days(self, times: pd.DatetimeIndex) -> np.ndarray:
        return np.asarray(np.interp(times.as_unit("ns").asi8 / 1e9, self.seconds,
                                    self.cumulative))

    def after(self, start: pd.Timestamp, activity_days: float) -> pd.Timestamp | None:
        target = self.days(pd.DatetimeIndex([start]))[0] + activity_days
        if target > self.cumulative[-1]:
            return None
        return pd.Timestamp(float(np.interp(target, self.cumulative, self.seconds)), unit="s",
                            tz="UTC")


def fire_risk(temperature: pd.Series, policy: WastePolicy | None = None
              ) -> tuple[bool, str | None]:
    """Fire risk from the newest temperature: above ``fire_temperature_c``, or risen more than
    ``fire_rise_c_per_hour`` within the last hour (docs/domain.md, "Waste bins", *practice*)."""
    p = policy or WastePolicy()
    t = clean(temperature)
    if len(t) == 0:
        return False, None
    newest = float(t.iloc[-1])
    if newest > p.fire_temperature_c:
        return True, f"temperature {newest:.1f} °C above {p.fire_temperature_c:g} °C"
    hour_before = t[t.index >= t.index[-1] - pd.Timedelta(hours=1)]
    rise = newest - float(hour_before.min())
    if rise > p.fire_rise_c_per_hour:
        return True, f"temperature rose {rise:.1f} °C within an hour"
    return False, None


def _after(start: pd.Timestamp, pct_from: float, pct_to: float, rate: float | None
           ) -> pd.Timestamp | None:
    if pct_from >= pct_to:
        return start
    if rate is None or rate <= 0:
        return None
    days = (pct_to - pct_from) / rate
    if days > 3650:  # ten years out is "not in any plan", and keeps Timestamp in range
        return None
    return start + pd.Timedelta(days=days)


def _after_activity(clock: _ActivityClock, start: pd.Timestamp, pct_from: float, pct_to: float,
                    rate: float) -> pd.Timestamp | None:
    if pct_from >= pct_to:
        return start
    days = (pct_to - pct_from) / rate
    if days > 3650:
        return None
    return clock.after(start, days)


def assess(fill: pd.Series, *, at: datetime, next_round: datetime,
           tilt: pd.Series | None = None, temperature: pd.Series | None = None,
           last_seen: datetime | None = None, policy: WastePolicy | None = None,
           use_pattern: bool = True) -> BinStatus:
    """One bin at time ``at``: its fill, rate since the last emptying, forecast times to the
    threshold and to full, and whether it is due on the round that starts before
    ``next_round``: over the threshold now, or forecast to pass it before ``next_round``
    (Rotterdam's rule, docs/domain.md). ``last_seen`` (the newest uplink of any kind) decides
    staleness; without it the newest reading does. Readings after ``at`` are ignored.

    With ``pattern_min_history`` of readings (three weeks) and ``use_pattern``, the rate and
    the forecasts follow the bin's weekly profile (:func:`weekly_profile`): Theil-Sen on
    activity time since the last emptying; before that, Theil-Sen on clock time."""
    p = policy or WastePolicy()
    now = pd.Timestamp(at)
    if now.tzinfo is None:
        raise ValueError("`at` must be timezone-aware")
    horizon = pd.Timestamp(next_round)
    if horizon.tzinfo is None:
        raise ValueError("`next_round` must be timezone-aware")
    f = clean(fill, low=0.0, high=p.full_pct)
    f = f[f.index <= now]
    tl = None if tilt is None else clean(tilt)
    if tl is not None:
        tl = tl[tl.index <= now]
    seen = pd.Timestamp(last_seen) if last_seen is not None else (
        f.index[-1] if len(f) else None)
    stale = seen is None or now - seen > pd.Timedelta(p.stale_after)
    fire: tuple[bool | None, str | None] = (None, None)
    if temperature is not None:
        temps = clean(temperature)
        temps = temps[temps.index <= now]
        if len(temps):
            fire = fire_risk(temps, p)
    if len(f) == 0:
        return BinStatus(None, None, None, None, None, False, None, stale,
                         seen.floor("us").to_pydatetime() if seen is not None else None, *fire)
    empties = emptyings(f, tl, p)
    last_emptied = empties[-1] if len(empties) else None
    newest = float(f.iloc[-1])
    t_last = f.index[-1]
    pattern = weekly_pattern(f, tl, p) if use_pattern else None
    profile = None
    fit = clock = None
    if pattern is not None:
        profile, history_rate = pattern
        since = f if last_emptied is None else f[f.index >= last_emptied]
        clock = _ActivityClock(profile, ZoneInfo(p.pattern_timezone), since.index[0],
                               t_last + pd.Timedelta(days=8))
        x = clock.days(pd.DatetimeIndex(since.index))
        if len(since) < p.min_fit_points or since.index[-1] - since.index[0] < p.min_fit_span:
            # Just emptied: the history knows the rate, the newest reading the level.
            fit = history_rate, newest
        else:
            cycle_rate = theil_sen(x - x[-1], since.to_numpy(), p.max_fit_points)[0]
            # A cycle of a few hours says little about the rate; the history's mean rate
            # says much. Weigh them by the cycle's length (in activity time) against
            # ``pattern_history_weight``.
            span = (x[-1] - x[0]) * SECONDS_PER_DAY
            weight = span / (span + pd.Timedelta(p.pattern_history_weight).total_seconds())
            blended = weight * cycle_rate + (1 - weight) * history_rate
            fit = blended, float(np.median(since.to_numpy() - blended * (x - x[-1])))
    if fit is None:
        clock = None
        fit = fill_rate(f, last_emptied, p)
    rate, level = (fit[0], min(max(fit[1], 0.0), p.full_pct)) if fit else (None, newest)
    # A reading already over a line counts whatever the fit says; else the fitted level
    # (robust to the newest reading's noise) is where the forecast starts.
    start_level = newest if newest >= p.threshold_pct else level
    if clock is not None and rate is not None and rate > 0:
        # The clock runs in activity days; extend it past the furthest forecast (a week of
        # activity days passes in exactly a week, so the need plus a week is enough).
        need = (p.full_pct - min(start_level, level)) / rate
        if need <= 3650 and profile is not None:
            clock = _ActivityClock(profile, ZoneInfo(p.pattern_timezone), t_last,
                                   t_last + pd.Timedelta(days=need + 8))
        threshold_at = _after_activity(clock, t_last, start_level, p.threshold_pct, rate)
        full_at = _after_activity(clock, t_last, newest if newest >= p.full_pct else level,
                                  p.full_pct, rate)
    else:
        threshold_at = _after(t_last, start_level, p.threshold_pct, rate)
        full_at = _after(t_last, newest if newest >= p.full_pct else level, p.full_pct, rate)
    if newest >= p.threshold_pct:
        due, reason = True, "over-threshold"
    elif threshold_at is not None and threshold_at <= horizon:
        due, reason = True, "forecast-over-threshold"
    else:
        due, reason = False, None

    def py(ts: pd.Timestamp | None) -> datetime | None:
        return None if ts is None else ts.floor("us").to_pydatetime()

    return BinStatus(
        fill_pct=newest, rate_pct_per_day=rate, last_emptied=py(last_emptied),
        full_at=py(full_at), threshold_at=py(threshold_at), due=due, due_reason=reason,
        stale=stale, last_seen=py(seen), fire_risk=fire[0], fire_reason=fire[1],
        rate_basis="theil-sen" if clock is None else "weekday-pattern")
