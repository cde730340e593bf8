"""What every decoder shares: the error it raises, how a device model describes itself, and a
bounds-checked byte reader so that a short payload becomes a `DecodeError`, never an IndexError.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, NamedTuple

from decoders.config import DeviceConfig
from meetnet.records import AttributeValue as AttributeValue  # re-exported for decoders
from meetnet.records import Reading

#: Where the vendors' codecs and device descriptions are published (cited in model specs).
TTN_REPO = "https://github.com/TheThingsNetwork/lorawan-devices/blob/master/vendor/"

DecoderFn = Callable[[int, bytes], list[Reading]]
#: Decodes the network server's own decoded object (TTS decoded_payload, ChirpStack object).
ObjectDecoderFn = Callable[[Mapping[str, Any], DeviceConfig], list[Reading]]


#: The attributes of a frame that carries none (shared and read-only).
NO_ATTRIBUTES: Mapping[str, AttributeValue] = MappingProxyType({})


class Frame(NamedTuple):
    """Everything one uplink said: its measurements (``readings``) and what it said about the
    device itself (``attributes``: firmware and hardware version, serial number, LoRaWAN class,
    a setting confirmed in a downlink response). Attributes describe the device, not the world,
    so they go to the device's record and never become readings."""

    readings: list[Reading]
    attributes: Mapping[str, AttributeValue] = NO_ATTRIBUTES


FrameDecoderFn = Callable[[int, bytes], Frame]


class DecodeError(ValueError):
    """The payload cannot be decoded; ``str(err)`` is the reason kept in the dead letter.

    ``partial`` holds what the decoder had read before it met what it could not (readings of
    channels that came before an unknown one): ingest keeps those and dead-letters the message,
    as it does for a frame with one implausible value.
    """

    def __init__(self, reason: str, partial: Frame | None = None) -> None:
        super().__init__(reason)
        self.partial = partial


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
    #: Set for models whose frames also carry device attributes (``decode`` then gives the
    #: same readings without them).
    decode_frame: FrameDecoderFn | None = None


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
