"""Pure decoders: payload bytes (+ fPort, device config) -> catalog readings. No I/O here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from decoders.base import NO_ATTRIBUTES, AttributeValue, DecodeError, DeviceModel, Frame
from decoders.config import DeviceConfig
from decoders.derive import derive
from decoders.registry import MODELS
from meetnet.records import Reading

__all__ = ["MODELS", "AttributeValue", "DecodeError", "DeviceConfig", "DeviceModel", "Frame", "decode",
           "decode_frame", "derive"]

_DEFAULT_CONFIG = DeviceConfig()


def _resolve(model_key: str,
             config: DeviceConfig | Mapping[str, Any] | None) -> tuple[DeviceModel, DeviceConfig]:
    model = MODELS.get(model_key)
    if model is None:
        raise DecodeError(f"no decoder for model {model_key!r}")
    if config is None:
        return model, _DEFAULT_CONFIG
    if isinstance(config, DeviceConfig):
        return model, config
    return model, DeviceConfig.model_validate(config)


def decode(
    model_key: str,
    f_port: int,
    payload: bytes,
    config: DeviceConfig | Mapping[str, Any] | None = None,
    decoded: Mapping[str, Any] | None = None,
) -> list[Reading]:
    """Decode one uplink of ``model_key`` and add the readings its config derives.

    ``decoded`` is the network server's own decoded object, used by passthrough models only.
    Raises DecodeError (with the reason) for an unknown model or a payload the model's spec does
    not allow; never any other exception for any bytes and port.
    """
    # Not decode_frame(...).readings: building frames only to drop them cost Milesight decodes
    # about a quarter of their rate.
    model, cfg = _resolve(model_key, config)
    try:
        if model.decode_object is not None and decoded is not None:
            readings = model.decode_object(decoded, cfg)
        else:
            readings = model.decode(f_port, payload)
    except DecodeError:
        raise
    except (ValueError, IndexError, KeyError, OverflowError) as exc:  # defence in depth
        raise DecodeError(f"{model_key}: malformed payload ({exc})") from exc
    return derive(readings, cfg)


def decode_frame(
    model_key: str,
    f_port: int,
    payload: bytes,
    config: DeviceConfig | Mapping[str, Any] | None = None,
    decoded: Mapping[str, Any] | None = None,
) -> Frame:
    """`decode`, and the device attributes the frame carries (versions, serial number, settings
    confirmed by a downlink response). A DecodeError's ``partial`` frame, when there is one,
    has its readings derived as well, so that a caller can keep them."""
    model, cfg = _resolve(model_key, config)
    attributes = NO_ATTRIBUTES
    try:
        if model.decode_object is not None and decoded is not None:
            readings = model.decode_object(decoded, cfg)
        elif model.decode_frame is not None:
            readings, attributes = model.decode_frame(f_port, payload)
        else:
            readings = model.decode(f_port, payload)
    except DecodeError as exc:
        if exc.partial is not None:
            exc.partial = Frame(derive(exc.partial.readings, cfg), exc.partial.attributes)
        raise
    except (ValueError, IndexError, KeyError, OverflowError) as exc:  # defence in depth
        raise DecodeError(f"{model_key}: malformed payload ({exc})") from exc
    return Frame(derive(readings, cfg), attributes)
