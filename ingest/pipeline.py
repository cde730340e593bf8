"""Uplink -> device lookup -> decode -> derive -> validate -> batch rows (DESIGN.md, steps 3-6).

The pipeline only builds rows; the subscriber stores a batch with `store.Writer` and acks its
messages after the commit. Every refusal becomes a dead-letter row with the stage and reason, so
nothing a network server sent is ever dropped silently.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from pydantic import ValidationError

import decoders
from decoders import DecodeError, DeviceConfig
from decoders.js import JsCodec
from ingest.envelopes import EnvelopeError, Ignored, parse
from meetnet.catalog import RANGES, out_of_range
from meetnet.records import DeviceEvent, Reading, Uplink
from meetnet.settings import Settings
from store import codecs as codec_store
from store import devices as registry
from store.rows import Batch, DeadLetterRow, DeviceSeen, ReadingRow, UplinkRow

log = logging.getLogger(__name__)

#: How long a registry answer is trusted. A device added or reconfigured through the API or CLI
#: is picked up within this time; a negative answer is retried sooner.
KNOWN_TTL_S = 60.0
UNKNOWN_TTL_S = 10.0


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """What one sender can make ingest accept or hold (issue 9): from `Settings`, shipped to the
    store process, which has no settings of its own."""

    max_message_bytes: int = 65536
    clock_skew_s: float = 86400.0
    device_cache_size: int = 100_000

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestLimits:
        return cls(settings.max_message_bytes, float(settings.clock_skew_s),
                   settings.device_cache_size)


@dataclass(frozen=True, slots=True)
class _Known:
    info: registry.DeviceInfo
    config: DeviceConfig


class DeviceCache:
    """dev_eui -> registered device, read through a dedicated autocommit connection."""

    def __init__(self, dsn: str) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self._entries: dict[str, tuple[float, _Known | None]] = {}

    def close(self) -> None:
        self.conn.close()

    def _store(self, eui: str, info: registry.DeviceInfo | None) -> _Known | None:
        known = None
        if info is not None:
            try:
                cfg = DeviceConfig.model_validate(info.config)
            except ValidationError as exc:
                log.warning("device %s has an invalid config, deriving nothing: %s", eui, exc)
                cfg = DeviceConfig()
            known = _Known(info, cfg)
        ttl = KNOWN_TTL_S if known else UNKNOWN_TTL_S
        self._entries[eui] = (time.monotonic() + ttl, known)
        return known

    def get(self, eui: str) -> _Known | None:
        hit = self._entries.get(eui)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return self._store(eui, registry.get_device(self.conn, eui))

    def auto_register(self, up: Uplink, model_key: str) -> _Known | None:
        info = registry.auto_register(
            self.conn, dev_eui=up.dev_eui, device_id=up.device_id, network=up.network,
            application_id=up.application_id, model_key=model_key,
            use_case=decoders.MODELS[model_key].use_case,
        )
        if info is not None:
            log.info("auto-registered %s (%s) as %s", up.dev_eui, up.device_id, model_key)
        return self._store(up.dev_eui, info)


class CodecCache:
    """Model key -> an organisation's JavaScript codec (table ``codecs``), compiled once and
    recompiled when it changes; a codec that does not compile is remembered as its error, so
    a broken codec costs one compile per TTL, not one per uplink."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._entries: dict[str, tuple[float, datetime | None, JsCodec | DecodeError | None]] = {}

    def get(self, model_key: str) -> JsCodec | None:
        hit = self._entries.get(model_key)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            entry = hit[2]
        else:
            row = codec_store.get_codec(self.conn, model_key)
            if row is None:
                entry = None
            elif hit is not None and hit[1] == row.updated_at:
                entry = hit[2]  # unchanged: keep the compiled codec
            else:
                try:
                    entry = JsCodec(row.source, row.field_map, name=model_key)
                except (DecodeError, KeyError, ValueError) as exc:
                    entry = DecodeError(f"codec {model_key} unusable: {exc}")
            self._entries[model_key] = (now + KNOWN_TTL_S, row.updated_at if row else None, entry)
        if isinstance(entry, DecodeError):
            raise entry
        return entry


