"""Classroom air quality in Frisse Scholen classes (Meet de Klas).

CO2 classes from the Programma van Eisen Frisse Scholen (2021): A <= 800 ppm, B <= 950 ppm,
C <= 1200 ppm (C for existing buildings only); the 2021 edition also states the limits as ppm
above outdoor air (default 420 ppm), so both are offered. Temperature comfort 18-22 C
(docs/domain.md, "Classrooms"). Every limit is a parameter with the programme's figure as default;
:data:`NORMS` is the one table of them with their sources.

Shares are counted over lesson time only (:class:`Timetable`, holidays): nights and weekends
are near outdoor air and would hide a room that is stuffy all through its lessons. Ventilation
is estimated by the CO2 decay method (Batterman 2017, doi 10.3390/ijerph14020145).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

OUTDOOR_CO2_PPM = 420.0
#: Bouwbesluit fresh-air minimum per person, dm3/s (docs/domain.md, "Classrooms").
VENTILATION_NEW_DM3_S = 8.5
VENTILATION_EXISTING_DM3_S = 3.44
#: Decay method (Batterman 2017): fit only while C - C_out exceeds this, over at least this long.
DECAY_MIN_EXCESS_PPM = 100.0
DECAY_MIN_MINUTES = 20.0
#: Longest decay window fitted: the building's ventilation regime changes within hours of the
#: end of the school day (ventilation switched off), and a fit across it mixes two rates.
DECAY_MAX_MINUTES = 120.0
#: Fits worse than this are not an exponential decay (a door opened, someone came back).
DECAY_MIN_R2 = 0.9


@dataclass(frozen=True, slots=True)
class Norm:
    """One limit of the norms table: what it bounds, its value, and where it comes from."""

    key: str
    metric: str
    low: float | None
    high: float | None
    unit: str
    source: str


#: The one norms table (docs/domain.md, "Classrooms").
NORMS: tuple[Norm, ...] = (
    Norm("co2_class_a", "co2", None, 800.0, "ppm", "Programma van Eisen Frisse Scholen 2021, klasse A"),
    Norm("co2_class_b", "co2", None, 950.0, "ppm", "Programma van Eisen Frisse Scholen 2021, klasse B"),
    Norm("co2_class_c", "co2", None, 1200.0, "ppm",
         "Programma van Eisen Frisse Scholen 2021, klasse C (existing buildings)"),
    Norm("co2_meter_orange", "co2", None, 1000.0, "ppm", "Bouwbesluit classroom CO2 meter, orange"),
    Norm("co2_meter_red", "co2", None, 1200.0, "ppm", "Bouwbesluit classroom CO2 meter, red"),
    Norm("temperature_comfort", "temperature", 18.0, 22.0, "Cel",
         "Programma van Eisen Frisse Scholen 2021, comfort band"),
    Norm("temperature_too_warm", "temperature", None, 25.0, "Cel",
         "Programma van Eisen Frisse Scholen 2021; performance drops above 25 C"),
    Norm("humidity_comfort", "humidity", 35.0, 70.0, "%RH",
         "Programma van Eisen Frisse Scholen 2021, relative humidity band"),
    Norm("ventilation_new", "ventilation", VENTILATION_NEW_DM3_S, None, "dm3/s per person",
         "Bouwbesluit 2012 / Besluit bouwwerken leefomgeving, new schools"),
    Norm("ventilation_existing", "ventilation", VENTILATION_EXISTING_DM3_S, None,
         "dm3/s per person", "Bouwbesluit 2012 / Besluit bouwwerken leefomgeving, existing schools"),
)


@dataclass(frozen=True)
class FrisseScholen:
    """Class limits; ``relative=True`` reads them as ppm above ``outdoor_ppm``."""

    co2_limits: dict[str, float] = field(default_factory=lambda: {"A": 800.0, "B": 950.0,
                                                                   "C": 1200.0})
    relative: bool = False
    outdoor_ppm: float = OUTDOOR_CO2_PPM


@dataclass(frozen=True)
class Timetable:
    """When pupils are in class: the same hours on ``weekdays`` (Monday = 0), local time, with
    per-weekday end times in ``end_by_weekday`` (a free Wednesday afternoon)."""

    start: time = time(8, 30)
    end: time = time(15, 0)
    weekdays: tuple[int, ...] = (0, 1, 2, 3, 4)
    end_by_weekday: dict[int, time] = field(default_factory=dict)
    timezone: str = "Europe/Amsterdam"

    def end_on(self, weekday: int) -> time:
        return self.end_by_weekday.get(weekday, self.end)


#: Holidays as inclusive (first day, last day) ranges of local dates; none by default.
Holidays = Sequence[tuple[date, date]]


def co2_class(ppm: float, limits: FrisseScholen | None = None) -> str:
    """The best Frisse Scholen class the value meets: "A", "B", "C", or "-" (none)."""
    lim = limits or FrisseScholen()
    value = ppm - lim.outdoor_ppm if lim.relative else ppm
    for name, limit in sorted(lim.co2_limits.items(), key=lambda kv: kv[1]):
        if value <= limit:
            return name
    return "-"


def clean(series: pd.Series) -> pd.Series:
    """A series the analytics can trust: finite float values on a sorted, duplicate-free UTC
    DatetimeIndex (the last of duplicated times wins). Raises ValueError for a non-time index."""
    if series.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], tz="UTC"))
    if not isinstance(series.index, pd.DatetimeIndex):
        raise ValueError("the series needs a DatetimeIndex")
    s = pd.to_numeric(series, errors="coerce").astype(float)
    s = s[np.isfinite(s.to_numpy())]
    idx = s.index
    s.index = idx.tz_localize("UTC") if idx.tz is None else idx.tz_convert("UTC")
    s = s[~s.index.isna()]
    return s[~s.index.duplicated(keep="last")].sort_index()


def _held_seconds(s: pd.Series, cap_s: float | None) -> pd.Series:
    times = s.index.to_series()
    held = (times.shift(-1) - times).dt.total_seconds()
    # The last reading holds as long as the median interval.
    held.iloc[-1] = held.iloc[:-1].median() if len(held) > 1 else 1.0
    if cap_s is not None:
        # A gap in the uplinks is not time the last reading held.
        held = held.clip(upper=cap_s)
    return held


def class_shares(co2: pd.Series, limits: FrisseScholen | None = None) -> dict[str, float]:
    """Share of time (0..1) spent in each class, weighting each reading by how long it held
    (until the next reading), so an irregular uplink interval does not skew the result."""
    s = clean(co2)
    if s.empty:
        return {}
    return _shares(s, _held_seconds(s, None), limits)


def _shares(s: pd.Series, held: pd.Series, limits: FrisseScholen | None) -> dict[str, float]:
    classes = s.map(lambda v: co2_class(float(v), limits))
    totals = held.groupby(classes.to_numpy()).sum()
    whole = float(totals.sum())
    return {str(k): float(v) / whole for k, v in totals.items()} if whole > 0 else {}


def uplink_interval_s(series: pd.Series) -> float | None:
    """The device's usual uplink interval: the median spacing of its readings."""
    s = clean(series)
    if len(s) < 2:
        return None
    return float(s.index.to_series().diff().dt.total_seconds().median())


