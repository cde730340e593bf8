"""Row types the writer stores: built by the ingest pipeline, written in one transaction.

NamedTuples rather than frozen dataclasses: ingest builds several per message, and a NamedTuple
is built in C (a frozen dataclass sets each field through object.__setattr__), which measurably
adds up at thousands of messages per second."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple


class UplinkRow(NamedTuple):
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


class ReadingRow(NamedTuple):
    time: datetime
    device_id: int
    metric: str
    value: float


class DeadLetterRow(NamedTuple):
    stage: str  # parse | lookup | decode | validate | store
    reason: str
    topic: str
    payload: bytes
    dev_eui: str | None = None


class DeviceSeen(NamedTuple):
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
    #: How each message behind the batch ended (stored, dead_letter, event, ignored, empty):
    #: counted here and turned into metrics only once the batch has committed.
    outcomes: Counter[str] = field(default_factory=Counter)

    def __len__(self) -> int:
        return len(self.uplinks) + len(self.dead_letters) + len(self.seen)
