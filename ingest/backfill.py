"""Closing The Things Stack's gaps: uplinks missed while ingest was away, fetched from its Storage
Integration and stored through the same pipeline as MQTT (docs/architecture.md, "Backfill from
the Storage Integration").

The Things Stack's MQTT server offers QoS 0 only
(https://www.thethingsindustries.com/docs/integrations/other-integrations/mqtt/): what it
publishes while nobody (meetnet, or the bridge into the local broker) is connected is gone. Its
Storage Integration keeps an application's uplinks (24 hours on the Sandbox, 30 days on The
Things Stack Cloud) and serves them over HTTP
(https://www.thethingsindustries.com/docs/integrations/storage/retrieve/; the
``ApplicationUpStorage.GetStoredApplicationUp`` service of lorawan-stack's
``api/ttn/lorawan/v3/applicationserver_integrations_storage.proto``)::

    GET {cluster}/api/v3/as/applications/{application_id}/packages/storage/uplink_message
        ?after=RFC3339&before=RFC3339&order=received_at&limit=N
    Authorization: Bearer {API key with RIGHT_APPLICATION_TRAFFIC_READ}
    Accept: text/event-stream

The answer streams one JSON object per line, ``{"result": ApplicationUp}`` (the HTTP gateway's
event-stream delimiter is a blank line, so blank lines come between them); an error after the
stream began is a line ``{"error": {"code": .., "message": ..}}``. An ApplicationUp is the body
The Things Stack publishes on ``v3/{application_id}@{tenant_id}/devices/{device_id}/up``, so each
result goes to `DirectIngest` with the topic it would have had, and deduplication on the
uplink's identity makes the overlap with what MQTT delivered harmless.

Paging: the HTTP API passes no continuation token (the gRPC header ``x-continuation-token`` is
not among the headers its gateway forwards), so each page is followed by the next one with
``after`` = the last message's ``received_at``, in ``received_at`` order, until a page brings
nothing newer (one request more than needed, but a server that caps pages below ``limit`` loses
nothing).

The response is never held whole: lines are read one at a time (a line longer than the message
limit is cut and becomes a dead letter) and stored in chunks of `CHUNK` messages.
"""

from __future__ import annotations

import contextlib
import email.utils
import http.client
import logging
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO, Any
from urllib.parse import quote, urlencode, urlsplit

import orjson
import psycopg
from prometheus_client import Counter

from ingest import envelopes
from ingest.batch_store import RawMessage
from ingest.direct import DirectIngest, Stored, StoreUnavailable
from ingest.envelopes import EnvelopeError, parse_time
from ingest.pipeline import IngestLimits
from meetnet.settings import Settings
from store.backfill import newest_uplinks

log = logging.getLogger(__name__)

#: Results asked for per request. The API takes ``limit`` but documents no maximum; a page of
#: this size is a few MB at most.
PAGE_LIMIT = 1000
#: Messages stored per `DirectIngest` call: one transaction each, neither one per message nor
#: the whole window at once.
CHUNK = 500
#: The window starts this much before the disconnect (or the newest stored uplink): clocks of
#: the host and the network server differ a little, and an overlap only costs duplicates.
OVERLAP = timedelta(minutes=5)
HTTP_TIMEOUT_S = 30.0
#: Attempts after the first for a 429, a 5xx or a lost connection, before giving up.
RETRIES = 4
#: The longest wait for a 429's Retry-After that is honoured as given.
RETRY_AFTER_MAX_S = 120.0
#: Room for the ``{"result": ...}`` wrapper around a message of the size limit.
LINE_HEADROOM = 4096

#: The Things Stack's identifiers: lowercase letters, digits and single dashes, 3 to 36
#: characters (lorawan-stack's ``validate`` rules for application_id).
_TTS_ID = re.compile(r"[a-z0-9](?:-?[a-z0-9]){2,35}")
_RFC3339_Z = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z")

MESSAGES = Counter("meetnet_ingest_backfill_messages_total",
                   "Messages fetched from The Things Stack's Storage Integration, by what became "
                   "of them", ["result"])
