"""Network-server JSON -> `Uplink` / `DeviceEvent` (docs/architecture.md, "The data path" step 3).

The Things Stack v3: ``v3/{application_id}[@{tenant_id}]/devices/{device_id}/{up|join|...}``, the
message layout of https://www.thethingsindustries.com/docs/integrations/data-formats/ .
ChirpStack v4: ``application/{application_id}/device/{dev_eui}/event/{up|join|status|...}`` with
the JSON marshaler (proto3 JSON mapping of chirpstack's integration.proto, lowerCamelCase;
fields at their default value are omitted).
"""

from __future__ import annotations

import binascii
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from meetnet.records import DeviceEvent, Uplink


class EnvelopeError(ValueError):
    """The message is not a usable uplink; ``str(err)`` is the dead-letter reason."""


class IdentityMismatch(EnvelopeError):
    """The topic and the message name different applications, tenants or devices: a sender
    publishing under one application's topic for another's device (kept at stage ``lookup``)."""


class Ignored(Exception):
    """A well-formed message that carries nothing for us (downlink events, ack, location ...)."""


_TTS_TOPIC = re.compile(r"^v3/(?P<app>[^/@]+)(?:@(?P<tenant>[^/]+))?/devices/(?P<dev>[^/]+)/(?P<ev>.+)$")
_CS_TOPIC = re.compile(r"^application/(?P<app>[^/]+)/device/(?P<eui>[0-9a-fA-F]{16})/event/(?P<ev>[^/]+)$")
_EUI = re.compile(r"[0-9a-f]{16}")
#: Identifiers (application, device, tenant) are printable and short: The Things Stack allows
#: 36 characters, ChirpStack names 100 (docs/domain.md, "LoRaWAN at the door").
IDENT_MAX = 128
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NOT_IN_TOPIC = re.compile(r"[/@+#]")


def topic_part(value: object) -> str | None:
    """``value`` if it can stand as one level of a network server's topic: a printable
    identifier of 1 to ``IDENT_MAX`` characters without the MQTT wildcards and separators
    (``/ + #``, OASIS MQTT 3.1.1 section 4.7) or the tenant separator ``@``; else None."""
    if (isinstance(value, str) and 0 < len(value) <= IDENT_MAX and value.isprintable()
            and not _NOT_IN_TOPIC.search(value)):
        return value
    return None


def tts_topic(application: str, device: str, event: str = "up", tenant: str | None = None) -> str:
    """The topic The Things Stack v3 publishes a device's event on,
    ``v3/{application_id}[@{tenant_id}]/devices/{device_id}/{event}`` (its MQTT server docs):
    the one place meetnet builds it, for messages that arrive another way (webhook, Storage
    Integration) and go through the same parser."""
    return f"v3/{application}{'@' + tenant if tenant else ''}/devices/{device}/{event}"


def chirpstack_topic(application: str, dev_eui: str, event: str) -> str:
    """The topic ChirpStack v4 publishes a device's event on,
    ``application/{applicationId}/device/{devEui}/event/{event}`` (its MQTT integration docs)."""
    return f"application/{application}/device/{dev_eui}/event/{event}"

# Ranges of what a LoRaWAN network server can report (docs/domain.md, "LoRaWAN at the door"):
#: FCnt is a 32-bit counter (LoRaWAN 1.0.4 section 4.3.1.5; 1.1 section 4.3.1.5).
F_CNT_MAX = 2**32 - 1
#: FPort is one octet (LoRaWAN 1.0.4 section 4.3.2).
F_PORT_MAX = 255
#: Received signal strength in dBm: LoRa gateways hear down to about -140 dBm, and nothing
#: receives above +30 dBm (1 W) without saturating.
RSSI_RANGE = (-200.0, 30.0)
#: LoRa demodulates down to -20 dB (SF12); a report beyond +-50 dB is not a measurement.
SNR_RANGE = (-50.0, 50.0)
#: Gateways that heard one uplink: a dense city network reaches a few dozen.
GATEWAYS_MAX = 1000
#: No LoRaWAN uplink predates 2000; network servers report UTC from GPS or NTP.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
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


