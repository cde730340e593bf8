"""Rate limits per API key and per anonymous client address.

One token bucket per key id or per client address, kept in this process's memory: the API runs
as one process (``meetnet api``), so there is nothing to share. Several API processes behind one
balancer would each allow the full rate.

A bucket holds ``limit`` tokens and refills at ``limit`` per minute; every request takes one.
Over the limit the answer is a 429 problem (RFC 9457) with ``Retry-After`` (RFC 9110, section
10.2.3) in whole seconds. Normal answers carry ``RateLimit-Limit``/``-Remaining``/``-Reset``
(draft-ietf-httpapi-ratelimit-headers, the form most clients read) and the same values as
``X-RateLimit-*``.

Which bucket pays. A request without a key pays from its address's bucket. A request with a key
pays from its key's bucket only once this process has seen that key resolved to a key id: the
first request of a key, and every request with an unknown, revoked or malformed key, pays from
its address's bucket. So a flood of random keys is held to the anonymous limit before a single
hash or database lookup, and a valid key is never counted by its secret. Keys are recognised by
a cheap fingerprint of the header (Python's per-process ``hash``), not by hashing it again.
IPv6 addresses are counted per /64, the block one subscriber usually holds.

Not limited: ``/healthz``, ``/readyz``, ``/metrics`` (probes and scrapers), the docs pages, their
static files and ``/openapi.json``, and the network servers' webhooks under ``/v1/ingest/``
(they authenticate with their organisation's secret and must not lose uplinks to a 429).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.deps import Caller
from api.problems import problem_response

Clock = Callable[[], float]

#: Paths that are never limited: probes, scrapers, docs and the webhooks (see the module doc).
EXEMPT_PATHS = frozenset({"/healthz", "/readyz", "/metrics", "/docs", "/redoc", "/openapi.json",
                          "/docs/oauth2-redirect"})
EXEMPT_PREFIXES = ("/static/", "/v1/ingest/")

#: Where a request's limiter note lives in the ASGI scope (see `note_caller`).
SCOPE_KEY = "meetnet.rate_limit"

#: Buckets kept at most; beyond, idle ones (already full again) go first, then the least
#: recently used.
MAX_BUCKETS = 100_000
#: Key fingerprints remembered at most.
MAX_KEYS = 10_000


@dataclass(slots=True)
class Bucket:
    tokens: float
    at: float


@dataclass(frozen=True, slots=True)
class Decision:
    allowed: bool
    limit: int
    remaining: int
    #: Seconds until a request would be allowed again (0 when allowed).
    retry_after: int
    #: Seconds until the bucket is full again.
    reset: int


class TokenBuckets:
    """Token buckets of ``per_minute`` requests, refilled continuously; `take` is O(1)."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self.rate = per_minute / 60.0  # tokens per second
        self._buckets: dict[object, Bucket] = {}

    def take(self, key: object, now: float) -> Decision:
        bucket = self._buckets.pop(key, None)  # re-inserted below: dict order is LRU order
        if bucket is None:
            bucket = Bucket(float(self.per_minute), now)
        else:
            bucket.tokens = min(float(self.per_minute),
                                bucket.tokens + (now - bucket.at) * self.rate)
            bucket.at = now
        allowed = bucket.tokens >= 1.0
        if allowed:
            bucket.tokens -= 1.0
        self._buckets[key] = bucket
        if len(self._buckets) > MAX_BUCKETS:
            self._prune(now)
        retry = 0 if allowed else max(1, math.ceil((1.0 - bucket.tokens) / self.rate))
        reset = math.ceil((self.per_minute - bucket.tokens) / self.rate)
        return Decision(allowed, self.per_minute, int(bucket.tokens), retry, reset)

    def _prune(self, now: float) -> None:
        full_after = 60.0  # a bucket idle this long is full again: the same as no bucket
        for key in [k for k, b in self._buckets.items() if now - b.at >= full_after]:
            del self._buckets[key]
        while len(self._buckets) > MAX_BUCKETS * 9 // 10:
            del self._buckets[next(iter(self._buckets))]

    @property
    def size(self) -> int:
        return len(self._buckets)


