"""Milesight VS series on fPort 85: the people counters at crossings and doors (VS121, VS133).
The frame layout and the device-information channels are in decoders/milesight/tlv.py.
"""

from __future__ import annotations

from decoders.base import TTN_REPO, DeviceModel
from decoders.milesight.tlv import DOC, Channel, Model, ignored, measure, s16, u16
from meetnet.records import Reading

# --- VS133 -------------------------------------------------------------------------------------


def _line_period(b: bytes) -> list[Reading]:
    # People crossing the line in this reporting period: in (uint16 LE), out (uint16 LE).
    return [Reading("pedestrian_count_in", float(u16(b[0:2]))),
            Reading("pedestrian_count_out", float(u16(b[2:4])))]


def _sum_directions(readings: list[Reading]) -> list[Reading]:
    """Sum the per-line in/out counts of one frame and add their total ``pedestrian_count``."""
    sums: dict[str, float] = {}
    rest: list[Reading] = []
    for r in readings:
        if r.metric in ("pedestrian_count_in", "pedestrian_count_out") and r.time is None:
            sums[r.metric] = sums.get(r.metric, 0.0) + r.value
        else:
            rest.append(r)
    if not sums:
        return rest
    inn = sums.get("pedestrian_count_in", 0.0)
    out = sums.get("pedestrian_count_out", 0.0)
    return [
        Reading("pedestrian_count_in", inn),
        Reading("pedestrian_count_out", out),
        Reading("pedestrian_count", inn + out),
        *rest,
    ]


_VS133: dict[tuple[int, int], Channel] = {}
for _line in range(4):
    _VS133[(0x03 + 3 * _line, 0xD2)] = ignored(4)  # line total in since reset (uint32 LE)
    _VS133[(0x04 + 3 * _line, 0xD2)] = ignored(4)  # line total out since reset (uint32 LE)
    _VS133[(0x05 + 3 * _line, 0xCC)] = measure(4, _line_period)  # line period in / out
_VS133[(0x0F, 0xE3)] = ignored(4)  # people in regions 1..4 (uint8 each)
_VS133[(0x10, 0xE4)] = ignored(5)  # region dwell time: region, average (uint16), maximum (uint16)


VS133 = Model("VS133", _VS133, _sum_directions)
"""Milesight VS133 ToF AI people counter (VS13x user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders VS_Series/VS133; TTN vendor/milesight-iot/vs133.js).

    Up to four counting lines n = 1..4: channel 3n/D2 total in and 3n+1/D2 total out (uint32 LE,
    cumulative since the last reset: not stored, the period counts carry the same flow without
    wrap-around), 3n+2/CC period in and out (uint16 LE each) -> ``pedestrian_count_in`` /
    ``_out`` summed over the lines in the frame, and their total ``pedestrian_count``. Region
    occupancy (0F/E3) and dwell times (10/E4) have no catalog metric and are skipped.
"""


# --- VS121 -------------------------------------------------------------------------------------


def _vs121_people(b: bytes) -> list[Reading]:
    # People in the whole view (uint8), number of regions (uint8), region occupancy bitmap (2).
    return [Reading("people_count", float(b[0]))]


def _vs121_in_out(b: bytes) -> list[Reading]:
    # Line crossings in the period: in, out (int16 LE). A negative count is no count.
    out = []
    for metric, raw in (("pedestrian_count_in", s16(b[0:2])), ("pedestrian_count_out", s16(b[2:4]))):
        if raw >= 0:
            out.append(Reading(metric, float(raw)))
    return out


_VS121: dict[tuple[int, int], Channel] = {
    (0xFF, 0x08): ignored(6),  # serial number (6 bytes on the VS121)
    (0xFF, 0x1F): ignored(4),  # firmware version (4 bytes on the VS121)
    (0x04, 0xC9): measure(4, _vs121_people),  # people count (all), region count, region bitmap
    (0x05, 0xCC): measure(4, _vs121_in_out),  # people in / out (line crossing)
    (0x06, 0xCD): ignored(1),  # maximum people count in the period
    (0x07, 0xD5): ignored(8),  # people per region 1..8
    (0x08, 0xD5): ignored(8),  # people per region 9..16
    (0x09, 0xDA): ignored(8),  # flow A -> A/B/C/D
    (0x0A, 0xDA): ignored(8),  # flow B -> ...
    (0x0B, 0xDA): ignored(8),  # flow C -> ...
    (0x0C, 0xDA): ignored(8),  # flow D -> ...
    (0x0D, 0xCC): ignored(4),  # cumulative in / out since reset
    (0x0E, 0xE4): ignored(5),  # dwell time: region, average, maximum
    (0x0F, 0x85): ignored(4),  # device timestamp of the report
    (0x10, 0xF7): ignored(4),  # line in / out (firmware 7.0.85), duplicates 05/CC
}


VS121 = Model("VS121", _VS121, _sum_directions)
"""Milesight VS121 AI workplace occupancy sensor (VS121 user guide, "Uplink Packets";
    github.com/Milesight-IoT/SensorDecoders VS_Series/VS121; TTN vendor/milesight-iot/vs121.js).

    04/C9: people in view (uint8) -> ``people_count`` (an occupancy snapshot), then the number of
    regions (uint8) and a region occupancy bitmap (uint16, skipped). 05/CC: line crossings in and
    out (int16 LE each) -> ``pedestrian_count_in`` / ``_out`` and their total
    ``pedestrian_count``. Maximum count, per-region counts, flows, cumulative totals, dwell times
    and the report timestamp have no catalog metric and are skipped. History records (20/CE, of
    variable length) and downlink responses cannot be skipped safely: DecodeError.
"""



MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="milesight-iot/vs133",
        vendor="Milesight",
        model="VS133",
        use_case="crossing",
        metrics=("pedestrian_count_in", "pedestrian_count_out", "pedestrian_count"),
        spec=DOC + "vs133 (VS13x user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders VS_Series/VS133; " + TTN_REPO + "milesight-iot/vs133.js)",
        vectors="milesight-vs133.json",
        decode=VS133.decode,
        decode_frame=VS133.frame,
    ),
    DeviceModel(
        key="milesight-iot/vs121",
        vendor="Milesight",
        model="VS121",
        use_case="crossing",
        metrics=("people_count", "pedestrian_count_in", "pedestrian_count_out", "pedestrian_count"),
        spec=DOC + "vs121 (VS121 user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders VS_Series/VS121; " + TTN_REPO + "milesight-iot/vs121.js)",
        vectors="milesight-vs121.json",
        decode=VS121.decode,
        decode_frame=VS121.frame,
    ),
)
