"""The MQTT subscriber: QoS 1, persistent session, manual ack after commit (docs/architecture.md step 2).

Threads: paho's network loop only enqueues messages (cheap, so it keeps reading the socket);
`Subscriber.run` takes them in batches (``batch_size`` or ``flush_interval_ms``) and ships them to
the store process (`ingest.store_process`), which builds the rows with the `Pipeline` and commits
them with the `Writer`; when its commit report comes back, every message of the batch is acked.
A crash anywhere before the ack means the broker redelivers; the dedup keys make that harmless.

Acks never cross a reconnect: after a reconnect the broker redelivers every unacked message
under new packet ids, so acking an old id could ack the wrong message. Every message carries the
generation of the connection it came in on; the generation grows on every disconnect and
connect, under a lock that the ack path holds while it checks the generation and queues the
PUBACKs. A batch's messages of an earlier connection are still stored (so that nothing received
is lost even if the broker lost our session), but not acked: their redelivered copies are
deduplicated and acked instead.

Stopping (`stop()`, SIGTERM, Ctrl-C) is bounded, also while the database is down: batches
already queued are shipped for at most `DRAIN_S`, the store process gets `STORE_CLOSE_S` to
commit what it holds and is killed after that (it never acks, so nothing uncommitted is acked),
then the last acks are written and the connection closed.
"""

from __future__ import annotations

import collections
import logging
import struct
import threading
import time
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from ingest import metrics
from ingest.backfill import ReconnectBackfill
from ingest.batch_store import Committed
from ingest.heartbeat import INTERVAL_S as HEARTBEAT_S
from ingest.heartbeat import Heartbeat
from ingest.pipeline import IngestLimits
from ingest.store_process import StoreProcess
from meetnet.settings import MqttTarget, Settings
from store import status

log = logging.getLogger(__name__)


