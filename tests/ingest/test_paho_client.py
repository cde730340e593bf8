"""Ingest's paho client (`ingest.subscriber._Client`) builds the same messages as paho itself,
on its fast path (MQTT 5, QoS 1, no properties) and off it; and a message with properties still
reaches ingest through a real broker."""

from __future__ import annotations

import struct
import threading
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
import psycopg
from hypothesis import given, settings
from hypothesis import strategies as st
from paho.mqtt import _packet
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from ingest import Subscriber
from ingest.subscriber import _Client
from meetnet.runtime import BrokerServer
from support import settings_for, wait_for

_T0 = datetime(2026, 11, 6, tzinfo=UTC)


def _publish_packet(topic: bytes, mid: int, payload: bytes, user: str | None) -> bytes:
    props = Properties(PacketTypes.PUBLISH)
    if user is not None:
        props.UserProperty = ("k", user)
    return (struct.pack("!H", len(topic)) + topic + struct.pack("!H", mid) + props.pack()
            + payload)


@settings(max_examples=200, deadline=None)
@given(topic=st.binary(min_size=1, max_size=60), mid=st.integers(1, 65535),
       payload=st.binary(max_size=200), flags=st.integers(0, 15),
       # paho refuses NUL in a property (MQTT 5.0 section 1.5.4), and so do brokers.
       # A user property is UTF-8 on the wire (MQTT 5 section 1.5.4): no lone surrogates.
       user=st.none() | st.text(st.characters(blacklist_characters="\x00",
                                              blacklist_categories=("Cs",)), max_size=10))
def test_fast_path_builds_what_paho_builds(topic: bytes, mid: int, payload: bytes, flags: int,
                                           user: str | None) -> None:
    header = 0x30 | (flags & 0x09) | 0x02  # PUBLISH, QoS 1, any dup / retain
    packet = _publish_packet(topic, mid, payload, user)
    got: list[mqtt.MQTTMessage] = []
    client = _Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5,
                     manual_ack=True)
    client.on_message = lambda c, u, m: got.append(m)
    client._in_packet = {"command": header, "packet": bytearray(packet)}  # type: ignore[typeddict-item]
    client._handle_publish()
    expected = _packet.decode_publish(header, packet, MQTTProtocolVersion.MQTTv5)
    (m,) = got
    assert (m._topic, m.mid, m.qos, m.dup, m.retain, m.payload) == (
        expected.topic, expected.mid, expected.qos, expected.dup, expected.retain,
        expected.payload)


def test_a_message_with_properties_still_reaches_ingest(db: str, mosquitto: BrokerServer) -> None:
    """Off the fast path: MQTT 5 user properties on an uplink (a bridge may add them)."""
    from simulators.encoders import ENCODERS
    from simulators.scenario.base import SimDevice
    from simulators.tts import tts_uplink
    from store import devices as registry

    dev = SimDevice(dev_eui="24e124713c06aa01", device_id="bin-props", application_id="props",
                    model_key="milesight-iot/em310-udl", organisation="o", use_case="waste",
                    name="bin", lat=52.1, lon=4.5, config={"bin_depth_m": 1.5})
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=dev.dev_eui, organisation="o", model_key=dev.model_key,
            application_id=dev.application_id, config=dev.config))
    sub = Subscriber(settings_for(db, mosquitto, batch_size=10, flush_interval_ms=20), db)
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    pub.connect(mosquitto.host, mosquitto.port)
    pub.loop_start()
    try:
        assert sub.subscribed.wait(20)
        port, frame = ENCODERS[dev.model_key]({"distance": 0.5, "battery": 80, "tilt": 0})
        for i, user in enumerate([None, "bridged-by-test"]):
            topic, body = tts_uplink(dev, port, frame, f_cnt=i, received_at=_T0)
            props = Properties(PacketTypes.PUBLISH)
            if user:
                props.UserProperty = ("via", user)
            pub.publish(topic, body, qos=1, properties=props).wait_for_publish(10)
        wait_for(lambda: sub.stats.messages >= 2, timeout=30)
        with psycopg.connect(db) as conn:
            rows = conn.execute("SELECT f_cnt FROM uplinks ORDER BY f_cnt").fetchall()
        assert rows == [(0,), (1,)]
    finally:
        pub.disconnect()
        pub.loop_stop()
        sub.stop()
        thread.join(20)

