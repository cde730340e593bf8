"""Response models of the public API: the contract students and dashboards program against."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class Device(BaseModel):
    dev_eui: str = Field(examples=["24e124713c012345"])
    device_id: str = Field(examples=["bin-breestraat-01"])
    name: str
    organisation: str = Field(examples=["gemeente-leiden"])
    model_key: str = Field(examples=["milesight-iot/em310-udl"])
    use_case: str = Field(examples=["waste"])
    visibility: str = Field(examples=["open"])
    lat: float | None = None
    lon: float | None = None
    last_seen_at: datetime | None = None
    battery_percent: float | None = None


class ReadingPoint(BaseModel):
    time: datetime
    value: float


class ReadingsPage(BaseModel):
    dev_eui: str
    metric: str = Field(examples=["co2"])
    unit: str = Field(examples=["ppm"])
    readings: list[ReadingPoint]
    next: str | None = Field(default=None, description="URL of the next page, if any")


class LatestValue(BaseModel):
    value: float
    unit: str
    time: datetime


class LatestDevice(BaseModel):
    dev_eui: str
    name: str
    organisation: str
    use_case: str
    model_key: str
    lat: float | None
    lon: float | None
    last_seen_at: datetime | None
    readings: dict[str, LatestValue] = Field(
        examples=[{"fill_level": {"value": 63.5, "unit": "%", "time": "2026-11-23T08:00:00Z"}}])


class Health(BaseModel):
    status: str = Field(examples=["ok"])
    database: str
    version: str