FAILURES = Counter("meetnet_ingest_backfill_failures_total",
                   "Backfills from The Things Stack's Storage Integration that failed")


class BackfillError(RuntimeError):
    """The Storage Integration did not deliver (refused key, unknown application, rate limit or
    server errors beyond the retries); ``str()`` says which, in one line, without the key."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def valid_application(application: str) -> str:
    """A The Things Stack application id, or ValueError."""
    if not _TTS_ID.fullmatch(application) or len(application) > 36:
        raise ValueError(f"{application[:80]!r} is not a The Things Stack application id "
                         "(3-36 lowercase letters, digits and single dashes)")
    return application


def rfc3339(at: datetime) -> str:
    """UTC with a ``Z``, as protobuf's JSON mapping of Timestamp writes it."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _ns(text: str) -> int | None:
    """An RFC 3339 time in nanoseconds since the epoch (paging compares The Things Stack's
    nanosecond times exactly); None when it is not a time."""
    m = _RFC3339_Z.fullmatch(text)
    if m:
        try:
            base = datetime.fromisoformat(m[1] + "+00:00")
        except ValueError:
            return None
        return int(base.timestamp()) * 10**9 + int((m[2] or "0").ljust(9, "0"))
    try:
        at = parse_time(text)
    except EnvelopeError:
        return None
    return int(at.timestamp()) * 10**9 + at.microsecond * 1000


# --- one line of the stream --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the response: a message for the pipeline (None for a blank line), the stored
    message's ``received_at`` (for the next page), or the error that ended the stream."""

    message: RawMessage | None
    received_at: str | None = None
    error: str | None = None


def parse_line(application: str, line: bytes) -> Line:
    """One line of a ``GetStoredApplicationUp`` response -> ``(topic, payload)`` for the pipeline.

    A result becomes the topic The Things Stack would have published it on,
    ``v3/{application_id}[@{tenant_id}]/devices/{device_id}/up``: the application is the one
    asked for (so a result of another application is an "application mismatch", as on MQTT),
    the tenant the message's own ``network_ids.tenant_id`` (absent on open-source deployments),
    the device the message's. Anything else that is not blank (not JSON, invalid UTF-8, a
    result that is not an object) is passed on as it came, under a placeholder device, and the
    pipeline keeps it as a ``parse`` dead letter. Never raises.
    """
    text = line.strip()
    if not text:
        return Line(None)
    fallback = envelopes.tts_topic(application, "-")
    try:
        doc = orjson.loads(text)
    except orjson.JSONDecodeError:  # also invalid UTF-8, NUL, nesting beyond orjson's limit
        return Line((fallback, text))
    if not isinstance(doc, dict):
        return Line((fallback, text))
    result = doc.get("result")
    if not isinstance(result, dict):
        error = doc.get("error")
        if "result" not in doc and isinstance(error, dict):
            return Line(None, error=_error_text(error))
        return Line((fallback, text))
    ids = result.get("end_device_ids")
    device = envelopes.topic_part(ids.get("device_id")) if isinstance(ids, dict) else None
    up = result.get("uplink_message")
    network = up.get("network_ids") if isinstance(up, dict) else None
    tenant = envelopes.topic_part(network.get("tenant_id")) if isinstance(network, dict) else None
    topic = envelopes.tts_topic(application, device or "-", "up", tenant)
    received = result.get("received_at")
    if not isinstance(received, str) and isinstance(up, dict):
        received = up.get("received_at")
    try:
        payload = orjson.dumps(result)
    except (TypeError, orjson.JSONEncodeError):  # deeper than orjson writes (254 levels)
        return Line((fallback, text))
    return Line((topic, payload), received if isinstance(received, str) else None)


def _error_text(error: dict[str, Any]) -> str:
    message = error.get("message")
    code = error.get("code")
    text = message if isinstance(message, str) else "no message"
    return _printable(f"{text} (code {code})" if isinstance(code, int) else text)


def _printable(text: str, limit: int = 200) -> str:
    text = "".join(c if c.isprintable() else " " for c in text).strip()
    return text if len(text) <= limit else text[:limit] + "..."


