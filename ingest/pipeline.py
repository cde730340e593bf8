"""Uplink -> device lookup -> decode -> derive -> validate -> batch rows (docs/architecture.md, steps 3-6).

The pipeline only builds rows; the subscriber stores a batch with `store.Writer` and acks its
messages after the commit. Every refusal becomes a dead-letter row with the stage and reason, so
nothing a network server sent is ever dropped silently.
"""

from __future__ import annotations

import logging
import math
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from pydantic import ValidationError

import decoders
from decoders import DecodeError, DeviceConfig, Frame
from decoders.config import config_model
from decoders.js import JsCodec
from ingest.envelopes import EnvelopeError, IdentityMismatch, Ignored, parse
from meetnet.catalog import RANGES, out_of_range
from meetnet.records import AttributeValue, DeviceEvent, Reading, Uplink
from meetnet.settings import Settings
from store import codecs as codec_store
from store import devices as registry
from store.rows import Batch, DeviceAttributes, DeviceSeen, ReadingRow, UplinkRow, dead_letter

log = logging.getLogger(__name__)

#: How long a registry answer is trusted. A device added or reconfigured through the API or CLI
#: is picked up within this time; a negative answer is retried sooner.
KNOWN_TTL_S = 60.0
UNKNOWN_TTL_S = 10.0


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """What one sender can make ingest accept or hold (issue 9): from `Settings`, shipped to the
    store process, which has no settings of its own. The defaults are the settings' own."""

    max_message_bytes: int = _default("max_message_bytes")
    clock_skew_s: float = float(_default("clock_skew_s"))
    device_cache_size: int = _default("device_cache_size")

    @classmethod
    def from_settings(cls, settings: Settings) -> IngestLimits:
        return cls(settings.max_message_bytes, float(settings.clock_skew_s),
                   settings.device_cache_size)


@dataclass(frozen=True, slots=True)
class _Known:
    info: registry.DeviceInfo
    config: DeviceConfig


