"""Request and response models of the public API: the contract students and dashboards program
against."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Device(BaseModel):
    dev_eui: str = Field(examples=["24e124713c012345"])
    device_id: str = Field(examples=["bin-breestraat-01"])
    name: str = Field(examples=["Afvalbak Breestraat 1"])
    organisation: str = Field(examples=["gemeente-leiden"])
    model_key: str = Field(examples=["milesight-iot/em310-udl"])
    use_case: str = Field(examples=["waste"])
    visibility: str = Field(description="private, shared or open", examples=["open"])
    lat: float | None = Field(default=None, description="WGS 84", examples=[52.1601])
    lon: float | None = Field(default=None, description="WGS 84", examples=[4.4907])
    last_seen_at: datetime | None = Field(default=None, examples=["2026-11-23T08:00:00Z"])
    battery_percent: float | None = Field(default=None, examples=[87.0])


class AttributeValue(BaseModel):
    value: str | int | float | bool = Field(examples=["v1.10"])
    at: datetime = Field(description="when the device reported it (the uplink's received time)",
                         examples=["2026-11-23T08:00:00Z"])


class DeviceAttributes(BaseModel):
    """What the device said about itself, newest value per name (docs/architecture.md, "Decode")."""

    dev_eui: str = Field(examples=["24e124713c012345"])
    attributes: dict[str, AttributeValue] = Field(
        description="firmware_version, hardware_version, sn, lorawan_class, and the settings a "
                    "downlink response confirmed (collection_interval, report_interval, ...)",
        examples=[{"firmware_version": {"value": "v1.10", "at": "2026-11-23T08:00:00Z"},
                   "collection_interval": {"value": 600, "at": "2026-11-23T08:00:00Z"}}])


class ReadingPoint(BaseModel):
    time: datetime = Field(examples=["2026-11-23T08:00:00Z"])
    value: float = Field(examples=[812.0])


class BucketPoint(BaseModel):
    """One time bucket: its start (with the UTC offset of `tz` at that moment) and the
    aggregate of the readings in it."""

    time: datetime = Field(examples=["2026-03-29T00:00:00+01:00"])
    value: float = Field(examples=[612.4])
    count: int = Field(description="readings in the bucket", examples=[276])


def _absent(value: object) -> bool:
    return value is None


class ReadingsPage(BaseModel):
    dev_eui: str
    metric: str = Field(examples=["co2"])
    unit: str = Field(examples=["ppm"])
    readings: list[BucketPoint | ReadingPoint] = Field(
        description="raw readings, or with `bucket` one point per non-empty bucket")
    next: str | None = Field(default=None, description="URL of the next page, if any")
    # Only in bucketed answers (and `tz` when asked for): raw answers stay as they were.
    bucket: str | None = Field(default=None, exclude_if=_absent, examples=["1d"])
    agg: Literal["avg", "min", "max", "last", "count", "sum"] | None = Field(
        default=None, exclude_if=_absent, examples=["avg"])
    tz: str | None = Field(default=None, exclude_if=_absent, examples=["Europe/Amsterdam"])


class LatestValue(BaseModel):
    value: float = Field(examples=[63.5])
    unit: str = Field(examples=["%"])
    time: datetime = Field(examples=["2026-11-23T08:00:00Z"])


class LatestDevice(BaseModel):
    dev_eui: str = Field(examples=["24e124713c012345"])
    name: str = Field(examples=["Afvalbak Breestraat 1"])
    organisation: str = Field(examples=["gemeente-leiden"])
    use_case: str = Field(examples=["waste"])
    model_key: str = Field(examples=["milesight-iot/em310-udl"])
    lat: float | None = Field(examples=[52.1601])
    lon: float | None = Field(examples=[4.4907])
    last_seen_at: datetime | None = Field(examples=["2026-11-23T08:00:00Z"])
    readings: dict[str, LatestValue] = Field(
        examples=[{"fill_level": {"value": 63.5, "unit": "%", "time": "2026-11-23T08:00:00Z"}}])


class Health(BaseModel):
    status: str = Field(description="ok or degraded", examples=["ok"])
    database: str = Field(description="ok or unavailable", examples=["ok"])
    version: str = Field(examples=["0.1.0"])


class DeviceIn(BaseModel):
    """A device to register for the caller's organisation (a writer or admin key)."""

    model_config = ConfigDict(extra="forbid")

    dev_eui: str = Field(pattern=r"^[0-9a-fA-F]{16}$", examples=["24e124713c012345"])
    model_key: str = Field(max_length=128, examples=["milesight-iot/em310-udl"])
    name: str = Field(default="", max_length=200, examples=["Afvalbak Breestraat 1"])
    use_case: Literal["waste", "classroom", "crossing", "water", "any"] = "any"
    visibility: Literal["private", "shared", "open"] = "private"
    device_id: str = Field(default="", max_length=128)
    application_id: str = Field(default="", max_length=128)
    network: Literal["tts", "chirpstack", "webhook"] | None = None
    tenant_id: str | None = Field(default=None, max_length=128)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    config: dict[str, Any] = Field(default_factory=dict,
                                   examples=[{"bin_depth_m": 1.2}])


class DevicePatch(BaseModel):
    """Fields of one's own device to change; the rest stays."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    visibility: Literal["private", "shared", "open"] | None = None
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    config: dict[str, Any] | None = None
