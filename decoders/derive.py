"""Derived metrics: values that need a device's configuration, kept as metrics of their own so
the raw value stays available and a config change can re-derive history (docs/architecture.md step 6).
"""

from __future__ import annotations

from decoders.config import DeviceConfig
from meetnet.records import Reading


def fill_percent(distance_m: float, bin_depth_m: float, full_distance_m: float) -> float:
    """Fill level in % from an ultrasonic distance (docs/domain.md, "Waste bins"):
    ``clamp((D_empty - d) / (D_empty - d_full), 0, 1) * 100``."""
    span = bin_depth_m - full_distance_m
    if span <= 0:
        return 100.0
    return max(0.0, min(1.0, (bin_depth_m - distance_m) / span)) * 100.0


def derive(readings: list[Reading], config: DeviceConfig) -> list[Reading]:
    """Apply calibration, then add fill_level / water_level where the config allows it."""
    if config.offsets or config.scales:
        readings = [
            Reading(
                r.metric,
                r.value * config.scales.get(r.metric, 1.0) + config.offsets.get(r.metric, 0.0),
                r.offset_s,
                r.time,
            )
            for r in readings
        ]
    # Read once: this runs for every uplink, and a pydantic attribute costs a lookup each time.
    bin_depth_m = config.bin_depth_m
    mount_height_nap_m = config.mount_height_nap_m
    sensor_depth_nap_m = config.sensor_depth_nap_m
    if bin_depth_m is None and mount_height_nap_m is None and sensor_depth_nap_m is None:
        return readings
    extra: list[Reading] = []
    for r in readings:
        metric = r.metric
        if metric == "distance":
            if bin_depth_m is not None:
                level = fill_percent(r.value, bin_depth_m, config.full_distance_m)
                extra.append(Reading("fill_level", round(level, 2), r.offset_s, r.time))
            if mount_height_nap_m is not None:
                # Down-looking sensor: level_NAP = sensor_reference_NAP - distance.
                level = mount_height_nap_m - r.value
                extra.append(Reading("water_level", round(level, 4), r.offset_s, r.time))
        elif metric == "water_depth" and sensor_depth_nap_m is not None:
            level = sensor_depth_nap_m + r.value
            extra.append(Reading("water_level", round(level, 4), r.offset_s, r.time))
    return readings + extra if extra else readings
