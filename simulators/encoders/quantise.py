"""Quantising a physical value to what a device's field can carry."""

from __future__ import annotations

from collections.abc import Callable, Mapping

#: Catalog values -> (fPort, payload bytes): one device model's frame.
Encoder = Callable[[Mapping[str, float]], tuple[int, bytes]]


def clamp_int(value: float, lo: int, hi: int) -> int:
    """Round to the nearest integer and clamp into the field's range [lo, hi]: a simulated value
    past what the device can send saturates, as the real sensor's reading would."""
    return max(lo, min(hi, round(value)))


def directions(values: Mapping[str, float], a: str, b: str, total: str,
               hi: int = 65535) -> tuple[int, int]:
    """Counts for two directions: given per direction, or a total alone split evenly (the odd
    one to ``a``), each clamped to the counter's field."""
    va, vb = values.get(a), values.get(b)
    if va is None and vb is None and total in values:
        whole = clamp_int(values[total], 0, 2 * hi)
        va, vb = (whole + 1) // 2, whole // 2
    return clamp_int(va or 0, 0, hi), clamp_int(vb or 0, 0, hi)
