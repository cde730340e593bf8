"""Per-device configuration that turns raw sensor values into the values people ask about.

Stored as JSON in ``devices.config``; validated here so that a typo ("bin_dept_m") is refused
when the device is registered instead of silently deriving nothing.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class DeviceConfig(BaseModel):
    """Everything a derivation may need. All optional: a device without a bin depth simply gets
    no fill level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Waste bin (DOMAIN.md, "Waste bins"): sensor-to-bottom distance when empty and the distance
    # read when full (the sensor's blanking distance plus headroom).
    bin_depth_m: float | None = Field(default=None, gt=0, le=20)
    full_distance_m: float = Field(default=0.0, ge=0, le=20)
    # Water (DOMAIN.md, "Water level"): down-looking sensor's reference height, or a submerged
    # pressure sensor's own height, both in metres NAP.
    mount_height_nap_m: float | None = Field(default=None, ge=-20, le=50)
    sensor_depth_nap_m: float | None = Field(default=None, ge=-50, le=20)
    # Calibration applied to decoded values before derivation: value * scale + offset.
    offsets: dict[str, float] = Field(default_factory=dict)
    scales: dict[str, float] = Field(default_factory=dict)
    # Context for analytics (not used in derivation).
    speed_limit_kmh: float | None = Field(default=None, gt=0, le=200)
    # Passthrough devices (model "meetnet/passthrough"): the network server's decoded object's
    # fields -> catalog metrics, e.g. {"distance": ["distance", 0.001], "battery": "battery"}.
    field_map: dict[str, str | tuple[str, float]] = Field(default_factory=dict)
    room_volume_m3: float | None = Field(default=None, gt=0, le=10000)