class Pipeline:
    """Turns raw MQTT messages into rows of a `Batch`."""

    def __init__(self, dsn: str, limits: IngestLimits | None = None) -> None:
        self.limits = limits or IngestLimits()
        self.devices = DeviceCache(dsn)
        self.codecs = CodecCache(self.devices.conn)

    def close(self) -> None:
        self.devices.close()

    def handle(self, topic: str, payload: bytes, batch: Batch) -> None:
        """Add what one message contributes to ``batch``; never raises for bad input."""
        try:
            parsed = parse(topic, payload)
        except Ignored:
            batch.outcomes["ignored"] += 1
            return
        except EnvelopeError as exc:
            self._dead(batch, "parse", str(exc), topic, payload)
            return
        if isinstance(parsed, DeviceEvent):
            known = self.devices.get(parsed.dev_eui)
            if known is not None:
                batch.seen.append(DeviceSeen(known.info.id, parsed.received_at,
                                             parsed.battery_percent))
            batch.outcomes["event"] += 1
            return
        self._uplink(parsed, topic, payload, batch)

    def _uplink(self, up: Uplink, topic: str, payload: bytes, batch: Batch) -> None:
        known = self.devices.get(up.dev_eui)
        if known is None and up.model_key in decoders.MODELS:
            known = self.devices.auto_register(up, up.model_key)
        # Positional, in UplinkRow's field order: keywords cost a NamedTuple about 2.5x as much,
        # and this runs for every uplink.
        batch.uplinks.append(UplinkRow(
            up.received_at, up.dev_eui, up.f_cnt if up.f_cnt is not None else -1, up.f_port,
            up.payload, up.network, up.application_id, known.info.id if known else None,
            up.rssi, up.snr, up.gateway_count, up.decoded,
        ))
        if known is None:
            self._dead(batch, "lookup", f"unknown device {up.dev_eui} ({up.device_id}) in "
                       f"{up.network} application {up.application_id}", topic, payload, up.dev_eui)
            return
        batch.seen.append(DeviceSeen(known.info.id, up.received_at))
        if not up.f_port or not up.payload:
            # fPort 0 / no FRMPayload: a MAC-only uplink, nothing to decode.
            batch.outcomes["empty"] += 1
            return
        try:
            readings = self._decode(known, up)
        except DecodeError as exc:
            self._dead(batch, "decode", f"{known.info.model_key}: {exc}", topic, payload, up.dev_eui)
            return
        rows, refused = validated_rows(readings, known.info.id, up.received_at)
        batch.readings.extend(rows)
        for row in rows:
            if row.metric == "battery":
                batch.seen.append(DeviceSeen(known.info.id, up.received_at, row.value))
        if refused:
            # The plausible values of the same frame are kept; the message is kept too, with
            # every value that was refused.
            self._dead(batch, "validate", "; ".join(refused), topic, payload, up.dev_eui)
        else:
            batch.outcomes["stored"] += 1

    def _decode(self, known: _Known, up: Uplink) -> list[Reading]:
        key = known.info.model_key
        if key in decoders.MODELS:
            return decoders.decode(key, up.f_port or 0, up.payload, known.config, up.decoded)
        # Not built in: an organisation's JavaScript codec, run in the sandbox (decoders/js.py).
        codec = self.codecs.get(key)
        if codec is None:
            raise DecodeError(f"no decoder or codec for model {key!r}")
        return decoders.derive(codec.decode(up.f_port or 0, up.payload), known.config)

    @staticmethod
    def _dead(batch: Batch, stage: str, reason: str, topic: str, payload: bytes,
              dev_eui: str | None = None) -> None:
        batch.outcomes["dead_letter"] += 1
        log.info("dead letter", extra={"stage": stage, "reason": reason, "topic": topic})
        batch.dead_letters.append(DeadLetterRow(stage, reason, topic, payload, dev_eui))


def validated_rows(readings: list[Reading], device_id: int, received_at: datetime
                   ) -> tuple[list[ReadingRow], list[str]]:
    """Place decoded readings in time and keep only physically possible values (the catalog's
    ranges); returns the rows and the reasons for every refused value."""
    rows: list[ReadingRow] = []
    refused: list[str] = []
    for r in readings:
        metric, value = r.metric, r.value
        # The plain range check settles nearly every value; anything it does not pass (out of
        # range, NaN, a metric not in the catalog) gets its reason, or UnknownMetric, from the
        # catalog's out_of_range.
        bounds = RANGES.get(metric)
        if bounds is None or not bounds[0] <= value <= bounds[1]:
            reason = out_of_range(metric, value)
            if reason:
                refused.append(reason)
                continue
        when = r.time or (received_at + timedelta(seconds=r.offset_s) if r.offset_s
                          else received_at)
        # float(): a decoder or codec may give an int, and the writer's binary arrays take
        # one type.
        rows.append(ReadingRow(when, device_id, metric, float(value)))
    return rows, refused

