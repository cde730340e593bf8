"""The registry: model key -> device model. A plain dict, built once, no import-time plugins.

Keys are TTN device repository ids ``<brand_id>/<model_id>`` in lowercase slug form, so a TTS
uplink's ``version_ids`` select the decoder directly.
"""

from __future__ import annotations

from decoders import decentlab, dragino, elsys, imbuildings, lpp, milesight, parametric, passthrough
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
    DeviceModel(
        key="parametric/tcr",
        vendor="Parametric",
        model="TCR",
        use_case="crossing",
        metrics=("vehicle_count_ltr", "vehicle_count_rtl", "vehicle_count", "vehicle_speed_mean",
                 "vehicle_speed_v85", "temperature", "battery", "battery_voltage"),
        spec="https://docs.pmx.systems/tcr/manuals/lora_payload_v1.3/ (TCR LoRaWAN payload "
        "description, firmware V1.3, application payload on fPort 15) and "
        "https://www.parametric-analytics.com/docs/tcr/tcr_app_payload_v1",
        vectors="parametric-tcr.json",
        decode=parametric.tcr,
    ),
    DeviceModel(
        key="milesight-iot/vs133",
        vendor="Milesight",
        model="VS133",
        use_case="crossing",
        metrics=("pedestrian_count_in", "pedestrian_count_out", "pedestrian_count"),
        spec=MILESIGHT_DOC + "vs133 (VS13x user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders VS_Series/VS133; " + TTN_REPO + "milesight-iot/vs133.js)",
        vectors="milesight-vs133.json",
        decode=milesight.vs133,
    ),
    DeviceModel(
        key="milesight-iot/vs121",
        vendor="Milesight",
        model="VS121",
        use_case="crossing",
        metrics=("people_count", "pedestrian_count_in", "pedestrian_count_out", "pedestrian_count"),
        spec=MILESIGHT_DOC + "vs121 (VS121 user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders VS_Series/VS121; " + TTN_REPO + "milesight-iot/vs121.js)",
        vectors="milesight-vs121.json",
        decode=milesight.vs121,
    ),
    DeviceModel(
        key="milesight-iot/em500-udl",
        vendor="Milesight",
        model="EM500-UDL",
        use_case="water",
        metrics=("battery", "distance"),
        spec=MILESIGHT_DOC + "em500-udl (EM500-UDL user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders EM_Series/EM500_Series/EM500-UDL; "
        + TTN_REPO + "milesight-iot/em500-udl.js)",
        vectors="milesight-em500-udl.json",
        decode=milesight.em500_udl,
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
        decode=decentlab.dl_mbx,
    ),
    DeviceModel(
        key="milesight-iot/em400-mud",
        vendor="Milesight",
        model="EM400-MUD",
        use_case="waste",
        metrics=("battery", "temperature", "distance", "tilt"),
        spec=MILESIGHT_DOC + "em400-mud (EM400-MUD user guide, payload structure; "
        + TTN_REPO + "milesight-iot/em400-mud.js)",
        vectors="milesight-em400-mud.json",
        decode=milesight.em400_mud,
    ),
    DeviceModel(
        key="milesight-iot/am307",
        vendor="Milesight",
        model="AM307",
        use_case="classroom",
        metrics=("battery", "temperature", "humidity", "co2", "pressure"),
        spec=MILESIGHT_DOC + "am307 (AM300 series user guide, payload structure; "
        "github.com/Milesight-IoT/SensorDecoders AM_Series/AM300_Series; "
        + TTN_REPO + "milesight-iot/am307.js)",
        vectors="milesight-am307.json",
        decode=milesight.am307,
    ),
    DeviceModel(
        key="cayenne/lpp",
        vendor="myDevices",
        model="Cayenne LPP",
        use_case="any",
        metrics=lpp.METRICS,
        spec="https://docs.mydevices.com/docs/lorawan/cayenne-lpp (Cayenne Low Power Payload 1.0; "
        "extended types from github.com/ElectronicCats/CayenneLPP src/CayenneLPP.h)",
        vectors="cayenne-lpp.json",
        decode=lpp.lpp,
    ),
    DeviceModel(
        key="meetnet/passthrough",
        vendor="any",
        model="network-decoded values",
        use_case="any",
        metrics=(),
        spec="The Things Stack uplink_message.decoded_payload / ChirpStack v4 event/up object, "
             "mapped by the device config's field_map",
        vectors="meetnet-passthrough.json",
        decode=passthrough.payload,
        decode_object=passthrough.decoded_object,
    ),
)

MODELS: dict[str, DeviceModel] = {m.key: m for m in _MODELS}