class DeviceCache:
    """dev_eui -> registered device, read through a dedicated autocommit connection.

    Bounded, because the dev_euis come from senders: a least-recently-used map of at most
    ``size`` entries, and the set of registered dev_euis (refreshed at most every
    `UNKNOWN_TTL_S`) answers "unknown" for a dev_eui nobody registered without a query and
    without an entry. A flood of made-up dev_euis thus costs one query per refresh, and no
    memory beyond the registry's size.
    """

    def __init__(self, dsn: str, size: int = 100_000) -> None:
        self.conn = psycopg.connect(dsn, autocommit=True)
        self.size = size
        self._entries: OrderedDict[str, tuple[float, _Known | None]] = OrderedDict()
        self._registered: set[str] = set()
        self._registered_until = 0.0
        #: (network, application) -> may auto-register there; a flood of made-up dev_euis
        #: under an application nobody linked costs no query per message either.
        self._apps: dict[tuple[str, str], float] = {}
        #: Registry queries made (for the tests and for operators' curiosity).
        self.queries = 0

    def close(self) -> None:
        self.conn.close()

    def _store(self, eui: str, info: registry.DeviceInfo | None) -> _Known | None:
        known = None
        if info is not None:
            try:
                # The use case's model, as at registration: a water gauge's target or a
                # classroom's timetable are its config too, and the base model refuses them.
                cfg = config_model(info.use_case).model_validate(info.config)
            except ValidationError as exc:
                log.warning("device %s has an invalid config, deriving nothing: %s", eui, exc)
                cfg = DeviceConfig()
            known = _Known(info, cfg)
        ttl = KNOWN_TTL_S if known else UNKNOWN_TTL_S
        entries = self._entries
        entries[eui] = (time.monotonic() + ttl, known)
        entries.move_to_end(eui)
        while len(entries) > self.size:
            entries.popitem(last=False)
        return known

    def _maybe_registered(self, eui: str) -> bool:
        now = time.monotonic()
        if now >= self._registered_until:
            self.queries += 1
            self._registered = registry.registered_euis(self.conn)
            self._registered_until = now + UNKNOWN_TTL_S
        return eui in self._registered

    def get(self, eui: str) -> _Known | None:
        hit = self._entries.get(eui)
        if hit is not None and hit[0] > time.monotonic():
            self._entries.move_to_end(eui)
            return hit[1]
        if not self._maybe_registered(eui):
            return None  # no entry: a made-up dev_eui must not take a place in the cache
        self.queries += 1
        return self._store(eui, registry.get_device(self.conn, eui))

    def auto_register(self, up: Uplink, model_key: str) -> _Known | None:
        key = (up.network, up.application_id)
        if self._apps.get(key, 0.0) > time.monotonic():
            return None  # this application belongs to nobody, asked a moment ago
        self.queries += 1
        info = registry.auto_register(
            self.conn, dev_eui=up.dev_eui, device_id=up.device_id, network=up.network,
            application_id=up.application_id, model_key=model_key,
            use_case=decoders.MODELS[model_key].use_case, tenant_id=up.tenant_id,
        )
        if info is None:
            if len(self._apps) >= self.size:
                self._apps.clear()
            self._apps[key] = time.monotonic() + UNKNOWN_TTL_S
            return None
        log.info("auto-registered %s (%s) as %s", up.dev_eui, up.device_id, model_key)
        self._registered.add(up.dev_eui)
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
        self.devices = DeviceCache(dsn, self.limits.device_cache_size)
        self._max_future = timedelta(seconds=self.limits.clock_skew_s)
        self.codecs = CodecCache(self.devices.conn)

    def close(self) -> None:
        self.devices.close()

    def handle(self, topic: str, payload: bytes, batch: Batch) -> None:
        """Add what one message contributes to ``batch``; never raises for bad input.

        Per-message isolation: whatever goes wrong with one message (a bug, a codec returning
        something pathological) makes that message a dead letter at stage ``internal``, with
        the exception, and takes back anything it had added to the batch. Only losing the
        database (psycopg.OperationalError) propagates: that is not the message's fault.
        """
        marks = (len(batch.uplinks), len(batch.readings), len(batch.dead_letters),
                 len(batch.seen), len(batch.attributes))
        try:
            self._handle(topic, payload, batch)
        except psycopg.OperationalError:
            raise
        except Exception as exc:
            del batch.uplinks[marks[0]:], batch.readings[marks[1]:]
            del batch.dead_letters[marks[2]:], batch.seen[marks[3]:], batch.attributes[marks[4]:]
            log.warning("message on %r made ingest fail (%s); kept as a dead letter",
                        topic[:200], type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
            self._dead(batch, "internal", internal_reason(exc), topic, payload)

    def _handle(self, topic: str, payload: bytes, batch: Batch) -> None:
        if len(payload) > self.limits.max_message_bytes:
            self._dead(batch, "parse", f"message of {len(payload)} bytes is larger than the "
                       f"limit of {self.limits.max_message_bytes} bytes (MEETNET_MAX_MESSAGE_BYTES)",
                       topic, payload)
            return
        try:
            parsed = parse(topic, payload, max_future=self._max_future)
        except Ignored:
            batch.outcomes["ignored"] += 1
            return
        except IdentityMismatch as exc:
            self._dead(batch, "lookup", str(exc), topic, payload)
            return
        except EnvelopeError as exc:
            self._dead(batch, "parse", str(exc), topic, payload)
            return
        if isinstance(parsed, DeviceEvent):
            known = self.devices.get(parsed.dev_eui)
            if known is not None:
                mismatch = _mismatch(known.info, parsed.network, parsed.application_id, None)
                if mismatch:
                    self._dead(batch, "lookup", mismatch, topic, payload, parsed.dev_eui)
                    return
                batch.seen.append(DeviceSeen(known.info.id, parsed.received_at,
                                             parsed.battery_percent))
            batch.outcomes["event"] += 1
            return
        self._uplink(parsed, topic, payload, batch)

    def _uplink(self, up: Uplink, topic: str, payload: bytes, batch: Batch) -> None:
        known = self.devices.get(up.dev_eui)
        if known is None and up.model_key in decoders.MODELS:
            known = self.devices.auto_register(up, up.model_key)
        if known is not None:
            mismatch = _mismatch(known.info, up.network, up.application_id, up.tenant_id)
            if mismatch:
                # Someone names a registered device from elsewhere: no uplink row, no readings,
                # only the dead letter (which keeps the whole message).
                self._dead(batch, "lookup", mismatch, topic, payload, up.dev_eui)
                return
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
        undecodable: str | None = None
        try:
            frame = self._decode(known, up)
        except DecodeError as exc:
            if exc.partial is None:
                self._dead(batch, "decode", f"{known.info.model_key}: {exc}", topic, payload,
                           up.dev_eui)
                return
            # The frame broke off (an unknown channel after known ones): what came before is
            # kept, and so is the whole message, with the reason.
            undecodable = f"{known.info.model_key}: {exc}"
            frame = exc.partial
        rows, refused = validated_rows(frame.readings, known.info.id, up.received_at)
        batch.readings.extend(rows)
        if frame.attributes:
            attributes = storable_attributes(frame.attributes)
            if attributes:
                batch.attributes.append(DeviceAttributes(known.info.id, up.received_at, attributes))
        for row in rows:
            if row.metric == "battery":
                batch.seen.append(DeviceSeen(known.info.id, up.received_at, row.value))
        if undecodable is not None:
            self._dead(batch, "decode", "; ".join([undecodable, *refused]), topic, payload,
                       up.dev_eui)
        elif refused:
            # The plausible values of the same frame are kept; the message is kept too, with
            # every value that was refused.
            self._dead(batch, "validate", "; ".join(refused), topic, payload, up.dev_eui)
        else:
            batch.outcomes["stored"] += 1

    def _decode(self, known: _Known, up: Uplink) -> Frame:
        key = known.info.model_key
        if key in decoders.MODELS:
            return decoders.decode_frame(key, up.f_port or 0, up.payload, known.config, up.decoded)
        # Not built in: an organisation's JavaScript codec, run in the sandbox (decoders/js.py).
        codec = self.codecs.get(key)
        if codec is None:
            raise DecodeError(f"no decoder or codec for model {key!r}")
        return Frame(decoders.derive(codec.decode(up.f_port or 0, up.payload), known.config))

    @staticmethod
    def _dead(batch: Batch, stage: str, reason: str, topic: str, payload: bytes,
              dev_eui: str | None = None) -> None:
        row = dead_letter(stage, reason, topic, payload, dev_eui)
        batch.outcomes["dead_letter"] += 1
        log.info("dead letter", extra={"stage": stage, "reason": row.reason, "topic": row.topic})
        batch.dead_letters.append(row)


#: Longest attribute text kept (a version, a serial number, a setting's name is far shorter).
ATTRIBUTE_TEXT_MAX = 200


def storable_attributes(attributes: Mapping[str, AttributeValue]) -> dict[str, AttributeValue]:
    """The attributes ``devices.attributes`` (jsonb) can hold: PostgreSQL refuses a NUL in JSON
    text and NaN or infinity as JSON numbers, and one such value would fail the whole batch.
    The decoders are fuzzed never to emit one; this keeps a future decoder's slip from stopping
    ingest."""
    out: dict[str, AttributeValue] = {}
    for name, value in attributes.items():
        if "\x00" in name or len(name) > ATTRIBUTE_TEXT_MAX:
            continue
        if isinstance(value, str):
            if "\x00" in value or len(value) > ATTRIBUTE_TEXT_MAX:
                continue
        elif isinstance(value, float) and not math.isfinite(value):
            continue
        out[name] = value
    return out


def internal_reason(exc: BaseException) -> str:
    """The dead-letter reason for a message that made ingest fail: the exception's type and
    first line, cut short (a RecursionError's message is short; a codec's may not be)."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:500]}" if text else type(exc).__name__


def _mismatch(info: registry.DeviceInfo, network: str, application_id: str,
              tenant_id: str | None) -> str | None:
    """Why an uplink naming a registered device cannot be its, or None. The registry binds a
    device to its network, application and tenant where it knows them."""
    if info.network and info.network != network:
        return (f"application mismatch: device {info.dev_eui} is registered on network "
                f"{info.network}, the message came from {network}")
    if info.application_id and info.application_id != application_id:
        return (f"application mismatch: device {info.dev_eui} is registered in application "
                f"{info.application_id!r}, the message came from {application_id!r}")
    if info.tenant_id and tenant_id and info.tenant_id != tenant_id:
        return (f"application mismatch: device {info.dev_eui} is registered in tenant "
                f"{info.tenant_id!r}, the message came from {tenant_id!r}")
    return None


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

