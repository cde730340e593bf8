"""Milesight IoT sensors: channel/type TLV frames on fPort 85.

Payload structure (Milesight "Payload Structure" in each model's user guide, and the codecs in the
TTN device repository, vendor/milesight-iot/<model>-codec.yaml): a sequence of
``channel_id (1 byte), channel_type (1 byte), value (n bytes, little-endian)``.
"""

from __future__ import annotations

from decoders.base import DecodeError, Reader
from meetnet.records import Reading

MILESIGHT_PORT = 85


def _frames(f_port: int, payload: bytes) -> Reader:
    if f_port != MILESIGHT_PORT:
        raise DecodeError(f"unexpected fPort {f_port}: Milesight uplinks use fPort 85")
    if not payload:
        raise DecodeError("empty payload")
    return Reader(payload)


def em310_udl(f_port: int, payload: bytes) -> list[Reading]:
    """Milesight EM310-UDL ultrasonic distance sensor (EM310-UDL user guide, "Uplink Packets").

    Channels: 01/75 battery (uint8, %); 03/82 distance (uint16 LE, mm); 04/00 position
    (0 normal, 1 tilt).
    """
    r = _frames(f_port, payload)
    out: list[Reading] = []
    while r.remaining():
        channel, kind = r.u8(), r.u8() if r.remaining() else None
        if kind is None:
            raise DecodeError(f"truncated channel header at offset {r.pos - 1}")
        if (channel, kind) == (0x01, 0x75):
            out.append(Reading("battery", float(r.u8())))
        elif (channel, kind) == (0x03, 0x82):
            (mm,) = r.unpack("<H")
            out.append(Reading("distance", mm / 1000.0))
        elif (channel, kind) == (0x04, 0x00):
            out.append(Reading("tilt", 1.0 if r.u8() == 1 else 0.0))
        else:
            raise DecodeError(f"unknown channel 0x{channel:02x} type 0x{kind:02x}")
    return out
