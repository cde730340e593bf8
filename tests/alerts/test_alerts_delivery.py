"""Webhook delivery to a real HTTP receiver on 127.0.0.1 that checks the signature the way
docs/alerts.md tells receivers to, and fails the first attempts on purpose."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from alerts.delivery import Policy, deliver_due, sign, signature_header, verify
from alerts.runner import evaluate
from meetnet.settings import Settings
from store import Batch, ReadingRow, Writer, keys
from store import alerts as store
from store import devices as registry
from support import wait_for

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
ORG = "hoogheemraadschap"
EUI = "24e124fffe0a1b2c"
FAST = Policy(timeout_s=5, max_attempts=5, backoff_s=0.01, backoff_max_s=0.05)


@dataclass
class Receiver:
    """What the test's receiver saw; `fail_first` answers 500 to that many requests."""

    secret: str = ""
    fail_first: int = 0
    requests: list[dict[str, object]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, header: str, body: bytes) -> bool:
        # The receiver's side, written out as docs/alerts.md describes it (not with our code).
        parts = dict(p.split("=", 1) for p in header.split(","))
        if abs(time.time() - int(parts["t"])) > 300:
            return False
        mac = hmac.new(self.secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
        return hmac.compare_digest(mac.hexdigest(), parts["v1"])


@pytest.fixture
def receiver() -> Iterator[tuple[str, Receiver]]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                n = len(state.requests)
                state.requests.append({
                    "valid": state.check(self.headers["X-Meetnet-Signature"], body),
                    "delivery": self.headers["X-Meetnet-Delivery"],
                    "event": self.headers["X-Meetnet-Event"], "body": json.loads(body)})
            status = 500 if n < state.fail_first else 204
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hooks/meetnet", state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def conn(db: str) -> Iterator[psycopg.Connection]:
    with psycopg.connect(db, autocommit=True) as c:
        keys.create_organisation(c, ORG, "Hoogheemraadschap")
        device = registry.upsert_device(c, registry.NewDevice(
            dev_eui=EUI, organisation=ORG, model_key="elsys/ers-co2", name="gemaal",
            use_case="any", visibility="private"))
        store.create_rule(c, ORG, metric="temperature", condition=">", threshold=30)
        with Writer(db) as w:
            w.write(Batch(readings=[ReadingRow(T0, device, "temperature", 35.0),
                                    ReadingRow(T0 + timedelta(minutes=10), device,
                                               "temperature", 20.0)]))
        yield c


def test_retries_until_delivered_and_records_every_attempt(
        conn: psycopg.Connection, receiver: tuple[str, Receiver]) -> None:
    url, state = receiver
    state.secret = store.set_webhook(conn, ORG, url)
    state.fail_first = 2
    evaluate(conn, Settings(), now=T0 + timedelta(minutes=15))  # an episode: opened, resolved
    (alert,) = store.list_alerts(conn, ORG)
    delivered: list[int] = []

    def both_delivered() -> bool:
        delivered.append(deliver_due(conn, FAST).delivered)
        return sum(delivered) == 2

    wait_for(both_delivered)
    got = state.requests
    assert all(r["valid"] for r in got)
    # Attempts 1 and 2 of the first notification failed; its third and the next one's first
    # got through, in order.
    assert [r["event"] for r in got] == ["alert.opened"] * 3 + ["alert.resolved"]
    assert len({r["delivery"] for r in got[:3]}) == 1 and got[3]["delivery"] != got[0]["delivery"]
    body = got[0]["body"]
    assert isinstance(body, dict) and body["event"] == "alert.opened"
    assert body["alert"]["id"] == alert.id and body["alert"]["dev_eui"] == EUI
    attempts = store.deliveries(conn, ORG, alert.id)
    assert attempts is not None
    assert [(d.event, d.attempt, d.status_code) for d in attempts] == [
        ("opened", 1, 500), ("opened", 2, 500), ("opened", 3, 204), ("resolved", 1, 204)]
    assert all(d.url == url and d.error is None and d.attempted_at for d in attempts)
    assert attempts[0].attempted_at <= attempts[1].attempted_at <= attempts[2].attempted_at
    # Nothing more to do, and nothing sent twice.
    assert deliver_due(conn, FAST).attempted == 0
    assert store.deliveries(conn, "another-org", alert.id) is None


def test_gives_up_after_the_last_attempt(conn: psycopg.Connection,
                                         receiver: tuple[str, Receiver]) -> None:
    url, state = receiver
    state.secret = store.set_webhook(conn, ORG, url)
    state.fail_first = 1000
    evaluate(conn, Settings(), now=T0 + timedelta(minutes=15))
    policy = Policy(timeout_s=5, max_attempts=3, backoff_s=0.01, backoff_max_s=0.01)
    given_up: list[int] = []

    def both_given_up() -> bool:
        given_up.append(deliver_due(conn, policy).given_up)
        return sum(given_up) == 2

    wait_for(both_given_up)
    (alert,) = store.list_alerts(conn, ORG)
    attempts = store.deliveries(conn, ORG, alert.id) or []
    assert [(d.event, d.attempt, d.status_code) for d in attempts] == [
        (e, n, 500) for e in ("opened", "resolved") for n in (1, 2, 3)]
    assert store.next_due_in_s(conn) is None


def test_no_answer_is_recorded_with_its_error(conn: psycopg.Connection) -> None:
    from meetnet.runtime import free_port

    store.set_webhook(conn, ORG, f"http://127.0.0.1:{free_port()}/nobody")  # nobody listens
    evaluate(conn, Settings(), now=T0 + timedelta(minutes=15))
    report = deliver_due(conn, FAST)
    assert (report.attempted, report.retrying) == (1, 1)  # "resolved" waits for "opened"
    (alert,) = store.list_alerts(conn, ORG)
    first = (store.deliveries(conn, ORG, alert.id) or [])[0]
    assert first.status_code is None and first.error and "Connect" in first.error


def test_without_a_webhook_nothing_is_queued(conn: psycopg.Connection) -> None:
    evaluate(conn, Settings(), now=T0 + timedelta(minutes=15))
    assert store.next_due_in_s(conn) is None
    assert deliver_due(conn, FAST).attempted == 0


def test_signatures_refuse_replays_and_tampering() -> None:
    body = b'{"event":"alert.opened"}'
    now = 1_800_000_000
    header = signature_header("mnwh_secret", now, body)
    assert header == f"t={now},v1={sign('mnwh_secret', now, body)}"
    assert verify("mnwh_secret", header, body, now=now + 299)
    assert not verify("mnwh_secret", header, body, now=now + 301)  # replayed later
    assert not verify("mnwh_secret", header, body + b" ", now=now)
    assert not verify("another", header, body, now=now)
    assert not verify("mnwh_secret", "v1=00", body, now=now)
    assert not verify("mnwh_secret", "garbage", body, now=now)


def test_webhook_urls_are_checked(conn: psycopg.Connection) -> None:
    for bad in ("ftp://example.org/x", "http://", "javascript:alert(1)", "http://a b/",
                "http://x/" + "a" * 3000):
        with pytest.raises(store.AlertError):
            store.set_webhook(conn, ORG, bad)
    assert store.remove_webhook(conn, ORG) is False
