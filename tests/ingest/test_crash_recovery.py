"""Kill the ingest process with SIGKILL mid-stream, restart it: nothing lost, nothing doubled
(docs/architecture.md step 2: ack only after commit; the broker redelivers what was not acked)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psutil
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

import decoders
from meetnet.runtime import BrokerServer
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from support import wait_for

N = 3000
DEVICES = [
    SimDevice(dev_eui=f"24e124713c01{i:04x}", device_id=f"bin-crash-{i}",
              application_id="meetnet-waste", model_key="milesight-iot/em310-udl",
              organisation="gemeente-leiden", use_case="waste", name=f"bin {i}", lat=52.16,
              lon=4.49, config={"bin_depth_m": 1.5}, interval_s=600)
    for i in range(20)
]
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _ingest(db: str, broker: BrokerServer) -> subprocess.Popen[bytes]:
    env = {**os.environ, "MEETNET_DATABASE_URL": db, "MEETNET_MQTT_URL": broker.url,
           "MEETNET_MQTT_CLIENT_ID": "meetnet-crash-test", "MEETNET_BATCH_SIZE": "200",
           "MEETNET_FLUSH_INTERVAL_MS": "100", "MEETNET_LOG_LEVEL": "WARNING"}
    return subprocess.Popen([sys.executable, "-m", "meetnet.cli", "ingest", "--metrics-port", "0"],
                            env=env, stdin=subprocess.DEVNULL)


def _count(db: str, table: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - constant
    return int(row[0]) if row else 0


def test_sigkill_mid_stream_loses_and_doubles_nothing(db: str, mosquitto: BrokerServer) -> None:
    with psycopg.connect(db) as conn:
        for d in DEVICES:
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key,
                device_id=d.device_id, application_id=d.application_id, config=d.config))
    messages = []
    expected_readings = 0
    for i in range(N):
        dev = DEVICES[i % len(DEVICES)]
        port, payload = ENCODERS[dev.model_key]({"distance": 0.2 + (i % 100) / 100, "battery": 80,
                                                 "tilt": 0})
        messages.append(tts_uplink(dev, port, payload, f_cnt=i // len(DEVICES),
                                   received_at=T0 + timedelta(seconds=i)))
        expected_readings += len(decoders.decode(dev.model_key, port, payload, dev.config))

    proc = _ingest(db, mosquitto)
    done = threading.Event()

    def publish() -> None:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="crash-publisher")
        client.max_inflight_messages_set(100)
        client.connect(mosquitto.host, mosquitto.port)
        client.loop_start()
        infos = []
        for k, (topic, body) in enumerate(messages[1:]):
            infos.append(client.publish(topic, body, qos=1))
            if k % 100 == 99:
                infos[-1].wait_for_publish(30)
                time.sleep(0.01)  # a stream, not one burst: the kill lands mid-stream
        for info in infos:
            info.wait_for_publish(30)
        client.disconnect()
        client.loop_stop()
        done.set()

    publisher = threading.Thread(target=publish, daemon=True)
    try:
        # A first message through proves the subscriber's session exists before the stream
        # starts (else the broker would have nobody to queue for).
        probe = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="crash-probe")
        probe.connect(mosquitto.host, mosquitto.port)
        probe.loop_start()
        deadline = time.monotonic() + 30
        while _count(db, "uplinks") < 1 and time.monotonic() < deadline:
            probe.publish(*messages[0], qos=1).wait_for_publish(5)
            time.sleep(0.5)
        probe.disconnect()
        probe.loop_stop()
        assert _count(db, "uplinks") == 1, "ingest never subscribed"
        publisher.start()
        wait_for(lambda: _count(db, "uplinks") >= N // 4, timeout=60)
        children = psutil.Process(proc.pid).children()
        assert children, "ingest runs its store process as a child"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        # The orphaned store process notices and exits: it cannot ack anything any more.
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, "the store process outlived its killed parent"
        stored_at_kill = _count(db, "uplinks")
        assert stored_at_kill < N, "the kill must land mid-stream for this test to mean anything"
        proc = _ingest(db, mosquitto)
        assert done.wait(120), "publisher did not finish"
        wait_for(lambda: _count(db, "uplinks") >= N, timeout=120, interval=0.2)
        time.sleep(1.0)  # anything still redelivered must be deduplicated, not added
        assert _count(db, "uplinks") == N, "lost or doubled uplinks"
        assert _count(db, "readings") == expected_readings, "lost or doubled readings"
        assert _count(db, "dead_letters") == 0
        # SIGTERM flushes, acks and exits cleanly.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
