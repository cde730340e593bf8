"""Uplinks pushed by the network servers' HTTP integrations (The Things Stack webhooks,
ChirpStack's HTTP integration), through the same pipeline as MQTT.

Each body is the JSON the network server would have published on MQTT: The Things Stack's
``ApplicationUp`` (https://www.thethingsindustries.com/docs/integrations/data-formats/), and
ChirpStack v4's integration events (JSON encoding) with the event type in the ``event`` query
parameter (https://www.chirpstack.io/docs/chirpstack/integrations/http.html). The route builds
the MQTT topic that message would have had, from the body, and hands ``(topic, body)`` to
`ingest.direct.DirectIngest`: the same envelope checks, device lookup, decoding, deduplication
and dead letters as MQTT, and the answer only after the commit. An uplink that arrives over
MQTT and over a webhook is stored once.

Who may post: a network server presents its organisation's ingest secret
(`store.ingest_secrets`, ``meetnet orgs ingest-secret create``) as ``Authorization: Bearer
<secret>`` or ``X-Meetnet-Secret: <secret>``; both network servers can add such a header. A
message naming another organisation's device or application is not stored: it becomes a
``lookup`` dead letter.

Status codes (what a network server does with them decides them). Every message that was kept
is a 200, whatever became of it: stored, a duplicate, an event, ignored, or a dead letter (a body
that is not JSON, an unknown device, a value out of range). A non-2xx answer only ever means
"not kept": a 401/403 (no or wrong secret), 413 (larger than ``MEETNET_MAX_MESSAGE_BYTES``, as
the broker refuses it on MQTT) and 503 with ``Retry-After`` (database unavailable; send it again).
A bad message answered 4xx would only be sent again: The Things Stack counts every non-2xx
answer as a failed try, retries it when retries are on, and disables a webhook for a while after
successive failures (its Application Server's ``as.webhooks.unhealthy-attempts-threshold``), the
good uplinks with it. The dead letter already keeps the message for
`meetnet reprocess --dead-letters`.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Literal

import orjson
import psycopg
from fastapi import APIRouter, FastAPI, Query, Request
from psycopg_pool import ConnectionPool
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from api.problems import Problem
from ingest import envelopes
from ingest.direct import DirectIngest, Stored, StoreUnavailable
from ingest.envelopes import parse
from ingest.pipeline import IngestLimits
from meetnet.records import DeviceEvent, Uplink
from meetnet.settings import Settings
from store import Batch, Writer
from store import ingest_secrets as secrets_store
from store.rows import dead_letter

log = logging.getLogger(__name__)

#: Seconds a network server should wait before sending again when the database is away.
RETRY_AFTER_S = 10

_lock = threading.Lock()


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Merged into the app's lifespan by include_router: the store process's connections and
    # threads end with the app, before its pool closes.
    yield
    direct: DirectIngest | None = getattr(app.state, "webhook_ingest", None)
    if direct is not None:
        app.state.webhook_ingest = None
        await run_in_threadpool(direct.close)


router = APIRouter(tags=["ingest"], lifespan=_lifespan)


class DeadLetter(BaseModel):
    stage: str
    reason: str


Outcome = Literal["stored", "duplicate", "dead_letter", "event", "ignored"]


class IngestResult(BaseModel):
    """What became of one posted message; answered only after its commit."""

    outcome: Outcome
    stored: bool  # a new raw uplink was stored by this request
    duplicate: bool  # this uplink was stored before (a retry, or it came over MQTT too)
    readings: int  # new readings stored
    dead_letter: DeadLetter | None = None


# Documented by description: the app gives every error answer the Problem schema.
_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"description": "ChirpStack: no or a malformed `event` query parameter"},
    401: {"description": "No ingest secret, or an unknown or revoked one"},
    403: {"description": "The secret is bound to the other network server"},
    413: {"description": "Body larger than MEETNET_MAX_MESSAGE_BYTES; not kept"},
    503: {"description": "Database unavailable; not kept, send again after Retry-After",
          "headers": {"Retry-After": {"description": "seconds to wait (RFC 9110)",
                                      "schema": {"type": "integer"}}}},
}

_TTS_EXAMPLE = {
    "end_device_ids": {"device_id": "em310-bin-001", "dev_eui": "24E124713C012345",
                       "application_ids": {"application_id": "meetnet-waste"}},
    "uplink_message": {"f_port": 85, "f_cnt": 4211, "frm_payload": "AXVkA4IoBA==",
                       "received_at": "2024-11-21T07:14:09.512Z",
                       "network_ids": {"tenant_id": "ttn"}},
}
_CHIRPSTACK_EXAMPLE = {
    "time": "2024-11-21T07:14:09.512+00:00",
    "deviceInfo": {"applicationId": "meetnet-waste", "deviceName": "em310-bin-001",
                   "devEui": "24e124713c012345"},
    "fCnt": 4211, "fPort": 85, "data": "AXVkA4IoBA==",
}


def _body_doc(example: dict[str, Any]) -> dict[str, Any]:
    # The body is read as bytes (bounded, and kept as it came for dead letters), so OpenAPI
    # learns its shape from here rather than from a parameter.
    return {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"type": "object"}, "example": example}}}}


# --- authentication ----------------------------------------------------------------------------


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", "Unauthorized", detail,
                   headers={"WWW-Authenticate": 'Bearer realm="meetnet-ingest"'})


def _unavailable(detail: str) -> Problem:
    return Problem(503, "database-unavailable", "Database unavailable", detail,
                   headers={"Retry-After": str(RETRY_AFTER_S)})


def _presented(request: Request) -> str:
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return token.strip()
        raise _unauthorized("use `Authorization: Bearer <ingest secret>` or "
                            "`X-Meetnet-Secret: <ingest secret>`")
    secret = request.headers.get("x-meetnet-secret")
    if secret is None or not secret.strip():
        raise _unauthorized("this endpoint takes an organisation's ingest secret (`meetnet orgs "
                            "ingest-secret create SLUG`) as `Authorization: Bearer <secret>` or "
                            "`X-Meetnet-Secret: <secret>`")
    return secret.strip()


def _authenticate(pool: ConnectionPool, secret: str, network: str) -> secrets_store.Sender:
    try:
        with pool.connection(timeout=5) as conn:
            sender = secrets_store.sender_for(conn, secret)
    except psycopg.OperationalError as exc:
        raise _unavailable(_first_line(exc)) from exc
    if sender is None:
        hint = (" (that is an API key, which reads data; network servers post with an ingest "
                "secret, `meetnet orgs ingest-secret create SLUG`)") if secret.startswith("mn_") else ""
        raise _unauthorized("unknown or revoked ingest secret" + hint)
    if sender.network is not None and sender.network != network:
        raise Problem(403, "forbidden", "Forbidden",
                      f"this ingest secret is for {sender.network}, not {network}")
    return sender


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) once it grows past ``limit``: never more than that in memory."""
    too_large = Problem(413, "payload-too-large", "Payload too large",
                        f"a message is at most {limit} bytes (MEETNET_MAX_MESSAGE_BYTES)")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


