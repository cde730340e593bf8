"""Decentlab sensors: one decoder for the Decentlab uplink protocol version 2, shared by all DL-*
devices, driven by each model's sensor table.

Frame (Decentlab product datasheets, section "Payload"; TTN device repository
vendor/decentlab/dl-*.js): ``version (1 byte, = 2), device id (uint16), flags (uint16)``, then for
every flag bit set, from bit 0 up, that sensor's fixed number of uint16 words (big-endian). The
battery voltage is the last sensor of every model. The data on its own says nothing about which
model sent it, so a frame is decoded with the model's sensor table; a flag bit outside the table
or a byte beyond the flagged sensors is a DecodeError rather than a guess.

A model is data: a `Table` lists its sensors (how many words each) and per sensor the values the
vendor defines, each as `Value`: which word, the vendor's conversion written as numbers
``(x[word] - sub) * mul / div + add`` in the vendor's unit, and the catalog metrics it is stored
as (with the factor from the vendor's unit; none for the vendor's diagnostics). Adding a model of
the family is adding one table to `TABLES`; the encoders (simulators/encoders/decentlab.py) invert
the same tables.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import partial

from decoders.base import TTN_REPO, DecodeError, DeviceModel
from meetnet.records import Reading

PROTOCOL_VERSION = 2
_HEADER = 5  # version, device id, flags

# Fresh water: 1 bar = 1e5 Pa / (999.97 kg/m3 * 9.80665 m/s2) = 10.197 m of water column.
M_WATER_PER_BAR = 10.197
PA_PER_BAR = 100_000.0


@dataclass(frozen=True, slots=True)
class Value:
    """One value of a sensor as the vendor's sensor definition gives it: ``name`` and the
    conversion ``(x[word] - sub) * mul / div + add`` of the sensor's words ``x`` into the vendor's
    unit; ``store`` the catalog metrics it becomes, each with its factor from the vendor's unit
    (empty: a diagnostic meetnet does not store; the first is the metric the simulators drive).
    ``valid_if`` names a word that is 0 when the value means nothing (no valid sample).
    ``nominal`` is what a simulated device sends, in the vendor's unit, when not given it."""

    name: str
    word: int
    sub: float = 0.0
    mul: float = 1.0
    div: float = 1.0
    add: float = 0.0
    store: tuple[tuple[str, float], ...] = ()
    valid_if: int | None = None
    nominal: float = 0.0

    def scale(self, factor: float = 1.0) -> tuple[float, float]:
        """``(a, b)`` such that ``factor * vendor value = a * x[word] + b``."""
        a = self.mul / self.div
        return a * factor, (self.add - self.sub * a) * factor


