"""Passthrough: values the network server already decoded (The Things Stack's
``uplink_message.decoded_payload`` from a payload formatter, ChirpStack v4's ``object`` from a
device-profile codec), mapped to catalog metrics by the device's ``field_map``.

For devices meetnet has no decoder for but the network server has: the organisation keeps its
formatter there and tells meetnet which field is which metric (and in which unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from decoders.base import DecodeError, DeviceModel
from decoders.config import DeviceConfig
from decoders.fieldmap import FieldMap
from meetnet.records import Reading


def payload(f_port: int, payload: bytes) -> list[Reading]:
    """The raw bytes are not ours to decode: the network server's decoded object is needed."""
    raise DecodeError("passthrough device: needs the network server's decoded object "
                      "(TTS decoded_payload / ChirpStack object), none in this uplink")


def decoded_object(decoded: Mapping[str, Any], config: DeviceConfig) -> list[Reading]:
    """Map the network server's decoded object through the device's field map."""
    if not config.field_map:
        raise DecodeError("passthrough device without a field_map in its config")
    key = tuple((path, target if isinstance(target, str) else tuple(target))
                for path, target in config.field_map.items())
    try:
        fields = _field_map(key)
    except (KeyError, ValueError) as exc:
        raise DecodeError(f"invalid field_map: {exc}") from exc
    return fields.readings(decoded)


@lru_cache(maxsize=1024)
def _field_map(items: tuple[tuple[str, Any], ...]) -> FieldMap:
    # Built once per distinct map: every uplink of a fleet shares its model's map.
    return FieldMap(dict(items), name="field_map")


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="meetnet/passthrough",
        vendor="any",
        model="network-decoded values",
        use_case="any",
        metrics=(),
        spec="The Things Stack uplink_message.decoded_payload / ChirpStack v4 event/up object, "
             "mapped by the device config's field_map",
        vectors="meetnet-passthrough.json",
        decode=payload,
        decode_object=decoded_object,
    ),
)
