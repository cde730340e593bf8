"""What every decoder shares: the error it raises, how a device model describes itself, and a
bounds-checked byte reader so that a short payload becomes a `DecodeError`, never an IndexError.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from decoders.config import DeviceConfig
from meetnet.records import Reading

DecoderFn = Callable[[int, bytes], list[Reading]]
#: Decodes the network server's own decoded object (TTS decoded_payload, ChirpStack object).
ObjectDecoderFn = Callable[[Mapping[str, Any], DeviceConfig], list[Reading]]


class DecodeError(ValueError):
    """The payload cannot be decoded; ``str(err)`` is the reason kept in the dead letter."""


@dataclass(frozen=True, slots=True)
class DeviceModel:
    """A device model meetnet decodes, declared once as data.

    ``key`` is the TTN device repository id ``<brand_id>/<model_id>``; ``vectors`` names the file
    under ``tests/vectors/devices/`` holding the vendor's examples; ``metrics`` lists the catalog
    metrics the decoder can emit (before derivation).
    """

    key: str
    vendor: str
    model: str
    use_case: str  # waste | classroom | crossing | water | any
    metrics: tuple[str, ...]
    spec: str  # datasheet / payload spec the decoder implements
    vectors: str
    decode: DecoderFn
    #: Set for models whose values the network server already decoded (passthrough).
    decode_object: ObjectDecoderFn | None = None


class Reader:
    """Sequential big- or little-endian reads over a payload, raising DecodeError when short."""

    __slots__ = ("data", "pos")

    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise DecodeError(
                f"payload too short: need {n} byte(s) at offset {self.pos}, "
                f"have {len(self.data) - self.pos}"
            )
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))

    def u8(self) -> int:
        return self.take(1)[0]
