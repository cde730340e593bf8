"""Webhook delivery of alert notifications: HTTP POST of JSON, signed with HMAC-SHA256
(RFC 2104, FIPS 180-4) over the timestamp and the body, retried with exponential backoff,
every attempt recorded (store/alerts.py, table ``alert_deliveries``).

The signature header (docs/alerts.md, "Verifying a delivery")::

    X-Meetnet-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>." + body)>

The timestamp is inside the signed text, so a receiver that refuses signatures older than five
minutes (:data:`REPLAY_TOLERANCE_S`) cannot be fed a recorded delivery later. Each attempt is
signed anew; ``X-Meetnet-Delivery`` (the notification id) is the same on every attempt, so a
receiver can drop a retry of a delivery it already took.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import psycopg

from meetnet.settings import Settings
from store import alerts as store

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Meetnet-Signature"
DELIVERY_HEADER = "X-Meetnet-Delivery"
EVENT_HEADER = "X-Meetnet-Event"
#: What a receiver should allow between the signed timestamp and its own clock.
REPLAY_TOLERANCE_S = 300
USER_AGENT = "meetnet-alerts/1"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Hex HMAC-SHA256 (RFC 2104) of ``"<timestamp>." + body`` with the webhook's secret."""
    message = str(int(timestamp)).encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={int(timestamp)},v1={sign(secret, timestamp, body)}"


def verify(secret: str, header: str, body: bytes, *, now: float | None = None,
           tolerance_s: float = REPLAY_TOLERANCE_S) -> bool:
    """What a receiver does (docs/alerts.md): parse ``t`` and ``v1``, refuse a timestamp more
    than ``tolerance_s`` from its clock (a replay), recompute the HMAC over the raw body and
    compare in constant time."""
    fields: dict[str, list[str]] = {}
    for part in header.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(name, []).append(value)
    try:
        timestamp = int(fields["t"][0])
    except (KeyError, ValueError):
        return False
    clock = time.time() if now is None else now
    if abs(clock - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body)
    return any(hmac.compare_digest(expected, v) for v in fields.get("v1", []))


@dataclass(frozen=True)
class Policy:
    """How hard delivery tries (MEETNET_ALERTS_WEBHOOK_*)."""

    timeout_s: float = 10.0
    max_attempts: int = 8
    backoff_s: float = 30.0
    backoff_max_s: float = 3600.0

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(settings.alerts_webhook_timeout_s, settings.alerts_webhook_max_attempts,
                   settings.alerts_webhook_backoff_s, settings.alerts_webhook_backoff_max_s)

    def wait_after(self, attempt: int) -> float:
        """Seconds before the attempt after failed attempt number ``attempt`` (1-based):
        backoff_s, doubled per failure, at most backoff_max_s."""
        return float(min(self.backoff_max_s, self.backoff_s * 2.0 ** min(attempt - 1, 60)))


@dataclass(frozen=True)
class DeliveryReport:
    attempted: int = 0
    delivered: int = 0
    retrying: int = 0
    given_up: int = 0


def body_bytes(body: dict[str, Any]) -> bytes:
    """The exact bytes posted (and signed): compact JSON."""
    return orjson.dumps(body)


def post(client: httpx.Client, pending: store.Pending, *, now: float | None = None
         ) -> tuple[int | None, str | None]:
    """One signed POST; (status code, None) when the receiver answered, (None, error) when it
    did not."""
    body = body_bytes(pending.body)
    timestamp = int(time.time() if now is None else now)
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               SIGNATURE_HEADER: signature_header(pending.secret, timestamp, body),
               DELIVERY_HEADER: str(pending.id), EVENT_HEADER: f"alert.{pending.event}"}
    try:
        response = client.post(pending.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    return response.status_code, None


def deliver_due(conn: psycopg.Connection[Any], policy: Policy,
                client: httpx.Client | None = None) -> DeliveryReport:
    """One attempt for every notification that is due: 2xx delivers it; any other answer or
    none schedules the next attempt after the backoff, or gives it up after
    ``policy.max_attempts``. Redirects are not followed (the configured URL is the receiver)."""
    own = client is None
    http = client or httpx.Client(timeout=policy.timeout_s, follow_redirects=False)
    attempted = delivered = retrying = given_up = 0
    try:
        # The lease outlasts one POST with room to spare; then the row may be claimed again.
        for pending in store.claim_due(conn, lease_s=policy.timeout_s * 3 + 30):
            attempted += 1
            started = time.perf_counter()
            status, error = post(http, pending)
            took_ms = (time.perf_counter() - started) * 1000.0
            ok = status is not None and 200 <= status < 300
            retry = None
            if ok:
                delivered += 1
            elif pending.attempt < policy.max_attempts:
                retry = policy.wait_after(pending.attempt)
                retrying += 1
            else:
                given_up += 1
                log.warning("alert notification %d to %s given up after %d attempts (%s)",
                            pending.id, _host(pending.url), pending.attempt,
                            error or f"HTTP {status}")
            store.record_attempt(conn, pending, status_code=status, error=error,
                                 duration_ms=took_ms, delivered=ok, retry_in_s=retry)
    finally:
        if own:
            http.close()
    return DeliveryReport(attempted, delivered, retrying, given_up)


def _host(url: str) -> str:
    # Only the host in logs: a webhook URL may carry a token in its path or query.
    return httpx.URL(url).host or "?"
