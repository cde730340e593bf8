"""The closed vocabulary of metrics: every reading's name and unit comes from here.

Units are SenML symbols from the IANA SenML Units registry (RFC 8428 section 12.1) where one
exists ("m", "Cel", "%RH", "Pa", "V", "km/h", "lx", "/"); "ppm" and "%" are listed as secondary
units (RFC 8798). Ranges are the physically possible values: anything outside is refused at the
"validate" stage and dead-lettered rather than stored.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Metric:
    name: str
    unit: str
    description: str
    minimum: float
    maximum: float
    use_case: str = "any"


_METRICS = (
    # Classroom air (Meet de Klas)
    Metric("co2", "ppm", "CO2 concentration", 0, 40000, "classroom"),
    Metric("temperature", "Cel", "Air or water temperature", -50, 125),
    Metric("humidity", "%RH", "Relative humidity", 0, 100, "classroom"),
    Metric("pressure", "Pa", "Barometric or hydrostatic pressure", 0, 2_000_000),
    Metric("light", "lx", "Illuminance", 0, 200_000, "classroom"),
    Metric("motion", "count", "PIR motion events since the previous uplink", 0, 65535, "classroom"),
    Metric("tvoc", "ppb", "Total volatile organic compounds", 0, 60000, "classroom"),
    # Particulate matter, mass concentration in micrograms per m3 ("ug/m3", a SenML secondary
    # unit, RFC 8798 section 3). The ranges: what indoor PM sensors report (Milesight AM308 and
    # AM319: 0..1000), doubled.
    Metric("pm2_5", "ug/m3", "Particulate matter up to 2.5 um (PM2.5)", 0, 2000, "classroom"),
    Metric("pm10", "ug/m3", "Particulate matter up to 10 um (PM10)", 0, 2000, "classroom"),
    # Waste bins
    Metric("distance", "m", "Distance from sensor to the nearest surface", 0, 20, "waste"),
    Metric("fill_level", "%", "Bin fill level derived from distance and bin depth", 0, 100, "waste"),
    Metric("tilt", "/", "1 when the sensor reports a tilted lid (bin being emptied)", 0, 1, "waste"),
    # Zebra crossing
    Metric("pedestrian_count", "count", "People passing since the previous uplink", 0, 100_000,
           "crossing"),
    Metric("pedestrian_count_in", "count", "People passing in direction A", 0, 100_000, "crossing"),
    Metric("pedestrian_count_out", "count", "People passing in direction B", 0, 100_000, "crossing"),
    Metric("vehicle_count", "count", "Vehicles passing since the previous uplink", 0, 100_000,
           "crossing"),
    Metric("vehicle_speed_v85", "km/h", "85th percentile speed of approaching vehicles", 0, 300,
           "crossing"),
    # Surface water
    Metric("water_depth", "m", "Water column above a submerged pressure sensor", -1, 100, "water"),
    Metric("water_level", "m", "Water level relative to NAP (m NAP)", -10, 10, "water"),
    # Device health
    Metric("battery", "%", "Battery charge", 0, 100),
    Metric("battery_voltage", "V", "Battery voltage", 0, 20),
    # Zebra crossing, per direction (radar counters such as the Parametric PCR2)
    Metric("vehicle_count_ltr", "count", "Vehicles passing left to right since the previous uplink",
           0, 100_000, "crossing"),
    Metric("vehicle_count_rtl", "count", "Vehicles passing right to left since the previous uplink",
           0, 100_000, "crossing"),
    # Surface water: a vented (gauge) pressure sensor reads relative to the atmosphere, so a probe
    # in air reads about 0 and a small negative offset is physically possible.
    Metric("gauge_pressure", "Pa", "Pressure above the atmosphere, e.g. of a water column",
           -100_000, 2_000_000, "water"),
    # Zebra crossing: radar speed statistics (Parametric TCR) and occupancy snapshots (Milesight
    # VS121 and other camera / ToF people counters that report how many people are present now).
    Metric("vehicle_speed_mean", "km/h", "Mean speed of the vehicles counted since the previous "
           "uplink", 0, 300, "crossing"),
    Metric("people_count", "count", "People present in the detection area at the time of the "
           "reading (a snapshot, not a flow)", 0, 10_000, "crossing"),
)

METRICS: dict[str, Metric] = {m.name: m for m in _METRICS}
#: name -> (minimum, maximum): the ranges as plain tuples for ingest's per-reading check, which
#: runs for every value stored and so skips the Metric lookup and attribute access.
RANGES: dict[str, tuple[float, float]] = {m.name: (m.minimum, m.maximum) for m in _METRICS}


class UnknownMetric(KeyError):
    pass


def metric(name: str) -> Metric:
    """Look a metric up by name; an unknown name is a programming error, not bad input."""
    try:
        return METRICS[name]
    except KeyError:
        raise UnknownMetric(name) from None


def out_of_range(name: str, value: float) -> str | None:
    """The reason ``value`` is not physically possible for ``name``, or None when it is."""
    m = metric(name)
    if value != value:  # NaN
        return f"{name} is NaN"
    if not (m.minimum <= value <= m.maximum):
        return f"{name}={value:g} {m.unit} outside [{m.minimum:g}, {m.maximum:g}]"
    return None