class _PahoNoise(logging.Filter):
    """paho's network thread logs "Client is not connected" at ERROR when it runs once more
    after a disconnect (every clean stop does): nothing is wrong, so it is a DEBUG line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and str(record.msg).startswith(
                "Client is not connected"):
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
            return _paho_log.isEnabledFor(logging.DEBUG)
        return True


_paho_log = logging.getLogger("ingest.paho")
_paho_log.addFilter(_PahoNoise())

_RETRY_MAX_S = 30.0
_CONNACK_WAIT_S = 3.0
_POLL_S = 0.002
#: After a stop, messages already received are still shipped to the store process for this long;
#: what is left stays unacked with the broker.
DRAIN_S = 2.0
#: After a stop, the store process gets this long to commit what it holds before it is killed.
#: With DRAIN_S and the final acks, `meetnet ingest` ends within 10 s of SIGTERM even when the
#: database does not answer.
STORE_CLOSE_S = 5.0
#: Headroom above ``max_message_bytes`` (a payload limit) for the rest of a PUBLISH packet when
#: we announce our MQTT 5 Maximum Packet Size (section 3.1.2.11.4): fixed header (up to 5
#: bytes), the topic (2 + its length: a TTS v3 uplink topic is well under 300 bytes, 4 KiB leaves
#: room for long tenant, application and device ids), packet id and properties. A packet over the
#: limit is dropped by the broker (MQTT 5 section 3.1.2.11.4) instead of reaching us.
PACKET_HEADROOM = 4096
#: PUBACK, remaining length 2, packet id: MQTT 3.1.1 section 3.4, and MQTT 5 section 3.4.2.1 (the
#: reason code and properties may be left out when the reason is Success).
_PUBACK = struct.Struct("!BBH")
_PUBACK_TYPE = 0x40
#: Packets paho's network thread reads per wake-up (see `_Client.loop_read`).
READ_BURST = 256


#: One received message: (connection generation, packet id, QoS, topic, payload). A plain tuple,
#: not a NamedTuple: paho's thread builds one per message, and a tuple display is built in C.
_Msg = tuple[int, int, int, str, bytes]


class _Client(mqtt.Client):
    """paho's client, reading every packet that has arrived per wake-up instead of one.

    paho 2.x's `loop_read` reads one packet per call unless QoS 2 flows are in flight, so its
    network thread runs select(), the keepalive check and the rest of its loop once for every
    QoS 1 message: about a fifth of that thread's samples at full rate (py-spy, bench/ingest.py).
    Here the loop reads on until the socket has nothing more (paho's own stop condition,
    ``MQTT_ERR_AGAIN``), at most `READ_BURST` packets, then does its writes (the PUBACKs) and
    checks as before. Measured on 2 vCPUs: 2-6 us less CPU per message in the receiving
    process (of ~45-60), and bench/ingest.py's median ratio 0.74 -> 0.80 over 12 alternating
    runs each. It uses paho's per-packet reader, which is not public API; without it, paho's
    own `loop_read` runs.
    """

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        read = getattr(self, "_packet_read", None)
        handle = getattr(self, "_loop_rc_handle", None)
        if read is None or handle is None or not hasattr(self, "_sock"):
            return super().loop_read(max_packets)
        for _ in range(max(max_packets, READ_BURST)):
            if self._sock is None:
                return MQTTErrorCode.MQTT_ERR_NO_CONN
            rc: MQTTErrorCode = read()
            if rc > 0:
                result: MQTTErrorCode = handle(rc)
                return result
            if rc == MQTTErrorCode.MQTT_ERR_AGAIN:
                break
        return MQTTErrorCode.MQTT_ERR_SUCCESS


    def _handle_publish(self) -> MQTTErrorCode:
        """An MQTT 5 QoS 1 PUBLISH without properties, as network servers' uplinks arrive: the
        message is built here without paho's `Properties` object, which paho builds for every
        MQTT 5 PUBLISH, properties or not, at ~19 us each on a 2-vCPU VM (measured with
        timeit) against ~45-60 us for everything else this process does per message.

        Layout (MQTT 5.0 section 3.3.2): topic (2-byte length + bytes), packet id (2 bytes,
        QoS > 0), property length (variable byte integer: one 0x00 byte when there are none),
        payload. Anything else (properties, QoS 0 or 2, automatic acks, MQTT 3.1.1) is paho's.
        """
        packet = getattr(self, "_in_packet", {}).get("packet")
        header = getattr(self, "_in_packet", {}).get("command", 0)
        if (packet is None or (header & 0x06) >> 1 != 1 or not getattr(self, "_manual_ack", False)
                or self.protocol != MQTTProtocolVersion.MQTTv5):
            return super()._handle_publish()
        at = 2 + ((packet[0] << 8) | packet[1])  # after the topic
        if len(packet) < at + 3 or packet[at + 2] != 0:  # no packet id, or properties
            return super()._handle_publish()
        message = mqtt.MQTTMessage(mid=(packet[at] << 8) | packet[at + 1],
                                   topic=bytes(packet[2:at]))
        message.qos = 1
        message.dup = bool(header & 0x08)
        message.retain = bool(header & 0x01)
        message.payload = bytes(packet[at + 3:])
        message.timestamp = mqtt.time_func()
        # paho's own hand-over to on_message (and, with manual acks, no PUBACK here).
        self._handle_on_message(message)
        return MQTTErrorCode.MQTT_ERR_SUCCESS


class IngestError(RuntimeError):
    """Ingest stopped because storing failed (its store process died or could not start);
    unacked messages stay with the broker. `meetnet ingest` exits non-zero on it."""


@dataclass
class IngestStats:
    messages: int = 0
    batches: int = 0
    uplinks: int = 0
    readings: int = 0
    dead_letters: int = 0


class Subscriber:
    """Consumes uplinks from the broker and stores them; `run()` blocks until `stop()`."""

    def __init__(self, settings: Settings, dsn: str, *, target: MqttTarget | None = None,
                 protocol: str = "auto", heartbeat_s: float = HEARTBEAT_S) -> None:
        self.settings = settings
        self.dsn = dsn
        resolved = target or settings.mqtt_target()
        if resolved is None:
            raise ValueError("no broker configured: set MEETNET_MQTT_URL")
        self.target = resolved
        # "auto": MQTT 5 (Receive Maximum sized to the batch), falling back to 3.1.1 when the
        # broker refuses it; "3.1.1" for brokers known to speak only that (amqtt).
        self.protocol = protocol
        self._v5 = protocol in ("auto", "5")
        # A deque, not a queue.Queue: appends and pops are atomic without a lock or a condition
        # variable per message (paho's thread only appends, the run thread only pops).
        self._queue: collections.deque[_Msg] = collections.deque()
        self._stop = threading.Event()
        self._stop_at: float | None = None
        #: Connection generation: grows on every connect and disconnect. Written only under
        #: ``_gen_lock``, which the ack path holds while it checks and queues (see `_committed`).
        self._generation = 0
        self._gen_lock = threading.Lock()
        #: A connection succeeded before: a later CONNACK without a session means it was lost.
        self._had_session = False
        self.connected = threading.Event()
        self._protocol_refused = threading.Event()
        self._unreachable = threading.Event()

        self.subscribed = threading.Event()
        self.store_ready = threading.Event()
        self.store: StoreProcess | None = None
        self.stats = IngestStats()
        self.heartbeat_s = heartbeat_s
        self.heartbeat: Heartbeat | None = None
        #: Fetches from The Things Stack's Storage Integration what its QoS 0 MQTT lost while we
        #: were away (ingest.backfill), when configured.
        self.backfill: ReconnectBackfill | None = None
        self._state = "starting"
        #: monotonic time of the last commit report (None: nothing committed yet in this run)
        self._last_commit: float | None = None
        #: Batches shipped to the store process, by sequence number, until their commit report
        #: arrives and they are acked.
        self._shipped: dict[int, list[_Msg]] = {}
        self.client = self._make_client()

    # ------------------------------------------------------------------ paho side (network thread)

    def _make_client(self) -> mqtt.Client:
        proto = MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311
        kwargs: dict[str, Any] = {}
        if not self._v5:
            kwargs["clean_session"] = False
        client = _Client(CallbackAPIVersion.VERSION2, client_id=self.settings.mqtt_client_id,
                         protocol=proto, manual_ack=True, **kwargs)
        if self.target.username:
            client.username_pw_set(self.target.username, self.target.password)
        if self.target.tls:
            client.tls_set(ca_certs=self.target.ca_file)
        client.reconnect_delay_set(min_delay=1, max_delay=int(_RETRY_MAX_S))
        # Over 3.1.1 the broker's own in-flight cap applies; this is our side's receive window.
        client.max_inflight_messages_set(self.settings.receive_maximum)
        client.max_queued_messages_set(0)
        # An exception in one of our callbacks must not end paho's network thread (and with it
        # all ingest): paho logs it through the logger below and carries on.
        client.suppress_exceptions = True
        client.enable_logger(_paho_log)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_connect_fail = lambda client, userdata: self._unreachable.set()
        return client

    def _topics(self) -> list[tuple[str, int]]:
        group = self.settings.mqtt_shared_group
        return [(f"$share/{group}/{t}" if group else t, 1) for t in self.settings.mqtt_topics]

    def _on_connect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
                    properties: Properties | None) -> None:
        if reason.is_failure:
            # 0x84 (MQTT 5) / 1 (3.1.1): the broker does not speak our protocol version.
            if self._v5 and reason.value in (0x84, 1):
                self._protocol_refused.set()
            log.warning("broker refused connection: %s", reason)
            return
        with self._gen_lock:
            self._generation += 1
        present = bool(getattr(flags, "session_present", False))
        if self._had_session and not present:
            # We always ask for a persistent session (clean start off, a session expiry): the
            # broker lost it (restarted without persistence, or the expiry passed). Messages it
            # had queued for us are gone; what we received is stored (see `_committed`).
            metrics.SESSION_LOST.inc()
            log.warning("broker %s:%d did not keep our session (client id %s): messages it "
                        "queued for us while we were away may be lost", self.target.host,
                        self.target.port, self.settings.mqtt_client_id)
        self._had_session = True
        metrics.CONNECTED.set(1)
        self.connected.set()
        log.info("connected to %s:%d (session present: %s)", self.target.host, self.target.port,
                 present)
        # Always subscribe again: a broker restarted without a stored session has forgotten us.
        client.subscribe(self._topics())
        if self.backfill is not None:
            self.backfill.connected()  # only wakes its thread

    def _on_subscribe(self, client: mqtt.Client, userdata: Any, mid: int,
                      reason_codes: list[ReasonCode], properties: Properties | None) -> None:
        if any(rc.is_failure for rc in reason_codes):
            log.error("subscription refused: %s", [str(rc) for rc in reason_codes])
        else:
            self.subscribed.set()

    def _on_disconnect(self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode,
                       properties: Properties | None) -> None:
        # Before paho reconnects (and drops its unsent packets): from here on, no ack of a
        # message of the lost connection is queued.
        with self._gen_lock:
            self._generation += 1
        metrics.CONNECTED.set(0)
        self.connected.clear()
        self.subscribed.clear()
        if not self._stop.is_set():
            if self.backfill is not None:
                self.backfill.disconnected()
            log.warning("disconnected from broker (%s); paho reconnects with backoff", reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # The generation is read without the lock: paho calls this, on_connect and
        # on_disconnect one after another on its network thread, so no message of a connection
        # can be tagged with a later connection's generation. (The one other writer is our own
        # final disconnect, after the last ack.) A per-message lock would cost throughput.
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            # MQTT requires UTF-8 topics, but a broker may pass on others; paho's property
            # then raises here, on its network thread. Keep the message (it becomes a dead
            # letter with a readable topic) instead of losing it or the loop.
            raw = getattr(msg, "_topic", None)  # paho 2.x keeps the raw bytes only here
            topic = (raw.decode("utf-8", "replace") if isinstance(raw, bytes)
                     else "<topic not valid UTF-8>")
        self._queue.append((self._generation, msg.mid, msg.qos, topic, bytes(msg.payload)))

    # ---------------------------------------------------------------------- our side (run thread)

    def start(self) -> None:
        """Connect (asynchronously) and start paho's network thread."""
        props = None
        if self._v5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self.settings.mqtt_session_expiry_s
            props.ReceiveMaximum = self.settings.receive_maximum
            props.MaximumPacketSize = self.settings.max_message_bytes + PACKET_HEADROOM
            self.client.connect_async(self.target.host, self.target.port, keepalive=30,
                                      clean_start=False, properties=props)
        else:
            self.client.connect_async(self.target.host, self.target.port, keepalive=30)
        self.client.loop_start()

    def stop(self) -> None:
        """Ask `run()` to stop within a bounded time (safe from a signal handler): ship what was
        received for up to `DRAIN_S`, let the store process commit for up to `STORE_CLOSE_S`,
        ack what was committed, disconnect. Nothing uncommitted is acked."""
        if self._stop_at is None:
            self._stop_at = time.monotonic()
        self._stop.set()

    def _drain_over(self) -> bool:
        at = self._stop_at
        return at is not None and time.monotonic() - at > DRAIN_S

    def _status(self) -> tuple[str, float | None]:
        """For the heartbeat: (state, seconds since the last commit or None)."""
        last = self._last_commit
        state = self._state
        if state == "running" and not self.connected.is_set():
            state = "disconnected"
        return state, None if last is None else time.monotonic() - last

    def run(self) -> IngestStats:
        """Consume until `stop()`: returns what was stored; raises `IngestError` when storing
        became impossible (the store process died or could not start).

        This thread takes batches from the intake queue and ships them to the store process
        (`ingest.store_process`), which builds the rows and commits them; its commit reports
        arrive on a listener thread, which acks the batch's messages. Only then.
        """
        # Before our own heartbeat rewrites the row: did this client id ingest recently enough
        # that the broker should still hold its session? Then a CONNACK without one, even the
        # first, means the broker lost it.
        self._had_session = self._session_expected()
        heartbeat = None
        if self.heartbeat_s > 0:
            heartbeat = Heartbeat(self.dsn, self.settings.mqtt_client_id, self._status,
                                  interval_s=self.heartbeat_s)
            heartbeat.start()
        self.heartbeat = heartbeat
        final = "failed"
        try:
            self._run()
            final = "stopped"
        finally:
            self._state = final
            if heartbeat is not None:
                # Best effort, and short: with the database down it cannot be written anyway.
                heartbeat.stop(final, timeout=1.0)
        return self.stats

    def _session_expected(self) -> bool:
        try:
            with psycopg.connect(self.dsn, connect_timeout=2) as conn:
                age = status.seconds_since_seen(conn, self.settings.mqtt_client_id)
        except psycopg.Error:
            return False  # best effort: the store process reports a database that is down
        return age is not None and age < self.settings.mqtt_session_expiry_s

    def _run(self) -> None:
        # Before the store process: a bad setting ends here with nothing to clean up.
        self.backfill = ReconnectBackfill.from_settings(self.settings, self.dsn)
        self.store = store = StoreProcess(self.dsn, self._committed,
                                          log_level=self.settings.log_level,
                                          log_json=self.settings.log_json,
                                          limits=IngestLimits.from_settings(self.settings))
        # Connect only once messages can be stored: until then the broker keeps them.
        while not store.ready.wait(0.1):
            if self._stop.is_set() or not store.alive:
                store.close(0)
                if store.error is not None:
                    raise IngestError(store.error)
                return
        self.store_ready.set()
        self._state = "running"
        if self.backfill is not None:
            # Before connecting: where the stored uplinks end, before MQTT stores newer ones.
            self.backfill.start()
        if self.protocol == "auto":
            self._connect_v5_or_fallback()
        else:
            self.start()
        size = self.settings.batch_size
        interval = self.settings.flush_interval_ms / 1000.0
        seq = 0
        try:
            while store.alive:
                if self._stop.is_set():
                    self._state = "stopping"
                    if not self._queue or self._drain_over():
                        break
                msgs = self._take(size, interval)
                if msgs:
                    seq += 1
                    # Messages of an earlier connection are stored too (not acked, see
                    # `_committed`): if the broker lost our session they come nowhere else.
                    self._shipped[seq] = msgs
                    if not store.put(seq, [m[3:] for m in msgs], give_up=self._drain_over):
                        # Not shipped: unacked, so the broker keeps them.
                        self._shipped.pop(seq, None)
                        break
                    metrics.PENDING.set(store.pending)
        finally:
            self._state = "stopping"
            if self.backfill is not None:
                self.backfill.stop()
            store.close(STORE_CLOSE_S)
            # Give paho a moment to write the last acks before the DISCONNECT packet.
            time.sleep(0.05)
            self.client.disconnect()
            self.client.loop_stop()
            metrics.CONNECTED.set(0)
        if store.error is not None:
            raise IngestError(store.error)

    def _committed(self, done: Committed) -> None:
        """A batch is committed: now, and only now, acknowledge its messages, if they came in
        on the connection that is still up (else the broker redelivers them; dedup)."""
        msgs = self._shipped.pop(done.seq)
        self._last_commit = time.monotonic()
        # Under the lock on_disconnect takes: the connection cannot change between the check
        # and the acks entering paho's output queue, and paho clears that queue on reconnect.
        with self._gen_lock:
            gen = self._generation
            # Generations only grow along the queue: if the oldest message is of this
            # connection, all are.
            current = msgs if msgs[0][0] == gen else [m for m in msgs if m[0] == gen]
            if current:
                _ack_all(self.client, [m[1] for m in current if m[2] == 1])
                for m in current:
                    if m[2] == 2:
                        self.client.ack(m[1], 2)
        if len(current) < len(msgs):
            metrics.ACKS_DROPPED.inc(len(msgs) - len(current))
            log.info("%d committed messages of an earlier connection not acked; the broker "
                     "redelivers them and they are deduplicated", len(msgs) - len(current))
        if self.store is not None:
            metrics.PENDING.set(self.store.pending)
        self.stats.messages += done.messages
        self.stats.batches += 1
        self.stats.uplinks += done.uplinks
        self.stats.readings += done.readings
        self.stats.dead_letters += done.dead_letters
        metrics.UPLINKS.inc(done.uplinks)
        metrics.READINGS.inc(done.readings)
        for outcome, n in done.outcomes.items():
            metrics.MESSAGES.labels(outcome).inc(n)
        for stage, n in done.dead_stages.items():
            metrics.DEAD_LETTERS.labels(stage).inc(n)
        if done.retries:
            metrics.STORE_RETRIES.inc(done.retries)
        metrics.BATCH_SIZE.observe(done.messages)
        metrics.BATCH_SECONDS.observe(done.seconds)

    def _connect_v5_or_fallback(self) -> None:
        """Try MQTT 5; only if the broker refuses that protocol, use 3.1.1 (docs/architecture.md step 2).

        A broker that is merely unreachable is retried over MQTT 5 (paho reconnects with
        backoff): falling back on a timeout would cap batches at Mosquitto's 3.1.1 in-flight
        limit for the rest of the run.
        """
        self.start()
        deadline = time.monotonic() + _CONNACK_WAIT_S
        while not self._stop.is_set():
            if self.connected.wait(0.05):
                return
            if self._protocol_refused.is_set():
                break
            if self._unreachable.is_set():
                # The broker is down: keep trying MQTT 5 rather than guessing.
                self._unreachable.clear()
                deadline = time.monotonic() + _CONNACK_WAIT_S
            elif time.monotonic() > deadline:
                # Reachable but silent: amqtt never answers a CONNECT carrying MQTT 5
                # properties.
                break
        if self._stop.is_set():
            return
        log.warning("broker refused MQTT 5; falling back to MQTT 3.1.1")
        self.client.loop_stop()
        self._v5 = False
        self.protocol = "3.1.1"
        self.client = self._make_client()
        self.start()

    def _take(self, size: int, interval: float) -> list[_Msg]:
        """Up to ``size`` messages; waits at most ``interval`` for the batch to fill."""
        q = self._queue
        msgs: list[_Msg] = []
        deadline = time.monotonic() + interval
        while True:
            # Only this thread pops, so at least len(q) items are there to take.
            msgs += [q.popleft() for _ in range(min(len(q), size - len(msgs)))]
            if len(msgs) >= size or self._stop.is_set() or time.monotonic() >= deadline:
                return msgs
            # Poll rather than wake per message: a short sleep costs nothing per message and
            # at most this much latency, well inside the flush interval.
            time.sleep(_POLL_S)


def _ack_all(client: mqtt.Client, mids: list[int]) -> None:
    """Acknowledge a committed batch's QoS 1 messages with one write of all their PUBACKs.

    ``client.ack`` queues one packet per message, wakes paho's network thread and makes it send
    each PUBACK with its own system call: about a tenth of the receiving process's CPU at full
    rate. The packets are the same bytes, in the same order (MQTT 5 section 4.6: PUBACKs in the
    order the PUBLISHes came), handed to paho's output queue at once. That queue is not public
    API (paho-mqtt 2.x); without it, each message is acked the public way.
    """
    queue = getattr(client, "_packet_queue", None)
    if queue is None:
        for mid in mids:
            client.ack(mid, 1)
        return
    pack = _PUBACK.pack
    if mids:
        queue(_PUBACK_TYPE, b"".join([pack(_PUBACK_TYPE, 2, mid) for mid in mids]), 0, 0)