#: (skew, now + skew) as last computed: the bound only grows with time, so an old one is
#: stricter, and it is computed again only when a timestamp passes it (not once per message).
_latest: tuple[timedelta, datetime] = (timedelta(0), EARLIEST)


def _received_at(value: object, what: str, max_future: timedelta) -> datetime:
    global _latest
    ts = parse_time(value)
    if ts < EARLIEST:
        raise EnvelopeError(f"{what} out of range ({EARLIEST:%Y-%m-%d} .. now + "
                            f"{max_future.total_seconds():g} s): {_short(value)}")
    skew, bound = _latest
    if ts > bound or skew != max_future:
        bound = datetime.now(UTC) + max_future
        _latest = (max_future, bound)
        if ts > bound:
            raise EnvelopeError(f"{what} out of range ({EARLIEST:%Y-%m-%d} .. now + "
                                f"{max_future.total_seconds():g} s): {_short(value)}")
    return ts


def _eui(value: object, what: str = "dev_eui") -> str:
    lower = value.lower() if isinstance(value, str) else None
    # fullmatch: "$" would also accept a trailing newline.
    if lower is None or not _EUI.fullmatch(lower):
        raise EnvelopeError(f"{what} missing or not 16 hex digits: {_short(value)}")
    return lower


def _short(value: object, limit: int = 80) -> str:
    """A value for a dead-letter reason: repr (so NUL bytes and control characters show as
    escapes, never raw), cut to ``limit`` characters."""
    if isinstance(value, dict | list):
        return f"<{type(value).__name__} of {len(value)}>"  # no repr of a deep structure
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _ident(value: object, what: str) -> str | None:
    """An identifier from the message body: None when absent, else a short printable string."""
    if type(value) is str and len(value) <= IDENT_MAX and value.isprintable():
        return value or None  # the usual case, in C: no control characters (nor other
        # non-printables, which the regex below then judges)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > IDENT_MAX or _CONTROL.search(value):
        raise EnvelopeError(f"{what} is not an identifier (a printable string of at most "
                            f"{IDENT_MAX} characters): {_short(value)}")
    return value


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


def _int(value: object, what: str, maximum: int) -> int:
    """An integer in 0..maximum; anything else is refused with the field and the value."""
    # The usual case first; type(), not isinstance: a bool is refused below.
    if type(value) is int and 0 <= value <= maximum:
        return value
    number: int | None = None
    if type(value) is int:
        number = value
    elif type(value) is float and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.isascii() and value.strip().lstrip("+-").isdigit():
        number = int(value) if len(value) < 40 else maximum + 1
    if number is None:
        raise EnvelopeError(f"{what} is not an integer: {_short(value)}")
    if not 0 <= number <= maximum:
        raise EnvelopeError(f"{what} out of range 0..{maximum}: {_short(value)}")
    return number


