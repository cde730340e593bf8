"""Records that cross package boundaries: what a network server sent (`Uplink`) and what a
decoder made of it (`Reading`).

`Reading` is a frozen, slotted dataclass: decoders create many of them per second, and a reading
must never change after a decoder returned it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Network = Literal["tts", "chirpstack", "webhook"]
#: A device attribute's value (decoders.Frame.attributes): a version, a serial number, a
#: setting the device confirmed.
AttributeValue = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one catalog metric.

    ``offset_s`` places the value relative to the uplink's ``received_at`` (negative for
    devices that send a history of past measurements in one frame); ``time``, when set, is the
    absolute time the device itself reported and wins over the offset.
    """

    metric: str
    value: float
    offset_s: float = 0.0
    time: datetime | None = None


@dataclass(frozen=True, slots=True)
class Uplink:
    """One LoRaWAN uplink as any network server delivers it (docs/architecture.md, "The data path" step 3)."""

    dev_eui: str  # lowercase hex, 16 chars
    device_id: str  # the network server's id for the device
    application_id: str
    network: Network
    received_at: datetime  # network server time, UTC
    f_cnt: int | None
    f_port: int | None
    payload: bytes
    decoded: dict[str, Any] | None = None  # the network server's own decoded object, if any
    brand_id: str | None = None  # TTS version_ids
    model_id: str | None = None
    rssi: float | None = None  # best gateway
    snr: float | None = None
    gateway_count: int = 0
    tenant_id: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def model_key(self) -> str | None:
        """TTN device repository id ``<brand_id>/<model_id>`` when the uplink carries version_ids."""
        if self.brand_id and self.model_id:
            return f"{self.brand_id}/{self.model_id}".lower()
        return None


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """A join or status event: updates device metadata, carries no readings."""

    kind: Literal["join", "status"]
    dev_eui: str
    device_id: str
    application_id: str
    network: Network
    received_at: datetime
    battery_percent: float | None = None
    margin_db: float | None = None
