"""Issue 9's acceptance: hostile input through a real Mosquitto into a real PostgreSQL.

Hypothesis makes envelopes with out-of-range and wrong-typed fields, huge and deeply nested JSON,
invalid UTF-8, NUL bytes in strings, oversize payloads, forged topics, and uplinks for a device
whose JavaScript codec returns pathological objects. Every message must end as an uplink or a
dead letter, ingest must stay up, and the valid uplinks published after them must all be stored.
"""

from __future__ import annotations

import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ingest import Subscriber
from ingest.envelopes import EnvelopeError, Ignored, parse
from ingest.subscriber import PACKET_HEADROOM
from meetnet.records import Uplink
from meetnet.runtime import BrokerServer
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_message, tts_topic
from store import devices as registry
from store.codecs import upsert_codec
from support import MqttPublisher, settings_for, wait_for

T0 = datetime(2026, 11, 4, tzinfo=UTC)
T1 = datetime(2026, 11, 5, tzinfo=UTC)
#: Ingest's own limit, below the broker's (64 KiB). Ingest announces this plus its packet
#: headroom as its MQTT 5 Maximum Packet Size, so messages up to that reach it and must be refused
#: by ingest itself; the recipes stay under it (anything larger the broker would not deliver).
INGEST_LIMIT = 8192
ARRIVES = INGEST_LIMIT + PACKET_HEADROOM - 512

BIN = SimDevice(dev_eui="24e124713c05aa01", device_id="bin-hostile", application_id="meetnet-waste",
                model_key="milesight-iot/em310-udl", organisation="gemeente-leiden",
                use_case="waste", name="bin", lat=52.16, lon=4.49, config={"bin_depth_m": 1.5})
PROTO = SimDevice(dev_eui="70b3d5e75e05aa02", device_id="proto-hostile", application_id="proto",
                  model_key="hogeschool-leiden/pathological", organisation="hogeschool-leiden",
                  use_case="classroom", name="prototype", lat=52.16, lon=4.49)

# A codec whose result depends on the first payload byte: each branch is a pathology a student's
# codec can produce.
PATHOLOGICAL_CODEC = """
function decodeUplink(input) {
  var k = input.bytes.length ? input.bytes[0] % 8 : 0;
  if (k === 0) { var o = {t: 1}; for (var i = 0; i < 5000; i++) { o = {a: o}; }
                 return {data: o}; }
  if (k === 1) { return {data: {t: 1e308 * 10, h: -1e308 * 10}}; }
  if (k === 2) { return {data: {t: "a\\u0000b", note: "\\ud800"}}; }
  if (k === 3) { var a = []; for (var j = 0; j < 200000; j++) { a.push(j); } return {data: {t: a}}; }
  if (k === 4) { return 42; }
  if (k === 5) { throw new Error("codec bug \\u0000"); }
  if (k === 6) { var big = {}; for (var m = 0; m < 20000; m++) { big["k" + m] = m; }
                 return {data: big}; }
  return {data: {t: 21.5}};
}
"""

_leaf = (st.none() | st.booleans()
         | st.integers(min_value=-(2**80), max_value=2**80)
         | st.sampled_from([2**63, 2**64 + 5, -5, -1, 70000, 2**32, 1e300, -1e300, 0.5])
         | st.floats(allow_nan=False, allow_infinity=False)
         | st.text(max_size=30)
         | st.sampled_from(["\x00", "a\x00b", "\ud7ff", "\u202e", "9" * 300, "1e999",
                           "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"]))
_json = st.recursive(_leaf, lambda c: st.lists(c, max_size=5)
                     | st.dictionaries(st.text(max_size=10), c, max_size=5), max_leaves=25)


def _deep(depth: int) -> Any:
    node: Any = 0
    for _ in range(depth):
        node = {"a": node}
    return node


_FIELDS = ["f_cnt", "f_port", "received_at", "frm_payload", "rx_metadata", "decoded_payload",
           "version_ids", "network_ids"]
_ID_FIELDS = ["dev_eui", "device_id", "application_ids"]