class _Note:
    """Handed to `note_caller` through the ASGI scope: which key fingerprint the request
    carries, and where to remember the key id it resolves to. Remembered while the route runs,
    before the answer leaves: the client's next request may arrive right after it."""

    __slots__ = ("fingerprint", "known")

    def __init__(self, fingerprint: int, known: dict[int, int]) -> None:
        self.fingerprint, self.known = fingerprint, known

    def learn(self, key_id: int) -> None:
        if self.fingerprint not in self.known and len(self.known) >= MAX_KEYS:
            del self.known[next(iter(self.known))]
        self.known[self.fingerprint] = key_id


def note_caller(request: Request, caller: Caller) -> None:
    """Tell the rate limiter which key id the request's key resolved to, so that later
    requests with that key pay from the key's bucket. Used as a router dependency on top of
    the `api.deps.caller` dependency (resolved once per request, so the key is hashed once)."""
    note = request.scope.get(SCOPE_KEY)
    if isinstance(note, _Note) and caller.key_id is not None:
        note.learn(caller.key_id)


def client_address(scope: Scope) -> str:
    """The address a request came from; an IPv6 address as its /64."""
    client = scope.get("client")
    host = client[0] if client else "unknown"
    if ":" in host:
        try:
            return str(ipaddress.IPv6Network(f"{host}/64", strict=False))
        except ValueError:
            return host
    return host


def _key_secret(scope: Scope) -> bytes | None:
    """The presented key as `api.deps.caller` reads it: ``Authorization: Bearer KEY`` first,
    else ``X-API-Key``; so both headers with one key count as one key."""
    headers = dict(scope.get("headers", ()))
    auth = headers.get(b"authorization")
    if auth is not None:
        return bytes(auth).partition(b" ")[2].strip()
    key = headers.get(b"x-api-key")
    return None if key is None else bytes(key)


class RateLimits:
    """The buckets of keys and of anonymous addresses (a limit of 0: that kind of caller is not
    limited), and which key fingerprints are known keys. One per app (``app.state.rate_limits``);
    ``clock`` (seconds, monotonic) can be swapped, e.g. by tests."""

    def __init__(self, keyed_per_minute: int, anonymous_per_minute: int,
                 clock: Clock = time.monotonic) -> None:
        self.keyed = TokenBuckets(keyed_per_minute) if keyed_per_minute else None
        self.anonymous = TokenBuckets(anonymous_per_minute) if anonymous_per_minute else None
        self.clock = clock
        self.known: dict[int, int] = {}  # fingerprint of the key header -> key id

    @property
    def enabled(self) -> bool:
        return self.keyed is not None or self.anonymous is not None


class RateLimitMiddleware:
    """ASGI middleware applying `RateLimits` (see the module doc for who pays)."""

    def __init__(self, app: ASGIApp, limits: RateLimits) -> None:
        self.app = app
        self.limits = limits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if (scope["type"] != "http" or scope.get("method") == "OPTIONS"
                or path in EXEMPT_PATHS or path.startswith(EXEMPT_PREFIXES)):
            await self.app(scope, receive, send)
            return
        secret = _key_secret(scope)
        fingerprint = hash(secret) if secret is not None else None
        limits = self.limits
        key_id = limits.known.get(fingerprint) if fingerprint is not None else None
        buckets = limits.keyed if key_id is not None else limits.anonymous
        if buckets is None:
            decision = None
        else:
            decision = buckets.take(("key", key_id) if key_id is not None
                                    else ("addr", client_address(scope)), limits.clock())
        if decision is not None and not decision.allowed:
            who = "this API key" if key_id is not None else "this address without a known key"
            response = problem_response(
                429, "rate-limited", "Too many requests",
                f"{who} may make {decision.limit} requests per minute; retry after "
                f"{decision.retry_after} s", path)
            response.headers.update(_headers(decision))
            response.headers["Retry-After"] = str(decision.retry_after)
            await response(scope, receive, send)
            return

        if fingerprint is not None:
            scope[SCOPE_KEY] = _Note(fingerprint, limits.known)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] == 401 and fingerprint is not None:
                    # Unknown or revoked: this key's requests pay by address (again).
                    limits.known.pop(fingerprint, None)
                if decision is not None:
                    MutableHeaders(scope=message).update(_headers(decision))
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers(decision: Decision) -> dict[str, str]:
    values = {"Limit": str(decision.limit), "Remaining": str(decision.remaining),
              "Reset": str(decision.reset)}
    out: dict[str, str] = {}
    for name, value in values.items():
        out[f"RateLimit-{name}"] = value
        out[f"X-RateLimit-{name}"] = value
    return out