def in_lessons(index: pd.DatetimeIndex, timetable: Timetable | None = None,
               holidays: Holidays = ()) -> np.ndarray:
    """Which times fall in lesson time (timetable days and hours, outside holidays)."""
    tt = timetable or Timetable()
    if len(index) == 0:
        return np.zeros(0, dtype=bool)
    local = index.tz_convert(ZoneInfo(tt.timezone))
    seconds = (local.hour * 3600 + local.minute * 60 + local.second).to_numpy()
    weekday = local.day_of_week.to_numpy()
    start = tt.start.hour * 3600 + tt.start.minute * 60
    end = np.array([_sec(tt.end_on(int(w))) for w in weekday])
    mask = np.isin(weekday, tt.weekdays) & (seconds >= start) & (seconds < end)
    if holidays:
        days = np.array(local.date)
        for first, last in holidays:
            mask &= ~((days >= first) & (days <= last))
    return np.asarray(mask, dtype=bool)


def _sec(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def lesson_class_shares(co2: pd.Series, *, timetable: Timetable | None = None,
                        holidays: Holidays = (), interval_s: float | None = None,
                        limits: FrisseScholen | None = None) -> dict[str, float]:
    """Share of lesson time (0..1) in each Frisse Scholen class. Each reading counts for the
    time until the next one, capped at twice the uplink interval (``interval_s``, default the
    median spacing) so that gaps count as nothing; only readings in lesson time count."""
    s, held = _lesson_held(co2, timetable, holidays, interval_s)
    return _shares(s, held, limits) if len(s) else {}


def lesson_seconds(co2: pd.Series, *, timetable: Timetable | None = None,
                   holidays: Holidays = (), interval_s: float | None = None) -> float:
    """The lesson time the readings cover, in seconds, counted as :func:`lesson_class_shares`
    counts it: the weight of a room when the shares of several rooms are combined."""
    _, held = _lesson_held(co2, timetable, holidays, interval_s)
    return float(held.sum())


def _lesson_held(co2: pd.Series, timetable: Timetable | None, holidays: Holidays,
                 interval_s: float | None) -> tuple[pd.Series, pd.Series]:
    """Lesson-time readings and how long each held (capped at twice the uplink interval)."""
    s = clean(co2)
    if s.empty:
        return s, pd.Series(dtype=float)
    interval = interval_s if interval_s and interval_s > 0 else uplink_interval_s(s)
    held = _held_seconds(s, 2 * interval if interval else None)
    mask = in_lessons(pd.DatetimeIndex(s.index), timetable, holidays)
    return s[mask], held[mask]


def lesson_peaks(co2: pd.Series, *, timetable: Timetable | None = None,
                 holidays: Holidays = (), limits: FrisseScholen | None = None,
                 ) -> list[dict[str, object]]:
    """Per school day: the highest lesson-time CO2, when, and its class."""
    s = clean(co2)
    if s.empty:
        return []
    tt = timetable or Timetable()
    s = s[in_lessons(pd.DatetimeIndex(s.index), tt, holidays)]
    out: list[dict[str, object]] = []
    if s.empty:
        return out
    local_days = pd.DatetimeIndex(s.index).tz_convert(ZoneInfo(tt.timezone)).date
    for day, part in s.groupby(local_days):
        at = part.idxmax()
        out.append({"date": day, "time": at.to_pydatetime(), "co2_ppm": float(part.max()),
                    "class": co2_class(float(part.max()), limits)})
    return out


@dataclass(frozen=True, slots=True)
class DecayEvent:
    start: datetime
    end: datetime
    air_changes_per_hour: float
    r2: float


@dataclass(frozen=True, slots=True)
class Ventilation:
    air_changes_per_hour: float | None
    per_pupil_dm3_s: float | None
    events: list[DecayEvent]
    reason: str | None
    meets_new: bool | None = None
    meets_existing: bool | None = None


def fit_decay(co2: pd.Series, outdoor_ppm: float = OUTDOOR_CO2_PPM) -> DecayEvent | None:
    """Least-squares line through ln(C - C_out) against time (hours): air changes per hour is
    minus its slope (well-mixed mass balance with no source, Batterman 2017). None when the
    window is too short, too few points, or not decaying."""
    s = clean(co2)
    excess = s.to_numpy() - outdoor_ppm
    if len(s) < 3 or np.any(excess <= 0):
        return None
    hours = (s.index - s.index[0]).total_seconds().to_numpy() / 3600.0
    if hours[-1] * 60 < DECAY_MIN_MINUTES:
        return None
    y = np.log(excess)
    slope, intercept = np.polyfit(hours, y, 1)
    resid = y - (slope * hours + intercept)
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum(resid ** 2)) / ss_tot if ss_tot > 0 else 0.0
    if not math.isfinite(slope) or slope >= 0:
        return None
    return DecayEvent(s.index[0].to_pydatetime(), s.index[-1].to_pydatetime(), float(-slope), r2)