@st.composite
def hostile(draw: st.DrawFn) -> tuple[Any, ...]:
    """A small recipe for one hostile message (`build` makes it): hypothesis prints recipes, not
    64 KiB messages, when it reports a failure."""
    kind = draw(st.sampled_from(["field", "id", "deep", "bytes", "nested_json", "oversize",
                                 "forged", "codec", "nul_json"]))
    i = draw(st.integers(0, 10**6))
    if kind in ("field", "deep"):
        return kind, i, draw(st.sampled_from(_FIELDS)), (
            draw(_json) if kind == "field" else draw(st.integers(50, 900)))
    if kind == "id":
        return kind, i, draw(st.sampled_from(_ID_FIELDS)), draw(_json)
    if kind == "bytes":
        return kind, i, "", draw(st.binary(max_size=300))
    if kind == "nested_json":
        return kind, i, "", draw(st.integers(500, 5000))
    if kind == "oversize":
        return kind, i, "", draw(st.integers(INGEST_LIMIT - 1024, ARRIVES - 3000))
    if kind == "forged":
        return kind, i, "", draw(st.sampled_from(["other-app", "meetnet-water", "a" * 200]))
    if kind == "codec":
        return kind, i, "", bytes([draw(st.integers(0, 255))]) + draw(st.binary(max_size=8))
    return kind, i, "", draw(_json)


def build(recipe: tuple[Any, ...]) -> tuple[str, bytes]:
    """(topic, payload) of a recipe made by `hostile`."""
    kind, i, field, value = recipe
    port, frame = ENCODERS[BIN.model_key]({"distance": 0.5, "battery": 80, "tilt": 0})
    doc = tts_message(BIN, port, frame, i, T0 + timedelta(seconds=i))
    topic = tts_topic(BIN)
    if kind == "field":
        doc["uplink_message"][field] = value
    elif kind == "id":
        doc["end_device_ids"][field] = value
    elif kind == "deep":
        doc["uplink_message"][field] = _deep(value)
    elif kind == "bytes":
        return topic, value
    elif kind == "nested_json":
        return topic, b"[" * value + b"]" * value  # past orjson's 1,024 levels too
    elif kind == "oversize":
        doc["uplink_message"]["padding"] = "x" * value
    elif kind == "forged":
        topic = tts_topic(SimDevice(**{**BIN.__dict__, "application_id": value}))
    elif kind == "codec":
        doc = tts_message(PROTO, 1, value, i, T0 + timedelta(seconds=i))
        topic = tts_topic(PROTO)
    elif kind == "nul_json":
        doc["uplink_message"]["decoded_payload"] = {"s": "\x00", "k\x00": value}
    try:
        body = json.dumps(doc).encode()
    except (ValueError, RecursionError):
        body = b"{}"
    return topic, body


def _setup(db: str) -> None:
    with psycopg.connect(db) as conn:
        for d in (BIN, PROTO):
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key,
                device_id=d.device_id, application_id=d.application_id, config=d.config,
                use_case=d.use_case))
        upsert_codec(conn, model_key=PROTO.model_key, organisation=PROTO.organisation,
                     source=PATHOLOGICAL_CODEC, field_map={"t": "temperature"})


def _valid(n: int, offset: int) -> list[tuple[str, bytes]]:
    out = []
    for k in range(n):
        port, frame = ENCODERS[BIN.model_key]({"distance": 0.5 + k / 1000, "battery": 80,
                                              "tilt": 0})
        f_cnt = 2_000_000 + offset + k
        doc = tts_message(BIN, port, frame, f_cnt, T1 + timedelta(seconds=offset + k))
        out.append((tts_topic(BIN), json.dumps(doc).encode()))
    return out


def _accounted(topic: str, payload: bytes, dead: set[bytes],
               uplinks: set[tuple[str, int, datetime]]) -> bool:
    if hashlib.sha256(topic.encode() + b"\0" + payload).digest() in dead:
        return True
    try:
        up = parse(topic, payload)
    except (EnvelopeError, Ignored, RecursionError):
        return False
    return isinstance(up, Uplink) and (up.dev_eui, up.f_cnt or 0, up.received_at) in uplinks


_round = iter(range(10**6))


# No shrinking: each example runs ingest end to end (seconds), and the recipes it prints are
# small enough to read as they are.
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck),
          phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(recipes=st.lists(hostile(), min_size=40, max_size=80))
