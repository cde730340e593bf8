"""Backfill from The Things Stack's Storage Integration (ingest/backfill.py), against a real HTTP
server that answers as the API documents: ``GET /api/v3/as/applications/{id}/packages/storage/
uplink_message`` with a bearer key, a body of newline-delimited ``{"result": ApplicationUp}``
objects separated by blank lines (https://www.thethingsindustries.com/docs/integrations/storage/
retrieve/)."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ingest import Subscriber
from ingest.backfill import (
    BackfillError,
    StorageIntegration,
    _ns,
    backfill,
    parse_line,
    window,
)
from ingest.direct import DirectIngest
from ingest.envelopes import EnvelopeError, Ignored, parse
from meetnet.cli import app
from meetnet.runtime import BrokerServer
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from support import settings_for, wait_for

KEY = "NNSXS.TESTKEY.0123456789abcdef"
APP = "meetnet-waste"
BIN = SimDevice(dev_eui="24e124713c0bf001", device_id="bin-backfill-1", application_id=APP,
                model_key="milesight-iot/em310-udl", organisation="gemeente-leiden",
                use_case="waste", name="bin", lat=52.16, lon=4.49,
                config={"bin_depth_m": 1.5}, interval_s=600)
_PATH = re.compile(r"/api/v3/as/applications/([^/]+)/packages/storage/uplink_message")


@dataclass
class Request:
    path: str
    query: dict[str, list[str]]
    authorization: str | None
    accept: str | None


@dataclass
class StorageServer:
    """The Storage Integration's HTTP API, as documented, over a list of stored uplinks."""

    stored: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    #: Answers to give first, in order: (status, headers, body).
    failures: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    #: The most results one page answers, whatever the client's limit.
    cap: int | None = None
    #: Lines sent before the results of the next page (once).
    extra_lines: list[bytes] = field(default_factory=list)
    #: Lines sent after the results of the next page (once), e.g. a stream error.
    trailer: list[bytes] = field(default_factory=list)
    url: str = ""
    seen: threading.Condition = field(default_factory=threading.Condition)

    def add(self, application: str, body: bytes) -> None:
        self.stored.setdefault(application, []).append(json.loads(body))

    def answer(self, handler: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(handler.path)
        query = parse_qs(parts.query)
        with self.seen:
            self.requests.append(Request(parts.path, query, handler.headers.get("Authorization"),
                                         handler.headers.get("Accept")))
            self.seen.notify_all()
        if handler.headers.get("Authorization") != f"Bearer {KEY}":
            return _send(handler, 401, {}, b'{"code":16,"message":"error:pkg/auth:'
                                           b'token_not_found (API key not found)"}')
        if self.failures:
            return _send(handler, *self.failures.pop(0))
        m = _PATH.fullmatch(parts.path)
        if m is None or m[1] not in self.stored:
            return _send(handler, 404, {}, b'{"code":5,"message":"error:pkg/applicationserver:'
                                           b'application_not_found"}')
        after, before = _ns(query["after"][0]), _ns(query["before"][0])
        if after is None or before is None or query.get("order") != ["received_at"]:
            return _send(handler, 400, {}, b'{"code":3,"message":"invalid query"}')
        limit = int(query["limit"][0])
        results = sorted((r for r in self.stored[m[1]]
                          if after < (_ns(r["received_at"]) or 0) < before),
                         key=lambda r: _ns(r["received_at"]) or 0)
        results = results[:min(limit, self.cap or limit)]
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream")
        handler.end_headers()
        lines, self.extra_lines = self.extra_lines, []
        trailer, self.trailer = self.trailer, []
        for line in lines:
            handler.wfile.write(line + b"\n\n")
        for r in results:
            # The gateway's event-stream delimiter: one blank line after each object.
            handler.wfile.write(json.dumps({"result": r}).encode() + b"\n\n")
        for line in trailer:
            handler.wfile.write(line + b"\n\n")

    def wait_requests(self, n: int, timeout: float = 30) -> None:
        with self.seen:
            assert self.seen.wait_for(lambda: len(self.requests) >= n, timeout), self.requests


def _send(handler: BaseHTTPRequestHandler, status: int, headers: dict[str, str],
          body: bytes) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    for k, v in headers.items():
        handler.send_header(k, v)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


@pytest.fixture
def tts() -> Iterator[StorageServer]:
    server_state = StorageServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            server_state.answer(self)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server_state
    server.shutdown()
    server.server_close()


@pytest.fixture
def registered(db: str) -> str:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            device_id=BIN.device_id, application_id=APP, config=BIN.config))
    return db


