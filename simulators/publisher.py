"""A QoS 1 MQTT publisher with a bounded window of unacknowledged messages (paho-mqtt 2.x).

Why a window: paho numbers QoS 1 messages with a 16-bit message id (1..65535) and keeps every
unacknowledged one in memory; past 65,535 outstanding messages a new id collides with one still
waiting and paho refuses the message (MQTT_ERR_QUEUE_SIZE). ``max_inflight_messages_set`` only
limits how many are on the wire, not how many wait in paho's queue. So ``publish`` blocks on the
oldest message's ``MQTTMessageInfo`` once ``window`` messages are outstanding: memory stays
bounded, ids never collide, and a backfill runs exactly as fast as the broker acknowledges.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import deque
from types import TracebackType
from typing import Any, Literal

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion

from meetnet.settings import MqttTarget

log = logging.getLogger(__name__)

QOS = 1
#: Outstanding (unacknowledged) messages at most; well inside paho's 65,535 message ids. Small
#: on purpose: paho scans its whole outgoing queue on every acknowledgement, so a big window is
#: slower. Measured once against Mosquitto 2.0 on one machine (10,000 messages of 1.2 kB, paho
#: 2.2): window 20 ~5.9k msg/s, 100 ~5.6-7.3k, 1000 ~4.1k, 5000 ~1.8k.
DEFAULT_WINDOW = 100
MAX_WINDOW = 65535 - 1
KEEPALIVE_S = 60
RECONNECT_DELAY_S = (1, 30)  # paho's exponential back-off between reconnect attempts

Protocol = Literal["3.1.1", "5"]


class Publisher:
    """Publish at QoS 1 to the broker of ``target`` (host, port, credentials, TLS).

    Use as a context manager: connects on enter, waits for every acknowledgement and disconnects
    on exit. paho reconnects by itself after a dropped connection and resends what was not
    acknowledged (with the DUP flag), so a broker restart delays publishing but loses nothing.

    MQTT 3.1.1 by default: the embedded amqtt broker speaks nothing else, and a publisher gains
    nothing from MQTT 5.
    """

    def __init__(
        self,
        target: MqttTarget,
        *,
        client_id: str | None = None,
        window: int = DEFAULT_WINDOW,
        protocol: Protocol = "3.1.1",
        connect_timeout_s: float = 30.0,
        ack_timeout_s: float = 120.0,
    ) -> None:
        if not 1 <= window <= MAX_WINDOW:
            raise ValueError(f"window must be 1..{MAX_WINDOW}, got {window}")
        self.target = target
        self.window = window
        self.connect_timeout_s = connect_timeout_s
        self.ack_timeout_s = ack_timeout_s
        self.sent = 0  # handed to paho
        self.acked = 0  # acknowledged by the broker
        self._pending: deque[mqtt.MQTTMessageInfo] = deque()
        self._connected = threading.Event()
        self._refused: str | None = None
        self._closing = False
        client_id = client_id or f"meetnet-sim-{uuid.uuid4().hex[:12]}"
        if protocol == "5":
            self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                       protocol=MQTTProtocolVersion.MQTTv5)
        else:
            self._client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                                       clean_session=True, protocol=MQTTProtocolVersion.MQTTv311)
        if target.username is not None:
            self._client.username_pw_set(target.username, target.password)
        if target.tls:
            self._client.tls_set(ca_certs=target.ca_file)
        self._client.max_inflight_messages_set(window)
        self._client.reconnect_delay_set(*RECONNECT_DELAY_S)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect

    # paho callbacks run on its network thread.
    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                    properties: Any) -> None:
        if reason_code.is_failure:
            self._refused = str(reason_code)
            log.warning("broker refused the connection",
                        extra={"broker": repr(self.target), "reason": self._refused})
        else:
            self._refused = None
            log.debug("connected", extra={"broker": repr(self.target)})
        self._connected.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason_code: Any,
                       properties: Any) -> None:
        self._connected.clear()
        if not self._closing:
            log.warning("connection lost; paho reconnects and resends",
                        extra={"broker": repr(self.target), "reason": str(reason_code),
                               "outstanding": len(self._pending)})

    def connect(self) -> None:
        """Connect and wait for the broker's CONNACK; ConnectionError when it refuses."""
        try:
            self._client.connect(self.target.host, self.target.port, KEEPALIVE_S)
        except OSError as exc:
            raise ConnectionError(f"cannot reach MQTT broker {self.target!r}: {exc}") from exc
        self._client.loop_start()
        if not self._connected.wait(self.connect_timeout_s) or self._refused:
            self._client.loop_stop()
            self._client.disconnect()
            reason = self._refused or f"no CONNACK within {self.connect_timeout_s:g} s"
            raise ConnectionError(f"MQTT broker {self.target!r}: {reason}")

    def _is_acked(self, info: mqtt.MQTTMessageInfo) -> bool:
        if info.rc == MQTTErrorCode.MQTT_ERR_NO_CONN:
            # Published while disconnected: paho kept the message and sends it after the
            # reconnect, but leaves rc at NO_CONN, on which wait_for_publish() raises at once.
            # The message is merely queued, which is what SUCCESS means for a QoS 1 message.
            info.rc = MQTTErrorCode.MQTT_ERR_SUCCESS
        return info.is_published()

    def _wait_oldest(self, timeout_s: float) -> None:
        info = self._pending[0]
        if not self._is_acked(info):
            info.wait_for_publish(timeout_s)
            if not info.is_published():
                raise TimeoutError(
                    f"MQTT broker {self.target!r} acknowledged nothing for {timeout_s:g} s "
                    f"({len(self._pending)} messages outstanding)")
        self._pending.popleft()
        self.acked += 1

    def publish(self, topic: str, payload: bytes) -> None:
        """Queue one QoS 1 message; blocks while ``window`` messages await acknowledgement."""
        # Retire what the broker acknowledged meanwhile, then make room if the window is full.
        while self._pending and self._is_acked(self._pending[0]):
            self._pending.popleft()
            self.acked += 1
        while len(self._pending) >= self.window:
            self._wait_oldest(self.ack_timeout_s)
        info = self._client.publish(topic, payload, qos=QOS)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:  # cannot happen inside the window
            raise RuntimeError(f"paho refused message {info.mid}: outgoing queue full")
        self._pending.append(info)
        self.sent += 1

    def flush(self, timeout_s: float | None = None) -> None:
        """Wait until the broker acknowledged every message published so far."""
        while self._pending:
            self._wait_oldest(self.ack_timeout_s if timeout_s is None else timeout_s)

    @property
    def outstanding(self) -> int:
        return len(self._pending)

    def close(self, *, flush: bool = True) -> None:
        try:
            if flush:
                self.flush()
        finally:
            self._closing = True
            self._client.disconnect()
            self._client.loop_stop()

    def __enter__(self) -> Publisher:
        self.connect()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        # On an error, leave at once rather than wait for acknowledgements.
        self.close(flush=exc_type is None)
