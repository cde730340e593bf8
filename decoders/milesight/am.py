"""Milesight AM series on fPort 85: the indoor ambience monitors for classrooms (AM307, AM319).
The frame layout and the device-information channels are in decoders/milesight/tlv.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

from decoders.base import TTN_REPO, DeviceModel
from decoders.milesight.tlv import DOC, Channel, Model, battery, ignored, measure, s16, temperature, u16
from meetnet.records import Reading

# --- AM319 -------------------------------------------------------------------------------------


def _humidity_half(b: bytes) -> list[Reading]:
    return [Reading("humidity", b[0] / 2.0)]  # uint8, 0.5 %RH


def _co2(b: bytes) -> list[Reading]:
    return [Reading("co2", float(u16(b)))]  # uint16, ppm


def _pressure_dhpa(b: bytes) -> list[Reading]:
    return [Reading("pressure", u16(b) * 10.0)]  # uint16, 0.1 hPa = 10 Pa


def _am319_history(b: bytes) -> list[Reading]:
    # unix time (4), temperature (2), humidity (2, 0.5 %RH), PIR (1), light level (1), CO2 (2),
    # TVOC (2), pressure (2, 0.1 hPa), PM2.5 (2), PM10 (2), HCHO (2).
    when = datetime.fromtimestamp(int.from_bytes(b[0:4], "little"), tz=UTC)
    return [
        Reading("temperature", s16(b[4:6]) / 10.0, time=when),
        Reading("humidity", u16(b[6:8]) / 2.0, time=when),
        Reading("co2", float(u16(b[10:12])), time=when),
        Reading("pressure", u16(b[14:16]) * 10.0, time=when),
    ]


_AM319: dict[tuple[int, int], Channel] = {
    (0x01, 0x75): measure(1, battery),  # uint8, %
    (0x03, 0x67): measure(2, temperature),  # int16, 0.1 degC
    (0x04, 0x68): measure(1, _humidity_half),  # uint8, 0.5 %RH
    (0x05, 0x00): ignored(1),  # PIR state (idle / trigger), not a motion count
    (0x06, 0xCB): ignored(1),  # light level 0..5, not lux
    (0x07, 0x7D): measure(2, _co2),  # uint16, ppm
    (0x08, 0x7D): ignored(2),  # TVOC as IAQ index (raw / 100), not ppb
    (0x08, 0xE6): ignored(2),  # TVOC in ug/m3, not ppb
    (0x09, 0x73): measure(2, _pressure_dhpa),  # uint16, 0.1 hPa
    (0x0A, 0x7D): ignored(2),  # HCHO, mg/m3 (raw / 100)
    (0x0B, 0x7D): ignored(2),  # PM2.5, ug/m3
    (0x0C, 0x7D): ignored(2),  # PM10, ug/m3
    (0x0D, 0x7D): ignored(2),  # O3, ppm (raw / 100)
    (0x0E, 0x01): ignored(1),  # buzzer state
    (0x20, 0xCE): measure(22, _am319_history),  # history record, TVOC as IAQ
    (0x21, 0xCE): measure(22, _am319_history),  # history record, TVOC in ug/m3
}

AM319 = Model("AM319", _AM319)
"""Milesight AM319 indoor ambience monitor (AM300 series user guide, "Uplink Packets";
github.com/Milesight-IoT/SensorDecoders am-series; TTN vendor/milesight-iot/am319.js).

Emits battery (01/75, %), temperature (03/67, int16 LE 0.1 degC), humidity (04/68, uint8
0.5 %RH), co2 (07/7D, uint16 ppm) and pressure (09/73, uint16 0.1 hPa -> Pa), and the same from
history records (20/CE, 21/CE) at the device's own time. PIR state, light level (0..5), TVOC (an
IAQ index or ug/m3, not ppb), HCHO, PM2.5, PM10, O3 and the buzzer have no catalog metric and are
skipped."""


# --- AM307 -------------------------------------------------------------------------------------

AM307 = Model("AM307", {
    **_AM319,
    # PIR activity (uint16 LE) of the AM100 series; not in the AM300 payload structure, but the
    # vendor's own AM307 example frame carries it. No catalog metric: skipped.
    (0x05, 0x6A): ignored(2),
})
"""Milesight AM307 indoor ambience monitor (AM300 series user guide, "Uplink Packets";
github.com/Milesight-IoT/SensorDecoders AM_Series/AM300_Series; TTN vendor/milesight-iot/am307.js,
one codec for AM307 and AM319).

The AM319's channels without the PM / HCHO / O3 sensors: battery (01/75, %), temperature (03/67,
int16 LE 0.1 degC), humidity (04/68, uint8 0.5 %RH), co2 (07/7D, uint16 ppm), pressure (09/73,
uint16 0.1 hPa -> Pa), history records (20/CE, 21/CE); PIR, light level, TVOC (IAQ index or
ug/m3) and the buzzer are skipped, as is the AM100-style PIR activity (05/6A, uint16) that the
vendor's example frame contains."""


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="milesight-iot/am319",
        vendor="Milesight",
        model="AM319",
        use_case="classroom",
        metrics=("battery", "temperature", "humidity", "co2", "pressure"),
        spec=DOC + "am319 (AM300 series user guide, payload structure)",
        vectors="milesight-am319.json",
        decode=AM319.decode,
        decode_frame=AM319.frame,
    ),
    DeviceModel(
        key="milesight-iot/am307",
        vendor="Milesight",
        model="AM307",
        use_case="classroom",
        metrics=("battery", "temperature", "humidity", "co2", "pressure"),
        spec=DOC + "am307 (AM300 series user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders AM_Series/AM300_Series; "
        + TTN_REPO + "milesight-iot/am307.js)",
        vectors="milesight-am307.json",
        decode=AM307.decode,
        decode_frame=AM307.frame,
    ),
)