# --- the MQTT topic of a posted message --------------------------------------------------------

#: Characters an MQTT topic level cannot hold as part of an identifier: level and tenant
#: separators and wildcards.
_EUI = re.compile(r"[0-9a-fA-F]{16}")
_EVENT = re.compile(r"[a-z][a-z_]{0,31}")

#: The Things Stack ``ApplicationUp`` message fields and the MQTT topic suffix of each
#: (https://www.thethingsindustries.com/docs/integrations/other-integrations/mqtt/).
_TTS_EVENTS = (("uplink_message", "up"), ("join_accept", "join"),
               ("uplink_normalized", "up/normalized"), ("downlink_ack", "down/ack"),
               ("downlink_nack", "down/nack"), ("downlink_sent", "down/sent"),
               ("downlink_failed", "down/failed"), ("downlink_queued", "down/queued"),
               ("downlink_queue_invalidated", "down/queue/invalidated"),
               ("location_solved", "location/solved"), ("service_data", "service/data"))


class _Refused(Exception):
    """A body whose identifiers cannot make a topic: kept as a ``parse`` dead letter."""


def _doc(body: bytes) -> dict[str, Any] | None:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None  # the envelope parser says why, in the dead letter
    return doc if isinstance(doc, dict) else None


def _topic_id(value: object, what: str) -> str:
    if (ident := envelopes.topic_part(value)) is not None:
        return ident
    shown = repr(value)[:80] if not isinstance(value, dict | list) else f"<{type(value).__name__}>"
    raise _Refused(f"{what} missing or not an identifier (at most {envelopes.IDENT_MAX} printable "
                   f"characters without / @ + #): {shown}")


