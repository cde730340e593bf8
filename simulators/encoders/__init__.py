"""Device encoders: catalog values -> (fPort, payload bytes), the inverse of ``decoders``.

An encoder takes the values a physical model produced, in catalog units (distance in m, battery in
%, ...), quantises them to the device's resolution and packs the frame the real device sends.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from simulators.encoders import milesight

Encoder = Callable[[Mapping[str, float]], tuple[int, bytes]]

ENCODERS: dict[str, Encoder] = {
    "milesight-iot/em310-udl": milesight.em310_udl,
}

__all__ = ["ENCODERS", "Encoder"]