def _source_sse(k: float, y: np.ndarray, dt: np.ndarray, min_segment: int
                ) -> tuple[float, int]:
    """For air change rate ``k`` (1/h): the least-squares sum of the exact one-step mass
    balance y[i+1] = y[i] e^(-k dt) + a (1 - e^(-k dt)) with no source (a = 0), or a steady
    excess a >= 0 (someone still in the room) until step j and none after (they left).
    Returns (SSE, j; 0 for no source)."""
    decay = np.exp(-k * dt)
    r = y[1:] - y[:-1] * decay
    w = 1.0 - decay
    rw, ww, rr = np.cumsum(r * w), np.cumsum(w * w), np.cumsum(r * r)
    best = (float(rr[-1]), 0)
    n = len(r)
    # j = n: the source stays all through the window (the teacher is still there).
    for j in [*range(min_segment, n - min_segment + 1), n]:
        a = rw[j - 1] / ww[j - 1]
        sse = rr[-1] - rw[j - 1] ** 2 / ww[j - 1]
        if a > 0 and sse < best[0]:
            best = (float(sse), j)
    return best


def fit_decay_with_source(co2: pd.Series, outdoor_ppm: float = OUTDOOR_CO2_PPM
                          ) -> DecayEvent | None:
    """Air changes per hour from a decay in which someone may still be in the room (a teacher
    staying after the lessons) and may leave during it: the well-mixed mass balance
    V dC/dt = E + Q (C_out - C) solved exactly between readings (Batterman 2017, doi
    10.3390/ijerph14020145, eq. 1) with the source E unknown, constant or stepping down once,
    fitted by least squares over the rate (profiled) and the source. A plain log-linear fit
    (:func:`fit_decay`) takes a source that holds the CO2 up for a slower decay. The step is
    kept only when it pays for its two parameters (BIC, Schwarz 1978). None when the window is
    too short, too few points, or not decaying."""
    s = clean(co2)
    if len(s) < 4:
        return None
    hours = (s.index - s.index[0]).total_seconds().to_numpy() / 3600.0
    if hours[-1] * 60 < DECAY_MIN_MINUTES:
        return None
    y = s.to_numpy() - outdoor_ppm
    dt = np.diff(hours)
    if np.any(dt <= 0):
        return None
    n = len(dt)
    min_segment = 3

    def score(k: float) -> tuple[float, float, int]:
        sse, step = _source_sse(k, y, dt, min_segment)
        params = 1 if step == 0 else 2 if step == n else 3
        return n * math.log(max(sse, 1e-12) / n) + params * math.log(n), sse, step

    grid = np.geomspace(0.05, 30.0, 120)
    scores = [score(float(k))[0] for k in grid]
    i = int(np.argmin(scores))
    lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    fine = np.linspace(lo, hi, 60)
    k = float(fine[int(np.argmin([score(float(x))[0] for x in fine]))])
    if not math.isfinite(k) or k <= grid[0] or k >= grid[-1]:
        return None
    _, sse, _ = score(k)
    target = y[1:]
    ss_tot = float(np.sum((target - target.mean()) ** 2))
    r2 = 1.0 - sse / ss_tot if ss_tot > 0 else 0.0
    return DecayEvent(s.index[0].to_pydatetime(), s.index[-1].to_pydatetime(), k, r2)