def tts_topic(body: bytes) -> str:
    """``v3/{application_id}[@{tenant_id}]/devices/{device_id}/{event}``, as The Things Stack
    publishes the same message on MQTT. The tenant is in the body only for uplinks
    (``uplink_message.network_ids.tenant_id``); without it the topic has none, which
    ingest.envelopes accepts (The Things Stack Open Source has none either)."""
    doc = _doc(body)
    placeholder = envelopes.tts_topic("unknown", "unknown")  # the parser refuses the body itself
    if doc is None:
        return placeholder
    event = next((suffix for field, suffix in _TTS_EVENTS if field in doc), "up")
    ids = doc.get("end_device_ids")
    if event not in ("up", "join"):
        return envelopes.tts_topic("unknown", "unknown", event)  # ignored, like on MQTT
    if not isinstance(ids, dict):
        return placeholder
    app_ids = ids.get("application_ids")
    app = _topic_id(app_ids.get("application_id") if isinstance(app_ids, dict) else None,
                    "end_device_ids.application_ids.application_id")
    dev = _topic_id(ids.get("device_id"), "end_device_ids.device_id")
    up = doc.get("uplink_message")
    network_ids = up.get("network_ids") if isinstance(up, dict) else None
    tenant = network_ids.get("tenant_id") if isinstance(network_ids, dict) else None
    if tenant is not None and tenant != "":  # TTS leaves out empty fields; "" is none too
        tenant = _topic_id(tenant, "uplink_message.network_ids.tenant_id")
    return envelopes.tts_topic(app, dev, event, tenant)


def chirpstack_topic(body: bytes, event: str) -> str:
    """``application/{applicationId}/device/{devEui}/event/{event}``, as ChirpStack v4 publishes
    the same event on MQTT; the HTTP integration names the event in its ``event`` parameter."""
    placeholder = envelopes.chirpstack_topic("unknown", "0" * 16, event)
    if event not in ("up", "join", "status"):
        return placeholder  # ignored, like on MQTT
    doc = _doc(body)
    info = doc.get("deviceInfo") if doc is not None else None
    if not isinstance(info, dict):
        return placeholder  # the parser refuses the body itself
    eui = info.get("devEui")
    if not (isinstance(eui, str) and _EUI.fullmatch(eui)):
        raise _Refused(f"deviceInfo.devEui missing or not 16 hex digits: {repr(eui)[:80]}")
    app = _topic_id(info.get("applicationId"), "deviceInfo.applicationId")
    return envelopes.chirpstack_topic(app, eui.lower(), event)


# --- storing -----------------------------------------------------------------------------------


def _direct(app: FastAPI) -> DirectIngest:
    with _lock:
        direct: DirectIngest | None = getattr(app.state, "webhook_ingest", None)
        if direct is None:
            settings: Settings = app.state.settings
            pool: ConnectionPool = app.state.pool
            # The pool's conninfo is the app's database (create_app's dsn argument or the
            # settings'); a str here, as create_app passes it.
            direct = DirectIngest(str(pool.conninfo), IngestLimits.from_settings(settings))
            app.state.webhook_ingest = direct
        return direct


def _keep(pool: ConnectionPool, stage: str, reason: str, topic: str, body: bytes,
          dev_eui: str | None = None) -> IngestResult:
    """Store a dead letter the route itself refused (the pipeline never saw the message)."""
    try:
        with Writer(str(pool.conninfo)) as writer:
            writer.write(Batch(dead_letters=[dead_letter(stage, reason, topic, body, dev_eui)]))
    except psycopg.OperationalError as exc:
        raise _unavailable(_first_line(exc)) from exc
    return IngestResult(outcome="dead_letter", stored=False, duplicate=False, readings=0,
                        dead_letter=DeadLetter(stage=stage, reason=reason))


def _foreign(pool: ConnectionPool, sender: secrets_store.Sender, topic: str, body: bytes,
             settings: Settings) -> tuple[str, str] | None:
    """(reason, dev_eui) when the message names another organisation's device or application."""
    try:
        parsed = parse(topic, body, max_future=timedelta(seconds=settings.clock_skew_s))
    except Exception:
        return None  # not an uplink or event: the pipeline keeps it as a dead letter or ignores it
    if not isinstance(parsed, Uplink | DeviceEvent):
        return None
    try:
        with pool.connection(timeout=5) as conn:
            reason = secrets_store.foreign_owner(
                conn, sender.organisation_id, dev_eui=parsed.dev_eui, network=parsed.network,
                application_id=parsed.application_id)
    except psycopg.OperationalError as exc:
        raise _unavailable(_first_line(exc)) from exc
    return (reason, parsed.dev_eui) if reason else None