def _obj(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise EnvelopeError(f"{what} missing or not an object")
    return value


def _maybe_obj(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _radio(value: object, what: str, bounds: tuple[float, float]) -> float | None:
    """A gateway's RSSI or SNR: a number out of its physical range is refused; anything that is
    only odd (a string, null, a bool) is dropped."""
    number = _number(value)
    if number is None:
        return None
    if not bounds[0] <= number <= bounds[1]:
        raise EnvelopeError(f"{what} out of range {bounds[0]:g}..{bounds[1]:g}: {_short(value)}")
    return number


def _number(value: object) -> float | None:
    # type(), not isinstance: JSON true/false are not numbers here.
    if type(value) is int or type(value) is float:
        return float(value)
    return None


def _within(value: object, low: float, high: float) -> float | None:
    number = _number(value)
    return number if number is not None and low <= number <= high else None


def _best_radio(rx: object, rssi_key: str, snr_key: str, what: str
                ) -> tuple[float | None, float | None, int]:
    """The strongest gateway's RSSI and SNR, and how many gateways heard the uplink. Missing or
    malformed metadata is only odd: the uplink is kept without it."""
    if not isinstance(rx, list) or not rx:
        return None, None, 0
    if len(rx) > GATEWAYS_MAX:
        raise EnvelopeError(f"{what} lists {len(rx)} gateways (at most {GATEWAYS_MAX})")
    best_rssi: float | None = None
    best_snr: float | None = None
    rssi_low, rssi_high = RSSI_RANGE
    snr_low, snr_high = SNR_RANGE
    for gw in rx:
        if type(gw) is dict:
            rssi, snr = gw.get(rssi_key), gw.get(snr_key)
            # Inline for the usual case (plausible numbers: this runs for every gateway of
            # every uplink); anything else takes the checks with reasons.
            if not ((type(rssi) is int or type(rssi) is float) and rssi_low <= rssi <= rssi_high):
                rssi = _radio(rssi, f"{what}.{rssi_key}", RSSI_RANGE)
            if not ((type(snr) is int or type(snr) is float) and snr_low <= snr <= snr_high):
                snr = _radio(snr, f"{what}.{snr_key}", SNR_RANGE)
            if rssi is not None and (best_rssi is None or rssi > best_rssi):
                best_rssi, best_snr = rssi, snr
    return (None if best_rssi is None else float(best_rssi),
            None if best_snr is None else float(best_snr), len(rx))


#: Default for how far in the future a received_at may lie (MEETNET_CLOCK_SKEW_S).
DEFAULT_SKEW = timedelta(days=1)


def parse(topic: str, payload: bytes, *, max_future: timedelta = DEFAULT_SKEW
          ) -> Uplink | DeviceEvent:
    """Parse one MQTT message from either network server.

    Raises EnvelopeError for malformed input or values outside what LoRaWAN allows (kept as a
    dead letter), IdentityMismatch when the topic and the body disagree on who sent it, and
    Ignored for event types meetnet does not use.
    """
    if topic.startswith("v3/"):
        return parse_tts(topic, payload, max_future)
    if topic.startswith("application/"):
        return parse_chirpstack(topic, payload, max_future)
    raise EnvelopeError(f"topic {_short(topic)} is neither The Things Stack v3 nor ChirpStack v4")


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


def _agree(what: str, topic_value: str | None, body_value: str | None) -> None:
    # Only a value both sides name can disagree: TTS omits the tenant on single-tenant
    # deployments, and the body may leave out ids the topic carries.
    if topic_value is not None and body_value is not None and topic_value != body_value:
        raise IdentityMismatch(f"{what} mismatch: the topic says {_short(topic_value)}, the "
                               f"message says {_short(body_value)}")


def parse_tts(topic: str, payload: bytes, max_future: timedelta = DEFAULT_SKEW
              ) -> Uplink | DeviceEvent:
    """The Things Stack v3 ``up`` and ``join`` messages.

    The topic is part of the identity: its application (and tenant, where both name one) and
    device must agree with the body's ``end_device_ids``, so that a client allowed to publish
    under one application's prefix cannot write another application's devices.
    """
    m = _TTS_TOPIC.match(topic)
    if not m:
        raise EnvelopeError(f"not a TTS v3 device topic: {_short(topic)}")
    topic_app, topic_tenant, topic_dev, event = m.groups()
    if event not in ("up", "join"):
        raise Ignored(event)
    doc = _load(payload)
    ids = _obj(doc.get("end_device_ids"), "end_device_ids")
    dev_eui = _eui(ids.get("dev_eui"), "end_device_ids.dev_eui")
    app_ids = ids.get("application_ids")
    body_app = _ident(app_ids.get("application_id") if isinstance(app_ids, dict) else None,
                      "end_device_ids.application_ids.application_id")
    body_dev = _ident(ids.get("device_id"), "end_device_ids.device_id")
    _agree("application", topic_app, body_app)
    _agree("device", topic_dev, body_dev)
    application_id = body_app or topic_app
    device_id = body_dev or topic_dev
    if event == "join":
        ja = doc.get("join_accept")
        when = (ja.get("received_at") if isinstance(ja, dict) else None) or doc.get("received_at")
        return DeviceEvent("join", dev_eui, device_id, application_id, "tts",
                           _received_at(when, "join_accept.received_at", max_future))
    up = _obj(doc.get("uplink_message"), "uplink_message")
    network_ids = _maybe_obj(up.get("network_ids"))
    body_tenant = _ident(network_ids.get("tenant_id"), "uplink_message.network_ids.tenant_id")
    _agree("application (tenant)", topic_tenant, body_tenant)
    received = up.get("received_at") or doc.get("received_at")
    rssi, snr, gws = _best_radio(up.get("rx_metadata"), "rssi", "snr", "uplink_message.rx_metadata")
    version = _maybe_obj(up.get("version_ids"))
    brand, model = version.get("brand_id"), version.get("model_id")
    decoded = up.get("decoded_payload")
    return Uplink(
        dev_eui=dev_eui,
        device_id=device_id,
        application_id=application_id,
        network="tts",
        received_at=_received_at(received, "uplink_message.received_at", max_future),
        # TTS omits zero values: a missing f_cnt is frame counter 0.
        f_cnt=_int(up.get("f_cnt", 0), "uplink_message.f_cnt", F_CNT_MAX),
        f_port=_int(up.get("f_port", 0), "uplink_message.f_port", F_PORT_MAX),
        payload=_b64(up.get("frm_payload")),
        decoded=decoded if isinstance(decoded, dict) else None,
        # Odd version ids (not strings) only cost the auto-registration.
        brand_id=brand if isinstance(brand, str) else None,
        model_id=model if isinstance(model, str) else None,
        rssi=rssi,
        snr=snr,
        gateway_count=gws,
        tenant_id=topic_tenant or body_tenant,
    )


def parse_chirpstack(topic: str, payload: bytes, max_future: timedelta = DEFAULT_SKEW
                     ) -> Uplink | DeviceEvent:
    """ChirpStack v4 ``event/up``, ``event/join`` and ``event/status`` (JSON marshaler).

    The topic's application id and dev_eui must agree with the body's ``deviceInfo``."""
    m = _CS_TOPIC.match(topic)
    if not m:
        raise EnvelopeError(f"not a ChirpStack v4 device event topic: {_short(topic)}")
    event = m["ev"]
    if event not in ("up", "join", "status"):
        raise Ignored(event)
    doc = _load(payload)
    info = _obj(doc.get("deviceInfo"), "deviceInfo")
    topic_eui = m["eui"].lower()
    body_eui = info.get("devEui")
    dev_eui = _eui(body_eui, "deviceInfo.devEui") if body_eui else topic_eui
    _agree("device", topic_eui, dev_eui)
    body_app = _ident(info.get("applicationId"), "deviceInfo.applicationId")
    _agree("application", m["app"], body_app)
    application_id = body_app or m["app"]
    device_id = _ident(info.get("deviceName"), "deviceInfo.deviceName") or dev_eui
    tenant_id = _ident(info.get("tenantId"), "deviceInfo.tenantId")
    when = _received_at(doc.get("time"), "time", max_future)
    if event == "join":
        return DeviceEvent("join", dev_eui, device_id, application_id, "chirpstack", when)
    if event == "status":
        battery = doc.get("batteryLevel")
        margin = doc.get("margin")
        return DeviceEvent(
            "status", dev_eui, device_id, application_id, "chirpstack", when,
            # Odd values (out of 0..100 %, a string) are dropped: the event still says the
            # device was heard.
            battery_percent=_within(battery, 0, 100),
            margin_db=_within(margin, *SNR_RANGE),
        )
    rssi, snr, gws = _best_radio(doc.get("rxInfo"), "rssi", "snr", "rxInfo")
    obj = doc.get("object")
    return Uplink(
        dev_eui=dev_eui,
        device_id=device_id,
        application_id=application_id,
        network="chirpstack",
        received_at=when,
        f_cnt=_int(doc.get("fCnt", 0), "fCnt", F_CNT_MAX),
        f_port=_int(doc.get("fPort", 0), "fPort", F_PORT_MAX),
        payload=_b64(doc.get("data")),
        decoded=obj if isinstance(obj, dict) else None,
        rssi=rssi,
        snr=snr,
        gateway_count=gws,
        tenant_id=tenant_id,
    )