def ventilation(co2: pd.Series, *, timetable: Timetable | None = None, holidays: Holidays = (),
                motion: pd.Series | None = None, outdoor_ppm: float = OUTDOOR_CO2_PPM,
                room_volume_m3: float | None = None, pupils: int | None = None,
                min_excess_ppm: float = DECAY_MIN_EXCESS_PPM,
                max_minutes: float = DECAY_MAX_MINUTES,
                min_r2: float = DECAY_MIN_R2) -> Ventilation:
    """Air changes per hour by the CO2 decay method (Batterman 2017, doi
    10.3390/ijerph14020145): after the lessons end on the timetable each school day (later if
    ``motion`` still sees someone), fit the decay over >= 20 minutes while C - C_out >
    ``min_excess_ppm``, allowing for someone who stays and leaves during it
    (:func:`fit_decay_with_source`). The period's figure is the median of the days' fits. With
    the room's volume and pupils: outdoor air per pupil in dm3/s = ACH * V / 3.6 / pupils,
    against the Bouwbesluit's 8.5 (new) and 3.44 (existing schools)."""
    s = clean(co2)
    if s.empty:
        return Ventilation(None, None, [], "no CO2 readings in the period")
    tt = timetable or Timetable()
    zone = ZoneInfo(tt.timezone)
    moving = clean(motion) if motion is not None else None
    if moving is not None:
        moving = moving[moving > 0]
    local_index = pd.DatetimeIndex(s.index).tz_convert(zone)
    events: list[DecayEvent] = []
    for day in sorted(set(local_index.date)):
        if day.weekday() not in tt.weekdays or any(a <= day <= b for a, b in holidays):
            continue
        start = datetime.combine(day, tt.end_on(day.weekday()), tzinfo=zone)
        if moving is not None:
            after = moving[(moving.index >= start) & (moving.index < start + timedelta(hours=6))]
            if len(after):
                start = after.index[-1].to_pydatetime()
        next_start = datetime.combine(day + timedelta(days=1), tt.start, tzinfo=zone)
        stop = min(start + timedelta(minutes=max_minutes), next_start)
        window = s[(s.index >= start) & (s.index <= stop)]
        above = (window - outdoor_ppm) > min_excess_ppm
        # Only the run from the start while the excess stays above the threshold.
        run = window[above.cumprod().astype(bool)] if len(window) else window
        # Lessons end on the timetable, but the teacher may stay: a source that holds the CO2
        # up would pass for slower ventilation in a plain log-linear fit.
        event = fit_decay_with_source(run, outdoor_ppm)
        if event is not None and event.r2 >= min_r2:
            events.append(event)
    if not events:
        return Ventilation(None, None, [], "no decay of >= 20 min with CO2 more than "
                           f"{min_excess_ppm:g} ppm above outdoor air after the school day")
    ach = float(np.median([e.air_changes_per_hour for e in events]))
    per_pupil = None
    if room_volume_m3 and pupils:
        per_pupil = ach * room_volume_m3 / 3.6 / pupils
    return Ventilation(ach, per_pupil, events, None,
                       None if per_pupil is None else per_pupil >= VENTILATION_NEW_DM3_S,
                       None if per_pupil is None else per_pupil >= VENTILATION_EXISTING_DM3_S)
