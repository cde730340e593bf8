"""Acks reach the broker: what a subscriber committed and acked is never delivered again to the
same session (docs/architecture.md step 2). Both the session's successor and the broker's own bookkeeping are
checked, so a malformed or missing PUBACK cannot hide behind the dedup keys."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from ingest import Subscriber
from meetnet.runtime import BrokerServer
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from support import settings_for, wait_for

BIN = SimDevice(
    dev_eui="24e124713c0a0001", device_id="bin-ack-01", application_id="meetnet-waste",
    model_key="milesight-iot/em310-udl", organisation="gemeente-leiden", use_case="waste",
    name="Ack test bin", lat=52.16, lon=4.49, config={"bin_depth_m": 1.2}, interval_s=600)
T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def _publish(broker: BrokerServer, first: int, n: int) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="ack-test-publisher")
    c.connect(broker.host, broker.port)
    c.loop_start()
    try:
        for i in range(first, first + n):
            port, payload = ENCODERS[BIN.model_key]({"distance": 0.5 + i / 1000, "battery": 90})
            topic, body = tts_uplink(BIN, port, payload, f_cnt=i,
                                     received_at=T0 + timedelta(minutes=i))
            c.publish(topic, body, qos=1).wait_for_publish(10)
    finally:
        c.disconnect()
        c.loop_stop()


def _run(sub: Subscriber) -> threading.Thread:
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    assert sub.subscribed.wait(20), "subscriber did not subscribe"
    return thread


def test_acked_messages_are_not_delivered_again(db: str, own_broker: BrokerServer) -> None:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            device_id=BIN.device_id, application_id=BIN.application_id, config=BIN.config))
    # Several batches, one partial: every batch's acks must arrive, in one write or not.
    settings = settings_for(db, own_broker, batch_size=40, flush_interval_ms=100)
    protocol = "auto" if own_broker.kind == "mosquitto" else "3.1.1"

    first = Subscriber(settings, db, protocol=protocol)
    thread = _run(first)
    _publish(own_broker, 0, 130)
    wait_for(lambda: first.stats.messages >= 130, timeout=30)
    first.stop()
    thread.join(20)
    assert first.stats.messages == 130

    # The same session again: only what is published from now on may arrive.
    second = Subscriber(settings, db, protocol=protocol)
    thread = _run(second)
    _publish(own_broker, 130, 5)
    wait_for(lambda: second.stats.messages >= 5, timeout=30)
    # Anything redelivered would arrive with (or before) the new messages; give it a moment.
    threading.Event().wait(1.0)
    second.stop()
    thread.join(20)
    assert second.stats.messages == 5
    assert second.stats.uplinks == 5
    with psycopg.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM uplinks").fetchone() == (135,)
