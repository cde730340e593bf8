"""Water level: target level, deviation bands, rate-of-rise alarm, spike filter and a comparison
of measuring points (docs/domain.md, "Water level").

Pure functions over pandas Series of levels in m NAP indexed by time (a DatetimeIndex). Inputs
are cleaned the same way everywhere (:func:`clean`): NaN and infinite values, readings outside
the catalog's `water_level` range and duplicated times are dropped, so junk in the store never
raises anything but a clear ``ValueError`` (for a series that is not a time series at all).

Figures and where they come from:
- target levels per area (fixed, summer/winter, or a band): Rijnland's peilbesluit, e.g. the
  boezem at -0.61 m NAP in summer and -0.64 m NAP in winter;
- deviation bands 5 / 10 / 20 cm and the rise alarm at 5 cm/h: water board practice;
- spikes: an isolated reading far from the rolling median of its neighbours (Hampel filter,
  Hampel 1974; MAD scaled by 1.4826 to estimate a normal standard deviation).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd

#: The catalog's water_level range (m NAP): anything outside is a broken reading, not water.
LEVEL_MIN_NAP_M = -10.0
LEVEL_MAX_NAP_M = 10.0
#: Deviation from target, in cm, at which the water board's practice raises its attention.
DEVIATION_BANDS_CM = (5.0, 10.0, 20.0)
RISE_ALARM_CM_H = 5.0
#: Slope fitted over an hour: at 10-minute uplinks six readings, so one noisy reading moves
#: the rate by a fraction of the 3 mm sensor scatter per hour, not by the reading's own error.
RATE_WINDOW = pd.Timedelta(hours=1)
RATE_MIN_POINTS = 3
#: Hampel filter: a centred window of an hour, 4 scaled MADs, but never less than 3 cm, so the
#: sensor's own millimetre scatter on flat water (MAD near zero) is not taken for spikes.
SPIKE_WINDOW = pd.Timedelta(hours=1)
SPIKE_K = 4.0
SPIKE_MIN_M = 0.03
MAD_TO_SD = 1.4826
#: Summer level from 1 April, winter level from 1 October, as in Rijnland's peilbesluiten
#: (assumed dates; a gauge's config can move them).
SUMMER_FROM = (4, 1)
WINTER_FROM = (10, 1)


@dataclass(frozen=True, slots=True)
class Target:
    """A target level (m NAP): ``fixed``; or ``summer`` and ``winter``; or a band ``lower`` ..
    ``upper`` within which the water is on target."""

    fixed: float | None = None
    summer: float | None = None
    winter: float | None = None
    lower: float | None = None
    upper: float | None = None
    summer_from: tuple[int, int] = SUMMER_FROM
    winter_from: tuple[int, int] = WINTER_FROM

    def __post_init__(self) -> None:
        kinds = [self.fixed is not None, self.summer is not None or self.winter is not None,
                 self.lower is not None or self.upper is not None]
        if sum(kinds) != 1:
            raise ValueError("a target is exactly one of: fixed, summer/winter, lower/upper band")
        if kinds[1] and (self.summer is None or self.winter is None):
            raise ValueError("a seasonal target needs both summer and winter levels")
        if kinds[2] and (self.lower is None or self.upper is None or self.lower > self.upper):
            raise ValueError("a band needs lower <= upper")
        for v in (self.fixed, self.summer, self.winter, self.lower, self.upper):
            if v is not None and not LEVEL_MIN_NAP_M <= v <= LEVEL_MAX_NAP_M:
                raise ValueError(f"target {v} m NAP is outside {LEVEL_MIN_NAP_M}..{LEVEL_MAX_NAP_M}")
        for month, day in (self.summer_from, self.winter_from):
            date(2000, month, day)  # ValueError for a date that does not exist

    def band_at(self, when: datetime | pd.Timestamp) -> tuple[float, float]:
        """(lower, upper) target in m NAP at ``when``; equal for a single level."""
        if self.fixed is not None:
            return self.fixed, self.fixed
        if self.lower is not None and self.upper is not None:
            return self.lower, self.upper
        assert self.summer is not None and self.winter is not None
        summer = self.summer_from <= (when.month, when.day) < self.winter_from
        level = self.summer if summer else self.winter
        return level, level


def clean(levels: pd.Series) -> pd.Series:
    """Float levels (m NAP) sorted by time, without NaN/inf, out-of-range values or duplicated
    times (the first reading of a time is kept). ValueError if the index is not times."""
    if not isinstance(levels.index, pd.DatetimeIndex):
        raise ValueError("levels need a DatetimeIndex")
    values = pd.to_numeric(levels, errors="coerce").astype(float)
    ok = np.isfinite(values.to_numpy()) & values.between(LEVEL_MIN_NAP_M, LEVEL_MAX_NAP_M).to_numpy()
    out = values[ok & values.index.notna()]
    out = out[~out.index.duplicated(keep="first")].sort_index()
    if out.index.tz is None:
        out.index = out.index.tz_localize("UTC")
    return out


def filter_spikes(levels: pd.Series, *, window: pd.Timedelta = SPIKE_WINDOW, k: float = SPIKE_K,
                  min_deviation_m: float = SPIKE_MIN_M) -> tuple[pd.Series, int]:
    """Hampel filter (Hampel 1974): drop readings further than ``max(k * 1.4826 * MAD,
    min_deviation_m)`` from the median of the centred ``window``. A real rise moves the median
    with it and stays; an isolated spike does not. Returns (kept levels, readings removed)."""
    s = clean(levels)
    if s.empty:
        return s, 0
    median = s.rolling(window, center=True, min_periods=1).median()
    mad = (s - median).abs().rolling(window, center=True, min_periods=1).median()
    limit = np.maximum(k * MAD_TO_SD * mad, min_deviation_m)
    spike = (s - median).abs() > limit
    return s[~spike], int(spike.sum())


def rate_of_rise(levels: pd.Series, *, window: pd.Timedelta = RATE_WINDOW,
                 min_points: int = RATE_MIN_POINTS) -> pd.Series:
    """Rate of rise in cm/h at each reading: the least-squares slope of the readings in the
    trailing ``window`` (NaN with fewer than ``min_points``). A fit over several readings, not a
    difference of two, so one noisy reading cannot raise an alarm on its own."""
    s = clean(levels)
    if s.empty:
        return pd.Series(dtype=float, index=s.index)
    hours = pd.Series((s.index - s.index[0]) / pd.Timedelta(hours=1), index=s.index, dtype=float)
    roll_x = hours.rolling(window, min_periods=min_points)
    cov = s.rolling(window, min_periods=min_points).cov(hours)
    var = roll_x.var()
    slope = cov / var.where(var > 0)
    return slope * 100.0


@dataclass(frozen=True, slots=True)
class Alarm:
    start: pd.Timestamp
    end: pd.Timestamp
    max_rate_cm_h: float


def rise_alarms(rate_cm_h: pd.Series, threshold_cm_h: float = RISE_ALARM_CM_H,
                max_gap: pd.Timedelta = RATE_WINDOW) -> list[Alarm]:
    """Periods in which the rate of rise is at or above ``threshold_cm_h`` (default 5 cm/h,
    docs/domain.md): consecutive alarming readings, split where readings are more than
    ``max_gap`` apart."""
    if not np.isfinite(threshold_cm_h) or threshold_cm_h <= 0:
        raise ValueError("the rise threshold must be a positive number of cm/h")
    high = rate_cm_h[rate_cm_h >= threshold_cm_h].dropna()
    alarms: list[Alarm] = []
    if high.empty:
        return alarms
    times = high.index
    all_times = rate_cm_h.index
    # A new period starts where a reading below the threshold, or a long gap, lies in between.
    position = pd.Series(np.arange(len(all_times)), index=all_times)[~all_times.duplicated()]
    pos = position.reindex(times).to_numpy()
    gaps = np.diff(times.asi8) > max_gap.value if len(times) > 1 else np.array([], dtype=bool)
    breaks = np.flatnonzero((np.diff(pos) > 1) | gaps) + 1
    for chunk in np.split(np.arange(len(times)), breaks):
        part = high.iloc[chunk]
        alarms.append(Alarm(part.index[0], part.index[-1], float(part.max())))
    return alarms


def deviation(levels: pd.Series, target: Target) -> pd.Series:
    """Deviation from target in cm: above the upper target positive, below the lower target
    negative, zero within a band."""
    s = clean(levels)
    bands = [target.band_at(t) for t in s.index]
    lower = pd.Series([b[0] for b in bands], index=s.index, dtype=float)
    upper = pd.Series([b[1] for b in bands], index=s.index, dtype=float)
    dev = (s - upper).clip(lower=0) + (s - lower).clip(upper=0)
    return dev * 100.0


def deviation_band(deviation_cm: float, bands: tuple[float, ...] = DEVIATION_BANDS_CM) -> str:
    """The widest band the deviation reaches: "within 5 cm", ">= 5 cm", ">= 10 cm", ">= 20 cm"
    (water board practice, docs/domain.md)."""
    if not np.isfinite(deviation_cm):
        raise ValueError("deviation must be a finite number")
    reached = [b for b in sorted(bands) if abs(deviation_cm) >= b]
    if not reached:
        return f"within {sorted(bands)[0]:g} cm" if bands else "within target"
    return f">= {reached[-1]:g} cm"


def compare_gauges(levels: Mapping[str, pd.Series], *, reference: str | None = None,
                   tolerance: pd.Timedelta = pd.Timedelta(minutes=10)) -> pd.DataFrame:
    """Level differences (cm) of each measuring point from ``reference`` (default the first) at
    common times: every gauge's readings are averaged into ``tolerance`` buckets and only
    buckets where all gauges read are compared, so one gauge's gap is no false difference."""
    if not levels:
        raise ValueError("compare needs at least one gauge")
    ref = reference if reference is not None else next(iter(levels))
    if ref not in levels:
        raise ValueError(f"reference gauge {ref!r} is not among the gauges")
    if tolerance <= pd.Timedelta(0):
        raise ValueError("tolerance must be positive")
    frame = pd.DataFrame({name: clean(s).resample(tolerance).mean() for name, s in levels.items()})
    frame = frame.dropna()
    return frame.drop(columns=ref).sub(frame[ref], axis=0) * 100.0


def target_from_config(config: Mapping[str, object]) -> Target | None:
    """The gauge's target from its device config (decoders.config.WaterLevelConfig's
    ``target_*`` fields), or None when it has none."""
    def num(key: str) -> float | None:
        value = config.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{key} must be a number")
        return float(value)

    fixed, summer, winter = num("target_nap_m"), num("target_summer_nap_m"), num("target_winter_nap_m")
    lower, upper = num("target_lower_nap_m"), num("target_upper_nap_m")
    if all(v is None for v in (fixed, summer, winter, lower, upper)):
        return None
    return Target(fixed=fixed, summer=summer, winter=winter, lower=lower, upper=upper)
