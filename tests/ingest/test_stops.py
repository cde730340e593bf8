"""Clean stops and reconnects (issue 9, item 5), against real Mosquitto and PostgreSQL:

- SIGTERM ends `meetnet ingest` within 10 s while PostgreSQL is down, and nothing it had not
  committed was acked: after both come back, every message is stored exactly once;
- a broker restart mid-stream loses and doubles nothing;
- an ack never crosses a reconnect: a batch committed after its connection was lost is not acked
  (the broker redelivers it, dedup stores it once) and nothing stays unacked at the broker;
- a broker that lost our session on a reconnect is a warning and a metric.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client import REGISTRY

import decoders
from ingest import Subscriber
from meetnet.runtime import BrokerServer, free_port, start_postgres
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from store import migrate
from support import settings_for, tmpdir, wait_for

T0 = datetime(2026, 11, 5, tzinfo=UTC)
BINS = [SimDevice(dev_eui=f"24e124713c05{i:04x}", device_id=f"bin-stop-{i}",
                  application_id="meetnet-waste", model_key="milesight-iot/em310-udl",
                  organisation="gemeente-leiden", use_case="waste", name=f"bin {i}", lat=52.16,
                  lon=4.49, config={"bin_depth_m": 1.5}, interval_s=600)
        for i in range(20)]


def _register(db: str) -> None:
    with psycopg.connect(db) as conn:
        for d in BINS:
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key,
                device_id=d.device_id, application_id=d.application_id, config=d.config))


def _messages(n: int, first: int = 0) -> tuple[list[tuple[str, bytes]], int]:
    """n uplinks and the number of readings they decode to."""
    out = []
    readings = 0
    for i in range(first, first + n):
        dev = BINS[i % len(BINS)]
        port, payload = ENCODERS[dev.model_key]({"distance": 0.2 + (i % 100) / 100,
                                                 "battery": 80, "tilt": 0})
        out.append(tts_uplink(dev, port, payload, f_cnt=i // len(BINS),
                              received_at=T0 + timedelta(seconds=i)))
        readings += len(decoders.decode(dev.model_key, port, payload, dev.config))
    return out, readings


def _count(db: str, table: str) -> int:
    with psycopg.connect(db, connect_timeout=5) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - constant
    return int(row[0]) if row else 0


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


class Publisher:
    """Publishes at QoS 1 on its own thread and survives broker restarts: paho resends what the
    broker had not acknowledged once it is back (a resent message may arrive twice; dedup)."""

    def __init__(self, broker: BrokerServer, messages: list[tuple[str, bytes]], *,
                 window: int = 200, pace_s: float = 0.0) -> None:
        self.messages = messages
        self.window = window
        self.pace_s = pace_s
        self.acked: set[int] = set()
        self._lock = threading.Lock()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"stop-test-publisher-{time.time_ns()}")
        self.client.max_inflight_messages_set(100)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_publish = self._on_publish
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        self.sent = 0
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _on_publish(self, client: mqtt.Client, userdata: object, mid: int, *_: object) -> None:
        with self._lock:
            self.acked.add(mid)

    def start(self) -> Publisher:
        self._thread.start()
        return self

    def _run(self) -> None:
        mids: list[int] = []
        for k, (topic, body) in enumerate(self.messages):
            while True:  # a bounded window of unacknowledged messages: a stream, not a burst
                with self._lock:
                    outstanding = sum(1 for m in mids[-self.window:] if m not in self.acked)
                if outstanding < self.window:
                    break
                time.sleep(0.005)
            mids.append(self.client.publish(topic, body, qos=1).mid)
            self.sent = k + 1
            if self.pace_s and k % 50 == 49:
                time.sleep(self.pace_s)
        wait_for(lambda: all(m in self.acked for m in mids), timeout=120)
        self.done.set()

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _until_stored(broker: BrokerServer, probe: tuple[str, bytes], dsn: str) -> None:
    """Publish ``probe`` until it is stored: proves the subscriber's session exists (before
    that, the broker has nobody to queue for). Repeats are deduplicated."""
    deadline = time.monotonic() + 60
    while _count(dsn, "uplinks") < 1:
        assert time.monotonic() < deadline, "ingest never subscribed"
        pub = Publisher(broker, [probe]).start()
        assert pub.done.wait(30)
        pub.close()
        with contextlib.suppress(TimeoutError):
            wait_for(lambda: _count(dsn, "uplinks") >= 1, timeout=0.5)


def _ingest_proc(dsn: str, broker: BrokerServer, metrics_port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MEETNET_DATABASE_URL": dsn, "MEETNET_MQTT_URL": broker.url,
           "MEETNET_MQTT_CLIENT_ID": "meetnet-stop-test", "MEETNET_BATCH_SIZE": "50",
           "MEETNET_FLUSH_INTERVAL_MS": "50", "MEETNET_LOG_LEVEL": "WARNING",
           "MEETNET_API_HOST": "127.0.0.1"}
    return subprocess.Popen([sys.executable, "-m", "meetnet.cli", "ingest", "--metrics-port",
                             str(metrics_port)], env=env, stdin=subprocess.DEVNULL)


def _scrape(port: int, name: str) -> float:
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def test_sigterm_with_the_database_down_ends_ingest_within_10_s_and_acks_nothing_uncommitted(
        mosquitto: BrokerServer) -> None:
    # A PostgreSQL of this test's own: it is stopped under ingest.
    root = tmpdir("meetnet-stop-pg-")
    pg = start_postgres(root, prefer="system", fast=True)
    proc: subprocess.Popen[bytes] | None = None
    try:
        migrate(pg.dsn)
        _register(pg.dsn)
        messages, readings = _messages(301)
        probe, rest = messages[0], messages[1:]
        port = free_port()
        proc = _ingest_proc(pg.dsn, mosquitto, port)
        _until_stored(mosquitto, probe, pg.dsn)
        pg.stop()
        pub = Publisher(mosquitto, rest).start()
        assert pub.done.wait(60)
        # Ingest received them and holds them in batches it cannot commit.
        wait_for(lambda: _scrape(port, "meetnet_ingest_batches_pending") >= 1, timeout=30)
        pub.close()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(30)
        took = time.monotonic() - started
        assert took < 10, f"ingest took {took:.1f} s to stop with the database down"
        assert code == 0, "a requested stop is a clean exit"
        print(f"SIGTERM with the database down: ingest exited in {took:.2f} s")

        pg = start_postgres(root, prefer="system", fast=True)  # same data, a new port
        proc = _ingest_proc(pg.dsn, mosquitto, 0)
        wait_for(lambda: _count(pg.dsn, "uplinks") >= len(messages), timeout=60, interval=0.2)
        assert _count(pg.dsn, "uplinks") == len(messages), "lost or doubled uplinks"
        assert _count(pg.dsn, "readings") == readings, "lost or doubled readings"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_a_broker_restart_mid_stream_loses_and_doubles_nothing(
        db: str, mosquitto: BrokerServer) -> None:
    _register(db)
    messages, readings = _messages(2000)
    settings = settings_for(db, mosquitto, batch_size=100, flush_interval_ms=50)
    sub = Subscriber(settings, db, heartbeat_s=0)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    lost_before = _metric("meetnet_ingest_session_lost_total")
    pub: Publisher | None = None
    try:
        assert sub.subscribed.wait(30)
        pub = Publisher(mosquitto, messages, pace_s=0.02).start()
        wait_for(lambda: _count(db, "uplinks") >= 400, timeout=60)
        assert pub.sent < len(messages), "the restart must land mid-stream"
        mosquitto.restart()
        assert pub.done.wait(120), "publisher did not finish"
        wait_for(lambda: _count(db, "uplinks") >= len(messages), timeout=60, interval=0.2)
        assert _count(db, "uplinks") == len(messages), "lost or doubled uplinks"
        assert _count(db, "readings") == readings, "lost or doubled readings"
        assert _count(db, "dead_letters") == 0
        # Mosquitto persists sessions: the session came back, nothing to warn about.
        assert _metric("meetnet_ingest_session_lost_total") == lost_before
    finally:
        if pub is not None:
            pub.close()
        sub.stop()
        thread.join(15)
    assert not thread.is_alive()


def test_an_ack_never_crosses_a_reconnect(db: str, mosquitto: BrokerServer) -> None:
    """A batch whose commit report arrives after its connection was lost is not acked (a
    packet id of the old connection could name another message on the new one); the broker
    redelivers it, dedup stores it once, and its redelivered copy is acked."""
    _register(db)
    messages, readings = _messages(30)
    settings = settings_for(db, mosquitto, batch_size=1000, flush_interval_ms=50)
    sub = Subscriber(settings, db, heartbeat_s=0)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    dropped_before = _metric("meetnet_ingest_acks_dropped_total")
    assert sub.subscribed.wait(30)
    assert sub.store is not None
    # Hold the store process's commit: it waits for this lock on the uplinks table.
    blocker = psycopg.connect(db)
    blocker.execute("LOCK TABLE uplinks IN ACCESS EXCLUSIVE MODE")
    try:
        pub = Publisher(mosquitto, messages).start()
        assert pub.done.wait(30)
        pub.close()
        wait_for(lambda: sub.stats.messages == 0 and sub.store is not None
                 and sub.store.pending >= 1, timeout=30)
        mosquitto.restart()  # the connection the batch came in on is gone
        assert sub.connected.wait(30) and sub.subscribed.wait(30)
    finally:
        blocker.rollback()
        blocker.close()
    try:
        # The old batch commits but is not acked; the redelivered copies are stored (dedup) and
        # acked.
        wait_for(lambda: _metric("meetnet_ingest_acks_dropped_total") - dropped_before
                 >= len(messages), timeout=30)
        wait_for(lambda: sub.stats.messages >= 2 * len(messages), timeout=30)
        assert _count(db, "uplinks") == len(messages)
        assert _count(db, "readings") == readings
    finally:
        sub.stop()
        thread.join(15)
    # Nothing is left unacked at the broker: the same session gets only a new message.
    second = Subscriber(settings, db, heartbeat_s=0)
    thread = threading.Thread(target=second.run, daemon=True)
    thread.start()
    try:
        extra, _ = _messages(1, first=len(messages))
        pub = Publisher(mosquitto, extra).start()
        assert pub.done.wait(30)
        pub.close()
        wait_for(lambda: _count(db, "uplinks") == len(messages) + 1, timeout=30)
        wait_for(lambda: second.stats.messages >= 1, timeout=30)
        assert second.stats.messages == 1, "the broker redelivered messages that were acked"
    finally:
        second.stop()
        thread.join(15)


def test_a_lost_session_on_reconnect_is_a_warning_and_a_metric(
        db: str, mosquitto: BrokerServer, caplog: pytest.LogCaptureFixture) -> None:
    settings = settings_for(db, mosquitto)
    sub = Subscriber(settings, db, heartbeat_s=0)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    lost_before = _metric("meetnet_ingest_session_lost_total")
    try:
        assert sub.subscribed.wait(30)
        # A broker restarted without its persistence file has forgotten every session.
        mosquitto.stop()
        for db_file in Path(mosquitto.conf.parent, "mosquitto").glob("mosquitto.db*"):
            db_file.unlink()
        with caplog.at_level("WARNING", logger="ingest.subscriber"):
            mosquitto.restart()
            wait_for(lambda: _metric("meetnet_ingest_session_lost_total") > lost_before,
                     timeout=30)
        assert any("did not keep our session" in r.getMessage() for r in caplog.records)
        # It subscribes again, so new messages still arrive.
        assert sub.subscribed.wait(30)
    finally:
        sub.stop()
        thread.join(15)


def test_a_session_lost_while_ingest_was_away_is_a_warning_on_its_first_connect(
        db: str, mosquitto: BrokerServer, caplog: pytest.LogCaptureFixture) -> None:
    """The heartbeat row says this client id ingested a moment ago, so the broker should hold its
    session; a broker that lost it while ingest was stopped is reported on the first CONNACK."""
    settings = settings_for(db, mosquitto)

    def run_once() -> Subscriber:
        sub = Subscriber(settings, db)
        thread = threading.Thread(target=sub.run, daemon=True)
        thread.start()
        assert sub.subscribed.wait(30)
        assert sub.heartbeat is not None and sub.heartbeat.written.wait(10)
        sub.stop()
        thread.join(15)
        return sub

    lost_before = _metric("meetnet_ingest_session_lost_total")
    run_once()
    assert _metric("meetnet_ingest_session_lost_total") == lost_before  # first run: nothing kept
    mosquitto.stop()
    for db_file in Path(mosquitto.conf.parent, "mosquitto").glob("mosquitto.db*"):
        db_file.unlink()
    mosquitto.restart()
    with caplog.at_level("WARNING", logger="ingest.subscriber"):
        run_once()
    assert _metric("meetnet_ingest_session_lost_total") == lost_before + 1
    assert any("did not keep our session" in r.getMessage() for r in caplog.records)
