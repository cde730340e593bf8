"""Milesight encoders, one module per product series as in decoders/milesight/."""

from __future__ import annotations

from simulators.encoders.milesight import am, em, vs
from simulators.encoders.quantise import Encoder

ENCODERS: dict[str, Encoder] = {**em.ENCODERS, **am.ENCODERS, **vs.ENCODERS}
RESOLUTION: dict[str, dict[str, float]] = {**em.RESOLUTION, **am.RESOLUTION, **vs.RESOLUTION}
