"""Row types the writer stores: built by the ingest pipeline, written in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class UplinkRow:
    received_at: datetime
    dev_eui: str
    f_cnt: int
    f_port: int | None
    payload: bytes
    network: str
    application_id: str
    device_id: int | None
    rssi: float | None
    snr: float | None
    gateway_count: int
    decoded: dict[str, Any] | None  # the network server's decoded object, stored as jsonb


@dataclass(frozen=True, slots=True)
class ReadingRow:
    time: datetime
    device_id: int
    metric: str
    value: float


@dataclass(frozen=True, slots=True)
class DeadLetterRow:
    stage: str  # parse | lookup | decode | validate | store
    reason: str
    topic: str
    payload: bytes
    dev_eui: str | None = None


@dataclass(frozen=True, slots=True)
class DeviceSeen:
    device_id: int
    at: datetime
    battery_percent: float | None = None


@dataclass(slots=True)
class Batch:
    """Everything one flush stores; the messages behind it are acked after it commits."""

    uplinks: list[UplinkRow] = field(default_factory=list)
    readings: list[ReadingRow] = field(default_factory=list)
    dead_letters: list[DeadLetterRow] = field(default_factory=list)
    seen: list[DeviceSeen] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.uplinks) + len(self.dead_letters) + len(self.seen)
