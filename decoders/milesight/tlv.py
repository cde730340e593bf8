"""The Milesight channel/type frame on fPort 85, shared by every Milesight model.

Payload structure (the "Payload Structure" section of each model's user guide; the vendor codecs
in github.com/Milesight-IoT/SensorDecoders and the TTN device repository,
vendor/milesight-iot/<model>.js): a sequence of ``channel_id (1 byte), channel_type (1 byte),
value (n bytes, little-endian)``. The value's size follows from the (channel, type) pair, which
each model documents; nothing in the frame says it.

A model is its table of channels (`Model`). Each channel either measures (its reader gives
readings) or describes the device (device-information channels ``ff xx`` and the responses to
downlink commands: versions, serial number, class, intervals; its reader gives attributes, which
go to the device's record, not to readings). A pair the model does not document is skipped when
its type has the one size Milesight gives it in every product (`SIZE_BY_TYPE`); any other
unknown pair ends the frame with a DecodeError, because its length cannot be known and a guess
would turn the rest into wrong numbers. That error carries the readings and attributes read
before it (`DecodeError.partial`), which ingest keeps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

from decoders.base import AttributeValue, DecodeError, DeviceModel, Frame
from meetnet.records import Reading

PORT = 85
#: Where Milesight publishes each model's user guide (cited in model specs).
DOC = "https://www.milesight.com/iot/product/lorawan-sensor/"

Attributes = dict[str, AttributeValue]
ReadFn = Callable[[bytes], list[Reading]]
AttributeFn = Callable[[bytes], Attributes]


class Channel(NamedTuple):
    """One documented (channel, type) pair: its value's size in bytes and what it means.

    ``read`` turns the value into readings, ``describe`` into device attributes; a channel with
    neither is documented but carries nothing meetnet keeps (a PIR state, a light level 0..5).
    ``size`` may instead be a function of the bytes after the header, for the few channels whose
    length is in their value (a history record that says how many it holds)."""

    size: int | Callable[[bytes], int]
    read: ReadFn | None = None
    describe: AttributeFn | None = None


def measure(size: int, read: ReadFn) -> Channel:
    """A measuring channel of ``size`` bytes."""
    return Channel(size, read, None)


def attribute(size: int, describe: AttributeFn) -> Channel:
    """A channel that describes the device (information or downlink response)."""
    return Channel(size, None, describe)


def ignored(size: int) -> Channel:
    """A documented channel without a catalog metric or a device attribute."""
    return Channel(size, None, None)


# --- values --------------------------------------------------------------------------------------


def u16(b: bytes) -> int:
    return int.from_bytes(b[:2], "little")


def s16(b: bytes) -> int:
    return int.from_bytes(b[:2], "little", signed=True)


def u32(b: bytes) -> int:
    return int.from_bytes(b[:4], "little")


def protocol_version(b: bytes) -> str:
    """IPSO / protocol version: one byte, major and minor nibble (0x01 -> v0.1)."""
    return f"v{b[0] >> 4}.{b[0] & 0x0F}"


def hardware_version(b: bytes) -> str:
    """Hardware version: major byte, minor in the high nibble of the second (01 10 -> v1.1)."""
    return f"v{b[0]:x}.{b[1] >> 4}"


def firmware_version(b: bytes) -> str:
    """Firmware version: major byte, minor byte, both printed in hex (01 10 -> v1.10)."""
    return f"v{b[0]:x}.{b[1]:x}"


def one(name: str, convert: Callable[[bytes], AttributeValue]) -> AttributeFn:
    """An attribute channel holding one value."""
    return lambda b: {name: convert(b)}


def interval(name: str) -> AttributeFn:
    """A downlink response that confirms an interval (uint16 LE, seconds unless named)."""
    return lambda b: {name: u16(b)}


_CLASSES = {0: "Class A", 1: "Class B", 2: "Class C", 3: "Class CtoB"}

#: Device-information channels every Milesight model sends after power-on or on request (the
#: "Attribute" / "Basic Information" table of every user guide; names as the vendor codecs use
#: them). Model tables add their own downlink responses (``ff 02`` collection interval, ...).
COMMON: dict[tuple[int, int], Channel] = {
    (0xFF, 0x01): attribute(1, one("ipso_version", protocol_version)),
    (0xFF, 0x09): attribute(2, one("hardware_version", hardware_version)),
    (0xFF, 0x0A): attribute(2, one("firmware_version", firmware_version)),
    (0xFF, 0xFF): attribute(2, one("tsl_version", lambda b: f"v{b[0]}.{b[1]}")),
    (0xFF, 0x16): attribute(8, one("sn", lambda b: b.hex())),
    (0xFF, 0x0F): attribute(1, one("lorawan_class", lambda b: _CLASSES.get(b[0], "unknown"))),
    # The value byte of these two is always 1; the channel itself is the event.
    (0xFF, 0xFE): attribute(1, one("reset_event", lambda b: "reset")),
    (0xFF, 0x0B): attribute(1, one("device_status", lambda b: "on")),
}

#: Types whose value has one size across all of Milesight's documented products, so that a pair
#: a model does not document can still be stepped over: battery %, temperature, humidity,
#: pressure, the uint16 gas concentrations, distance, and the 1-byte digital states.
SIZE_BY_TYPE: dict[int, int] = {0x75: 1, 0x67: 2, 0x68: 1, 0x73: 2, 0x7D: 2, 0x82: 2, 0x00: 1}


class Model:
    """A Milesight model: its documented channels (the common device-information ones included)
    and an optional step over the readings of a whole frame (summing per-line counts)."""

    __slots__ = ("_measures", "channels", "finish", "name")

    def __init__(self, name: str, channels: Mapping[tuple[int, int], Channel],
                 finish: Callable[[list[Reading]], list[Reading]] | None = None) -> None:
        self.name = name
        self.channels: dict[tuple[int, int], Channel] = {**COMMON, **channels}
        self.finish = finish
        # The fixed-size measuring channels again, as (size, read): nearly every uplink is only
        # these, and the walk takes them without unpacking a Channel.
        self._measures: dict[tuple[int, int], tuple[int, ReadFn]] = {
            key: (c.size, c.read) for key, c in self.channels.items()
            if isinstance(c.size, int) and c.read is not None}

    def decode(self, f_port: int, payload: bytes) -> list[Reading]:
        """The frame's readings (attributes are read past, not kept)."""
        return self._walk(f_port, payload)[0]

    def frame(self, f_port: int, payload: bytes) -> Frame:
        """The frame's readings and the device attributes it carries."""
        out, attrs = self._walk(f_port, payload)
        return Frame(out, attrs) if attrs else Frame(out)

    def _walk(self, f_port: int, payload: bytes) -> tuple[list[Reading], Attributes | None]:
        if f_port != PORT:
            raise DecodeError(f"unexpected fPort {f_port}: Milesight uplinks use fPort {PORT}")
        if not payload:
            raise DecodeError("empty payload")
        # Plain indexing rather than a Reader: this loop runs for every Milesight uplink and the
        # method calls were a third of ingest's decode time (bench/ingest.py profile).
        measures = self._measures
        channels = self.channels
        out: list[Reading] = []
        attrs: Attributes | None = None
        n = len(payload)
        pos = 0
        while pos < n:
            if n - pos < 2:
                raise self._error(f"truncated channel header at offset {pos}", out, attrs)
            key = (payload[pos], payload[pos + 1])
            pos += 2
            fast = measures.get(key)
            if fast is not None:  # the common case, a fixed-size measurement: as few steps as can be
                end = pos + fast[0]
                if end > n:
                    raise self._error(f"payload too short: need {fast[0]} byte(s) at offset {pos}, "
                                      f"have {n - pos}", out, attrs)
                out += fast[1](payload[pos:end])
                pos = end
                continue
            spec = channels.get(key)
            if spec is None:
                size_by_type = SIZE_BY_TYPE.get(key[1])
                if size_by_type is None:
                    raise self._error(f"unknown channel 0x{key[0]:02x} type 0x{key[1]:02x} at offset "
                                      f"{pos - 2}", out, attrs)
                spec = Channel(size_by_type)
            size, read, describe = spec
            if not isinstance(size, int):
                try:
                    size = size(payload[pos:])
                except DecodeError as exc:  # e.g. a history record of an undocumented type
                    raise self._error(str(exc), out, attrs) from None
            end = pos + size
            if end > n:
                raise self._error(f"payload too short: need {size} byte(s) at offset {pos}, "
                                  f"have {n - pos}", out, attrs)
            if read is not None:
                out += read(payload[pos:end])
            elif describe is not None:
                if attrs is None:
                    attrs = {}
                attrs.update(describe(payload[pos:end]))
            pos = end
        if self.finish is not None:
            out = self.finish(out)
        return out, attrs

    def _error(self, reason: str, out: list[Reading], attrs: Attributes | None) -> DecodeError:
        if not out and not attrs:
            return DecodeError(reason)
        if self.finish is not None:
            out = self.finish(out)
        return DecodeError(reason, Frame(out, attrs or {}))


