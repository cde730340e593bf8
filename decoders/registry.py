"""The registry: model key -> device model. A plain dict, built once, no import-time plugins.

Keys are TTN device repository ids ``<brand_id>/<model_id>`` in lowercase slug form, so a TTS
uplink's ``version_ids`` select the decoder directly.
"""

from __future__ import annotations

from decoders import milesight
from decoders.base import DeviceModel

MILESIGHT_DOC = "https://www.milesight.com/iot/product/lorawan-sensor/"

_MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="milesight-iot/em310-udl",
        vendor="Milesight",
        model="EM310-UDL",
        use_case="waste",
        metrics=("battery", "distance", "tilt"),
        spec=MILESIGHT_DOC + "em310-udl (EM310-UDL user guide, payload structure)",
        vectors="milesight-em310-udl.json",
        decode=milesight.em310_udl,
    ),
)

MODELS: dict[str, DeviceModel] = {m.key: m for m in _MODELS}
