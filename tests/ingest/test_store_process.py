"""The store side of ingest (`BatchStore`, run in a child process by `StoreProcess`): reports a
batch only after it committed, and a dead child never costs a message."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from ingest import Subscriber
from ingest.batch_store import BatchStore, Committed
from ingest.subscriber import IngestError
from meetnet.runtime import BrokerServer
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from support import settings_for, wait_for

T0 = datetime(2026, 11, 2, tzinfo=UTC)
BINS = [SimDevice(dev_eui=f"24e124713c02{i:04x}", device_id=f"bin-child-{i}",
                  application_id="meetnet-waste", model_key="milesight-iot/em310-udl",
                  organisation="gemeente-leiden", use_case="waste", name=f"bin {i}", lat=52.16,
                  lon=4.49, config={"bin_depth_m": 1.5}, interval_s=600)
        for i in range(10)]


def _register(db: str, bins: list[SimDevice] = BINS) -> None:
    with psycopg.connect(db) as conn:
        for d in bins:
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key,
                device_id=d.device_id, application_id=d.application_id, config=d.config))


def _uplink(i: int, dev: SimDevice | None = None) -> tuple[str, bytes]:
    dev = dev or BINS[i % len(BINS)]
    port, payload = ENCODERS[dev.model_key]({"distance": 0.5, "battery": 80, "tilt": 0})
    return tts_uplink(dev, port, payload, f_cnt=i, received_at=T0 + timedelta(seconds=i))


def _count(db: str, table: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - constant
    return int(row[0]) if row else 0


def test_batch_store_reports_after_commit_and_isolates_a_refused_message(db: str) -> None:
    _register(db)
    reports: list[Committed] = []
    seen_in_db: list[int] = []

    def on_commit(done: Committed) -> None:
        # Called only once the rows are visible to everybody else.
        seen_in_db.append(_count(db, "uplinks"))
        reports.append(done)

    good = [_uplink(i) for i in range(3)]
    # PostgreSQL's jsonb cannot hold a NUL character (ingest passes the network server's decoded
    # object through as it came): the server refuses the whole batch, so the store retries
    # message by message and dead-letters only this one, at stage "store".
    topic, body = _uplink(3)
    doc = json.loads(body)
    doc["uplink_message"]["decoded_payload"] = {"note": "bad\u0000value"}
    bad = (topic, json.dumps(doc).encode())
    store = BatchStore(db, on_commit)
    store.put(1, [good[0], bad, good[1]])
    store.put(2, [good[2], (topic, b"{not json")])
    store.close()
    assert [r.seq for r in reports] == [1, 2]
    assert seen_in_db == [2, 3]
    first, second = reports
    assert (first.messages, first.uplinks, first.dead_letters) == (3, 2, 1)
    assert first.outcomes == {"stored": 2, "dead_letter": 1}
    assert first.dead_stages == {"store": 1}
    assert second.outcomes == {"stored": 1, "dead_letter": 1}
    assert second.dead_stages == {"parse": 1}
    with psycopg.connect(db) as conn:
        stages = dict(conn.execute("SELECT stage, count(*) FROM dead_letters GROUP BY stage"))
        reason = conn.execute("SELECT reason FROM dead_letters WHERE stage = 'store'").fetchone()
    assert stages == {"store": 1, "parse": 1}
    assert reason and "database refused the message" in reason[0]


def test_a_killed_store_process_stops_ingest_and_loses_nothing(
        db: str, mosquitto: BrokerServer) -> None:
    _register(db)
    settings = settings_for(db, mosquitto, batch_size=20, flush_interval_ms=50)
    messages = [_uplink(i) for i in range(400)]
    errors: list[BaseException] = []

    def run(sub: Subscriber) -> None:
        try:
            sub.run()
        except BaseException as exc:
            errors.append(exc)

    first = Subscriber(settings, db)
    thread = threading.Thread(target=run, args=(first,), daemon=True)
    thread.start()
    assert first.subscribed.wait(30)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="child-test-publisher")
    pub.max_inflight_messages_set(100)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    try:
        infos = [pub.publish(t, b, qos=1) for t, b in messages[:200]]
        for info in infos:
            info.wait_for_publish(30)
        wait_for(lambda: first.stats.messages >= 20, timeout=30)
        assert first.store is not None
        first.store.proc.kill()
        thread.join(30)
        assert not thread.is_alive(), "ingest kept running without its store process"
        assert len(errors) == 1 and isinstance(errors[0], IngestError)
        assert "store process" in str(errors[0])
        # Published while nobody consumes: the broker queues them for the session.
        infos = [pub.publish(t, b, qos=1) for t, b in messages[200:]]
        for info in infos:
            info.wait_for_publish(30)
        second = Subscriber(settings, db)
        thread = threading.Thread(target=run, args=(second,), daemon=True)
        thread.start()
        wait_for(lambda: _count(db, "uplinks") >= len(messages), timeout=60, interval=0.2)
        second.stop()
        thread.join(30)
    finally:
        pub.disconnect()
        pub.loop_stop()
    assert len(errors) == 1, errors
    assert _count(db, "uplinks") == len(messages)
    assert _count(db, "readings") == 4 * len(messages)


def test_ingest_waits_for_the_database_before_taking_messages(
        own_broker: BrokerServer) -> None:
    """No database, no messages pulled from the broker; stop() still ends it promptly."""
    dead_dsn = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    settings = settings_for(dead_dsn, own_broker)
    sub = Subscriber(settings, dead_dsn)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    with pytest.raises(TimeoutError):
        wait_for(lambda: sub.connected.is_set(), timeout=2)
    sub.stop()
    thread.join(10)
    assert not thread.is_alive()
    assert sub.store is not None and sub.store.proc.poll() is not None


def test_lost_database_connections_are_retried_without_loss_or_doubles(
        db: str, mosquitto: BrokerServer) -> None:
    """The server cuts every ingest connection again and again mid-stream (as a failover or a
    restart does): the store reconnects and retries; a commit whose answer was lost is not
    stored twice."""
    # A new device every ten messages: device lookups (not only commits) meet cut connections.
    bins = [SimDevice(dev_eui=f"24e124713c03{i:04x}", device_id=f"bin-cut-{i}",
                      application_id="meetnet-waste", model_key="milesight-iot/em310-udl",
                      organisation="gemeente-leiden", use_case="waste", name=f"bin {i}",
                      lat=52.16, lon=4.49, config={"bin_depth_m": 1.5}, interval_s=600)
            for i in range(60)]
    _register(db, bins)
    settings = settings_for(db, mosquitto, batch_size=25, flush_interval_ms=50)
    messages = [_uplink(i, bins[i // 10]) for i in range(600)]
    sub = Subscriber(settings, db)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    assert sub.subscribed.wait(30)
    stop_cutting = threading.Event()
    cuts = 0

    def cut_connections() -> None:
        nonlocal cuts
        with psycopg.connect(db, autocommit=True) as admin:
            while not stop_cutting.wait(0.3):
                cuts += len(admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                    "AND backend_type = 'client backend'").fetchall())

    cutter = threading.Thread(target=cut_connections, daemon=True)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="cut-test-publisher")
    pub.max_inflight_messages_set(50)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    try:
        cutter.start()
        for k, (topic, body) in enumerate(messages):
            info = pub.publish(topic, body, qos=1)
            if k % 50 == 49:
                info.wait_for_publish(30)
                time.sleep(0.1)  # a stream over a few seconds, so the cuts land mid-stream
        wait_for(lambda: _count(db, "uplinks") >= len(messages), timeout=90, interval=0.2)
        stop_cutting.set()
        cutter.join(10)
        wait_for(lambda: sub.stats.messages >= len(messages), timeout=60)
    finally:
        stop_cutting.set()
        pub.disconnect()
        pub.loop_stop()
        sub.stop()
        thread.join(30)
    assert cuts >= 3, "the connections were never cut: the test proved nothing"
    assert _count(db, "uplinks") == len(messages)
    assert _count(db, "readings") == 4 * len(messages)
    assert _count(db, "dead_letters") == 0
    assert thread is not None and not thread.is_alive()
