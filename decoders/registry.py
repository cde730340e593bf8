"""The registry: model key -> device model. A plain dict, built once, no import-time plugins.

Keys are TTN device repository ids ``<brand_id>/<model_id>`` in lowercase slug form, so a TTS
uplink's ``version_ids`` select the decoder directly. Each vendor's module declares its models
beside their decoders (``MODELS``); this module only joins them and refuses a key declared twice.
"""

from __future__ import annotations

from decoders import decentlab, dragino, elsys, imbuildings, lpp, milesight, parametric, passthrough
from decoders.base import DeviceModel

_MODELS: tuple[DeviceModel, ...] = (
    *milesight.MODELS,
    *elsys.MODELS,
    *imbuildings.MODELS,
    *parametric.MODELS,
    *decentlab.MODELS,
    *dragino.MODELS,
    *lpp.MODELS,
    *passthrough.MODELS,
)

MODELS: dict[str, DeviceModel] = {m.key: m for m in _MODELS}
if len(MODELS) != len(_MODELS):  # pragma: no cover - a programming error, caught by any test run
    raise RuntimeError("a device model key is declared twice")
