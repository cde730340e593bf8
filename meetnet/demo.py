"""``meetnet demo``: the whole platform on one machine with nothing installed beforehand.

Starts (or reuses, from ``MEETNET_DATABASE_URL`` / ``MEETNET_MQTT_URL``) PostgreSQL and an MQTT
broker, migrates, registers the Leiden scenario's devices, then runs ingest, the API and the
simulator until Ctrl-C. State lives in the data directory, so a second run continues where the
first stopped: the simulator backfills only the time since the last stored uplink.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from rich.console import Console

from meetnet.runtime import free_port, start_broker, start_postgres
from meetnet.settings import MqttTarget, Settings

log = logging.getLogger(__name__)

SCENARIO_SEED = 71  # Leiden's area code; any fixed seed makes runs repeatable


def _port_or_free(port: int) -> int:
    with socket.socket() as s:
        # As the servers themselves do: a port whose last connections linger in TIME_WAIT (a
        # demo stopped a minute ago) is free to listen on again.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return free_port()
    return port


def register_scenario(dsn: str) -> int:
    """Put the scenario's devices and applications in the registry, as open data."""
    from simulators.scenario.leiden import scenario_devices
    from store.devices import NewDevice, link_application, upsert_device

    devices = scenario_devices()
    with psycopg.connect(dsn) as conn, conn.transaction():
        for dev in devices:
            for network in ("tts", "chirpstack"):
                link_application(conn, network, dev.application_id, dev.organisation, "open")
            upsert_device(conn, NewDevice(
                dev_eui=dev.dev_eui, organisation=dev.organisation, model_key=dev.model_key,
                device_id=dev.device_id, application_id=dev.application_id, name=dev.name,
                use_case=dev.use_case, visibility="open", config=dict(dev.config),
                lat=dev.lat, lon=dev.lon))
    return len(devices)


def _last_uplink(dsn: str) -> datetime | None:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT max(received_at) FROM uplinks").fetchone()
    return row[0] if row and row[0] else None


def run_demo(settings: Settings, *, duration_s: float | None = None, history_days: float = 2.0,
             speed: float = 1.0) -> None:
    import uvicorn

    from api import create_app
    from ingest import Subscriber
    from simulators.run import backfill, run_scenario
    from store import migrate

    console = Console(stderr=True)
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        # 1. Database
        dsn = settings.database_dsn()
        if dsn is None:
            console.print(f"[bold]starting PostgreSQL[/] (data in {data / 'postgres'}) ...")
            try:
                pg = start_postgres(data / "postgres", prefer="embedded")
            except Exception as exc:  # an unsupported platform for the wheel: use the system's
                log.warning("embedded PostgreSQL failed (%s); trying the system's", exc)
                pg = start_postgres(data / "postgres", prefer="system")
            stack.callback(pg.stop)
            dsn = pg.dsn
        result = migrate(dsn)
        console.print(f"database ready ({'TimescaleDB' if result.timescale else 'PostgreSQL'})")
        # 2. Broker
        target = settings.mqtt_target()
        protocol = "auto"
        if target is None:
            broker = start_broker(data / "mqtt", port=_port_or_free(1883))
            stack.callback(broker.stop)
            target = MqttTarget(broker.url)
            # amqtt speaks MQTT 3.1.1 only (DESIGN.md, "Subscribe").
            protocol = "auto" if broker.kind == "mosquitto" else "3.1.1"
            console.print(f"broker: {broker.kind} on {broker.url}")
        # 3. Registry
        n = register_scenario(dsn)
        console.print(f"registered {n} Leiden scenario devices (open data)")
        # 4. Ingest
        sub = Subscriber(settings, dsn, target=target, protocol=protocol)
        ingest_thread = threading.Thread(target=sub.run, name="ingest", daemon=True)
        ingest_thread.start()
        stack.callback(ingest_thread.join, 15)
        stack.callback(sub.stop)
        if not sub.subscribed.wait(30):
            raise RuntimeError("ingest could not subscribe to the broker within 30 s")
        # 5. API
        port = _port_or_free(settings.api_port)
        server = uvicorn.Server(uvicorn.Config(create_app(settings, dsn), host=settings.api_host,
                                               port=port, log_config=None))
        api_thread = threading.Thread(target=server.run, name="api", daemon=True)
        api_thread.start()
        stack.callback(api_thread.join, 10)
        stack.callback(setattr, server, "should_exit", True)
        # 6. Simulator: history first (fast), then live.
        now = datetime.now(UTC)
        window_start = now - timedelta(days=history_days)
        since = max(window_start, _last_uplink(dsn) or window_start)
        if since < now - timedelta(minutes=1):
            published = backfill(target, start=since, end=now, seed=SCENARIO_SEED, progress=True)
            console.print(f"backfilled {published} uplinks since {since:%Y-%m-%d %H:%M} UTC")
        sim_kwargs: dict[str, Any] = {"speed": speed, "duration_s": None, "start": now,
                                      "seed": SCENARIO_SEED, "progress": False, "stop": stop}
        sim_thread = threading.Thread(target=run_scenario, args=(target,), kwargs=sim_kwargs,
                                      name="simulator", daemon=True)
        sim_thread.start()
        stack.callback(sim_thread.join, 10)
        stack.callback(stop.set)
        while not server.started and api_thread.is_alive():
            time.sleep(0.05)
        base = f"http://{settings.api_host}:{port}"
        console.print(
            "\n[bold green]meetnet is running[/]\n"
            f"  API docs       {base}/docs\n"
            f"  latest values  {base}/v1/latest\n"
            f"  devices        {base}/v1/devices\n"
            f"  map (GeoJSON)  {base}/v1/latest.geojson\n"
            f"  metrics        {base}/metrics\n"
            f"  MQTT broker    mqtt://{target.host}:{target.port} (publish TTS v3 uplinks here)\n"
            f"  data directory {data}\n"
            "Ctrl-C stops everything.\n"
        )
        deadline = time.monotonic() + duration_s if duration_s else None
        while not stop.is_set():
            if deadline and time.monotonic() > deadline:
                break
            stop.wait(0.5)
        console.print("stopping ...")
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    console.print(f"stopped; {sub.stats.messages} messages ingested this run")
