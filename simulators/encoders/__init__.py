"""Device encoders: catalog values -> (fPort, payload bytes), the inverse of ``decoders``.

An encoder takes the values a physical model produced, in catalog units (distance in m, battery in
%, ...), quantises them to the device's resolution and packs the frame the real device sends.
Metrics an encoder is not given are left out of the frame where the format allows, else sent as
zero.

``RESOLUTION`` lists, per model, the metrics its encoder carries and the step the device quantises
each to: decoding an encoded value gives it back within half a step.
"""

from __future__ import annotations

from simulators.encoders import decentlab, dragino, elsys, imbuildings, lpp, milesight, parametric
from simulators.encoders.quantise import Encoder

_VENDORS = (milesight, elsys, imbuildings, parametric, decentlab, dragino, lpp)

#: Model key -> encoder; each vendor's module declares its own, beside its encoders.
ENCODERS: dict[str, Encoder] = {key: enc for v in _VENDORS for key, enc in v.ENCODERS.items()}
#: Model key -> {metric: the step the device quantises it to}.
RESOLUTION: dict[str, dict[str, float]] = {key: r for v in _VENDORS for key, r in v.RESOLUTION.items()}

__all__ = ["ENCODERS", "RESOLUTION", "Encoder"]
