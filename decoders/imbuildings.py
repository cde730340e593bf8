"""IMBuildings devices (people counter, comfort sensor, office occupancy counter).

Payload format: IMBuildings LoRaWAN payload documentation (https://support.imbuildings.com/, "Payload
types and variants") and the vendor codecs in the TTN device repository
(vendor/imbuildings/imbuildings.js, vendor/imbuildings/imbuildings-decoder.js). A frame starts with
a 10-byte header ``payload type, payload variant, device id (8 bytes)`` unless the device is set to
send without a header, in which case the fPort says which type/variant follows (26 = people counter
variant 6, 27 = variant 7, 28 = variant 8). All multi-byte values are big-endian.
"""

from __future__ import annotations

from decoders.base import TTN_REPO, DecodeError, DeviceModel
from meetnet.records import Reading

_PEOPLE_COUNTER = 0x02
_DOWNLINK_RESPONSE = 0xF1
_HEADER = 10  # type, variant, 8-byte device id

# People counter variants: variant -> body length (after the header).
_BODY = {5: 9, 6: 13, 7: 5, 8: 4}
# Headerless frames: fPort -> variant.
_PORT_VARIANT = {26: 6, 27: 7, 28: 8}
# Responses to configuration downlinks come back on fPort 10.
_RESPONSE_PORT = 10


def _u16(b: bytes, i: int) -> int:
    return int.from_bytes(b[i : i + 2], "big")


def _voltage(b: bytes, i: int) -> Reading:
    # uint16 in 10 mV.
    return Reading("battery_voltage", _u16(b, i) / 100.0)


def _counts(a: int, b: int) -> list[Reading]:
    # Counter A / B are the passes in each direction since the previous uplink.
    return [
        Reading("pedestrian_count_in", float(a)),
        Reading("pedestrian_count_out", float(b)),
        Reading("pedestrian_count", float(a + b)),
    ]


def _body(variant: int, body: bytes) -> list[Reading]:
    if variant in (5, 6):
        # device status, battery (2), counter A (2), counter B (2), sensor status, then in
        # variant 6 total counters A and B (2 + 2, since power-up), and a payload counter.
        return [_voltage(body, 1), *_counts(_u16(body, 3), _u16(body, 5))]
    if variant == 7:
        # sensor status, total counter A (2), total counter B (2): only running totals, which a
        # stateless decoder cannot turn into counts per interval.
        return []
    # variant 8 (heartbeat): device status, battery (2), sensor status.
    return [_voltage(body, 1)]


def people_counter(f_port: int, payload: bytes) -> list[Reading]:
    """IMBuildings LoRaWAN People Counter, payload type 2 (IMBuildings payload documentation;
    TTN vendor/imbuildings/imbuildings.js).

    Variant 6 (the default; 23 bytes with header, 13 without on fPort 26): device status,
    battery voltage (uint16, 10 mV), counter A, counter B (uint16, passes since the previous
    uplink), sensor status, total counter A, total counter B (uint16, since power-up), payload
    counter. Counter A -> ``pedestrian_count_in``, B -> ``pedestrian_count_out``, A + B ->
    ``pedestrian_count``. Variant 5 (19 bytes) carries the same counts without totals; variant 8
    (heartbeat) only the battery; variant 7 only running totals (no readings). Responses to
    configuration downlinks (fPort 10, type 0xF1) give no readings.
    """
    if not payload:
        raise DecodeError("empty payload")
    if len(payload) > _HEADER and payload[0] == _PEOPLE_COUNTER:
        variant = payload[1]
        if variant in _BODY and len(payload) == _HEADER + _BODY[variant]:
            return _body(variant, payload[_HEADER:])
    if f_port in _PORT_VARIANT:
        variant = _PORT_VARIANT[f_port]
        if len(payload) != _BODY[variant]:
            raise DecodeError(
                f"fPort {f_port} carries people counter variant {variant} without header: "
                f"{_BODY[variant]} bytes expected, got {len(payload)}"
            )
        return _body(variant, payload)
    if f_port == _RESPONSE_PORT and payload[0] == _DOWNLINK_RESPONSE:
        return []
    if payload[0] == _PEOPLE_COUNTER and len(payload) >= 2:
        raise DecodeError(
            f"people counter variant {payload[1]} with {len(payload)} bytes is not a known layout"
        )
    raise DecodeError(f"payload type 0x{payload[0]:02x} on fPort {f_port} is not a people counter frame")


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="imbuildings/imbuildings-people-counter",
        vendor="IMBuildings",
        model="People Counter",
        use_case="crossing",
        metrics=("pedestrian_count_in", "pedestrian_count_out", "pedestrian_count", "battery_voltage"),
        spec="https://support.imbuildings.com/ (LoRaWAN People Counter payload, type 2 variants 5-8; "
        + TTN_REPO + "imbuildings/imbuildings.js)",
        vectors="imbuildings-people-counter.json",
        decode=people_counter,
    ),
)
