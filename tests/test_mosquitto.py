"""The shipped broker's rules, on a real Mosquitto: who may publish and read what
(deploy/mosquitto/aclfile), the message size limit (max_packet_size, in the shipped config and in
meetnet.runtime's) and the TLS listener example.

A refused publish is dropped silently (an MQTT 3.1.1 publisher still gets its PUBACK), so "it
never arrives" is proven with ordering: the refused message is published and acknowledged first,
then a message that is allowed; once that one has arrived, the refused one would have too.
"""

from __future__ import annotations

import queue
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from mosquitto_shipped import INGEST, SIMULATOR, ShippedBroker, needs_mosquitto, run_shipped
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from meetnet.runtime import BrokerServer, mqtt_max_packet_size, start_broker
from meetnet.settings import MqttTarget, Settings
from simulators.publisher import Publisher
from simulators.scenario import classroom, crossing, waste, water
from simulators.scenario.leiden import scenario_devices
from simulators.tts import chirpstack_uplink, tts_uplink
from support import tmpdir

pytestmark = pytest.mark.integration

BRIDGE = ("meetnet-waste@ttn", "bridge-pw-for-test")
OTHER_BRIDGE = ("other-app@ttn", "other-pw-for-test")
CHIRPSTACK = ("chirpstack", "chirpstack-pw-for-test")
DEMO_APPLICATIONS = {m.APPLICATION_ID for m in (waste, classroom, crossing, water)}
TIMEOUT_S = 20.0


