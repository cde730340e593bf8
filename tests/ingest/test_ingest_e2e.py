"""End to end through real services: uplinks published to a real broker, consumed by the
subscriber, stored in a real PostgreSQL, read back through the real HTTP API."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psycopg
import pytest
from prometheus_client import REGISTRY

import decoders
from api import create_app
from ingest import Subscriber
from meetnet.runtime import BrokerServer
from meetnet.settings import Settings
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from support import LiveServer, MqttPublisher, settings_for, wait_for

T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)

BIN = SimDevice(
    dev_eui="24e124713c000001", device_id="bin-test-01", application_id="meetnet-waste",
    model_key="milesight-iot/em310-udl", organisation="gemeente-leiden", use_case="waste",
    name="Testbak Breestraat", lat=52.158, lon=4.488, config={"bin_depth_m": 1.2},
    interval_s=3600,
)
STRANGER = SimDevice(
    dev_eui="24e124713c0000ff", device_id="bin-stranger", application_id="somebody-else",
    model_key="milesight-iot/em310-udl", organisation="nobody", use_case="waste",
    name="not registered", lat=52.0, lon=4.0, config={}, interval_s=3600,
)


@pytest.fixture
def running(db: str, own_broker: BrokerServer) -> Iterator[tuple[Subscriber, MqttPublisher]]:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            device_id=BIN.device_id, application_id=BIN.application_id, name=BIN.name,
            use_case=BIN.use_case, visibility="open", config=BIN.config, lat=BIN.lat, lon=BIN.lon))
    settings = settings_for(db, own_broker, batch_size=50, flush_interval_ms=50)
    sub = Subscriber(settings, db, protocol="auto" if own_broker.kind == "mosquitto" else "3.1.1")
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    assert sub.subscribed.wait(20), "subscriber did not subscribe"
    pub = MqttPublisher(own_broker)
    yield sub, pub
    pub.close()
    sub.stop()
    thread.join(20)
    assert not thread.is_alive()


def _count(db: str, sql: str) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql).fetchone()
    return int(row[0]) if row else 0


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_duplicates_malformed_and_unknown(running: tuple[Subscriber, MqttPublisher], db: str) -> None:
    sub, pub = running
    before = {stage: _sample("meetnet_ingest_dead_letters_total", stage=stage)
              for stage in ("parse", "lookup", "decode")}
    stored_before = _sample("meetnet_ingest_messages_total", result="stored")
    n = 40
    expected: dict[tuple[str, datetime], float] = {}
    messages: list[tuple[str, bytes]] = []
    for i in range(n):
        at = T0 + timedelta(minutes=10 * i)
        distance = 1.2 - 0.025 * i
        port, payload = ENCODERS[BIN.model_key]({"distance": distance, "battery": 90, "tilt": 0})
        topic, body = tts_uplink(BIN, port, payload, f_cnt=i, received_at=at)
        messages.append((topic, body))
        for r in decoders.decode(BIN.model_key, port, payload, BIN.config):
            expected[(r.metric, at)] = r.value
    for topic, body in messages:
        pub.send(topic, body)
    for topic, body in messages[:10]:  # exact duplicates: a network server retrying
        pub.send(topic, body)
    pub.send("v3/meetnet-waste@ttn/devices/bin-test-01/up", b"{this is not json")
    port, payload = ENCODERS[STRANGER.model_key]({"distance": 1.0, "battery": 50, "tilt": 0})
    topic, body = tts_uplink(STRANGER, port, payload, f_cnt=1, received_at=T0)
    # Strip version_ids so it cannot be auto-registered: an unknown device.
    doc = json.loads(body)
    doc["uplink_message"].pop("version_ids", None)
    pub.send(topic, json.dumps(doc).encode())
    # A payload the decoder refuses (a channel of unknown length).
    topic, body = tts_uplink(BIN, 85, bytes.fromhex("05e1ffff"), f_cnt=999, received_at=T0)
    pub.send(topic, body)

    total = n + 10 + 3
    wait_for(lambda: sub.stats.messages >= total, timeout=30)

    assert _count(db, "SELECT count(*) FROM readings") == len(expected)
    # Distinct uplinks: n good + the stranger's + the undecodable one.
    assert _count(db, "SELECT count(*) FROM uplinks") == n + 2
    with psycopg.connect(db) as conn:
        stages = dict(conn.execute("SELECT stage, count(*) FROM dead_letters GROUP BY stage"))
        reasons = " | ".join(r[0] for r in conn.execute("SELECT reason FROM dead_letters"))
    assert stages == {"parse": 1, "lookup": 1, "decode": 1}
    # The metrics count what was committed (in the parent, from the store process's reports).
    assert {st: _sample("meetnet_ingest_dead_letters_total", stage=st) - v
            for st, v in before.items()} == stages
    # Duplicates decode and count as stored messages; only their rows are deduplicated.
    assert _sample("meetnet_ingest_messages_total", result="stored") - stored_before == n + 10
    assert _sample("meetnet_ingest_batches_pending") == 0
    assert "not JSON" in reasons and "unknown device 24e124713c0000ff" in reasons
    assert "unknown channel" in reasons

    with LiveServer(create_app(Settings(database_url=db), db)) as api:  # type: ignore[arg-type]
        page = api.get(f"/v1/devices/{BIN.dev_eui}/readings",
                       params={"metric": "fill_level", "limit": 25,
                               "from": T0.isoformat()}).json()
        got = {datetime.fromisoformat(p["time"]): p["value"] for p in page["readings"]}
        assert page["unit"] == "%" and page["next"]
        rest = api.get(page["next"]).json()
        got.update({datetime.fromisoformat(p["time"]): p["value"] for p in rest["readings"]})
        assert rest["next"] is None
        want = {t: v for (m, t), v in expected.items() if m == "fill_level"}
        assert got == pytest.approx(want)
        latest = api.get("/v1/latest", params={"use_case": "waste"}).json()
        assert [d["dev_eui"] for d in latest] == [BIN.dev_eui]
        assert latest[0]["readings"]["fill_level"]["value"] == pytest.approx(
            want[max(want)])
        assert api.get("/v1/devices/0000000000000000/readings",
                       params={"metric": "co2"}).status_code == 404


def test_auto_registration_from_version_ids(running: tuple[Subscriber, MqttPublisher],
                                            db: str) -> None:
    sub, pub = running
    with psycopg.connect(db) as conn:
        registry.link_application(conn, "tts", "meetnet-waste", "gemeente-leiden", "open")
    newcomer = SimDevice(**{**BIN.__dict__, "dev_eui": "24e124713c000abc",
                            "device_id": "bin-new"})  # type: ignore[arg-type]
    port, payload = ENCODERS[BIN.model_key]({"distance": 0.8, "battery": 77, "tilt": 0})
    pub.send(*tts_uplink(newcomer, port, payload, f_cnt=3, received_at=T0))
    wait_for(lambda: sub.stats.messages >= 1)
    with psycopg.connect(db) as conn:
        row = conn.execute("""SELECT o.slug, d.model_key, d.auto_registered, d.visibility
                              FROM devices d JOIN organisations o ON o.id = d.organisation_id
                              WHERE dev_eui = %s""", (newcomer.dev_eui,)).fetchone()
    assert row == ("gemeente-leiden", BIN.model_key, True, "open")
    # battery, distance and tilt; no fill level: an auto-registered device has no bin depth yet.
    assert _count(db, "SELECT count(*) FROM readings") == 3


def test_api_health(api: httpx.Client) -> None:
    r = api.get("/healthz")
    assert r.status_code == 200 and r.json()["database"] == "ok"
    r = api.get("/v1/devices/xyz/readings", params={"metric": "co2", "from": "2026-01-01T00:00"})
    assert r.status_code in (400, 404)
    assert r.headers["content-type"].startswith("application/problem+json")


def test_every_model_by_hand_reaches_the_api(running: tuple[Subscriber, MqttPublisher],
                                             db: str) -> None:
    """Acceptance: a TTS v3 uplink of each implemented device, published by hand, appears in
    the API with the vendor example's values (auto-registered through its version_ids)."""
    sub, pub = running
    with psycopg.connect(db) as conn:
        registry.link_application(conn, "tts", "by-hand", "studenten", "open")
    vectors = Path(__file__).parent.parent / "vectors" / "devices"
    want: dict[str, dict[str, float]] = {}
    for i, (key, model) in enumerate(sorted(decoders.MODELS.items())):
        if model.decode_object is not None:
            continue  # passthrough: see test_passthrough_uses_the_network_servers_values
        doc = json.loads((vectors / model.vectors).read_text())
        example = next(e for e in doc["examples"] if e.get("readings"))
        dev = SimDevice(dev_eui=f"70b3d5000000{i:04x}", device_id=f"by-hand-{i}",
                        application_id="by-hand", model_key=key, organisation="studenten",
                        use_case=model.use_case, name=key, lat=52.16, lon=4.49)
        pub.send(*tts_uplink(dev, example["f_port"], bytes.fromhex(example["payload_hex"]),
                             f_cnt=1, received_at=T0))
        want[dev.dev_eui] = example["readings"]
    wait_for(lambda: sub.stats.messages >= len(want), timeout=30)
    with LiveServer(create_app(Settings(database_url=db), db)) as api:  # type: ignore[arg-type]
        latest = {d["dev_eui"]: d for d in api.get("/v1/latest").json()}
    for eui, readings in want.items():
        got = {m: v["value"] for m, v in latest[eui]["readings"].items()}
        assert got == pytest.approx(readings), latest[eui]["model_key"]


def test_passthrough_uses_the_network_servers_values(running: tuple[Subscriber, MqttPublisher],
                                                     db: str) -> None:
    """A device registered as "meetnet/passthrough" with a field map: the TTS example's own
    decoded_payload (distance in mm) becomes catalog readings, and the bin depth derives fill."""
    sub, pub = running
    doc = json.loads((Path(__file__).parent.parent / "vectors" / "envelopes" /
                      "tts-v3-uplink.json").read_text())
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui="24e124713c012345", organisation="gemeente-leiden",
            model_key="meetnet/passthrough", visibility="open",
            config={"bin_depth_m": 3.0, "field_map": {"distance": ["distance", 0.001],
                                                      "battery": "battery"}}))
    pub.send(doc["topic"], json.dumps(doc["payload"]).encode())
    wait_for(lambda: sub.stats.messages >= 1)
    with psycopg.connect(db) as conn:
        got = dict(conn.execute("SELECT m.name, r.value FROM readings r "
                                "JOIN metrics m ON m.id = r.metric_id").fetchall())
    assert got == pytest.approx({"battery": 92, "distance": 2.116,
                                 "fill_level": (3.0 - 2.116) / 3.0 * 100}, abs=0.01)
