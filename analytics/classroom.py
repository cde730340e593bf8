"""Classroom air quality in Frisse Scholen classes (Meet de Klas).

CO2 classes from the Programma van Eisen Frisse Scholen (2021): A <= 800 ppm, B <= 950 ppm,
C <= 1200 ppm (C for existing buildings only); the 2021 edition also states the limits as ppm
above outdoor air (default 420 ppm), so both are offered. Temperature comfort 18-22 C
(docs/domain.md, "Classrooms"). Every limit is a parameter with the programme's figure as default.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

OUTDOOR_CO2_PPM = 420.0


@dataclass(frozen=True)
class FrisseScholen:
    """Class limits; ``relative=True`` reads them as ppm above ``outdoor_ppm``."""

    co2_limits: dict[str, float] = field(default_factory=lambda: {"A": 800.0, "B": 950.0,
                                                                   "C": 1200.0})
    relative: bool = False
    outdoor_ppm: float = OUTDOOR_CO2_PPM


def co2_class(ppm: float, limits: FrisseScholen | None = None) -> str:
    """The best Frisse Scholen class the value meets: "A", "B", "C", or "-" (none)."""
    lim = limits or FrisseScholen()
    value = ppm - lim.outdoor_ppm if lim.relative else ppm
    for name, limit in sorted(lim.co2_limits.items(), key=lambda kv: kv[1]):
        if value <= limit:
            return name
    return "-"


def class_shares(co2: pd.Series, limits: FrisseScholen | None = None) -> dict[str, float]:
    """Share of time (0..1) spent in each class, weighting each reading by how long it held
    (until the next reading), so an irregular uplink interval does not skew the result."""
    if co2.empty:
        return {}
    s = co2.sort_index()
    times = s.index.to_series()
    held = (times.shift(-1) - times).dt.total_seconds()
    # The last reading holds as long as the median interval.
    held.iloc[-1] = held.iloc[:-1].median() if len(held) > 1 else 1.0
    classes = s.map(lambda v: co2_class(float(v), limits))
    totals = held.groupby(classes.values).sum()
    whole = float(totals.sum())
    return {str(k): float(v) / whole for k, v in totals.items()} if whole > 0 else {}
