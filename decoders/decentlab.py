"""Decentlab sensors: the Decentlab uplink protocol version 2, shared by all DL-* devices.

Frame (Decentlab product datasheets, section "Payload"; TTN device repository
vendor/decentlab/dl-*.js): ``version (1 byte, = 2), device id (uint16), flags (uint16)``, then for
every flag bit set, from bit 0 up, that sensor's fixed number of uint16 words (big-endian). The
battery voltage is the last sensor of every model. The data on its own says nothing about which
model sent it, so a frame is decoded with the model's sensor table; a flag bit outside the table
or a byte beyond the flagged sensors is a DecodeError rather than a guess.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from decoders.base import TTN_REPO, DecodeError, DeviceModel, Reader
from meetnet.records import Reading

PROTOCOL_VERSION = 2

# (number of uint16 words, words -> readings)
_Sensor = tuple[int, Callable[[Sequence[int]], list[Reading]]]


def _battery(x: Sequence[int]) -> list[Reading]:
    return [Reading("battery_voltage", x[0] / 1000.0)]  # mV


def _decode(f_port: int, payload: bytes, sensors: Sequence[_Sensor]) -> list[Reading]:
    if f_port == 0 or f_port >= 224:
        raise DecodeError(f"fPort {f_port} carries no Decentlab application data")
    r = Reader(payload)
    version = r.u8() if r.remaining() else None
    if version != PROTOCOL_VERSION:
        raise DecodeError(f"Decentlab protocol version {version} is not {PROTOCOL_VERSION}")
    r.take(2)  # device id
    flags = int.from_bytes(r.take(2), "big")
    if flags >> len(sensors):
        raise DecodeError(f"flags 0x{flags:04x} name sensors this model does not have")
    out: list[Reading] = []
    for i, (words, read) in enumerate(sensors):
        if flags & (1 << i):
            raw = r.take(2 * words)
            out.extend(read([int.from_bytes(raw[j : j + 2], "big") for j in range(0, len(raw), 2)]))
    if r.remaining():
        raise DecodeError(f"{r.remaining()} byte(s) after the flagged sensors")
    return out


# --- DL-PR26 -----------------------------------------------------------------------------------

# The TTN codec and the default part are the 0..1 bar range; other ranges scale linearly.
_PR26_PMIN_BAR = 0.0
_PR26_PMAX_BAR = 1.0
# Fresh water: 1 bar = 1e5 Pa / (999.97 kg/m3 * 9.80665 m/s2) = 10.197 m of water column.
_M_WATER_PER_BAR = 10.197


def _pr26_pressure(x: Sequence[int]) -> list[Reading]:
    bar = (x[0] - 16384) / 32768 * (_PR26_PMAX_BAR - _PR26_PMIN_BAR) + _PR26_PMIN_BAR
    return [
        Reading("gauge_pressure", bar * 100_000.0),
        Reading("water_depth", bar * _M_WATER_PER_BAR),
        Reading("temperature", (x[1] - 384) * 0.003125 - 50),
    ]


_DL_PR26: tuple[_Sensor, ...] = ((2, _pr26_pressure), (1, _battery))


def dl_pr26(f_port: int, payload: bytes) -> list[Reading]:
    """Decentlab DL-PR26 pressure / liquid level and temperature sensor (DL-PR26 datasheet,
    https://www.decentlab.com/products/pressure-/-liquid-level-and-temperature-sensor-for-lorawan;
    TTN vendor/decentlab/dl-pr26-0-1.js).

    Sensor 0 (2 words): pressure ``(x0 - 16384) / 32768 * (Pmax - Pmin) + Pmin`` bar for the
    0..1 bar part, relative to the atmosphere (vented), -> ``gauge_pressure`` in Pa and
    ``water_depth`` = bar * 10.197 m (fresh water); temperature ``(x1 - 384) * 0.003125 - 50``
    degC. Sensor 1: battery voltage (mV). For a 0..10 bar part set the device's calibration
    scales of gauge_pressure and water_depth to 10.
    """
    return _decode(f_port, payload, _DL_PR26)


# --- DL-LP8P -----------------------------------------------------------------------------------


def _lp8p_sht(x: Sequence[int]) -> list[Reading]:
    # Sensirion SHT conversion of the raw 16-bit words.
    return [
        Reading("temperature", 175.72 * x[0] / 65536 - 46.85),
        Reading("humidity", 125 * x[1] / 65536 - 6),
    ]


def _lp8p_barometer(x: Sequence[int]) -> list[Reading]:
    # x0: barometer temperature (not the air temperature), x1: pressure in 2 Pa.
    return [Reading("pressure", x[1] * 2.0)]


def _lp8p_co2(x: Sequence[int]) -> list[Reading]:
    # x0: CO2 (offset 32768), x1: low-pass filtered CO2, then sensor temperature, capacitor
    # voltages, status and raw IR readings (diagnostics).
    return [Reading("co2", float(x[0] - 32768))]


_DL_LP8P: tuple[_Sensor, ...] = ((2, _lp8p_sht), (2, _lp8p_barometer), (8, _lp8p_co2), (1, _battery))


def dl_lp8p(f_port: int, payload: bytes) -> list[Reading]:
    """Decentlab DL-LP8P CO2, temperature, humidity and barometric pressure sensor (DL-LP8P
    datasheet, https://www.decentlab.com/products/co2-temperature-humidity-and-barometric-pressure-sensor-for-lorawan;
    TTN vendor/decentlab/dl-lp8p.js).

    Sensor 0 (2 words): air temperature ``175.72 * x0 / 65536 - 46.85`` degC, humidity
    ``125 * x1 / 65536 - 6`` %RH. Sensor 1 (2 words): barometric pressure ``2 * x1`` Pa.
    Sensor 2 (8 words): CO2 ``x0 - 32768`` ppm (the low-pass value and diagnostics are not
    stored). Sensor 3: battery voltage (mV).
    """
    return _decode(f_port, payload, _DL_LP8P)


# --- DL-MBX ------------------------------------------------------------------------------------


def _mbx_distance(x: Sequence[int]) -> list[Reading]:
    # x0: distance (mm), x1: number of valid samples; with no valid sample x0 means nothing.
    if x[1] == 0:
        return []
    return [Reading("distance", x[0] / 1000.0)]


_DL_MBX: tuple[_Sensor, ...] = ((2, _mbx_distance), (1, _battery))


def dl_mbx(f_port: int, payload: bytes) -> list[Reading]:
    """Decentlab DL-MBX ultrasonic distance / level sensor (DL-MBX datasheet,
    https://www.decentlab.com/products/ultrasonic-distance-/-level-sensor-for-lorawan; TTN
    vendor/decentlab/dl-mbx.js). Mounted looking down at water, ``distance`` becomes
    ``water_level`` through the device's mount height (decoders/derive.py).

    Sensor 0 (2 words): distance (mm) and the number of valid samples; no valid sample gives no
    distance reading. Sensor 1: battery voltage (mV).
    """
    return _decode(f_port, payload, _DL_MBX)


MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="decentlab/dl-pr26",
        vendor="Decentlab",
        model="DL-PR26",
        use_case="water",
        metrics=("gauge_pressure", "water_depth", "temperature", "battery_voltage"),
        spec="https://www.decentlab.com/products/pressure-/-liquid-level-and-temperature-sensor-for-lorawan"
        " (DL-PR26 datasheet, Decentlab protocol v2; " + TTN_REPO + "decentlab/dl-pr26-0-1.js)",
        vectors="decentlab-dl-pr26.json",
        decode=dl_pr26,
    ),
    DeviceModel(
        key="decentlab/dl-lp8p",
        vendor="Decentlab",
        model="DL-LP8P",
        use_case="classroom",
        metrics=("temperature", "humidity", "pressure", "co2", "battery_voltage"),
        spec="https://www.decentlab.com/products/co2-temperature-humidity-and-barometric-pressure-sensor-for-lorawan"
        " (DL-LP8P datasheet, Decentlab protocol v2; " + TTN_REPO + "decentlab/dl-lp8p.js)",
        vectors="decentlab-dl-lp8p.json",
        decode=dl_lp8p,
    ),
    DeviceModel(
        key="decentlab/dl-mbx",
        vendor="Decentlab",
        model="DL-MBX",
        use_case="water",
        metrics=("distance", "battery_voltage"),
        spec="https://www.decentlab.com/products/ultrasonic-distance-/-level-sensor-for-lorawan"
        " (DL-MBX datasheet, Decentlab protocol v2; " + TTN_REPO + "decentlab/dl-mbx.js)",
        vectors="decentlab-dl-mbx.json",
        decode=dl_mbx,
    ),
)