def test_hostile_messages_end_as_uplinks_or_dead_letters_and_ingest_stays_up(
        db: str, mosquitto: BrokerServer, recipes: list[tuple[Any, ...]]) -> None:
    messages = [build(r) for r in recipes]
    assert all(len(p) < ARRIVES for _, p in messages)
    round_no = next(_round)
    _setup(db)
    with psycopg.connect(db) as conn:
        conn.execute("TRUNCATE uplinks, readings, latest_readings, dead_letters")
    settings_ = settings_for(db, mosquitto, batch_size=25, flush_interval_ms=20,
                             max_message_bytes=INGEST_LIMIT)
    sub = Subscriber(settings_, db)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            sub.run()
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    pub = MqttPublisher(mosquitto, "hostile-publisher")
    try:
        assert sub.subscribed.wait(20), "ingest did not subscribe"
        for topic, payload in messages:
            pub.send(topic, payload)
        valid = _valid(30, round_no * 100)
        for topic, payload in valid:
            pub.send(topic, payload)
        total = len(messages) + len(valid)
        # Every message was committed and acked: none stuck, none stopped ingest.
        wait_for(lambda: sub.stats.messages >= total or not thread.is_alive(), timeout=60)
        assert thread.is_alive() and not errors, errors
        assert sub.stats.messages == total
        with psycopg.connect(db) as conn:
            stored = {int(r[0]) for r in conn.execute(
                "SELECT f_cnt FROM uplinks WHERE f_cnt >= 2000000")}
            dead = {bytes(r[0]) for r in conn.execute("SELECT message_hash FROM dead_letters")}
            uplinks = {(str(r[0]), int(r[1]), r[2]) for r in conn.execute(
                "SELECT dev_eui, f_cnt, received_at FROM uplinks")}
            kept = conn.execute("SELECT max(length(payload)) FROM dead_letters").fetchone()
        # The valid uplinks published after the hostile ones are all there.
        assert stored == {2_000_000 + round_no * 100 + k for k in range(30)}
        missing = [(t, p[:120]) for t, p in messages if not _accounted(t, p, dead, uplinks)]
        assert not missing, missing[:3]
        assert kept is None or kept[0] is None or kept[0] <= 65536
    finally:
        pub.close()
        sub.stop()
        thread.join(30)
    assert not thread.is_alive()


def test_an_application_mismatch_through_the_broker_is_a_lookup_dead_letter(
        db: str, mosquitto: BrokerServer) -> None:
    """A client publishing under one application's topic for another application's device, and
    one naming a registered device from the wrong application: neither writes a reading."""
    _setup(db)
    sub = Subscriber(settings_for(db, mosquitto, batch_size=10, flush_interval_ms=20), db)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    pub = MqttPublisher(mosquitto, "hostile-publisher")
    try:
        assert sub.subscribed.wait(20)
        port, frame = ENCODERS[BIN.model_key]({"distance": 0.5, "battery": 80, "tilt": 0})
        doc = tts_message(BIN, port, frame, 1, T1)
        # The topic of another application, the body of ours.
        pub.send(tts_topic(SimDevice(**{**BIN.__dict__, "application_id": "intruder"})),
                 json.dumps(doc).encode())
        # Topic and body agree, but the registry says the device lives in meetnet-waste.
        other = SimDevice(**{**BIN.__dict__, "application_id": "intruder"})
        pub.send(tts_topic(other), json.dumps(tts_message(other, port, frame, 2, T1)).encode())
        for topic, payload in _valid(1, 0):
            pub.send(topic, payload)
        wait_for(lambda: sub.stats.messages >= 3, timeout=30)
        with psycopg.connect(db) as conn:
            dead = conn.execute("SELECT stage, reason FROM dead_letters ORDER BY id").fetchall()
            f_cnts = [r[0] for r in conn.execute("SELECT f_cnt FROM uplinks")]
        assert [d[0] for d in dead] == ["lookup", "lookup"]
        assert all("mismatch" in d[1] and "intruder" in d[1] for d in dead), dead
        assert f_cnts == [2_000_000]  # only the valid one
    finally:
        pub.close()
        sub.stop()
        thread.join(30)
