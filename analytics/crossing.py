"""Zebra crossings: pedestrians and vehicles per bucket and direction, and the speeds of the
approaching vehicles from a radar's speed-class histograms (docs/domain.md, "Zebra crossings").

Pure functions over pandas. A speed radar such as the Parametric TCR never reports a single
vehicle: per uplink interval, per direction and per speed class it sends a count and the class's
average speed. So no per-vehicle data exists anywhere in meetnet, and only aggregates leave it.

The V85 of a period is taken from the period's MERGED histogram: the class counts summed over
the period (each class's average speed weighted by its counts), then the 85th percentile by
linear interpolation in that histogram (``decoders.traffic.percentile_speed``). A median of the
per-interval V85s is another, biased statistic: a quiet night interval with two vehicles counts
as much as a rush-hour one with sixty. The class windows are the device's configuration and are
not in its uplinks; unless given they are estimated from the class averages
(``decoders.traffic.classes_from_means``), as the decoder does for one interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd

from decoders.base import DecodeError
from decoders.parametric import tcr_speed_classes
from decoders.traffic import V85_QUANTILE, SpeedClass, classes_from_means, mean_speed, percentile_speed

#: Report buckets: the API's names -> pandas frequencies. Days are local days.
BUCKETS = {"15m": "15min", "1h": "1h", "1d": "1D"}
#: VVN: a passing speed of at most 30 km/h at a zebra (docs/domain.md); a crossing's own limit
#: is its device config's ``speed_limit_kmh``, as on the crossing dashboard.
DEFAULT_LIMIT_KMH = 30.0
#: Enforcement practice looks at speeds clearly over the limit, not at a few km/h.
DEFAULT_MARGIN_KMH = 5.0
DIRECTIONS = ("ltr", "rtl")
HISTOGRAM_COLUMNS = ["time", "direction", "speed_class", "count", "mean_kmh"]


@dataclass(frozen=True, slots=True)
class SpeedStats:
    """The speeds of one direction's vehicles over a period; speed fields None without vehicles."""

    direction: str
    vehicles: int
    v85_kmh: float | None
    mean_kmh: float | None
    share_over_limit: float | None
    share_over_margin: float | None
    classes: tuple[SpeedClass, ...]
    class_means_kmh: tuple[float, ...]


def limit_from_config(config: Mapping[str, Any] | None) -> float:
    """The crossing's speed limit: ``speed_limit_kmh`` of its device config when it is a
    positive number, else 30 km/h."""
    value = (config or {}).get("speed_limit_kmh")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 200:
        return DEFAULT_LIMIT_KMH
    return float(value)


def tcr_histograms(frames: Iterable[tuple[datetime, int | None, bytes]]) -> tuple[pd.DataFrame, int]:
    """The speed-class histograms of a Parametric TCR's uplinks ``(time, f_port, payload)``, one
    row per uplink, direction and class (``HISTOGRAM_COLUMNS``), and the number of frames that
    are no TCR application frame (configuration frames are not counted; frames ingest could not
    decode are dead letters and are skipped here too)."""
    rows: list[tuple[datetime, str, int, int, float]] = []
    skipped = 0
    for time, f_port, payload in frames:
        try:
            classes = tcr_speed_classes(f_port or 0, bytes(payload))
        except DecodeError:
            skipped += 1
            continue
        if classes is None:
            continue
        for direction, per_class in zip(DIRECTIONS, classes, strict=True):
            for i, (mean, count) in enumerate(per_class):
                rows.append((time, direction, i, count, mean))
    hist = pd.DataFrame(rows, columns=HISTOGRAM_COLUMNS)
    hist["time"] = pd.to_datetime(hist["time"], utc=True)
    return hist, skipped


def vehicle_counts(hist: pd.DataFrame) -> pd.DataFrame:
    """Vehicles per uplink and direction (columns time, series, count; series ``vehicles_ltr``
    and ``vehicles_rtl``) from ``tcr_histograms``."""
    per = hist.groupby(["time", "direction"], as_index=False)["count"].sum()
    per["series"] = "vehicles_" + per["direction"]
    return per[["time", "series", "count"]]


