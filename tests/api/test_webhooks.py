"""Webhook ingest (issue 10, item 5): The Things Stack webhooks and ChirpStack's HTTP integration
post to the real API over HTTP, with an organisation's ingest secret made by the real CLI, into
a real PostgreSQL; the MQTT comparison runs a real subscriber on a real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import create_app
from ingest import Subscriber
from meetnet.runtime import BrokerServer, free_port
from meetnet.settings import Settings
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import chirpstack_message, chirpstack_uplink, tts_message, tts_uplink
from store import devices as registry
from store import ingest_secrets
from store.keys import create_key
from support import LiveServer, MqttPublisher, settings_for, wait_for

# Recent enough for the readings window, old enough never to be "in the future".
T0 = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0)
A, B = "gemeente-leiden", "bedrijf-x"
BIN = SimDevice(dev_eui="24e124713c0a0001", device_id="bin-webhook-1",
                application_id="meetnet-waste", model_key="milesight-iot/em310-udl",
                organisation=A, use_case="waste", name="bin", lat=52.16, lon=4.49,
                config={"bin_depth_m": 1.5}, interval_s=600)
#: Organisation B's registered device, and an unregistered one in B's application.
THEIRS = SimDevice(dev_eui="24e124713c0b0001", device_id="bin-of-b", application_id="b-waste",
                   model_key="milesight-iot/em310-udl", organisation=B, use_case="waste",
                   name="their bin", lat=52.2, lon=4.5, config={"bin_depth_m": 1.0},
                   interval_s=600)
THEIR_NEW = SimDevice(dev_eui="24e124713c0b0002", device_id="bin-of-b-2",
                      application_id="b-waste", model_key="milesight-iot/em310-udl",
                      organisation=B, use_case="waste", name="", lat=52.2, lon=4.5, config={},
                      interval_s=600)


def meetnet(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEETNET_")}
    env["MEETNET_DATABASE_URL"] = db
    return subprocess.run([sys.executable, "-m", "meetnet.cli", *args], env=env,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)


def _payload(distance: float = 0.5) -> tuple[int, bytes]:
    return ENCODERS[BIN.model_key]({"distance": distance, "battery": 80, "tilt": 0})


def tts_body(device: SimDevice = BIN, f_cnt: int = 1, distance: float = 0.5) -> bytes:
    port, payload = _payload(distance)
    return tts_uplink(device, port, payload, f_cnt=f_cnt,
                      received_at=T0 + timedelta(minutes=f_cnt))[1]


def cs_body(device: SimDevice = BIN, f_cnt: int = 1, distance: float = 0.5) -> bytes:
    port, payload = _payload(distance)
    return chirpstack_uplink(device, port, payload, f_cnt=f_cnt,
                             received_at=T0 + timedelta(minutes=f_cnt))[1]


def _count(db: str, sql: str, *params: object) -> int:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    return int(row[0]) if row else 0


def _uplinks(db: str, eui: str) -> int:
    return _count(db, "SELECT count(*) FROM uplinks WHERE dev_eui = %s", eui)


@pytest.fixture
def world(db: str) -> dict[str, str]:
    """Organisation A (owns BIN and the application meetnet-waste) with an ingest secret and a
    reader key; organisation B (owns THEIRS and the application b-waste). The CLI's own test
    is test_the_cli_makes_lists_and_revokes_secrets (a subprocess per test costs seconds)."""
    with psycopg.connect(db) as conn:
        for dev in (BIN, THEIRS):
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=dev.dev_eui, organisation=dev.organisation, model_key=dev.model_key,
                device_id=dev.device_id, application_id=dev.application_id, name=dev.name,
                use_case=dev.use_case, config=dev.config))
        for network in ("tts", "chirpstack"):
            registry.link_application(conn, network, BIN.application_id, A)
            registry.link_application(conn, network, THEIRS.application_id, B)
        _, key = create_key(conn, A, "reader")
        _, secret = ingest_secrets.create_secret(conn, A, name="TTS meetnet-waste")
    return {"secret": secret, "key": key}


def auth(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def post_tts(api: httpx.Client, secret: str, body: bytes) -> httpx.Response:
    return api.post("/v1/ingest/tts", content=body,
                    headers={**auth(secret), "Content-Type": "application/json"})


def post_cs(api: httpx.Client, secret: str, body: bytes, event: str = "up") -> httpx.Response:
    return api.post("/v1/ingest/chirpstack", params={"event": event}, content=body,
                    headers={**auth(secret), "Content-Type": "application/json"})


def readings(api: httpx.Client, key: str, eui: str, metric: str = "distance") -> list[float]:
    r = api.get(f"/v1/devices/{eui}/readings", headers={"Authorization": f"Bearer {key}"},
                params={"metric": metric, "from": (T0 - timedelta(hours=1)).isoformat(),
                        "to": (T0 + timedelta(hours=1)).isoformat()})
    assert r.status_code == 200, r.text
    return [p["value"] for p in r.json()["readings"]]


# --- the happy paths ------------------------------------------------------------------------


def test_a_tts_webhook_uplink_is_stored_and_read_back_by_its_owner(
        api: httpx.Client, world: dict[str, str], db: str) -> None:
    r = post_tts(api, world["secret"], tts_body(distance=0.42))
    assert r.status_code == 200, r.text
    assert r.json() == {"outcome": "stored", "stored": True, "duplicate": False,
                        "readings": r.json()["readings"], "dead_letter": None}
    assert r.json()["readings"] > 0
    # Answered means committed: the owner reads it right away.
    assert readings(api, world["key"], BIN.dev_eui) == [0.42]
    # The tenant of the body made it into the identity, as on MQTT's v3/app@ttn/... topic.
    assert _count(db, "SELECT count(*) FROM uplinks WHERE network = 'tts'") == 1


def test_a_chirpstack_http_integration_uplink_is_stored(api: httpx.Client,
                                                       world: dict[str, str], db: str) -> None:
    r = post_cs(api, world["secret"], cs_body(distance=0.61))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "stored"
    assert readings(api, world["key"], BIN.dev_eui) == [0.61]
    assert _count(db, "SELECT count(*) FROM uplinks WHERE network = 'chirpstack'") == 1


def test_the_secret_also_goes_in_x_meetnet_secret(api: httpx.Client, world: dict[str, str],
                                                  db: str) -> None:
    r = api.post("/v1/ingest/tts", content=tts_body(), headers={"X-Meetnet-Secret":
                                                                world["secret"]})
    assert r.status_code == 200 and r.json()["outcome"] == "stored"


@pytest.mark.parametrize("network", ["tts", "chirpstack"])
def test_a_retry_is_stored_once_and_answered_2xx_both_times(
        api: httpx.Client, world: dict[str, str], db: str, network: str) -> None:
    post = post_tts if network == "tts" else post_cs
    body = tts_body(f_cnt=7) if network == "tts" else cs_body(f_cnt=7)
    first, again = post(api, world["secret"], body), post(api, world["secret"], body)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json()["outcome"] == "stored"
    assert again.json() == {"outcome": "duplicate", "stored": False, "duplicate": True,
                            "readings": 0, "dead_letter": None}
    assert _uplinks(db, BIN.dev_eui) == 1
    assert len(readings(api, world["key"], BIN.dev_eui)) == 1


def test_the_same_uplink_over_mqtt_and_over_the_webhook_is_stored_once(
        world: dict[str, str], db: str, own_broker: BrokerServer) -> None:
    """A running ingest (subscriber and store process) on a real broker, and the API."""
    ingest_settings = settings_for(db, own_broker, batch_size=10, flush_interval_ms=50)
    sub = Subscriber(ingest_settings, db,
                     protocol="auto" if own_broker.kind == "mosquitto" else "3.1.1")
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    pub: MqttPublisher | None = None
    try:
        assert sub.subscribed.wait(20), "subscriber did not subscribe"
        pub = MqttPublisher(own_broker, client_id="webhook-test-publisher")
        app = create_app(Settings(database_url=db), db)  # type: ignore[arg-type]
        with LiveServer(app) as api:
            # MQTT first, then the webhook (a network server with both integrations on).
            port, payload = _payload()
            topic, body = tts_uplink(BIN, port, payload, f_cnt=1, received_at=T0)
            pub.send(topic, body)
            wait_for(lambda: _uplinks(db, BIN.dev_eui) == 1)
            r = post_tts(api, world["secret"], body)
            assert r.status_code == 200 and r.json()["outcome"] == "duplicate", r.text
            # The webhook first, then MQTT; a second uplink after it tells when MQTT is through.
            topic2, body2 = tts_uplink(BIN, port, payload, f_cnt=2,
                                       received_at=T0 + timedelta(minutes=2))
            assert post_tts(api, world["secret"], body2).json()["outcome"] == "stored"
            topic3, body3 = tts_uplink(BIN, port, payload, f_cnt=3,
                                       received_at=T0 + timedelta(minutes=3))
            pub.send(topic2, body2)
            pub.send(topic3, body3)
            wait_for(lambda: _count(db, "SELECT count(*) FROM uplinks WHERE f_cnt = 3") == 1)
            assert app.state.webhook_ingest is not None
        # The app's lifespan closed its DirectIngest (store threads and connections) on exit.
        assert app.state.webhook_ingest is None
        assert _uplinks(db, BIN.dev_eui) == 3
        assert _count(db, "SELECT count(*) FROM readings r JOIN metrics m ON m.id = r.metric_id "
                          "WHERE m.name = 'distance'") == 3
    finally:
        if pub is not None:
            pub.close()
        sub.stop()
        thread.join(20)


# --- who may post ---------------------------------------------------------------------------


def test_no_or_a_wrong_secret_is_401_and_nothing_is_kept(
        api: httpx.Client, world: dict[str, str], db: str) -> None:
    for headers in ({}, {"Authorization": "Bearer mnw_not-a-secret"},
                    {"X-Meetnet-Secret": "nonsense"}, {"Authorization": "Basic eDp5"},
                    {"Authorization": "Bearer"}, {"X-Meetnet-Secret": ""},
                    {"Authorization": "Bearer " + world["secret"][:-1] + "x"}):
        for path in ("/v1/ingest/tts", "/v1/ingest/chirpstack?event=up"):
            r = api.post(path, content=tts_body() if "tts" in path else cs_body(),
                         headers=headers)
            assert r.status_code == 401, (headers, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["www-authenticate"].startswith("Bearer")
    assert _count(db, "SELECT count(*) FROM uplinks") == 0
    assert _count(db, "SELECT count(*) FROM dead_letters") == 0


def test_an_api_key_is_not_an_ingest_secret(api: httpx.Client, world: dict[str, str]) -> None:
    r = post_tts(api, world["key"], tts_body())
    assert r.status_code == 401
    assert "ingest secret" in r.json()["detail"]


def test_the_cli_makes_lists_and_revokes_secrets(api: httpx.Client, world: dict[str, str],
                                                 db: str) -> None:
    made = meetnet(db, "orgs", "ingest-secret", "create", A, "--network", "tts")
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]  # the secret is the last line
    assert secret.startswith("mnw_")
    assert post_tts(api, secret, tts_body(f_cnt=1)).status_code == 200
    listed = meetnet(db, "orgs", "ingest-secret", "list", A)
    assert listed.returncode == 0, listed.stderr
    assert secret not in listed.stdout  # only its first characters
    line = next(ln for ln in listed.stdout.splitlines() if secret[:12] in ln)
    assert "tts" in line and "active" in line
    assert meetnet(db, "orgs", "ingest-secret", "revoke", line.split()[0]).returncode == 0
    assert post_tts(api, secret, tts_body(f_cnt=2)).status_code == 401
    # The other secret of the organisation still works.
    assert post_tts(api, world["secret"], tts_body(f_cnt=3)).status_code == 200
    again = meetnet(db, "orgs", "ingest-secret", "revoke", line.split()[0])
    assert again.returncode == 1 and again.stderr.startswith("error: ")
    nobody = meetnet(db, "orgs", "ingest-secret", "create", "nobody")
    assert nobody.returncode == 1 and nobody.stderr.startswith("error: no organisation")
    bad = meetnet(db, "orgs", "ingest-secret", "create", A, "--network", "lorawan")
    assert bad.returncode == 1 and "network" in bad.stderr
    assert _uplinks(db, BIN.dev_eui) == 2


def test_a_secret_bound_to_one_network_server_opens_only_its_endpoint(
        api: httpx.Client, world: dict[str, str], db: str) -> None:
    with psycopg.connect(db) as conn:
        _, tts_only = ingest_secrets.create_secret(conn, A, "tts")
    assert post_tts(api, tts_only, tts_body()).status_code == 200
    r = post_cs(api, tts_only, cs_body(f_cnt=5))
    assert r.status_code == 403 and "tts" in r.json()["detail"]


# --- one organisation cannot write another's devices ---------------------------------------


@pytest.mark.parametrize("network", ["tts", "chirpstack"])
def test_another_organisations_device_is_a_dead_letter_not_stored(
        api: httpx.Client, world: dict[str, str], db: str, network: str) -> None:
    post = post_tts if network == "tts" else post_cs
    make = tts_body if network == "tts" else cs_body
    r = post(api, world["secret"], make(THEIRS))
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "dead_letter"
    assert r.json()["dead_letter"]["stage"] == "lookup"
    assert "application mismatch" in r.json()["dead_letter"]["reason"]
    assert B not in r.json()["dead_letter"]["reason"]  # never names the other organisation
    # An unregistered device in B's application: auto-registration would have given it to B.
    r = post(api, world["secret"], make(THEIR_NEW))
    assert r.json()["outcome"] == "dead_letter" and r.json()["dead_letter"]["stage"] == "lookup"
    assert _count(db, "SELECT count(*) FROM uplinks") == 0
    assert _count(db, "SELECT count(*) FROM readings") == 0
    assert _count(db, "SELECT count(*) FROM devices WHERE dev_eui = %s", THEIR_NEW.dev_eui) == 0
    # Kept under webhook/<sender>/..., so that a dead-letter replay cannot store it either.
    assert _count(db, "SELECT count(*) FROM dead_letters WHERE stage = 'lookup' "
                      "AND topic LIKE %s", f"webhook/{A}/%") == 2
    # The owner's own device goes through meanwhile.
    assert post(api, world["secret"], make(BIN)).json()["outcome"] == "stored"


def test_another_organisations_device_events_are_dead_letters_too(
        api: httpx.Client, world: dict[str, str], db: str) -> None:
    status = chirpstack_message(THEIRS, 1, b"\x01", 1, T0)
    status = {"time": status["time"], "deviceInfo": status["deviceInfo"], "batteryLevel": 55.0}
    r = post_cs(api, world["secret"], json.dumps(status).encode(), event="status")
    assert r.status_code == 200 and r.json()["outcome"] == "dead_letter"
    assert _count(db, "SELECT count(*) FROM devices WHERE dev_eui = %s "
                      "AND battery_percent IS NOT NULL", THEIRS.dev_eui) == 0
    # The same event of the sender's own device is recorded.
    mine = {**status, "deviceInfo": chirpstack_message(BIN, 1, b"\x01", 1, T0)["deviceInfo"]}
    r = post_cs(api, world["secret"], json.dumps(mine).encode(), event="status")
    assert r.status_code == 200 and r.json()["outcome"] == "event"
    assert _count(db, "SELECT count(*) FROM devices WHERE dev_eui = %s "
                      "AND battery_percent = 55", BIN.dev_eui) == 1


# --- other events, bad bodies, limits, the database away ----------------------------------


def test_other_events_are_answered_and_ignored(api: httpx.Client, world: dict[str, str],
                                               db: str) -> None:
    ack = tts_message(BIN, 1, b"\x01", 1, T0)
    ack = {"end_device_ids": ack["end_device_ids"],
           "downlink_ack": {"f_port": 1, "frm_payload": "AQ==", "confirmed": True}}
    r = post_tts(api, world["secret"], json.dumps(ack).encode())
    assert r.status_code == 200 and r.json()["outcome"] == "ignored"
    for event in ("log", "txack", "ack", "location", "integration"):
        r = post_cs(api, world["secret"], b'{"deviceInfo": {}}', event=event)
        assert r.status_code == 200 and r.json()["outcome"] == "ignored", (event, r.text)
    assert _count(db, "SELECT count(*) FROM dead_letters") == 0
    r = api.post("/v1/ingest/chirpstack", content=cs_body(), headers=auth(world["secret"]))
    assert r.status_code == 400 and "event" in r.json()["detail"]


@pytest.mark.parametrize("body", [b"{not json", b"\xff\xfe\x00", b"[1, 2]", b"",
                                  b'{"end_device_ids": {"device_id": "a/b", "application_ids": '
                                  b'{"application_id": "x"}}, "uplink_message": {}}'])
def test_a_body_that_can_never_be_stored_is_kept_as_a_parse_dead_letter(
        api: httpx.Client, world: dict[str, str], db: str, body: bytes) -> None:
    r = post_tts(api, world["secret"], body)
    # 2xx: kept; a 4xx would only make the network server send it again, and hold back the
    # good uplinks behind it.
    assert r.status_code == 200, r.text
    assert r.json()["outcome"] == "dead_letter"
    assert r.json()["dead_letter"]["stage"] == "parse" and r.json()["dead_letter"]["reason"]
    assert _count(db, "SELECT count(*) FROM dead_letters WHERE stage = 'parse'") == 1


def test_a_body_over_the_message_limit_is_413_and_not_read(
        api: httpx.Client, world: dict[str, str], db: str) -> None:
    limit = Settings().max_message_bytes
    big = b'{"x": "' + b"a" * limit + b'"}'
    r = post_tts(api, world["secret"], big)
    assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem")

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while it is read
        for _ in range(limit // 1024 + 2):
            yield b" " * 1024

    r = api.post("/v1/ingest/chirpstack?event=up", content=chunks(), headers=auth(world["secret"]))
    assert r.status_code == 413
    assert _count(db, "SELECT count(*) FROM dead_letters") == 0


def test_the_database_away_is_503_with_retry_after() -> None:
    dsn = f"postgresql://meetnet@127.0.0.1:{free_port()}/meetnet?connect_timeout=1"
    with LiveServer(create_app(Settings(database_url=dsn), dsn)) as api:  # type: ignore[arg-type]
        r = post_tts(api, "mnw_" + "x" * 43, tts_body())
    assert r.status_code == 503, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert int(r.headers["retry-after"]) > 0


# --- whatever is posted: never a 500, and what is not stored is a dead letter ---------------

_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner,
                                                                max_size=4),
    max_leaves=20)
_hostile = st.sampled_from([
    None, True, -1, 2**70, -(2**63), 1e308, -1e308, 0.5, "", "\x00", "a\x00b", "\ud800",
    "a/b", "x@y", "+", "#", "\u202e", "9" * 300, "ZZZZZZZZZZZZZZZZ", [], {}, [[[[]]]],
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "not base64!"])
_fields = ["f_cnt", "f_port", "frm_payload", "received_at", "rx_metadata", "decoded_payload",
           "version_ids", "network_ids"]


def _mutated_tts(field: str, value: object, where: str) -> bytes:
    port, payload = _payload()
    doc: dict[str, Any] = tts_message(BIN, port, payload, 11, T0)
    if where == "uplink":
        doc["uplink_message"][field] = value
    elif where == "ids":
        doc["end_device_ids"][field.replace("f_cnt", "device_id").replace("f_port", "dev_eui")] = value
    else:
        doc[field] = value
    return json.dumps(doc).encode()


def _mutated_cs(field: str, value: object) -> bytes:
    port, payload = _payload()
    doc: dict[str, Any] = chirpstack_message(BIN, port, payload, 11, T0)
    key = {"f_cnt": "fCnt", "f_port": "fPort", "frm_payload": "data", "received_at": "time",
           "rx_metadata": "rxInfo", "decoded_payload": "object", "version_ids": "deviceInfo",
           "network_ids": "devEui"}[field]
    if key == "devEui":
        doc["deviceInfo"][key] = value
    else:
        doc[key] = value
    return json.dumps(doc).encode()


_bodies = st.one_of(
    _json.map(lambda v: json.dumps(v).encode()),
    st.binary(max_size=200),
    st.integers(1, 60_000).map(lambda n: b"[" * n),  # deep nesting, within the size limit
    st.integers(1, 60_000).map(lambda n: b'{"a":' * n),
    st.tuples(st.sampled_from(_fields), _hostile, st.sampled_from(["uplink", "ids", "top"]))
    .map(lambda t: _mutated_tts(*t)),
    st.tuples(st.sampled_from(_fields), _hostile).map(lambda t: b"CS" + _mutated_cs(*t)),
    st.sampled_from([b"\xff\xfe", b"{\"a\": \"\xc3\x28\"}", b"\x00", b'{"f_cnt": 1e999}']),
)


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_bodies, network=st.sampled_from(["tts", "chirpstack"]),
       event=st.sampled_from(["up", "up", "join", "status", "log"]))
def test_no_body_makes_the_webhook_answer_500(api: httpx.Client, world: dict[str, str],
                                              db: str, body: bytes, network: str,
                                              event: str) -> None:
    if body.startswith(b"CS"):
        body, network = body[2:], "chirpstack"
    r = (post_tts(api, world["secret"], body) if network == "tts"
         else post_cs(api, world["secret"], body, event))
    assert r.status_code < 500, (body[:200], r.status_code, r.text[:300])
    if r.status_code != 200:
        assert r.status_code == 413, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
        return
    result = r.json()
    if result["outcome"] in ("stored", "duplicate", "event", "ignored"):
        return
    # Not stored: kept as a dead letter, with its reason, in the database.
    letter = result["dead_letter"]
    assert letter is not None and letter["reason"], result
    assert _count(db, "SELECT count(*) FROM dead_letters WHERE stage = %s AND reason = %s",
                  letter["stage"], letter["reason"]) >= 1