@dataclass(frozen=True, slots=True)
class Sensor:
    """One flag bit's sensor: ``words`` uint16 words and the values read from them."""

    words: int
    values: tuple[Value, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """A Decentlab model as data: its registry entry and its sensors in flag-bit order."""

    key: str  # TTN device repository id
    model: str
    use_case: str
    product: str  # the product page, where the datasheet is linked
    codec: str  # the TTN codec file the table mirrors
    sensors: tuple[Sensor, ...]


def _stored(metric: str) -> tuple[tuple[str, float], ...]:
    return ((metric, 1.0),)


# A vented probe's pressure (bar above the atmosphere): the water column above it first (what the
# water use case reads), and the pressure itself as gauge_pressure in Pa. ``pressure`` would be
# wrong: its catalog range is barometric/absolute (>= 0), and a probe in air reads about 0 bar.
_WATER_PRESSURE = (("water_depth", M_WATER_PER_BAR), ("gauge_pressure", PA_PER_BAR))

BATTERY = Sensor(1, (Value("battery_voltage", 0, div=1000, store=_stored("battery_voltage"), nominal=3.0),))


def _pr2x_pressure(pmin: float, pmax: float) -> Sensor:
    """The DL-PR21/PR26 piezoresistive sensor (Keller series 20/26): its range ``pmin..pmax`` bar
    spread over raw 16384..49152, and its temperature."""
    return Sensor(2, (
        Value("pressure", 0, sub=16384, mul=pmax - pmin, div=32768, add=pmin, store=_WATER_PRESSURE),
        Value("temperature", 1, sub=384, mul=0.003125, add=-50, store=_stored("temperature"),
              nominal=20.0),
    ))


TABLES: tuple[Table, ...] = (
    Table(
        "decentlab/dl-pr26", "DL-PR26", "water",
        "https://www.decentlab.com/products/pressure-/-liquid-level-and-temperature-sensor-for-lorawan",
        "dl-pr26-0-1.js",
        # The TTN codec and the default part are 0..1 bar; for a 0..10 bar part set the device's
        # calibration scales of water_depth and gauge_pressure to 10.
        (_pr2x_pressure(0.0, 1.0), BATTERY),
    ),
    Table(
        "decentlab/dl-pr21", "DL-PR21", "water",
        "https://www.decentlab.com/products/pressure-/-liquid-level-and-temperature-sensor-with-g1/4-pipe-thread-for-lorawan",
        "dl-pr21-1-10.js",
        (_pr2x_pressure(-1.0, 10.0), BATTERY),
    ),
    Table(
        "decentlab/dl-pr36", "DL-PR36", "water",
        "https://www.decentlab.com/products/high-precision-pressure-/-liquid-level-and-temperature-sensor-for-lorawan",
        "dl-pr36-8192.js",
        # kp = 8192 counts per bar (the TTN codec's and Decentlab's published parameter).
        (Sensor(2, (
            Value("pressure", 0, sub=32768, div=8192, store=_WATER_PRESSURE),
            Value("temperature", 1, sub=32768, div=256, store=_stored("temperature"), nominal=20.0),
        )), BATTERY),
    ),
    Table(
        "decentlab/dl-pr36ctd", "DL-PR36CTD", "water",
        "https://www.decentlab.com/products/high-precision-pressure-/-liquid-level-temperature-and-electrical-conductivity-sensor-for-lorawan",
        "dl-pr36ctd-8192-1024.js",
        # kp = 8192 counts per bar, kec = 1024 counts per mS/cm. The PT1000 measures the water;
        # the electronics' temperature and the conductivity (no catalog metric) are not stored.
        (Sensor(4, (
            Value("pressure", 0, sub=32768, div=8192, store=_WATER_PRESSURE),
            Value("temperature_electronics", 1, sub=32768, div=256, nominal=20.0),
            Value("temperature_pt1000", 2, sub=32768, div=256, store=_stored("temperature"), nominal=20.0),
            Value("electrical_conductivity", 3, sub=32768, div=1024, nominal=0.5),
        )), BATTERY),
    ),
    Table(
        "decentlab/dl-lp8p", "DL-LP8P", "classroom",
        "https://www.decentlab.com/products/co2-temperature-humidity-and-barometric-pressure-sensor-for-lorawan",
        "dl-lp8p.js",
        (
            # Sensirion SHT conversion of the raw words.
            Sensor(2, (
                Value("air_temperature", 0, mul=175.72, div=65536, add=-46.85,
                      store=_stored("temperature"), nominal=20.0),
                Value("air_humidity", 1, mul=125, div=65536, add=-6, store=_stored("humidity"),
                      nominal=50.0),
            )),
            # The barometer's own temperature is not the air's.
            Sensor(2, (
                Value("barometer_temperature", 0, sub=5000, div=100, nominal=20.0),
                Value("barometric_pressure", 1, mul=2, store=_stored("pressure"), nominal=101_325.0),
            )),
            # CO2 and the sensor's diagnostics (low-pass value, temperature, capacitor voltages,
            # status, raw IR readings).
            Sensor(8, (
                Value("co2_concentration", 0, sub=32768, store=_stored("co2"), nominal=400.0),
                Value("co2_concentration_lpf", 1, sub=32768, nominal=400.0),
                Value("co2_sensor_temperature", 2, sub=32768, div=100, nominal=20.0),
                Value("capacitor_voltage_1", 3, div=1000, nominal=3.0),
                Value("capacitor_voltage_2", 4, div=1000, nominal=3.0),
                Value("co2_sensor_status", 5),
                Value("raw_ir_reading", 6),
                Value("raw_ir_reading_lpf", 7),
            )),
            BATTERY,
        ),
    ),
    Table(
        "decentlab/dl-mbx", "DL-MBX", "water",
        "https://www.decentlab.com/products/ultrasonic-distance-/-level-sensor-for-lorawan",
        "dl-mbx.js",
        # Distance in mm; with no valid sample the distance word means nothing. Mounted looking
        # down at water, distance becomes water_level through the mount height (decoders/derive.py).
        (Sensor(2, (
            Value("distance", 0, store=(("distance", 0.001),), valid_if=1, nominal=1000.0),
            Value("number_of_valid_samples", 1, nominal=1.0),
        )), BATTERY),
    ),
)


# --- the decoder ---------------------------------------------------------------------------------

# Per sensor: its byte count, its unpacker, and (word, a, b, metric, valid_if) per stored reading,
# the conversion folded into ``a * x + b`` once so that a frame costs one multiply-add a reading.
_Out = tuple[int, float, float, str, int | None]
_Compiled = tuple[tuple[int, struct.Struct, tuple[_Out, ...]], ...]


def _compile(table: Table) -> _Compiled:
    # A table that could not describe a real frame is a programming error, caught at import.
    if not 0 < len(table.sensors) <= 16:
        raise ValueError(f"{table.key}: {len(table.sensors)} sensors do not fit the 16 flag bits")
    out = []
    for sensor in table.sensors:
        reads: list[_Out] = []
        for v in sensor.values:
            if not 0 <= v.word < sensor.words or not (v.valid_if is None or 0 <= v.valid_if < sensor.words):
                raise ValueError(f"{table.key}: value {v.name} reads a word the sensor does not have")
            for metric, factor in v.store:
                a, b = v.scale(factor)
                reads.append((v.word, a, b, metric, v.valid_if))
        out.append((2 * sensor.words, struct.Struct(f">{sensor.words}H"), tuple(reads)))
    return tuple(out)


def decode(table: _Compiled, f_port: int, payload: bytes) -> list[Reading]:
    """Decode one Decentlab protocol v2 frame with a model's compiled sensor table (Decentlab
    datasheets, "Payload"; TTN vendor/decentlab/dl-*.js): header, then the flagged sensors'
    words in flag-bit order, each value converted as the table says."""
    if f_port == 0 or f_port >= 224:
        raise DecodeError(f"fPort {f_port} carries no Decentlab application data")
    size = len(payload)
    version = payload[0] if size else None
    if version != PROTOCOL_VERSION:
        raise DecodeError(f"Decentlab protocol version {version} is not {PROTOCOL_VERSION}")
    if size < _HEADER:
        raise DecodeError(f"payload too short: {size} byte(s), the header alone has {_HEADER}")
    flags = payload[3] << 8 | payload[4]
    if flags >> len(table):
        raise DecodeError(f"flags 0x{flags:04x} name sensors this model does not have")
    out: list[Reading] = []
    pos = _HEADER
    for nbytes, unpack, reads in table:
        if not flags:
            break
        if flags & 1:
            if pos + nbytes > size:
                raise DecodeError(
                    f"payload too short: need {nbytes} byte(s) at offset {pos}, have {size - pos}"
                )
            x = unpack.unpack_from(payload, pos)
            pos += nbytes
            for word, a, b, metric, valid_if in reads:
                if valid_if is None or x[valid_if]:
                    out.append(Reading(metric, x[word] * a + b))
        flags >>= 1
    if pos != size:
        raise DecodeError(f"{size - pos} byte(s) after the flagged sensors")
    return out


def metrics(table: Table) -> tuple[str, ...]:
    """The catalog metrics a table's model can give, in frame order."""
    seen: dict[str, None] = {}
    for sensor in table.sensors:
        for v in sensor.values:
            for metric, _ in v.store:
                seen[metric] = None
    return tuple(seen)


def device_model(table: Table) -> DeviceModel:
    """The registry entry of a table's model: all of it follows from the table."""
    return DeviceModel(
        key=table.key,
        vendor="Decentlab",
        model=table.model,
        use_case=table.use_case,
        metrics=metrics(table),
        spec=f"{table.product} ({table.model} datasheet, Decentlab protocol v2; "
        f"{TTN_REPO}decentlab/{table.codec})",
        vectors=f"{table.key.replace('/', '-')}.json",
        decode=partial(decode, _compile(table)),
    )


MODELS: tuple[DeviceModel, ...] = tuple(device_model(t) for t in TABLES)
