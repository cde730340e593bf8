"""``/readyz``: ready only while the database answers and an ingest's heartbeat is fresh; the
age of the last commit grows while nothing arrives and resets on a commit. Not ready is a 503
with an RFC 9457 problem body naming what is missing."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from api import create_app
from ingest import Subscriber
from meetnet.runtime import BrokerServer
from meetnet.settings import Settings
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from support import LiveServer, settings_for, wait_for

BIN = SimDevice(dev_eui="24e124713c060001", device_id="bin-ready-1",
                application_id="meetnet-waste", model_key="milesight-iot/em310-udl",
                organisation="gemeente-leiden", use_case="waste", name="bin", lat=52.16,
                lon=4.49, config={"bin_depth_m": 1.5}, interval_s=600)
T0 = datetime(2026, 11, 6, tzinfo=UTC)


def _publish(broker: BrokerServer, i: int) -> None:
    port, payload = ENCODERS[BIN.model_key]({"distance": 0.5, "battery": 80, "tilt": 0})
    topic, body = tts_uplink(BIN, port, payload, f_cnt=i, received_at=T0 + timedelta(minutes=i))
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"ready-publisher-{i}")
    c.connect(broker.host, broker.port)
    c.loop_start()
    try:
        c.publish(topic, body, qos=1).wait_for_publish(10)
    finally:
        c.disconnect()
        c.loop_stop()


def _ingest(api: httpx.Client) -> dict[str, Any]:
    body = api.get("/readyz").json()
    (only,) = body["ingest"]
    return only  # type: ignore[no-any-return]


def test_readyz_follows_ingest_and_its_last_commit(
        api: httpx.Client, db: str, mosquitto: BrokerServer) -> None:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            device_id=BIN.device_id, application_id=BIN.application_id, config=BIN.config))
    # No ingest at all.
    r = api.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["status"] == 503 and problem["type"].endswith("/not-ready")
    assert "ingest" in problem["detail"] and problem["database"] == "ok"
    assert api.get("/healthz").status_code == 200  # liveness does not depend on ingest

    settings = settings_for(db, mosquitto, flush_interval_ms=20)
    sub = Subscriber(settings, db, heartbeat_s=0.2)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: api.get("/readyz").status_code == 200, timeout=30)
        first = _ingest(api)
        assert first["client_id"] == settings.mqtt_client_id
        assert first["state"] == "running" and first["alive"] is True
        assert first["last_commit_age_s"] is None  # nothing committed yet
        _publish(mosquitto, 1)
        wait_for(lambda: _ingest(api)["last_commit_age_s"] is not None, timeout=30)
        age = _ingest(api)["last_commit_age_s"]
        # Nothing arrives: the age grows ...
        wait_for(lambda: _ingest(api)["last_commit_age_s"] > age + 1.0, timeout=30)
        grown = _ingest(api)["last_commit_age_s"]
        # ... and a commit resets it.
        _publish(mosquitto, 2)
        wait_for(lambda: _ingest(api)["last_commit_age_s"] < grown, timeout=30)
    finally:
        sub.stop()
        thread.join(15)
    assert not thread.is_alive()
    # A clean stop says so at once, without waiting for the heartbeat to go stale.
    r = api.get("/readyz")
    assert r.status_code == 503
    assert r.json()["ingest"][0]["state"] == "stopped"


def test_readyz_without_a_database_is_503() -> None:
    dead = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"
    app = create_app(Settings(database_url=dead), dead)  # type: ignore[arg-type]
    with LiveServer(app) as client:
        r = client.get("/readyz")
    assert r.status_code == 503
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["database"] == "unavailable"
    assert "database" in r.json()["detail"]
