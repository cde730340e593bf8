"""Per-device configuration that turns raw sensor values into the values people ask about.

Stored as JSON in ``devices.config``; validated here so that a typo ("bin_dept_m") is refused
when the device is registered instead of silently deriving nothing.
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator


class DeviceConfig(BaseModel):
    """Everything a derivation may need. All optional: a device without a bin depth simply gets
    no fill level."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Waste bin (docs/domain.md, "Waste bins"): sensor-to-bottom distance when empty and the distance
    # read when full (the sensor's blanking distance plus headroom).
    bin_depth_m: float | None = Field(default=None, gt=0, le=20)
    full_distance_m: float = Field(default=0.0, ge=0, le=20)
    # What a full bin holds (litres): what emptying it puts in the truck (waste routes).
    bin_volume_l: float | None = Field(default=None, gt=0, le=100_000)
    # Water (docs/domain.md, "Water level"): down-looking sensor's reference height, or a submerged
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


class WasteBinConfig(DeviceConfig):
    """A bin's fill sensor: without the bin's depth no fill level can be derived."""

    bin_depth_m: float = Field(gt=0, le=20)


class WaterLevelConfig(DeviceConfig):
    """A water level gauge: its reference height (down-looking) or its own height (submerged),
    in m NAP, is what turns a distance or a depth into a level. Optionally its target level
    (docs/domain.md, "Water level"): fixed (``target_nap_m``), summer/winter
    (``target_summer_nap_m`` and ``target_winter_nap_m``) or a band (``target_lower_nap_m`` ..
    ``target_upper_nap_m``), and its rate-of-rise alarm threshold."""

    target_nap_m: float | None = Field(default=None, ge=-10, le=10)
    target_summer_nap_m: float | None = Field(default=None, ge=-10, le=10)
    target_winter_nap_m: float | None = Field(default=None, ge=-10, le=10)
    target_lower_nap_m: float | None = Field(default=None, ge=-10, le=10)
    target_upper_nap_m: float | None = Field(default=None, ge=-10, le=10)
    rise_alarm_cm_h: float | None = Field(default=None, gt=0, le=1000)

    @model_validator(mode="after")
    def _one_reference(self) -> WaterLevelConfig:
        if (self.mount_height_nap_m is None) == (self.sensor_depth_nap_m is None):
            raise ValueError("a water level gauge needs exactly one of mount_height_nap_m "
                             "(down-looking sensor) or sensor_depth_nap_m (submerged sensor)")
        return self

    @model_validator(mode="after")
    def _one_target(self) -> WaterLevelConfig:
        seasonal = (self.target_summer_nap_m, self.target_winter_nap_m)
        band = (self.target_lower_nap_m, self.target_upper_nap_m)
        kinds = [self.target_nap_m is not None, any(v is not None for v in seasonal),
                 any(v is not None for v in band)]
        if sum(kinds) > 1:
            raise ValueError("a gauge's target is one of: target_nap_m, summer/winter, or a "
                             "lower/upper band")
        if kinds[1] and None in seasonal:
            raise ValueError("a seasonal target needs target_summer_nap_m and target_winter_nap_m")
        if kinds[2] and (band[0] is None or band[1] is None or band[0] > band[1]):
            raise ValueError("a target band needs target_lower_nap_m <= target_upper_nap_m")
        return self


class CrossingConfig(DeviceConfig):
    """A zebra crossing counter; the speed limit (km/h) is what V85 is compared with."""


class TimetableConfig(BaseModel):
    """Lesson time (analytics/classroom.py, ``Timetable``): local hours on weekdays (Monday = 0),
    with per-weekday end times for a short day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: time = time(8, 30)
    end: time = time(15, 0)
    weekdays: tuple[Annotated[int, Field(ge=0, le=6)], ...] = (0, 1, 2, 3, 4)
    end_by_weekday: dict[Annotated[int, Field(ge=0, le=6)], time] = Field(default_factory=dict)
    timezone: str = Field(default="Europe/Amsterdam", max_length=64)

    @model_validator(mode="after")
    def _known_zone(self) -> TimetableConfig:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {self.timezone!r}") from None
        return self


class HolidayConfig(BaseModel):
    """A school holiday, first and last day inclusive."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    start: date
    end: date

    @model_validator(mode="after")
    def _ordered(self) -> HolidayConfig:
        if self.end < self.start:
            raise ValueError("a holiday ends on or after its start")
        return self


class ClassroomConfig(DeviceConfig):
    """A classroom air sensor; the room volume and pupils feed the ventilation estimate, the
    timetable and holidays the lesson-time shares (docs/domain.md, "Classrooms")."""

    pupils: int | None = Field(default=None, gt=0, le=1000)
    timetable: TimetableConfig | None = None
    holidays: list[HolidayConfig] = Field(default_factory=list, max_length=500)
    outdoor_co2_ppm: float = Field(default=420.0, ge=200, le=2000)
    uplink_interval_s: float | None = Field(default=None, gt=0, le=86400)


_BY_USE_CASE: dict[str, type[DeviceConfig]] = {
    "waste": WasteBinConfig,
    "water": WaterLevelConfig,
    "crossing": CrossingConfig,
    "classroom": ClassroomConfig,
}


def config_model(use_case: str) -> type[DeviceConfig]:
    """The configuration model a device of this use case is validated with at registration."""
    return _BY_USE_CASE.get(use_case, DeviceConfig)
