"""Helpers shared by the tests (not fixtures): settings for a test's services, a live uvicorn
server for the real HTTP app, and polling."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import itertools
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion

from meetnet.runtime import BrokerServer, free_port
from meetnet.settings import Settings

_counter = itertools.count()


# Every directory a test asks for lives under one root per test run, removed when the run ends:
# a test that stops early would otherwise leave its directory in /tmp for good.
_ROOT = Path(tempfile.mkdtemp(prefix="meetnet-tests-", dir="/tmp"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


def tmpdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_ROOT))


def settings_for(db: str, broker: BrokerServer, **overrides: object) -> Settings:
    return Settings(database_url=db, mqtt_url=broker.url,  # type: ignore[arg-type]
                    mqtt_client_id=f"meetnet-test-{next(_counter)}-{time.time_ns()}",
                    data_dir=tmpdir("meetnet-data-"), **overrides)


class LiveServer:
    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_config=None,  # type: ignore[arg-type]
                                lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> httpx.Client:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise TimeoutError("API did not start")
            time.sleep(0.02)
        self.client = httpx.Client(base_url=self.url, timeout=10)
        return self.client

    def __exit__(self, *exc: object) -> None:
        self.client.close()
        self.server.should_exit = True
        self.thread.join(10)


def wait_for(predicate: Callable[[], object], timeout: float = 30.0,
             interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")


class MqttPublisher:
    """A plain paho client that publishes at QoS 1 and waits for each PUBACK, so a test knows
    the broker has the message before it looks for it."""

    def __init__(self, broker: BrokerServer, client_id: str = "test-publisher") -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@dataclasses.dataclass(frozen=True)
class SeedBin:
    """A waste bin (a Milesight EM310-UDL on a street litter bin) to register, with its fill %
    at each of the last ``hours`` hours (``fill(h)``, h = 0 the oldest)."""

    dev_eui: str
    organisation: str
    name: str
    lat: float | None
    lon: float | None
    fill: Callable[[int], float]
    visibility: str = "open"
    config: dict[str, float] = dataclasses.field(
        default_factory=lambda: {"bin_depth_m": 0.9, "full_distance_m": 0.15})


def seed_bins(db: str, bins: dict[str, SeedBin], *, key_for: str, hours: int = 30) -> str:
    """Register ``bins`` and store their hourly fill readings up to now, as the waste route
    and page tests need them; returns a new reader key of organisation ``key_for``."""
    import psycopg

    from store import Batch, ReadingRow, Writer, keys
    from store import devices as registry

    now = datetime.now(UTC).replace(microsecond=0)
    with psycopg.connect(db) as conn:
        ids = {name: registry.upsert_device(conn, registry.NewDevice(
            dev_eui=b.dev_eui, organisation=b.organisation, model_key="milesight-iot/em310-udl",
            name=b.name, use_case="waste", config=b.config, lat=b.lat, lon=b.lon,
            visibility=b.visibility)) for name, b in bins.items()}
        _, key = keys.create_key(conn, key_for, "reader")
    rows = [ReadingRow(now - timedelta(hours=hours - h), ids[name], "fill_level", b.fill(h))
            for name, b in bins.items() for h in range(hours + 1)]
    with Writer(db) as w:
        w.write(Batch(readings=rows))
    return key
