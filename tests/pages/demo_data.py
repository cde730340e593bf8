"""The demo's world for page tests: what `meetnet demo` registers (the Leiden scenario's
devices, all open, meetnet/demo.py `register_scenario`) and the scenario's uplinks up to now,
stored through ingest's real pipeline (`ingest.direct.DirectIngest`: envelope, decoder,
derivations, writer), so the pages read the same rows the demo's pages would.

    @pytest.fixture(scope="module")
    def demo(module_db: str) -> Iterator[Demo]:
        with serve(seed(module_db)) as running:
            yield running
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ingest.direct import DirectIngest
from meetnet.demo import SCENARIO_SEED, register_scenario
from meetnet.settings import Settings
from simulators.run import messages
from simulators.scenario.base import SimDevice
from simulators.scenario.leiden import build_scenario, scenario_devices
from support import LiveServer

#: Uplinks per DirectIngest call: one batch commit each.
CHUNK = 2000


@dataclass(frozen=True)
class Seeded:
    dsn: str
    start: datetime
    end: datetime
    devices: tuple[SimDevice, ...]
    uplinks: int

    def of(self, use_case: str) -> list[SimDevice]:
        return [d for d in self.devices if d.use_case == use_case]


@dataclass(frozen=True)
class Demo:
    seeded: Seeded
    api: httpx.Client  # the live app over HTTP (base_url set)

    @property
    def url(self) -> str:
        return str(self.api.base_url).rstrip("/")


def seed(dsn: str, days: float = 7.0, end: datetime | None = None) -> Seeded:
    """Register the demo's devices in the (migrated) database ``dsn`` and store the scenario's
    uplinks of the ``days`` before ``end`` (default: now, so "today" on a page has data)."""
    end = (end or datetime.now(UTC)).replace(second=0, microsecond=0)
    start = end - timedelta(days=days)
    register_scenario(dsn)
    scenario = build_scenario(seed=SCENARIO_SEED, start=start)
    batch: list[tuple[str, bytes]] = []
    stored = 0
    direct = DirectIngest(dsn)
    try:
        for _, topic, body in messages(scenario.uplinks(end)):
            batch.append((topic, body))
            if len(batch) >= CHUNK:
                stored += direct.ingest(batch).uplinks
                batch = []
        if batch:
            stored += direct.ingest(batch).uplinks
    finally:
        direct.close()
    return Seeded(dsn=dsn, start=start, end=end, devices=tuple(scenario_devices()),
                  uplinks=stored)


@contextlib.contextmanager
def serve(seeded: Seeded, **settings: Any) -> Iterator[Demo]:
    """The real app over HTTP on the seeded database (no rate limits: the tests make many
    requests from one address)."""
    from api import create_app

    app = create_app(Settings(database_url=seeded.dsn,  # type: ignore[arg-type]
                              api_rate_limit_per_minute=0,
                              api_anonymous_rate_limit_per_minute=0, **settings), seeded.dsn)
    with LiveServer(app) as client:
        yield Demo(seeded=seeded, api=client)