def _lines(response: IO[bytes], limit: int) -> Iterator[bytes]:
    """The response's lines, read one at a time; a line over ``limit`` bytes yields its first
    ``limit + 1`` bytes (the pipeline refuses that as too large) and the rest is skipped."""
    while True:
        line = response.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while True:
                rest = response.readline(limit + 1)
                if not rest or rest.endswith(b"\n"):
                    break
        yield line


# --- the HTTP client ---------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would carry the API key to wherever it points: answered as an error instead."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class StorageIntegration:
    """A client of one cluster's Storage Integration API, streaming stored uplinks."""

    def __init__(self, url: str, api_key: str, *, timeout_s: float = HTTP_TIMEOUT_S,
                 page_limit: int = PAGE_LIMIT, line_max: int = 64 * 1024 + LINE_HEADROOM,
                 retries: int = RETRIES, backoff_s: float = 1.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("MEETNET_TTS_API_URL must be an http(s):// URL of a The Things "
                             "Stack cluster, e.g. https://eu1.cloud.thethings.network")
        base = url.rstrip("/")
        # The cluster's address, or its API root: both are what people copy from the console.
        self.base = base if base.endswith("/api/v3") else base + "/api/v3"
        self._key = api_key
        self.timeout_s = timeout_s
        self.page_limit = page_limit
        self.line_max = line_max
        self.retries = retries
        self.backoff_s = backoff_s
        self._opener = urllib.request.build_opener(_NoRedirects)

    @classmethod
    def from_settings(cls, settings: Settings) -> StorageIntegration:
        if not settings.tts_api_url or settings.tts_api_key is None:
            raise ValueError("set MEETNET_TTS_API_URL and MEETNET_TTS_API_KEY to fetch uplinks "
                             "from The Things Stack's Storage Integration")
        return cls(settings.tts_api_url, settings.tts_api_key.get_secret_value(),
                   line_max=settings.max_message_bytes + LINE_HEADROOM)

    def _url(self, application: str, after: str, before: str) -> str:
        query = urlencode({"after": after, "before": before, "order": "received_at",
                           "limit": self.page_limit})
        return (f"{self.base}/as/applications/{quote(application, safe='')}"
                f"/packages/storage/uplink_message?{query}")

    def _wait(self, attempt: int, retry_after: float | None, stop: threading.Event | None
              ) -> None:
        delay = (min(retry_after, RETRY_AFTER_MAX_S) if retry_after is not None
                 else self.backoff_s * 2 ** attempt)
        if stop is not None:
            stop.wait(delay)
        else:
            time.sleep(delay)

    def _open(self, application: str, url: str, stop: threading.Event | None
              ) -> http.client.HTTPResponse | None:
        """The response of a successful request (retrying 429, 5xx and lost connections), None
        when stopped, or BackfillError."""
        request = urllib.request.Request(url, headers={
            "Authorization": f"Bearer {self._key}", "Accept": "text/event-stream",
            "User-Agent": "meetnet-backfill"})
        for attempt in range(self.retries + 1):
            if stop is not None and stop.is_set():
                return None
            last = attempt == self.retries
            try:
                response: http.client.HTTPResponse = self._opener.open(
                    request, timeout=self.timeout_s)
                return response
            except urllib.error.HTTPError as exc:
                with exc:
                    status, reason = exc.code, _server_message(exc)
                    retry_after = _retry_after(exc.headers)
                fatal = _fatal(status, application, self.base, reason)
                if fatal is not None:
                    raise fatal from None
                log.warning("Storage Integration answered HTTP %d%s (attempt %d of %d)", status,
                            f": {reason}" if reason else "", attempt + 1, self.retries + 1,
                            extra={"application": application, "status": status})
                if last:
                    what = "rate limited" if status == 429 else "failed"
                    raise BackfillError(
                        f"The Things Stack's Storage Integration {what} (HTTP {status}"
                        f"{': ' + reason if reason else ''}) {self.retries + 1} times for "
                        f"application {application}; try again later", status) from None
                self._wait(attempt, retry_after if status == 429 else None, stop)
            except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
                why = _printable(str(getattr(exc, "reason", exc)) or type(exc).__name__)
                log.warning("cannot reach the Storage Integration at %s: %s (attempt %d of %d)",
                            self.base, why, attempt + 1, self.retries + 1,
                            extra={"application": application})
                if last:
                    raise BackfillError(f"cannot reach The Things Stack at {self.base}: {why}"
                                        ) from None
                self._wait(attempt, None, stop)
        return None  # pragma: no cover - the loop returns or raises

    def uplinks(self, application: str, after: datetime, before: datetime,
                stop: threading.Event | None = None) -> Iterator[RawMessage]:
        """Every message the Storage Integration holds for ``application`` with ``after <
        received_at < before``, oldest first, as ``(topic, payload)``; page after page, and a
        page cut off by a lost connection is asked for again from its last message."""
        valid_application(application)
        cursor, end = rfc3339(after), rfc3339(before)
        failures = 0
        while True:
            response = self._open(application, self._url(application, cursor, end), stop)
            if response is None:
                return
            count, last = 0, None
            try:
                with response:
                    for raw in _lines(response, self.line_max):
                        if stop is not None and stop.is_set():
                            return
                        line = parse_line(application, raw)
                        if line.error is not None:
                            raise BackfillError(f"The Things Stack ended the stream of "
                                                f"application {application} with an error: "
                                                f"{line.error}")
                        if line.message is None:
                            continue
                        count += 1
                        if line.received_at is not None:
                            last = line.received_at
                        yield line.message
            except (OSError, http.client.HTTPException) as exc:
                failures += 1
                if failures > self.retries:
                    raise BackfillError(f"lost the connection to The Things Stack {failures} "
                                        f"times while reading application {application}: "
                                        f"{_printable(str(exc)) or type(exc).__name__}") from None
                log.warning("connection lost while reading stored uplinks (%s); asking again "
                            "from the last one", type(exc).__name__,
                            extra={"application": application})
                cursor = last if last is not None and _advances(cursor, last) else cursor
                self._wait(failures - 1, None, stop)
                continue
            # Asked again until a page brings nothing newer: a short page does not mean the
            # end, since the server may cap pages below our limit (none is documented).
            if last is None or not _advances(cursor, last):
                if count >= self.page_limit:
                    log.warning("a full page of stored uplinks that does not advance in time "
                                "(after %s); stopping there", cursor,
                                extra={"application": application})
                return
            cursor = last


def _advances(cursor: str, last: str) -> bool:
    a, b = _ns(cursor), _ns(last)
    return a is not None and b is not None and b > a


def _server_message(exc: urllib.error.HTTPError) -> str:
    """The ``message`` of The Things Stack's JSON error body (read at most 4 KiB of it)."""
    try:
        body = exc.read(4096)
    except (OSError, http.client.HTTPException):
        return ""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return ""
    if isinstance(doc, dict) and isinstance(doc.get("message"), str):
        return _printable(doc["message"])
    return ""


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``Retry-After`` (RFC 9110 section 10.2.3: seconds or an HTTP date), else
    from The Things Stack's own ``X-Rate-Limit-Retry``."""
    for name in ("Retry-After", "X-Rate-Limit-Retry"):
        value = headers.get(name) if headers is not None else None
        if not value:
            continue
        value = value.strip()
        if value.isdigit():
            return float(value)
        with contextlib.suppress(TypeError, ValueError, IndexError, OverflowError):
            when = email.utils.parsedate_to_datetime(value)
            if when.tzinfo is None:
                when = when.replace(tzinfo=UTC)
            return max(0.0, (when - datetime.now(UTC)).total_seconds())
    return None


def _fatal(status: int, application: str, base: str, reason: str) -> BackfillError | None:
    """The HTTP errors that asking again does not change, with what to do about them."""
    said = f": {reason}" if reason else ""
    if status == 401:
        return BackfillError(f"The Things Stack refused the API key (HTTP 401{said}); set "
                             "MEETNET_TTS_API_KEY to a key with the right "
                             "RIGHT_APPLICATION_TRAFFIC_READ", status)
    if status == 403:
        return BackfillError(f"the API key may not read application {application}'s stored "
                             f"uplinks (HTTP 403{said}); give it RIGHT_APPLICATION_TRAFFIC_READ "
                             "on that application", status)
    if status == 404:
        return BackfillError(f"application {application} was not found at {base}, or its "
                             f"Storage Integration is not enabled (HTTP 404{said})", status)
    if 300 <= status < 500 and status not in (408, 429):
        return BackfillError(f"The Things Stack answered HTTP {status}{said} for application "
                             f"{application}", status)
    return None


# --- storing ----------------------------------------------------------------------------------


@dataclass
class Progress:
    """What a backfill of one application fetched and stored so far."""

    application: str
    after: datetime
    before: datetime
    fetched: int = 0
    uplinks: int = 0  # new raw uplinks
    duplicates: int = 0  # uplinks that were stored before (by MQTT, a webhook, a backfill)
    readings: int = 0
    dead_letters: int = 0
    complete: bool = False  # False: stopped before the end of the window

    def add(self, stored: Stored) -> None:
        # An uplink's message ends "stored" or "empty" (no payload) whether or not its row was
        # new; the new rows are counted apart.
        duplicates = max(0, stored.outcomes.get("stored", 0) + stored.outcomes.get("empty", 0)
                         - stored.uplinks)
        self.fetched += stored.messages
        self.uplinks += stored.uplinks
        self.duplicates += duplicates
        self.readings += stored.readings
        self.dead_letters += stored.dead_letters
        MESSAGES.labels("new").inc(stored.uplinks)
        MESSAGES.labels("duplicate").inc(duplicates)
        MESSAGES.labels("dead_letter").inc(stored.dead_letters)

    def line(self) -> str:
        return (f"{self.application}: {self.fetched} messages fetched, {self.uplinks} new "
                f"uplinks, {self.duplicates} duplicates, {self.dead_letters} dead letters")


def backfill(source: StorageIntegration, direct: DirectIngest, application: str,
             after: datetime, before: datetime, *, stop: threading.Event | None = None,
             progress: Callable[[Progress], None] | None = None, chunk: int = CHUNK) -> Progress:
    """Fetch ``application``'s stored uplinks between ``after`` and ``before`` and store them
    through `DirectIngest`, `chunk` messages per commit. Raises `BackfillError` when the API
    fails and `StoreUnavailable` when the database does; what was committed before stays."""
    done = Progress(application, after, before)
    batch: list[RawMessage] = []
    for message in source.uplinks(application, after, before, stop):
        batch.append(message)
        if len(batch) >= chunk:
            done.add(direct.ingest(batch))
            batch = []
            if progress is not None:
                progress(done)
    if stop is not None and stop.is_set():
        return done  # stopping: the rest comes with the next backfill
    if batch:
        done.add(direct.ingest(batch))
        if progress is not None:
            progress(done)
    done.complete = True
    return done


def window(since: datetime | None, now: datetime, max_hours: int) -> tuple[datetime, datetime]:
    """The window to fetch after a reconnect: from `OVERLAP` before ``since`` (the disconnect,
    or the newest stored uplink; None: nothing known) to ``now``, at most ``max_hours`` long."""
    earliest = now - timedelta(hours=max_hours)
    if since is None:
        return earliest, now
    return max(min(since, now) - OVERLAP, earliest), now


class ReconnectBackfill:
    """After each (re)connect of ingest, fetches what each configured application's Storage
    Integration holds since ingest was last connected, on its own thread (paho's loop is never
    blocked) and one backfill at a time.

    Where a gap starts: on the first connect of a process, at the newest uplink stored for the
    application (looked up before connecting, before MQTT delivers anything new); after that, at
    the time of each disconnect. A gap whose backfill failed is tried again on the next
    reconnect.
    """

    def __init__(self, settings: Settings, dsn: str,
                 source: StorageIntegration | None = None) -> None:
        self.settings = settings
        self.dsn = dsn
        self.applications = [valid_application(a) for a in settings.tts_applications]
        self.source = source or StorageIntegration.from_settings(settings)
        self._lock = threading.Lock()
        #: Application -> start of its gap not yet fetched.
        self._pending: dict[str, datetime] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._done = threading.Condition()
        #: Backfill rounds finished (whatever their outcome), and the last result per application.
        self.rounds = 0
        self.results: dict[str, Progress | BaseException] = {}

    @classmethod
    def from_settings(cls, settings: Settings, dsn: str) -> ReconnectBackfill | None:
        """None unless the Storage Integration is configured (URL, key and applications)."""
        if not (settings.tts_api_url and settings.tts_api_key and settings.tts_applications):
            return None
        return cls(settings, dsn)

    def start(self) -> None:
        """Before the first connect: note where each application's stored uplinks end, and
        start the backfill thread."""
        now = datetime.now(UTC)
        since = now - timedelta(hours=self.settings.tts_backfill_max_hours)
        newest: dict[str, datetime] = {}
        try:
            with psycopg.connect(self.dsn, connect_timeout=5) as conn:
                newest = newest_uplinks(conn, self.applications, since)
        except psycopg.Error as exc:
            log.warning("backfill: cannot read the newest stored uplinks (%s); fetching the "
                        "last %d hours", _printable(str(exc)), self.settings.tts_backfill_max_hours)
        with self._lock:
            for app in self.applications:
                self._pending.setdefault(app, newest.get(app, since))
        self._thread = threading.Thread(target=self._loop, name="tts-backfill", daemon=True)
        self._thread.start()

    def disconnected(self, at: datetime | None = None) -> None:
        """Ingest lost the broker (paho's thread: only notes the time)."""
        at = at or datetime.now(UTC)
        with self._lock:
            for app in self.applications:
                # An earlier gap not fetched yet covers this one too.
                self._pending.setdefault(app, at)

    def connected(self) -> None:
        """Ingest is connected (again): fetch the gaps (paho's thread: only wakes ours)."""
        self._wake.set()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop between two lines of the stream; waits ``timeout`` at most (the thread is a
        daemon: a request blocked on the network ends with the process)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_rounds(self, n: int, timeout: float) -> bool:
        """Wait until ``n`` rounds have finished (for tests and the demo)."""
        with self._done:
            return self._done.wait_for(lambda: self.rounds >= n, timeout)

    def _loop(self) -> None:
        direct = DirectIngest(self.dsn, IngestLimits.from_settings(self.settings))
        try:
            while True:
                self._wake.wait()
                if self._stop.is_set():
                    return
                self._wake.clear()
                self._round(direct)
        finally:
            direct.close()

    def _round(self, direct: DirectIngest) -> None:
        now = datetime.now(UTC)
        with self._lock:
            work = {app: self._pending.pop(app) for app in self.applications
                    if app in self._pending}
        for app, since in work.items():
            after, before = window(since, now, self.settings.tts_backfill_max_hours)
            started = time.monotonic()
            result: Progress | BaseException
            try:
                result = backfill(self.source, direct, app, after, before, stop=self._stop)
            except (BackfillError, StoreUnavailable) as exc:
                result = exc
                log.error("backfill of %s failed: %s; tried again after the next reconnect",
                          app, exc, extra={"application": app, "after": rfc3339(after),
                                           "before": rfc3339(before)})
            except Exception as exc:  # a bug must not end the thread: the next round retries
                result = exc
                log.exception("backfill of %s failed", app, extra={"application": app})
            if isinstance(result, BaseException):
                FAILURES.inc()
                with self._lock:
                    self._pending[app] = min(since, self._pending.get(app, since))
            else:
                log.info("backfilled %s", result.line(), extra={
                    "application": app, "after": rfc3339(after), "before": rfc3339(before),
                    "fetched": result.fetched, "uplinks": result.uplinks,
                    "duplicates": result.duplicates, "dead_letters": result.dead_letters,
                    "complete": result.complete,
                    "seconds": round(time.monotonic() - started, 3)})
            self.results[app] = result
            if self._stop.is_set():
                break
        with self._done:
            self.rounds += 1
            self._done.notify_all()
