"""``meetnet demo``: the whole platform on one machine with nothing installed beforehand.

Starts (or reuses, from ``MEETNET_DATABASE_URL`` / ``MEETNET_MQTT_URL``) PostgreSQL and an MQTT
broker, migrates, registers the Leiden scenario's devices, then runs ingest, the API and the
simulator until Ctrl-C or SIGTERM, which end it within `STOP_LIMIT_S` seconds whatever hangs. If
a part stops on its own (ingest, the API, the simulator, the broker, PostgreSQL), the demo says
which and exits 1. State lives in the data directory, so a second run continues where the
first stopped: the simulator backfills only the time since the last stored uplink.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
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


#: A stop (Ctrl-C, SIGTERM) ends the demo within this many seconds, whatever hangs: after it,
#: the parts still running are named, our child processes killed, and the process exits 1.
STOP_LIMIT_S = 9.0
#: PostgreSQL counts as stopped after this many failed pings in a row, one every PING_S.
PING_S = 5.0
PING_FAILURES = 3


class PartStopped(RuntimeError):
    """A part of the demo (ingest, the API, the simulator, the broker, PostgreSQL) stopped."""


class _Stopper:
    """Signal handling with a bound: the first SIGINT/SIGTERM asks every part to stop; if the
    process is still running `STOP_LIMIT_S` later (a part hangs, e.g. on a database that went
    away), or on a second signal, it says which step hangs, kills our children and exits 1."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.stop = threading.Event()
        #: What the demo is doing now, named when a stop does not finish in time.
        self.phase = "starting"
        #: Called (best effort) before a forced exit: kill the child processes we started.
        self.kills: list[Callable[[], object]] = []
        self._timer: threading.Timer | None = None

    def __call__(self, signum: int, frame: object) -> None:
        if self.stop.is_set():
            self.force(f"second {signal.Signals(signum).name}")
            return
        self.stop.set()
        self._timer = threading.Timer(STOP_LIMIT_S, self.force, args=(f"{STOP_LIMIT_S:.0f} s",))
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def force(self, why: str) -> None:
        with contextlib.suppress(Exception):
            self.console.print(f"[bold red]not stopped after {why}[/] (hanging at: {self.phase}); "
                               "killing what is left")
        for kill in reversed(self.kills):
            with contextlib.suppress(Exception):
                kill()
        os._exit(1)