class Client:
    """A paho 2.x client on its own network thread that records what it receives."""

    def __init__(self, port: int, user: tuple[str, str] | None, *, protocol: str = "3.1.1",
                 tls_ca: Path | None = None) -> None:
        version = MQTTProtocolVersion.MQTTv5 if protocol == "5" else MQTTProtocolVersion.MQTTv311
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"test-{uuid.uuid4().hex[:10]}", protocol=version)
        if user:
            self.client.username_pw_set(*user)
        if tls_ca:
            self.client.tls_set(ca_certs=str(tls_ca), tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.connack: queue.Queue[tuple[int, Any]] = queue.Queue()
        self.disconnects: queue.Queue[int] = queue.Queue()
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, reason, props: self.connack.put(
            (reason.value, props))
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda c, u, mid, reasons, props: self.subscribed.set()
        self.client.on_disconnect = lambda c, u, f, reason, props: self.disconnects.put(
            reason.value)
        # No reconnects: a refused or cut connection must stay visible to the test.
        self.client.reconnect_delay_set(60, 120)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.code, self.connack_properties = self.connack.get(timeout=TIMEOUT_S)

    def subscribe(self, *topics: str) -> None:
        self.subscribed.clear()
        self.client.subscribe([(t, 1) for t in topics])
        assert self.subscribed.wait(TIMEOUT_S), "no SUBACK"

    def publish(self, topic: str, payload: bytes) -> None:
        """QoS 1, and wait for the broker's acknowledgement: by then it has let the message
        through or dropped it."""
        info = self.client.publish(topic, payload, qos=1)
        info.wait_for_publish(TIMEOUT_S)

    def receive_until(self, payload: bytes) -> list[tuple[str, bytes]]:
        """Everything received up to and including the message with ``payload``."""
        got = []
        while True:
            topic, body = self.messages.get(timeout=TIMEOUT_S)
            got.append((topic, body))
            if body == payload:
                return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def shipped() -> Iterator[ShippedBroker]:
    if reason := needs_mosquitto():
        pytest.skip(reason)
    with run_shipped(site_users=dict([BRIDGE, OTHER_BRIDGE, CHIRPSTACK])) as broker:
        yield broker


@pytest.fixture
def ingest(shipped: ShippedBroker) -> Iterator[Client]:
    """The ingest user, reading everything it may through a shared subscription, as ingest
    does with MEETNET_MQTT_SHARED_GROUP."""
    client = Client(shipped.port, INGEST)
    assert client.code == 0
    client.subscribe("$share/meetnet/v3/+/devices/+/+",
                     "$share/meetnet/application/+/device/+/event/+")
    yield client
    client.close()


def _refused_then_allowed(port: int, reader: Client, user: tuple[str, str],
                          refused: list[str], allowed: list[str], tls_ca: Path | None = None
                          ) -> list[str]:
    """Publish as ``user`` to the ``refused`` topics, then to the ``allowed`` ones, and the
    topics ``reader`` received up to the last allowed one."""
    sender = Client(port, user, tls_ca=tls_ca)
    try:
        assert sender.code == 0
        for topic in refused:
            sender.publish(topic, b"refused " + topic.encode())
        for topic in allowed:
            sender.publish(topic, b"allowed " + topic.encode())
    finally:
        sender.close()
    marker = b"allowed " + allowed[-1].encode()
    return [topic for topic, _ in reader.receive_until(marker)]


def test_anonymous_and_wrong_passwords_are_refused(shipped: ShippedBroker) -> None:
    refused: list[tuple[str, str] | None] = [
        None, (INGEST[0], "wrong"), (BRIDGE[0], INGEST[1]), ("nobody", "x")]
    for user in refused:
        client = Client(shipped.port, user)
        try:
            assert client.code != 0, user
        finally:
            client.close()
    for user in (INGEST, SIMULATOR, BRIDGE, OTHER_BRIDGE, CHIRPSTACK):
        client = Client(shipped.port, user)
        try:
            assert client.code == 0, user
        finally:
            client.close()


def test_bridge_publishes_only_under_its_own_application(shipped: ShippedBroker,
                                                         ingest: Client) -> None:
    refused = [
        "v3/other-app@ttn/devices/bin-1/up",  # another application
        "v3/meetnet-waste@other-tenant/devices/bin-1/up",  # its application, another tenant
        "v3/meetnet-waste/devices/bin-1/up",  # the Open Source form of another application
        "application/meetnet-waste/device/0011223344556677/event/up",  # ChirpStack's form
    ]
    allowed = ["v3/meetnet-waste@ttn/devices/bin-1/up", "v3/meetnet-waste@ttn/devices/bin-1/join"]
    assert _refused_then_allowed(shipped.port, ingest, BRIDGE, refused, allowed) == allowed
    # And the other application's user gets its own prefix, not the first one's.
    assert _refused_then_allowed(shipped.port, ingest, OTHER_BRIDGE,
                                 ["v3/meetnet-waste@ttn/devices/bin-1/up"],
                                 ["v3/other-app@ttn/devices/bin-9/up"]) == [
        "v3/other-app@ttn/devices/bin-9/up"]


def test_ingest_cannot_publish(shipped: ShippedBroker, ingest: Client) -> None:
    refused = [
        "v3/meetnet-waste@ttn/devices/bin-1/up",
        # The prefix the per-application pattern would give a user of this name.
        "v3/meetnet-ingest/devices/bin-1/up",
        "application/meetnet-waste/device/0011223344556677/event/up",
    ]
    sender = Client(shipped.port, INGEST)
    try:
        for topic in refused:
            sender.publish(topic, b"from ingest")
    finally:
        sender.close()
    control = "v3/meetnet-waste@ttn/devices/bin-1/up"
    assert _refused_then_allowed(shipped.port, ingest, BRIDGE, [], [control]) == [control]


def test_ingest_reads_only_uplink_topics(shipped: ShippedBroker) -> None:
    reader = Client(shipped.port, INGEST)
    try:
        reader.subscribe("#")
        got = _refused_then_allowed(shipped.port, reader, BRIDGE,
                                    [], ["v3/meetnet-waste@ttn/devices/bin-1/down/push",
                                         "v3/meetnet-waste@ttn/devices/bin-1/up"])
        # The downlink topic was published (the bridge may write its whole prefix) but
        # is not one ingest may read.
        assert got == ["v3/meetnet-waste@ttn/devices/bin-1/up"]
    finally:
        reader.close()


def test_chirpstack_publishes_application_events_only(shipped: ShippedBroker,
                                                      ingest: Client) -> None:
    app = str(uuid.uuid4())
    allowed = [f"application/{app}/device/0011223344556677/event/up",
               f"application/{app}/device/0011223344556677/event/status"]
    refused = ["v3/meetnet-waste@ttn/devices/bin-1/up", "v3/chirpstack/devices/bin-1/up"]
    assert _refused_then_allowed(shipped.port, ingest, CHIRPSTACK, refused, allowed) == allowed


def test_simulator_publishes_the_demo_applications_only(shipped: ShippedBroker,
                                                        ingest: Client) -> None:
    """The real simulator's publisher and topics: every demo device's The Things Stack and
    ChirpStack uplink arrives; the same publisher is refused elsewhere."""
    devices = scenario_devices()
    assert {d.application_id for d in devices} == DEMO_APPLICATIONS
    at = datetime.now(UTC)
    messages = []
    for device in devices:
        messages.append(tts_uplink(device, 1, b"\x01", 1, at))
        messages.append(chirpstack_uplink(device, 1, b"\x01", 1, at))
    refused = ["v3/other-app@ttn/devices/x/up", "v3/meetnet-simulator/devices/x/up",
               "v3/meetnet-waste@other-tenant/devices/x/up",
               "application/other-app/device/0011223344556677/event/up"]
    target = MqttTarget(f"mqtt://{SIMULATOR[0]}:{SIMULATOR[1]}@127.0.0.1:{shipped.port}")
    with Publisher(target) as publisher:
        for topic in refused:
            publisher.publish(topic, b"refused")
        publisher.flush()
        for topic, body in messages:
            publisher.publish(topic, body)
    got = ingest.receive_until(messages[-1][1])
    assert sorted(topic for topic, _ in got) == sorted(topic for topic, _ in messages)


# ---------------------------------------------------------------------------------- size limit

TOPIC = "v3/meetnet-waste@ttn/devices/em310-bin-001/up"


@pytest.fixture
def runtime_broker() -> Iterator[BrokerServer]:
    """The tests' and the demo's broker (meetnet.runtime.MOSQUITTO_CONF), with a small limit."""
    if not shutil.which("mosquitto"):
        pytest.skip("needs Mosquitto (apt-get install mosquitto)")
    server = start_broker(tmpdir("meetnet-mq-size-"), max_message_bytes=4096)
    yield server
    server.stop()


def _size_limit(port: int, user: tuple[str, str] | None, publisher_user: tuple[str, str] | None,
                limit: int, protocol: str) -> None:
    reader = Client(port, user)
    sender = Client(port, publisher_user, protocol=protocol)
    try:
        reader.subscribe("v3/+/devices/+/+")
        packet_limit = mqtt_max_packet_size(limit)
        if protocol == "5":
            # MQTT 5.0 section 3.2.2.3.6: the broker announces its limit in CONNACK.
            assert sender.connack_properties.MaximumPacketSize == packet_limit
        # A payload of the full limit fits: the 1 KiB of room covers the topic and headers.
        full = b"a" * limit
        sender.publish(TOPIC, full)
        assert reader.receive_until(full) == [(TOPIC, full)]
        # One byte over the packet limit: the broker cuts the connection.
        over = b"b" * (packet_limit + 1)
        sender.client.publish(TOPIC, over, qos=1)
        reason = sender.disconnects.get(timeout=TIMEOUT_S)
        if protocol == "5":
            assert reason == 0x95  # DISCONNECT "Packet too large", from the broker
        # ...and nobody receives it: a message published after it by another client arrives
        # alone.
        after = b"after the oversize message"
        other = Client(port, publisher_user)
        try:
            other.publish(TOPIC, after)
        finally:
            other.close()
        assert reader.receive_until(after) == [(TOPIC, after)]
    finally:
        sender.close()
        reader.close()


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_shipped_broker_refuses_oversize_messages(shipped: ShippedBroker, protocol: str) -> None:
    _size_limit(shipped.port, INGEST, BRIDGE, 65536, protocol)


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_runtime_broker_refuses_oversize_messages(runtime_broker: BrokerServer,
                                                  protocol: str) -> None:
    _size_limit(runtime_broker.port, None, None, 4096, protocol)


# ----------------------------------------------------------------------------------------- TLS


def _self_signed(directory: Path) -> tuple[Path, Path, Path]:
    """A certificate for 127.0.0.1 made as conf.d/tls.conf.example says (an EC key: faster)."""
    cert, key = directory / "server.crt", directory / "server.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-sha256", "-days", "2", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, cert, key


def test_tls_listener_example() -> None:
    if reason := needs_mosquitto():
        pytest.skip(reason)
    if not shutil.which("openssl"):
        pytest.skip("needs openssl")
    certs = tmpdir("meetnet-certs-")
    ca, cert, key = _self_signed(certs)
    with run_shipped(site_users=dict([BRIDGE]), tls=(ca, cert, key)) as broker:
        assert broker.tls_port is not None
        reader = Client(broker.tls_port, INGEST, tls_ca=ca)
        try:
            assert reader.code == 0
            reader.subscribe("v3/+/devices/+/+")
            # The ACLs hold on the TLS listener too.
            got = _refused_then_allowed(broker.tls_port, reader, BRIDGE,
                                        ["v3/other-app@ttn/devices/bin-1/up"],
                                        ["v3/meetnet-waste@ttn/devices/bin-1/up"], tls_ca=ca)
            assert got == ["v3/meetnet-waste@ttn/devices/bin-1/up"]
        finally:
            reader.close()
        # meetnet's own clients verify a self-signed broker with MEETNET_MQTT_CA_FILE.
        reader = Client(broker.tls_port, INGEST, tls_ca=ca)
        try:
            reader.subscribe("v3/+/devices/+/+")
            url = (f"mqtts://{BRIDGE[0].replace('@', '%40')}:{BRIDGE[1]}"
                   f"@127.0.0.1:{broker.tls_port}")
            settings = Settings(mqtt_url=url, mqtt_ca_file=ca)  # type: ignore[arg-type]
            target = settings.mqtt_target()
            assert target is not None and target.tls and target.ca_file == str(ca)
            with Publisher(target) as publisher:
                publisher.publish("v3/meetnet-waste@ttn/devices/bin-2/up", b"over tls")
            assert reader.messages.get(timeout=TIMEOUT_S) == (
                "v3/meetnet-waste@ttn/devices/bin-2/up", b"over tls")
        finally:
            reader.close()
        # Anonymous and plain-text clients get nothing there.
        anonymous = Client(broker.tls_port, None, tls_ca=ca)
        try:
            assert anonymous.code != 0
        finally:
            anonymous.close()