T0 = (datetime.now(UTC) - timedelta(hours=3)).replace(microsecond=0)


def _uplink(i: int, at: datetime | None = None, device: SimDevice = BIN) -> tuple[str, bytes]:
    port, payload = ENCODERS[device.model_key]({"distance": 0.5 + i / 100, "battery": 80,
                                                "tilt": 0})
    return tts_uplink(device, port, payload, f_cnt=i,
                      received_at=at or T0 + timedelta(minutes=i))


def _count(db: str, sql: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _client(tts: StorageServer, **kwargs: Any) -> StorageIntegration:
    return StorageIntegration(tts.url, kwargs.pop("key", KEY), backoff_s=0.01, **kwargs)


def _run(tts: StorageServer, db: str, *, after: datetime = T0 - timedelta(hours=1),
         before: datetime = T0 + timedelta(hours=2), **kwargs: Any) -> Any:
    direct = DirectIngest(db)
    try:
        return backfill(_client(tts, **kwargs), direct, APP, after, before, chunk=3)
    finally:
        direct.close()


def test_pages_are_fetched_in_order_and_stored_once(tts: StorageServer, registered: str) -> None:
    for i in range(1, 11):
        tts.add(APP, _uplink(i)[1])
    after, before = T0 - timedelta(hours=1), T0 + timedelta(hours=2)
    done = _run(tts, registered, page_limit=4, after=after, before=before)
    assert (done.fetched, done.uplinks, done.duplicates, done.dead_letters) == (10, 10, 0, 0)
    assert done.complete and done.readings > 0
    assert _count(registered, "SELECT count(*) FROM uplinks") == 10
    assert _count(registered, "SELECT count(*) FROM dead_letters") == 0
    # The documented request: bearer key, event stream, the window, oldest first, paged on
    # the last message's received_at.
    assert [r.path for r in tts.requests] == [
        f"/api/v3/as/applications/{APP}/packages/storage/uplink_message"] * 4
    stored = sorted(tts.stored[APP], key=lambda r: r["received_at"])
    for n, r in enumerate(tts.requests):
        assert r.authorization == f"Bearer {KEY}" and r.accept == "text/event-stream"
        assert r.query["order"] == ["received_at"] and r.query["limit"] == ["4"]
        assert _ns(r.query["before"][0]) == _ns(before.strftime("%Y-%m-%dT%H:%M:%SZ"))
        expected_after = (after.strftime("%Y-%m-%dT%H:%M:%SZ") if n == 0
                          else stored[min(4 * n, 10) - 1]["received_at"])
        assert _ns(r.query["after"][0]) == _ns(expected_after)
    # Again: nothing new, every uplink a duplicate.
    again = _run(tts, registered, page_limit=4)
    assert (again.fetched, again.uplinks, again.duplicates) == (10, 0, 10)
    assert _count(registered, "SELECT count(*) FROM uplinks") == 10


def test_a_server_that_caps_pages_below_the_limit_still_gives_everything(
        tts: StorageServer, registered: str) -> None:
    tts.cap = 2
    for i in range(1, 8):
        tts.add(APP, _uplink(i)[1])
    done = _run(tts, registered, page_limit=5)
    assert (done.fetched, done.uplinks) == (7, 7)
    assert len(tts.requests) == 5  # 2 + 2 + 2 + 1, then an empty page


def test_overlap_with_uplinks_mqtt_stored_is_harmless(tts: StorageServer, registered: str
                                                      ) -> None:
    messages = [_uplink(i) for i in range(1, 9)]
    for _, body in messages:
        tts.add(APP, body)
    direct = DirectIngest(registered)
    try:  # what MQTT delivered before the gap, with the MQTT topic and bytes
        assert direct.ingest(messages[:5]).uplinks == 5
    finally:
        direct.close()
    readings = _count(registered, "SELECT count(*) FROM readings")
    done = _run(tts, registered)
    assert (done.fetched, done.uplinks, done.duplicates, done.dead_letters) == (8, 3, 5, 0)
    assert _count(registered, "SELECT count(*) FROM uplinks") == 8
    assert _count(registered, "SELECT count(*) FROM readings") == readings * 8 // 5


def test_a_refused_key_is_a_clear_error(tts: StorageServer, registered: str) -> None:
    tts.add(APP, _uplink(1)[1])
    with pytest.raises(BackfillError, match=r"refused the API key .*MEETNET_TTS_API_KEY") as err:
        _run(tts, registered, key="NNSXS.WRONG")
    assert err.value.status == 401 and "token_not_found" in str(err.value)
    assert KEY not in str(err.value) and "WRONG" not in str(err.value)
    assert len(tts.requests) == 1  # not retried
    assert _count(registered, "SELECT count(*) FROM uplinks") == 0


def test_an_unknown_application_is_a_clear_error(tts: StorageServer, registered: str) -> None:
    with pytest.raises(BackfillError, match="application meetnet-waste was not found"):
        _run(tts, registered)


def test_server_errors_are_retried_then_a_clear_error(tts: StorageServer, registered: str
                                                      ) -> None:
    tts.add(APP, _uplink(1)[1])
    tts.failures = [(503, {}, b'{"code":14,"message":"unavailable"}')] * 3
    with pytest.raises(BackfillError, match=r"HTTP 503: unavailable\) 3 times") as err:
        _run(tts, registered, retries=2)
    assert err.value.status == 503 and len(tts.requests) == 3
    # Fewer failures than retries: the backfill goes through.
    tts.failures = [(502, {}, b""), (429, {"Retry-After": "0"}, b"")]
    assert _run(tts, registered, retries=2).uplinks == 1


def test_malformed_lines_are_dead_letters_and_the_rest_is_stored(
        tts: StorageServer, registered: str) -> None:
    for i in range(1, 5):
        tts.add(APP, _uplink(i)[1])
    other = SimDevice(**{**BIN.__dict__, "application_id": "somebody-else"})
    tts.add(APP, _uplink(9, device=other)[1])  # the API named another application
    tts.extra_lines = [b"{not json", b"\xff\xfe\x00{", b'{"result": 5}', b"[1, 2]",
                       b'{"result": {"end_device_ids": {"dev_eui": "zz"}}}']
    done = _run(tts, registered)
    assert done.uplinks == 4 and done.dead_letters == 6
    with psycopg.connect(registered) as conn:
        stages = dict(conn.execute("SELECT stage, count(*) FROM dead_letters GROUP BY 1").fetchall())
        reason = conn.execute("SELECT reason FROM dead_letters WHERE stage = 'lookup'").fetchone()
    assert stages == {"parse": 5, "lookup": 1}
    assert reason is not None and "application mismatch" in reason[0]


def test_an_error_in_the_stream_ends_the_backfill(tts: StorageServer, registered: str) -> None:
    for i in range(1, 4):
        tts.add(APP, _uplink(i)[1])
    tts.trailer = [b'{"error": {"code": 13, "message": "error:pkg/storage:internal"}}']
    with pytest.raises(BackfillError, match=r"ended the stream .*pkg/storage:internal"):
        _run(tts, registered)
    # What was committed before the error stays (a full chunk of 3).
    assert _count(registered, "SELECT count(*) FROM uplinks") == 3


def test_the_window_after_a_reconnect() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert window(None, now, 72) == (now - timedelta(hours=72), now)
    assert window(now - timedelta(hours=1), now, 72) == (now - timedelta(minutes=65), now)
    assert window(now - timedelta(days=30), now, 72) == (now - timedelta(hours=72), now)
    # A stored received_at in the future (a skewed network server) is no reason to skip.
    assert window(now + timedelta(hours=1), now, 72) == (now - timedelta(minutes=5), now)


def test_the_cli_command_prints_progress_and_a_summary(
        tts: StorageServer, registered: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(1, 8):
        tts.add(APP, _uplink(i)[1])
    monkeypatch.setenv("MEETNET_DATABASE_URL", registered)
    monkeypatch.setenv("MEETNET_TTS_API_URL", tts.url)
    monkeypatch.setenv("MEETNET_TTS_API_KEY", KEY)
    monkeypatch.setenv("MEETNET_TTS_APPLICATIONS", APP)
    runner = CliRunner()
    args = ["backfill", "--application", APP,
            "--from", (T0 - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"),
            "--to", (T0 + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert f"{APP}: 7 messages fetched, 7 new uplinks, 0 duplicates, 0 dead letters" in result.output
    assert "backfill: 1 of 1 applications, 7 messages fetched, 7 new uplinks" in result.output
    assert _count(registered, "SELECT count(*) FROM uplinks") == 7
    again = runner.invoke(app, args)
    assert "0 new uplinks, 7 duplicates" in again.output
    # Without --from: the last MEETNET_TTS_BACKFILL_MAX_HOURS.
    assert runner.invoke(app, ["backfill"]).exit_code == 0
    assert _ns(tts.requests[-1].query["after"][0]) is not None
    monkeypatch.setenv("MEETNET_TTS_API_KEY", "NNSXS.WRONG")
    refused = runner.invoke(app, args)
    assert refused.exit_code == 1
    assert "error: The Things Stack refused the API key (HTTP 401" in refused.output
    bad = runner.invoke(app, ["backfill", "--application", "Not An Id"])
    assert bad.exit_code == 2 and "not a The Things Stack application id" in bad.output


def test_after_a_reconnect_the_gap_is_fetched_and_stored(
        tts: StorageServer, registered: str, mosquitto: BrokerServer) -> None:
    db = registered
    # Stored before ingest starts: the first connect's backfill fetches them.
    early = [_uplink(i, datetime.now(UTC) - timedelta(minutes=30 - i)) for i in range(1, 4)]
    for _, body in early:
        tts.add(APP, body)
    settings = settings_for(db, mosquitto, batch_size=50, flush_interval_ms=50,
                            tts_api_url=tts.url, tts_api_key=KEY, tts_applications=[APP])
    sub = Subscriber(settings, db)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    try:
        assert sub.subscribed.wait(20), "subscriber did not subscribe"
        assert sub.backfill is not None
        assert sub.backfill.wait_rounds(1, 30)
        wait_for(lambda: _count(db, "SELECT count(*) FROM uplinks") == 3)
        mosquitto.stop()
        wait_for(lambda: not sub.connected.is_set())
        gone = datetime.now(UTC)
        # Published by The Things Stack while nobody listened: only its storage has them.
        missed = [_uplink(10 + i, datetime.now(UTC)) for i in range(5)]
        for _, body in missed:
            tts.add(APP, body)
        requests = len(tts.requests)
        mosquitto.restart()
        assert sub.subscribed.wait(30), "subscriber did not come back"
        assert sub.backfill.wait_rounds(2, 30)
        tts.wait_requests(requests + 1)
        after = _ns(tts.requests[requests].query["after"][0])
        assert after is not None and after <= int(gone.timestamp() * 10**9)
        wait_for(lambda: _count(db, "SELECT count(*) FROM uplinks") == 8)
        result = sub.backfill.results[APP]
        assert not isinstance(result, BaseException) and result.uplinks == 5
    finally:
        sub.stop()
        thread.join(20)
    assert not thread.is_alive()


# --- the line parser under junk ---------------------------------------------------------------

_junk = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.integers(min_value=1, max_value=3000).map(lambda n: b'{"result":' * n + b"1" + b"}" * n),
    st.integers(min_value=1, max_value=3000).map(
        lambda n: b'{"result": {"end_device_ids": ' + b"[" * n + b"]" * n + b"}}"),
    st.integers(min_value=0, max_value=10**400).map(
        lambda n: b'{"result": {"received_at": ' + str(n).encode() + b"}}"),
    st.sampled_from([b"\x00", b'{"result": {"a": "\x00"}}', b'{"result": {"x": 1e999999}}',
                     b'{"error": 5}', b'{"error": {"message": "\xff"}}',
                     b'{"result": {"end_device_ids": {"device_id": "a/b/../#"}}}',
                     b'{"result": {"uplink_message": {"network_ids": {"tenant_id": "a/+"}}}}']),
    st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
                 lambda inner: st.lists(inner, max_size=4)
                 | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                 max_leaves=30).map(lambda v: json.dumps({"result": v}).encode()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_junk)
def test_junk_lines_never_raise_and_become_dead_letters_at_most(line: bytes) -> None:
    parsed = parse_line(APP, line)
    if parsed.message is None:
        return  # a blank line, or a stream error (ends the backfill with BackfillError)
    topic, payload = parsed.message
    assert isinstance(payload, bytes)
    assert topic.startswith(f"v3/{APP}") and topic.endswith("/up") and topic.count("/") == 4
    # A dead letter (or nothing for us), never another exception.
    with contextlib.suppress(EnvelopeError, Ignored):
        parse(topic, payload)


def test_a_line_longer_than_the_limit_is_cut_and_refused(tts: StorageServer, registered: str
                                                         ) -> None:
    tts.add(APP, _uplink(1)[1])
    tts.extra_lines = [b'{"result": {"junk": "' + b"x" * 200_000 + b'"}}']
    done = _run(tts, registered, line_max=70_000)
    assert done.uplinks == 1 and done.dead_letters == 1
    with psycopg.connect(registered) as conn:
        row = conn.execute("SELECT reason FROM dead_letters").fetchone()
    assert row is not None and "larger than the limit" in row[0]