# --- readers shared by several models -------------------------------------------------------------


def battery(b: bytes) -> list[Reading]:
    return [Reading("battery", float(b[0]))]  # uint8, %


def temperature(b: bytes) -> list[Reading]:
    return [Reading("temperature", s16(b) / 10.0)]  # int16, 0.1 degC


def distance_mm(b: bytes) -> list[Reading]:
    return [Reading("distance", u16(b) / 1000.0)]  # uint16, mm


def tilt(b: bytes) -> list[Reading]:
    # 0 = normal, 1 = tilted (lid open / bin being emptied).
    return [Reading("tilt", 1.0 if b[0] == 1 else 0.0)]


def with_alarm(read: ReadFn) -> ReadFn:
    """Alarm variants carry the value followed by one alarm-state byte (threshold crossed or
    released), which is not a measurement."""
    return lambda b: read(b[:-1])


def device_model(model: Model, use_case: str, metrics: tuple[str, ...], spec: str) -> DeviceModel:
    """The registry entry of a Milesight model: key ``milesight-iot/<model, lowercase>`` (the TTN
    device repository id) and vectors ``milesight-<model, lowercase>.json``."""
    slug = model.name.lower()
    return DeviceModel(key=f"milesight-iot/{slug}", vendor="Milesight", model=model.name,
                       use_case=use_case, metrics=metrics, spec=spec,
                       vectors=f"milesight-{slug}.json", decode=model.decode,
                       decode_frame=model.frame)