def _answer(pool: ConnectionPool, stored: Stored, topic: str, body: bytes) -> IngestResult:
    outcomes = stored.outcomes
    letter = None
    if stored.dead_letters:
        stage = next(iter(stored.dead_stages), "internal")
        reason = ""
        try:
            with pool.connection(timeout=5) as conn:
                reason = secrets_store.dead_letter_reason(
                    conn, stage, dead_letter(stage, "", topic, body).message_hash) or ""
        except psycopg.OperationalError:
            pass  # committed already: the answer stays a 200, only without the reason
        letter = DeadLetter(stage=stage, reason=reason)
    outcome: Outcome
    if outcomes.get("ignored"):
        outcome = "ignored"
    elif outcomes.get("event"):
        outcome = "event"
    elif letter is not None:
        outcome = "dead_letter"
    elif stored.uplinks == 0:
        outcome = "duplicate"
    else:
        outcome = "stored"
    return IngestResult(outcome=outcome, stored=stored.uplinks > 0,
                        duplicate=outcome == "duplicate", readings=stored.readings,
                        dead_letter=letter)


def _ingest(app: FastAPI, sender: secrets_store.Sender, network: str, body: bytes,
            event: str | None) -> IngestResult:
    settings: Settings = app.state.settings
    pool: ConnectionPool = app.state.pool
    try:
        topic = tts_topic(body) if network == "tts" else chirpstack_topic(body, event or "up")
    except _Refused as exc:
        # Under webhook/<organisation>/: says who posted it, and a replay (which knows no
        # secret) cannot take it for a network server's message.
        return _keep(pool, "parse", str(exc), f"webhook/{sender.organisation}/{network}", body)
    foreign = _foreign(pool, sender, topic, body, settings)
    if foreign is not None:
        reason, eui = foreign
        log.warning("webhook with %s's ingest secret %d names another organisation's device "
                    "%s; kept as a dead letter", sender.organisation, sender.secret_id, eui)
        return _keep(pool, "lookup", reason, f"webhook/{sender.organisation}/{topic}", body, eui)
    try:
        stored = _direct(app).ingest([(topic, body)])
    except StoreUnavailable as exc:
        raise _unavailable(str(exc)) from exc
    return _answer(pool, stored, topic, body)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


async def _post(request: Request, network: str, event: str | None) -> IngestResult:
    app: FastAPI = request.app
    secret = _presented(request)
    sender = await run_in_threadpool(_authenticate, app.state.pool, secret, network)
    if network == "chirpstack" and (event is None or not _EVENT.fullmatch(event)):
        raise Problem(400, "bad-request", "Bad request",
                      "ChirpStack's HTTP integration names the event type in the `event` query "
                      f"parameter (up, join, status ...); got {event!r}"[:300])
    body = await _read_body(request, app.state.settings.max_message_bytes)
    # Blocking (the commit): in the threadpool, so other requests go on meanwhile.
    return await run_in_threadpool(_ingest, app, sender, network, body, event)


@router.post("/ingest/tts", response_model=IngestResult, responses=_RESPONSES,
             summary="The Things Stack webhook (JSON format)",
             openapi_extra=_body_doc(_TTS_EXAMPLE))
async def ingest_tts(request: Request) -> IngestResult:
    """An ``ApplicationUp`` message of a The Things Stack v3 webhook, stored as if it had come
    over MQTT (uplinks and joins; other messages are answered and ignored). Answered only after
    the commit; a retry, or the same uplink over MQTT, is stored once."""
    return await _post(request, "tts", None)


@router.post("/ingest/chirpstack", response_model=IngestResult, responses=_RESPONSES,
             summary="ChirpStack v4 HTTP integration (JSON encoding)",
             openapi_extra=_body_doc(_CHIRPSTACK_EXAMPLE))
async def ingest_chirpstack(
    request: Request,
    event: str | None = Query(None, description="the event type ChirpStack sends: up, join, "
                              "status, ack, txack, log, location, integration"),
) -> IngestResult:
    """A ChirpStack v4 integration event (JSON encoding), stored as if it had come over MQTT
    (``up``, ``join`` and ``status``; other events are answered and ignored). Answered only
    after the commit; a retry, or the same uplink over MQTT, is stored once."""
    return await _post(request, "chirpstack", event)