def per_bucket(counts: pd.DataFrame, bucket: str, tz: str = "Europe/Amsterdam") -> pd.DataFrame:
    """Sums per bucket: ``counts`` has columns time (tz-aware), series and count; the answer has
    one row per bucket start (local time in ``tz``, from the first to the last bucket with a
    count, empty buckets 0) and one column per series. A count covers the interval before its
    uplink and is placed at the uplink's time. ``bucket`` is a key of ``BUCKETS``."""
    if bucket not in BUCKETS:
        raise ValueError(f"bucket {bucket!r} is not one of {', '.join(BUCKETS)}")
    if counts.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz=tz))
    local = counts.assign(time=pd.to_datetime(counts["time"], utc=True).dt.tz_convert(tz))
    wide = local.pivot_table(index="time", columns="series", values="count", aggfunc="sum")
    return wide.resample(BUCKETS[bucket]).sum().astype("int64")


def merged_classes(hist: pd.DataFrame, direction: str) -> list[tuple[float, int]]:
    """The period's histogram of one direction: per speed class (in class order) the average
    speed weighted by the counts of the intervals, and the summed count."""
    rows = hist[hist["direction"] == direction]
    out = []
    for _, group in rows.groupby("speed_class", sort=True):
        n = int(group["count"].sum())
        mean = float((group["count"] * group["mean_kmh"]).sum() / n) if n else 0.0
        out.append((mean, n))
    return out


def share_above(classes: Iterable[SpeedClass], speed_kmh: float) -> float | None:
    """The share of vehicles faster than ``speed_kmh``, assuming each class's vehicles spread
    evenly over its window (the assumption behind ``percentile_speed``); None without vehicles."""
    classes = list(classes)
    total = sum(c.count for c in classes)
    if total == 0:
        return None
    above = 0.0
    for c in classes:
        if c.upper <= c.lower:
            above += c.count if c.lower > speed_kmh else 0
        elif c.lower >= speed_kmh:
            above += c.count
        elif c.upper > speed_kmh:
            above += c.count * (c.upper - speed_kmh) / (c.upper - c.lower)
    return above / total


def speed_stats(hist: pd.DataFrame, direction: str, *, limit_kmh: float = DEFAULT_LIMIT_KMH,
                margin_kmh: float = DEFAULT_MARGIN_KMH,
                windows: Sequence[tuple[float, float]] | None = None) -> SpeedStats:
    """V85, count-weighted mean speed and the shares over the limit and over limit + margin of
    one direction over the whole of ``hist`` (the period), from its merged histogram.
    ``windows`` are the device's configured class windows (km/h, one per class in class order);
    without them they are estimated from the class averages."""
    merged = merged_classes(hist, direction)
    vehicles = sum(n for _, n in merged)
    if windows is not None:
        if len(windows) < len(merged):
            raise ValueError(f"{len(merged)} speed classes, {len(windows)} windows")
        classes = [SpeedClass(lo, hi, n) for (lo, hi), (_, n) in zip(windows, merged, strict=False)]
        means = [m for m, _ in merged]
    else:
        # classes_from_means orders the classes by their average speed.
        means = sorted(m for m, n in merged if n)
        classes = classes_from_means(merged)
    shown = [(c, m) for c, m in zip(classes, means, strict=False) if c.count]
    return SpeedStats(
        direction=direction, vehicles=vehicles,
        v85_kmh=percentile_speed(classes, V85_QUANTILE),
        mean_kmh=mean_speed(merged),
        share_over_limit=share_above(classes, limit_kmh),
        share_over_margin=share_above(classes, limit_kmh + margin_kmh),
        classes=tuple(c for c, _ in shown),
        class_means_kmh=tuple(m for _, m in shown),
    )
