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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

SECONDS_PER_DAY = 86_400.0


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


def assess(fill: pd.Series, *, at: datetime, next_round: datetime,
           tilt: pd.Series | None = None, temperature: pd.Series | None = None,
           last_seen: datetime | None = None, policy: WastePolicy | None = None) -> BinStatus:
    """One bin at time ``at``: its fill, rate since the last emptying, forecast times to the
    threshold and to full, and whether it is due on the round that starts before
    ``next_round``: over the threshold now, or forecast to pass it before ``next_round``
    (Rotterdam's rule, docs/domain.md). ``last_seen`` (the newest uplink of any kind) decides
    staleness; without it the newest reading does. Readings after ``at`` are ignored."""
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
    fit = fill_rate(f, last_emptied, p)
    rate, level = (fit[0], min(max(fit[1], 0.0), p.full_pct)) if fit else (None, float(f.iloc[-1]))
    newest = float(f.iloc[-1])
    t_last = f.index[-1]
    # A reading already over a line counts whatever the fit says; else the fitted level
    # (robust to the newest reading's noise) is where the forecast starts.
    start_level = newest if newest >= p.threshold_pct else level
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
        stale=stale, last_seen=py(seen), fire_risk=fire[0], fire_reason=fire[1])
