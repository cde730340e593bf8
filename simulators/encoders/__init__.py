"""Device encoders: catalog values -> (fPort, payload bytes), the inverse of ``decoders``.

An encoder takes the values a physical model produced, in catalog units (distance in m, battery in
%, ...), quantises them to the device's resolution and packs the frame the real device sends.
Metrics an encoder is not given are left out of the frame where the format allows, else sent as
zero.

``RESOLUTION`` lists, per model, the metrics its encoder carries and the step the device quantises
each to: decoding an encoded value gives it back within half a step.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from simulators.encoders import decentlab, dragino, elsys, imbuildings, lpp, milesight, parametric

Encoder = Callable[[Mapping[str, float]], tuple[int, bytes]]

ENCODERS: dict[str, Encoder] = {
    "milesight-iot/em310-udl": milesight.em310_udl,
    "milesight-iot/em500-swl": milesight.em500_swl,
    "elsys/ers-co2": elsys.ers_co2,
    "imbuildings/imbuildings-people-counter": imbuildings.people_counter,
    "parametric/pcr2": parametric.pcr2,
    "milesight-iot/em400-udl": milesight.em400_udl,
    "milesight-iot/am319": milesight.am319,
    "decentlab/dl-pr26": decentlab.dl_pr26,
    "decentlab/dl-lp8p": decentlab.dl_lp8p,
    "dragino/ldds75": dragino.ldds75,
    "parametric/tcr": parametric.tcr,
    "milesight-iot/vs133": milesight.vs133,
    "milesight-iot/vs121": milesight.vs121,
    "milesight-iot/em500-udl": milesight.em500_udl,
    "decentlab/dl-mbx": decentlab.dl_mbx,
    "milesight-iot/em400-mud": milesight.em400_udl,  # same frame as the EM400-UDL
    "milesight-iot/am307": milesight.am319,  # same channels as the AM319
    "cayenne/lpp": lpp.lpp,
}

RESOLUTION: dict[str, dict[str, float]] = {
    "milesight-iot/em310-udl": {"battery": 1, "distance": 0.001, "tilt": 1},
    "milesight-iot/em500-swl": {"battery": 1, "water_depth": 0.01},
    "elsys/ers-co2": {
        "temperature": 0.1,
        "humidity": 1,
        "light": 1,
        "motion": 1,
        "co2": 1,
        "battery_voltage": 0.001,
        "pressure": 0.1,
        "tvoc": 1,
    },
    "imbuildings/imbuildings-people-counter": {
        "pedestrian_count_in": 1,
        "pedestrian_count_out": 1,
        "battery_voltage": 0.01,
    },
    "parametric/pcr2": {
        "vehicle_count_ltr": 1,
        "vehicle_count_rtl": 1,
        "temperature": 0.1,
        "battery_voltage": 0.001,
    },
    "milesight-iot/em400-udl": {"battery": 1, "temperature": 0.1, "distance": 0.001, "tilt": 1},
    "milesight-iot/am319": {"battery": 1, "temperature": 0.1, "humidity": 0.5, "co2": 1, "pressure": 10},
    "decentlab/dl-pr26": {"water_depth": 10.197 / 32768, "temperature": 0.003125, "battery_voltage": 0.001},
    "decentlab/dl-lp8p": {
        "temperature": 175.72 / 65536,
        "humidity": 125 / 65536,
        "pressure": 2,
        "co2": 1,
        "battery_voltage": 0.001,
    },
    "dragino/ldds75": {"battery_voltage": 0.001, "distance": 0.001},
    "parametric/tcr": {
        "vehicle_count_ltr": 1,
        "vehicle_count_rtl": 1,
        "temperature": 0.1,
        "battery_voltage": 0.001,
    },
    "milesight-iot/vs133": {"pedestrian_count_in": 1, "pedestrian_count_out": 1},
    "milesight-iot/vs121": {"people_count": 1, "pedestrian_count_in": 1, "pedestrian_count_out": 1},
    "milesight-iot/em500-udl": {"battery": 1, "distance": 0.001},
    "decentlab/dl-mbx": {"distance": 0.001, "battery_voltage": 0.001},
    "milesight-iot/em400-mud": {"battery": 1, "temperature": 0.1, "distance": 0.001, "tilt": 1},
    "milesight-iot/am307": {"battery": 1, "temperature": 0.1, "humidity": 0.5, "co2": 1, "pressure": 10},
    "cayenne/lpp": {"temperature": 0.1, "humidity": 0.5, "pressure": 10, "light": 1, "distance": 0.001},
}

__all__ = ["ENCODERS", "RESOLUTION", "Encoder"]