class _DbWatch:
    """Pings PostgreSQL every `PING_S` on its own thread (a ping to a hung server must not hold
    the demo's main loop); `down` says why after `PING_FAILURES` failures in a row."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.down: str | None = None
        self._failures = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="demo-db-watch", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(PING_S):
            try:
                with psycopg.connect(self.dsn, connect_timeout=3) as conn:
                    conn.execute("SELECT 1")
                self._failures = 0
            except psycopg.Error as exc:
                self._failures += 1
                if self._failures >= PING_FAILURES:
                    first = str(exc).strip().splitlines()
                    self.down = (f"not reachable for {PING_FAILURES * PING_S:.0f} s"
                                 + (f" ({first[0]})" if first else ""))


def run_demo(settings: Settings, *, duration_s: float | None = None, history_days: float = 2.0,
             speed: float = 1.0) -> int:
    """Run everything until Ctrl-C/SIGTERM (exit status 0) or until a part stops (the demo
    says which, and returns 1)."""
    import uvicorn

    from api import create_app
    from ingest import Subscriber
    from simulators.run import backfill, run_scenario
    from store import migrate

    console = Console(stderr=True)
    stopper = _Stopper(console)
    stop = stopper.stop
    previous = {s: signal.signal(s, stopper) for s in (signal.SIGINT, signal.SIGTERM)}
    data = settings.data_dir
    data.mkdir(parents=True, exist_ok=True)
    stopped: str | None = None
    sub: Subscriber | None = None
    try:
        with contextlib.ExitStack() as stack:
            # 1. Database
            dsn = settings.database_dsn()
            if dsn is None:
                stopper.phase = "starting PostgreSQL"
                console.print(f"[bold]starting PostgreSQL[/] (data in {data / 'postgres'}) ...")
                try:
                    pg = start_postgres(data / "postgres", prefer="embedded")
                except Exception as exc:  # an unsupported platform for the wheel: the system's
                    log.warning("embedded PostgreSQL failed (%s); trying the system's", exc)
                    pg = start_postgres(data / "postgres", prefer="system")
                stack.callback(_step, stopper, "stopping PostgreSQL", pg.stop)
                dsn = pg.dsn
            stopper.phase = "migrating the database"
            result = migrate(dsn)
            console.print(f"database ready ({'TimescaleDB' if result.timescale else 'PostgreSQL'})")
            # 2. Broker
            target = settings.mqtt_target()
            protocol = "auto"
            broker = None
            if target is None:
                stopper.phase = "starting the MQTT broker"
                broker = start_broker(data / "mqtt", port=_port_or_free(1883),
                                      max_message_bytes=settings.max_message_bytes)
                stack.callback(_step, stopper, "stopping the MQTT broker", broker.stop)
                stopper.kills.append(lambda: broker.proc.kill() if broker else None)
                target = MqttTarget(broker.url)
                # amqtt speaks MQTT 3.1.1 only (docs/architecture.md, "Subscribe").
                protocol = "auto" if broker.kind == "mosquitto" else "3.1.1"
                console.print(f"broker: {broker.kind} on {broker.url}")
            # 3. Registry
            stopper.phase = "registering the scenario's devices"
            n = register_scenario(dsn)
            console.print(f"registered {n} Leiden scenario devices (open data)")
            # 4. Ingest
            stopper.phase = "starting ingest"
            sub = Subscriber(settings, dsn, target=target, protocol=protocol)
            ingest_errors: list[BaseException] = []
            ingest_thread = threading.Thread(target=_run_ingest, args=(sub, ingest_errors),
                                             name="ingest", daemon=True)
            ingest_thread.start()
            stopper.kills.append(lambda: sub.store.proc.kill() if sub and sub.store else None)
            # Stops run in parallel where they can: flags first, then one join each.
            stack.callback(_step, stopper, "stopping ingest", ingest_thread.join,
                           STOP_LIMIT_S - 1)
            stack.callback(sub.stop)
            deadline = time.monotonic() + 30
            while not sub.subscribed.wait(0.2):
                if stop.is_set() or not ingest_thread.is_alive():
                    break
                if time.monotonic() > deadline:
                    raise PartStopped("ingest could not subscribe to the broker within 30 s")
            # 5. API
            stopper.phase = "starting the API"
            port = _port_or_free(settings.api_port)
            server = uvicorn.Server(uvicorn.Config(
                create_app(settings, dsn), host=settings.api_host, port=port, log_config=None,
                timeout_graceful_shutdown=2))
            api_thread = threading.Thread(target=server.run, name="api", daemon=True)
            api_thread.start()
            stack.callback(_step, stopper, "stopping the API", api_thread.join, 3)
            stack.callback(setattr, server, "should_exit", True)
            while not server.started and api_thread.is_alive() and not stop.is_set():
                time.sleep(0.05)
            db_watch = _DbWatch(dsn)
            stack.callback(db_watch.close)
            base = f"http://{settings.api_host}:{port}"
            if not stop.is_set():
                from simulators.scenario.leiden import scenario_devices

                devices = scenario_devices()
                room = next(d for d in devices if d.use_case == "classroom")
                radar = next(d for d in devices if d.model_key == "parametric/tcr")
                console.print(
                    "\n[bold green]meetnet is running[/] (history is backfilled first)\n"
                    f"  front door     {base}/ (?lang=en for English)\n"
                    f"  a classroom    {base}/classrooms/{room.dev_eui}\n"
                    f"  a school       {base}/schools/{room.organisation}\n"
                    f"  waste bins     {base}/waste\n"
                    f"  water levels   {base}/water\n"
                    f"  zebra crossing {base}/crossings/{radar.dev_eui}\n"
                    f"  API docs       {base}/docs\n"
                    f"  latest values  {base}/v1/latest\n"
                    f"  devices        {base}/v1/devices\n"
                    f"  map (GeoJSON)  {base}/v1/latest.geojson\n"
                    f"  readiness      {base}/readyz (database and ingest: alive, last commit)\n"
                    f"  metrics        {base}/metrics\n"
                    f"  MQTT broker    mqtt://{target.host}:{target.port} (publish TTS v3 uplinks "
                    "here)\n"
                    f"  data directory {data}\n"
                    "Ctrl-C stops everything.\n"
                )
            # 6. Simulator: history first (fast), then live.
            stopper.phase = "backfilling history"
            now = datetime.now(UTC)
            window_start = now - timedelta(days=history_days)
            since = max(window_start, _last_uplink(dsn) or window_start)
            if since < now - timedelta(minutes=1) and not stop.is_set():
                published = backfill(target, start=since, end=now, seed=SCENARIO_SEED,
                                     progress=True, stop=stop)
                console.print(f"backfilled {published} uplinks since {since:%Y-%m-%d %H:%M} UTC")
            sim_kwargs: dict[str, Any] = {"speed": speed, "duration_s": None, "start": now,
                                          "seed": SCENARIO_SEED, "progress": False, "stop": stop}
            sim_thread = threading.Thread(target=run_scenario, args=(target,), kwargs=sim_kwargs,
                                          name="simulator", daemon=True)
            sim_thread.start()
            stack.callback(_step, stopper, "stopping the simulator", sim_thread.join, 3)
            stack.callback(stop.set)
            # 7. Alerts: the same loop as `meetnet alerts run`, ended by the same stop event.
            from alerts.runner import run_forever

            alerts_thread = threading.Thread(target=run_forever, args=(dsn, settings, stop),
                                             name="alerts", daemon=True)
            alerts_thread.start()
            stack.callback(_step, stopper, "stopping the alert loop", alerts_thread.join, 3)
            stack.callback(stop.set)
            stopper.phase = "running"
            parts: dict[str, Callable[[], str | None]] = {
                "ingest": lambda: None if ingest_thread.is_alive() else (
                    str(ingest_errors[0]) if ingest_errors else "its thread ended"),
                "the API": lambda: None if api_thread.is_alive() else "its server ended",
                "the simulator": lambda: None if sim_thread.is_alive() else "it ended",
                "the alert loop": lambda: None if alerts_thread.is_alive() else "it ended",
                "PostgreSQL": lambda: db_watch.down,
            }
            if broker is not None:
                parts["the MQTT broker"] = lambda: (
                    None if broker is None or broker.proc.poll() is None
                    else f"its process exited with {broker.proc.returncode}")
            deadline_run = time.monotonic() + duration_s if duration_s else None
            while not stop.is_set() and stopped is None:
                if deadline_run and time.monotonic() > deadline_run:
                    break
                stop.wait(0.5)
                for name, why in parts.items():
                    reason = why()
                    if reason is not None and not stop.is_set():
                        stopped = f"{name} stopped: {reason}"
                        break
            if stopped:
                console.print(f"[bold red]{stopped}[/]; stopping everything")
            console.print("stopping ...")
            stopper.phase = "stopping"
            # Every part starts stopping now, in parallel; the joins below then wait for each.
            stop.set()
            server.should_exit = True
            sub.stop()
    except PartStopped as exc:
        stopped = str(exc)
        console.print(f"[bold red]{stopped}[/]")
    finally:
        stopper.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    console.print(f"stopped; {sub.stats.messages if sub else 0} messages ingested this run")
    return 1 if stopped else 0


def _run_ingest(sub: Any, errors: list[BaseException]) -> None:
    try:
        sub.run()
    except Exception as exc:  # reported by the demo's main loop as "ingest stopped: ..."
        errors.append(exc)


def _step(stopper: _Stopper, phase: str, fn: Callable[..., object], *args: object) -> None:
    """One shutdown step, named, so that a forced exit can say which one hung."""
    stopper.phase = phase
    fn(*args)
