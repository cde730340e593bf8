"""Network-server JSON -> `Uplink` / `DeviceEvent` (DESIGN.md, "The data path" step 3).

The Things Stack v3: ``v3/{application_id}[@{tenant_id}]/devices/{device_id}/{up|join|...}``, the
message layout of https://www.thethingsindustries.com/docs/integrations/data-formats/ .
ChirpStack v4: ``application/{application_id}/device/{dev_eui}/event/{up|join|status|...}`` with
the JSON marshaler (proto3 JSON mapping of chirpstack's integration.proto, lowerCamelCase;
fields at their default value are omitted).
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime
from typing import Any

import orjson

from meetnet.records import DeviceEvent, Uplink


class EnvelopeError(ValueError):
    """The message is not a usable uplink; ``str(err)`` is the dead-letter reason."""


class Ignored(Exception):
    """A well-formed message that carries nothing for us (downlink events, ack, location ...)."""


_TTS_TOPIC = re.compile(r"^v3/(?P<app>[^/@]+)(?:@(?P<tenant>[^/]+))?/devices/(?P<dev>[^/]+)/(?P<ev>.+)$")
_CS_TOPIC = re.compile(r"^application/(?P<app>[^/]+)/device/(?P<eui>[0-9a-fA-F]{16})/event/(?P<ev>[^/]+)$")
_EUI = re.compile(r"^[0-9a-f]{16}$")
# RFC 3339 with up to nanoseconds: Python parses at most microseconds, so cut the rest.
_FRACTION = re.compile(r"(\.\d{6})\d+")
# The shape The Things Stack sends (and protobuf JSON timestamps in general): UTC as "Z", with
# 0 to 9 fraction digits.
_UTC_Z = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]{1,9})?Z")


def parse_time(value: object) -> datetime:
    if not isinstance(value, str):
        raise EnvelopeError(f"timestamp missing or not a string: {value!r}")
    # Fast path for that shape, about twice as fast as the general path below, which gives the
    # same result for it: cut to at most 6 fraction digits and write the "Z" as "+00:00", which
    # fromisoformat turns into datetime.UTC itself (no astimezone; datetime.replace is slow).
    # Anything fromisoformat refuses here (month 13 ...) takes the general path for its reason.
    if _UTC_Z.fullmatch(value):
        try:
            return datetime.fromisoformat((value[:26] if len(value) > 27 else value[:-1]) + "+00:00")
        except ValueError:
            pass
    text = _FRACTION.sub(r"\1", value.strip()).replace("Z", "+00:00")
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        raise EnvelopeError(f"invalid timestamp {value!r}") from None
    if ts.tzinfo is None:
        raise EnvelopeError(f"timestamp without timezone {value!r}")
    return ts.astimezone(UTC)


def _eui(value: object, what: str = "dev_eui") -> str:
    lower = value.lower() if isinstance(value, str) else None
    if lower is None or not _EUI.match(lower):
        raise EnvelopeError(f"{what} missing or not 16 hex digits: {value!r}")
    return lower


def _b64(value: object) -> bytes:
    if value is None or value == "":
        return b""
    if not isinstance(value, str):
        raise EnvelopeError("payload is not a base64 string")
    try:
        # What base64.b64decode(value, validate=True) does, without its Python-level wrapper.
        return binascii.a2b_base64(value, strict_mode=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError("payload is not valid base64") from None


def _int(value: object, what: str) -> int | None:
    if type(value) is int:  # the usual case; type(), not isinstance: a bool is refused below
        return value
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise EnvelopeError(f"{what} is not a number: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise EnvelopeError(f"{what} is not a number: {value!r}") from None


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what} missing or not an object")
    return value


def _maybe_obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _best_radio(rx: object, rssi_key: str, snr_key: str) -> tuple[float | None, float | None, int]:
    if not isinstance(rx, list) or not rx:
        return None, None, 0
    best = None
    best_rssi: int | float = 0
    for gw in rx:
        if isinstance(gw, dict):
            rssi = gw.get(rssi_key)
            if isinstance(rssi, int | float) and (best is None or rssi > best_rssi):
                best, best_rssi = gw, rssi
    if best is None:
        return None, None, len(rx)
    snr = best.get(snr_key)
    return float(best_rssi), float(snr) if isinstance(snr, int | float) else None, len(rx)


def parse(topic: str, payload: bytes) -> Uplink | DeviceEvent:
    """Parse one MQTT message from either network server.

    Raises EnvelopeError for malformed input (kept as a dead letter), Ignored for event types
    meetnet does not use.
    """
    if topic.startswith("v3/"):
        return parse_tts(topic, payload)
    if topic.startswith("application/"):
        return parse_chirpstack(topic, payload)
    raise EnvelopeError(f"topic {topic!r} is neither The Things Stack v3 nor ChirpStack v4")


def _load(payload: bytes) -> dict[str, Any]:
    try:
        # orjson: several times faster than json on these ~1.5 kB messages, and parsing is the
        # largest per-message cost of ingest (bench/ingest.py).
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise EnvelopeError(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise EnvelopeError("JSON message is not an object")
    return doc


def parse_tts(topic: str, payload: bytes) -> Uplink | DeviceEvent:
    """The Things Stack v3 ``up`` and ``join`` messages."""
    m = _TTS_TOPIC.match(topic)
    if not m:
        raise EnvelopeError(f"not a TTS v3 device topic: {topic!r}")
    topic_app, tenant, topic_dev, event = m.groups()
    if event not in ("up", "join"):
        raise Ignored(event)
    doc = _load(payload)
    ids = _obj(doc.get("end_device_ids"), "end_device_ids")
    dev_eui = _eui(ids.get("dev_eui"))
    app_ids = ids.get("application_ids")
    application_id = (app_ids.get("application_id") if isinstance(app_ids, dict) else None) or topic_app
    device_id = ids.get("device_id") or topic_dev
    if event == "join":
        ja = doc.get("join_accept")
        when = (ja.get("received_at") if isinstance(ja, dict) else None) or doc.get("received_at")
        return DeviceEvent("join", dev_eui, str(device_id), str(application_id), "tts", parse_time(when))
    up = _obj(doc.get("uplink_message"), "uplink_message")
    received = up.get("received_at") or doc.get("received_at")
    rssi, snr, gws = _best_radio(up.get("rx_metadata"), "rssi", "snr")
    version = _maybe_obj(up.get("version_ids"))
    network_ids = _maybe_obj(up.get("network_ids"))
    decoded = up.get("decoded_payload")
    return Uplink(
        dev_eui=dev_eui,
        device_id=str(device_id),
        application_id=str(application_id),
        network="tts",
        received_at=parse_time(received),
        # TTS omits zero values: a missing f_cnt is frame counter 0.
        f_cnt=_int(up.get("f_cnt", 0), "f_cnt"),
        f_port=_int(up.get("f_port", 0), "f_port"),
        payload=_b64(up.get("frm_payload")),
        decoded=decoded if isinstance(decoded, dict) else None,
        brand_id=version.get("brand_id"),
        model_id=version.get("model_id"),
        rssi=rssi,
        snr=snr,
        gateway_count=gws,
        tenant_id=tenant or network_ids.get("tenant_id"),
    )


def parse_chirpstack(topic: str, payload: bytes) -> Uplink | DeviceEvent:
    """ChirpStack v4 ``event/up``, ``event/join`` and ``event/status`` (JSON marshaler)."""
    m = _CS_TOPIC.match(topic)
    if not m:
        raise EnvelopeError(f"not a ChirpStack v4 device event topic: {topic!r}")
    event = m["ev"]
    if event not in ("up", "join", "status"):
        raise Ignored(event)
    doc = _load(payload)
    info = _obj(doc.get("deviceInfo"), "deviceInfo")
    dev_eui = _eui(info.get("devEui") or m["eui"])
    application_id = str(info.get("applicationId") or m["app"])
    device_id = str(info.get("deviceName") or dev_eui)
    when = parse_time(doc.get("time"))
    if event == "join":
        return DeviceEvent("join", dev_eui, device_id, application_id, "chirpstack", when)
    if event == "status":
        battery = doc.get("batteryLevel")
        margin = doc.get("margin")
        return DeviceEvent(
            "status", dev_eui, device_id, application_id, "chirpstack", when,
            battery_percent=float(battery) if isinstance(battery, int | float) else None,
            margin_db=float(margin) if isinstance(margin, int | float) else None,
        )
    rssi, snr, gws = _best_radio(doc.get("rxInfo"), "rssi", "snr")
    obj = doc.get("object")
    return Uplink(
        dev_eui=dev_eui,
        device_id=device_id,
        application_id=application_id,
        network="chirpstack",
        received_at=when,
        f_cnt=_int(doc.get("fCnt", 0), "fCnt"),
        f_port=_int(doc.get("fPort", 0), "fPort"),
        payload=_b64(doc.get("data")),
        decoded=obj if isinstance(obj, dict) else None,
        rssi=rssi,
        snr=snr,
        gateway_count=gws,
        tenant_id=info.get("tenantId"),
    )
