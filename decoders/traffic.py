"""Speed statistics from a radar counter's speed-class histogram (docs/domain.md, "Zebra crossings").

A radar traffic counter such as the Parametric TCR does not report single vehicles: per speed
class it reports how many vehicles it counted and their average speed. The V85 (the speed that
85 % of the vehicles do not exceed) is then estimated by linear interpolation in the cumulative
histogram: find the class in which the cumulative count reaches 85 % of the total and assume the
vehicles of that class are spread evenly over its speed window.

Pure functions, no I/O; used by ``decoders.parametric.tcr`` and testable on their own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import pairwise

V85_QUANTILE = 0.85


@dataclass(frozen=True, slots=True)
class SpeedClass:
    """``count`` vehicles with speeds spread evenly over ``[lower, upper]`` km/h."""

    lower: float
    upper: float
    count: int


def percentile_speed(classes: Iterable[SpeedClass], quantile: float = V85_QUANTILE) -> float | None:
    """The speed that ``quantile`` of the vehicles do not exceed, by linear interpolation in the
    cumulative histogram of ``classes``; None when no vehicle was counted.

    Classes are taken in order of their lower bound and must not overlap. With a total of N
    vehicles the target rank is ``quantile * N``; in the class where the cumulative count first
    reaches it, the speed is ``lower + (rank - count_below) / count * (upper - lower)``. All
    vehicles in one class give ``lower + quantile * (upper - lower)``; a zero-width class (lower
    == upper) gives that speed.
    """
    if not 0.0 < quantile <= 1.0:
        raise ValueError(f"quantile {quantile} outside (0, 1]")
    ordered = sorted((c for c in classes if c.count > 0), key=lambda c: (c.lower, c.upper))
    total = sum(c.count for c in ordered)
    if total == 0:
        return None
    rank = quantile * total
    below = 0
    for c in ordered:
        if below + c.count >= rank:
            return c.lower + (rank - below) / c.count * (c.upper - c.lower)
        below += c.count
    last = ordered[-1]  # unreachable with quantile <= 1, kept for float rounding
    return last.upper


def v85(classes: Iterable[SpeedClass]) -> float | None:
    """V85 of a speed-class histogram (see ``percentile_speed``); None without vehicles."""
    return percentile_speed(classes, V85_QUANTILE)


def mean_speed(class_means: Iterable[tuple[float, int]]) -> float | None:
    """Count-weighted mean of per-class ``(average speed, count)`` pairs; None without vehicles."""
    pairs = [(m, n) for m, n in class_means if n > 0]
    total = sum(n for _, n in pairs)
    if total == 0:
        return None
    return sum(m * n for m, n in pairs) / total


def classes_from_means(class_means: Sequence[tuple[float, int]]) -> list[SpeedClass]:
    """Speed windows estimated from per-class ``(average speed, count)`` pairs, for a counter
    whose uplink carries the class averages but not the class windows.

    The windows of a TCR are configured on the device (configuration payload SCn_START / SCn_END)
    and are not repeated in the application payload. Between two neighbouring non-empty classes
    (in order of average speed) the boundary is placed halfway between their averages; the
    outer bounds mirror the nearest boundary around the outer class's average (and never go below
    0 km/h). A single non-empty class becomes a zero-width class at its average, so its V85 is
    that average: with one class the histogram says nothing about the spread.
    """
    pairs = sorted((float(m), int(n)) for m, n in class_means if n > 0)
    if not pairs:
        return []
    if len(pairs) == 1:
        m, n = pairs[0]
        return [SpeedClass(m, m, n)]
    bounds = [(a + b) / 2 for (a, _), (b, _) in pairwise(pairs)]
    first, last = pairs[0][0], pairs[-1][0]
    edges = [max(0.0, 2 * first - bounds[0]), *bounds, 2 * last - bounds[-1]]
    return [SpeedClass(edges[i], edges[i + 1], n) for i, (_, n) in enumerate(pairs)]
