"""Milesight IoT sensors: channel/type frames on fPort 85 (the layout in `tlv`), one module per
product series: `em` (distance and water level), `am` (indoor ambience), `vs` (people counting).
"""

from __future__ import annotations

from decoders.base import DeviceModel
from decoders.milesight import am, em, vs

MODELS: tuple[DeviceModel, ...] = (*em.MODELS, *am.MODELS, *vs.MODELS)
