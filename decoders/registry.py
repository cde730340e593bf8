"""The registry: model key -> device model. A plain dict, built once, no import-time plugins.

Keys are TTN device repository ids ``<brand_id>/<model_id>`` in lowercase slug form, so a TTS
uplink's ``version_ids`` select the decoder directly.
"""

from __future__ import annotations

from decoders import decentlab, dragino, elsys, imbuildings, milesight, parametric
from decoders.base import DeviceModel

MILESIGHT_DOC = "https://www.milesight.com/iot/product/lorawan-sensor/"
TTN_REPO = "https://github.com/TheThingsNetwork/lorawan-devices/blob/master/vendor/"

_MODELS: tuple[DeviceModel, ...] = (
    DeviceModel(
        key="milesight-iot/em310-udl",
        vendor="Milesight",
        model="EM310-UDL",
        use_case="waste",
        metrics=("battery", "distance", "tilt"),
        spec=MILESIGHT_DOC + "em310-udl (EM310-UDL user guide, payload structure)",
        vectors="milesight-em310-udl.json",
        decode=milesight.em310_udl,
    ),
    DeviceModel(
        key="milesight-iot/em500-swl",
        vendor="Milesight",
        model="EM500-SWL",
        use_case="water",
        metrics=("battery", "water_depth"),
        spec=MILESIGHT_DOC + "em500-swl (EM500-SWL user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders em-series/em500-swl)",
        vectors="milesight-em500-swl.json",
        decode=milesight.em500_swl,
    ),
    DeviceModel(
        key="elsys/ers-co2",
        vendor="Elsys",
        model="ERS CO2",
        use_case="classroom",
        metrics=("temperature", "humidity", "light", "motion", "co2", "battery_voltage", "pressure",
                 "tvoc"),
        spec="https://www.elsys.se/en/elsys-payload/ (Elsys LoRa payload; " + TTN_REPO + "elsys/elsys.js)",
        vectors="elsys-ers-co2.json",
        decode=elsys.ers,
    ),
    DeviceModel(
        key="imbuildings/imbuildings-people-counter",
        vendor="IMBuildings",
        model="People Counter",
        use_case="crossing",
        metrics=("pedestrian_count_in", "pedestrian_count_out", "pedestrian_count", "battery_voltage"),
        spec="https://support.imbuildings.com/ (LoRaWAN People Counter payload, type 2 variants 5-8; "
        + TTN_REPO + "imbuildings/imbuildings.js)",
        vectors="imbuildings-people-counter.json",
        decode=imbuildings.people_counter,
    ),
    DeviceModel(
        key="parametric/pcr2",
        vendor="Parametric",
        model="PCR2",
        use_case="crossing",
        metrics=("vehicle_count_ltr", "vehicle_count_rtl", "vehicle_count", "temperature", "battery",
                 "battery_voltage"),
        spec="https://www.parametric.ch/docs/pcr2/pcr2_app_payload_v3 and "
        "https://docs.parametric-analytics.com/pcr2/manuals/lora_payload_v4/ ("
        + TTN_REPO + "parametric/pcr2.js)",
        vectors="parametric-pcr2.json",
        decode=parametric.pcr2,
    ),
    DeviceModel(
        key="milesight-iot/em400-udl",
        vendor="Milesight",
        model="EM400-UDL",
        use_case="waste",
        metrics=("battery", "temperature", "distance", "tilt"),
        spec=MILESIGHT_DOC + "em400-udl (EM400-UDL user guide, payload structure)",
        vectors="milesight-em400-udl.json",
        decode=milesight.em400_udl,
    ),
    DeviceModel(
        key="milesight-iot/am319",
        vendor="Milesight",
        model="AM319",
        use_case="classroom",
        metrics=("battery", "temperature", "humidity", "co2", "pressure"),
        spec=MILESIGHT_DOC + "am319 (AM300 series user guide, payload structure)",
        vectors="milesight-am319.json",
        decode=milesight.am319,
    ),
    DeviceModel(
        key="decentlab/dl-pr26",
        vendor="Decentlab",
        model="DL-PR26",
        use_case="water",
        metrics=("gauge_pressure", "water_depth", "temperature", "battery_voltage"),
        spec="https://www.decentlab.com/products/pressure-/-liquid-level-and-temperature-sensor-for-lorawan"
        " (DL-PR26 datasheet, Decentlab protocol v2; " + TTN_REPO + "decentlab/dl-pr26-0-1.js)",
        vectors="decentlab-dl-pr26.json",
        decode=decentlab.dl_pr26,
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
        decode=decentlab.dl_lp8p,
    ),
    DeviceModel(
        key="dragino/ldds75",
        vendor="Dragino",
        model="LDDS75",
        use_case="waste",
        metrics=("battery_voltage", "distance"),
        spec="https://wiki.dragino.com/ (LDDS75 LoRaWAN Distance Detection Sensor user manual, "
        "uplink payload; github.com/dragino/dragino-end-node-decoder LDDS75)",
        vectors="dragino-ldds75.json",
        decode=dragino.ldds75,
    ),
)

MODELS: dict[str, DeviceModel] = {m.key: m for m in _MODELS}
