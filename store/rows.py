"""Row types the writer stores: built by the ingest pipeline, written in one transaction.

NamedTuples rather than frozen dataclasses: ingest builds several per message, and a NamedTuple
is built in C (a frozen dataclass sets each field through object.__setattr__), which measurably
adds up at thousands of messages per second."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from meetnet.records import AttributeValue


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


#: A dead letter keeps at most this much of a message: one publish must not be able to put
#: megabytes into the database. Its full length and hash are kept beside it.
DEAD_LETTER_KEEP_BYTES = 64 * 1024
_REASON_MAX = 2000
_TOPIC_MAX = 1024


class DeadLetterRow(NamedTuple):
    """A refused message. Build it with `dead_letter`, which bounds and cleans what is kept."""

    stage: str  # parse | lookup | decode | validate | store | internal
    reason: str
    topic: str
    payload: bytes  # at most DEAD_LETTER_KEEP_BYTES of it
    dev_eui: str | None = None
    length: int = 0  # of the whole payload
    #: sha256(topic, NUL, whole payload): the dedup key (a redelivery bumps times_seen)
    message_hash: bytes = b""
    payload_sha256: bytes = b""  # of the whole payload


def _text(value: str, limit: int) -> str:
    # PostgreSQL text holds no NUL and only valid UTF-8: escape both rather than let one
    # message's reason make the database refuse the dead letter that explains it.
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value if len(value) <= limit else value[:limit] + "..."


def dead_letter(stage: str, reason: str, topic: str, payload: bytes,
                dev_eui: str | None = None) -> DeadLetterRow:
    """A dead-letter row for a refused message: the reason and topic cleaned and cut, the
    payload cut to `DEAD_LETTER_KEEP_BYTES`, with the whole message's length and hashes."""
    topic_bytes = topic.encode("utf-8", "surrogateescape")
    return DeadLetterRow(
        stage, _text(reason, _REASON_MAX), _text(topic, _TOPIC_MAX),
        payload[:DEAD_LETTER_KEEP_BYTES], dev_eui, len(payload),
        hashlib.sha256(topic_bytes + b"\0" + payload).digest(), hashlib.sha256(payload).digest())


class DeviceSeen(NamedTuple):
    device_id: int
    at: datetime
    battery_percent: float | None = None


class DeviceAttributes(NamedTuple):
    """What one frame said about its device (decoders.Frame.attributes), and when."""

    device_id: int
    at: datetime
    values: Mapping[str, AttributeValue]


class Latest(NamedTuple):
    """The newest reading of each (device, metric) in a batch, as columns."""

    device_ids: list[int]
    metrics: list[str]
    times: list[datetime]
    values: list[float]


@dataclass(slots=True)
class Batch:
    """Everything one flush stores; the messages behind it are acked after it commits.

    `seal` computes what the batch changes in ``latest_readings`` and ``devices``: the ingest
    pipeline calls it while the previous batch is still being written, so that this work is
    not on the writer's path (the writer calls it too, for a batch built by hand).
    """

    uplinks: list[UplinkRow] = field(default_factory=list)
    readings: list[ReadingRow] = field(default_factory=list)
    dead_letters: list[DeadLetterRow] = field(default_factory=list)
    seen: list[DeviceSeen] = field(default_factory=list)
    attributes: list[DeviceAttributes] = field(default_factory=list)
    #: How each message behind the batch ended (stored, dead_letter, event, ignored, empty):
    #: counted here and turned into metrics only once the batch has committed.
    outcomes: Counter[str] = field(default_factory=Counter)
    #: The uplink and reading rows as binary COPY data, made by `store.Writer.encode` ahead of
    #: the commit (None: the writer encodes them itself).
    encoded: tuple[bytes, bytes] | None = None
    _sealed: tuple[Latest, list[DeviceSeen]] | None = None

    def __len__(self) -> int:
        return len(self.uplinks) + len(self.dead_letters) + len(self.seen)

    def seal(self) -> tuple[Latest, list[DeviceSeen]]:
        """(the newest value per device and metric, the newest sighting per device, sorted by
        device id); computed once, so call it when the batch is complete."""
        if self._sealed is None:
            self._sealed = (_newest_readings(self.readings), _newest_seen(self.seen))
        return self._sealed


def attribute_updates(rows: list[DeviceAttributes]) -> tuple[list[int], list[str]]:
    """Per device (sorted, as for `seen`), the newest value of each attribute its frames in the
    batch reported, as ``{name: {"value": v, "at": iso time}}`` JSON text for ``devices.attributes``
    (migration 0012)."""
    newest: dict[int, dict[str, tuple[datetime, AttributeValue]]] = {}
    for row in rows:
        names = newest.setdefault(row.device_id, {})
        for name, value in row.values.items():
            cur = names.get(name)
            if cur is None or row.at >= cur[0]:
                names[name] = (row.at, value)
    ids = sorted(newest)
    return ids, [json.dumps({name: {"value": value, "at": at.isoformat()}
                             for name, (at, value) in newest[i].items()}) for i in ids]


def _newest_readings(rows: list[ReadingRow]) -> Latest:
    newest: dict[tuple[int, str], ReadingRow] = {}
    for r in rows:
        key = (r.device_id, r.metric)
        cur = newest.get(key)
        # A tie keeps the later row, as the SQL it replaces did (the last write wins).
        if cur is None or r.time >= cur.time:
            newest[key] = r
    # Sorted so that concurrent writers lock latest_readings rows in one order (no deadlock).
    ordered = sorted(newest.values(), key=lambda r: (r.device_id, r.metric))
    # float(): a value may be an int, and one binary array cannot mix int and float.
    return Latest([r.device_id for r in ordered], [r.metric for r in ordered],
                  [r.time for r in ordered], [float(r.value) for r in ordered])


def _newest_seen(seen: list[DeviceSeen]) -> list[DeviceSeen]:
    newest: dict[int, DeviceSeen] = {}
    for s in seen:
        cur = newest.get(s.device_id)
        if cur is None or s.at > cur.at:
            newest[s.device_id] = DeviceSeen(
                s.device_id, s.at, s.battery_percent if s.battery_percent is not None
                else (cur.battery_percent if cur else None))
    # Sorted so concurrent workers lock device rows in one order and cannot deadlock; float()
    # as for readings (one binary array, one type).
    return [s if s.battery_percent is None else s._replace(battery_percent=float(s.battery_percent))
            for s in sorted(newest.values(), key=lambda s: s.device_id)]
