"""`meetnet ingest --workers 2`: two processes on one shared subscription store every uplink
exactly once, and a worker killed with SIGKILL is restarted and loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psutil
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from meetnet.runtime import BrokerServer
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from support import wait_for

N = 2000
DEV = SimDevice(dev_eui="24e124713c02aaaa", device_id="bin-workers", application_id="w",
                model_key="milesight-iot/em310-udl", organisation="gemeente-leiden",
                use_case="waste", name="bin", lat=52.1, lon=4.5)


def _count(db: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute("SELECT count(*) FROM uplinks").fetchone()
    return int(row[0]) if row else 0


def test_two_workers_share_the_load_and_survive_a_kill(db: str, mosquitto: BrokerServer) -> None:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=DEV.dev_eui, organisation=DEV.organisation, model_key=DEV.model_key))
    env = {**os.environ, "MEETNET_DATABASE_URL": db, "MEETNET_MQTT_URL": mosquitto.url,
           "MEETNET_MQTT_CLIENT_ID": "workers-test", "MEETNET_LOG_LEVEL": "WARNING",
           "MEETNET_FLUSH_INTERVAL_MS": "50", "MEETNET_BATCH_SIZE": "100"}
    proc = subprocess.Popen([sys.executable, "-m", "meetnet.cli", "ingest", "--workers", "2",
                             "--metrics-port", "0"], env=env, stdin=subprocess.DEVNULL)
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="workers-pub")
    pub.max_inflight_messages_set(100)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    t0 = datetime(2026, 11, 2, tzinfo=UTC)

    def send(i: int) -> mqtt.MQTTMessageInfo:
        port, payload = ENCODERS[DEV.model_key]({"distance": 1.0, "battery": 80, "tilt": 0})
        return pub.publish(*tts_uplink(DEV, port, payload, f_cnt=i,
                                       received_at=t0 + timedelta(seconds=i)), qos=1)

    try:
        # Both workers subscribed: a probe gets through (retried until it does).
        deadline = time.monotonic() + 30
        while _count(db) < 1 and time.monotonic() < deadline:
            send(0).wait_for_publish(5)
            time.sleep(0.3)
        wait_for(lambda: len(psutil.Process(proc.pid).children()) == 2, timeout=10)
        time.sleep(1.0)
        infos = [send(i) for i in range(1, N // 2)]
        wait_for(lambda: _count(db) >= N // 8, timeout=60)
        victim = psutil.Process(proc.pid).children()[0]
        victim.send_signal(signal.SIGKILL)
        infos += [send(i) for i in range(N // 2, N)]
        for info in infos:
            info.wait_for_publish(30)
        wait_for(lambda: _count(db) >= N, timeout=120, interval=0.2)
        time.sleep(1.0)
        assert _count(db) == N
        with psycopg.connect(db) as conn:
            assert conn.execute("SELECT count(*) FROM readings").fetchone() == (3 * N,)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    finally:
        pub.disconnect()
        pub.loop_stop()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
