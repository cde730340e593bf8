"""Paging through readings (issue 10 acceptance): with any page size, following the `next`
links returns every reading of the window exactly once, in time order."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meetnet.settings import Settings
from store import Batch, ReadingRow, Writer
from store import devices as registry

START = datetime(2026, 10, 1, tzinfo=UTC)
END = START + timedelta(days=31)
_euis = (f"c0ffee00{n:08x}" for n in itertools.count(1))


@pytest.fixture(scope="module")
def world(module_db: str) -> Iterator[tuple[str, httpx.Client]]:
    from api import create_app
    from support import LiveServer

    app = create_app(Settings(database_url=module_db,  # type: ignore[arg-type]
                              api_anonymous_rate_limit_per_minute=0), module_db)
    with LiveServer(app) as client:
        yield module_db, client


def _seed(db: str, offsets: set[int]) -> tuple[str, list[datetime]]:
    eui = next(_euis)
    with psycopg.connect(db, autocommit=True) as conn:
        device_id = registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation="paging", model_key="elsys/ers-co2", name=eui,
            use_case="classroom", visibility="open"))
    # Microseconds included: the cursor must survive its round trip through a URL.
    times = sorted(START + timedelta(microseconds=o) for o in offsets)
    with Writer(db) as w:
        w.write(Batch(readings=[ReadingRow(t, device_id, "co2", float(i))
                                for i, t in enumerate(times)]))
    return eui, times


# Offsets in microseconds over the whole window, its first and last instants included; the
# end is exclusive, so a reading exactly at END must not come back.
_SPAN = int((END - START) / timedelta(microseconds=1))


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.function_scoped_fixture,
                                 HealthCheck.too_slow])
@given(offsets=st.sets(st.one_of(st.integers(0, _SPAN), st.sampled_from([0, _SPAN - 1, _SPAN])),
                       max_size=150),
       page=st.integers(1, 12))
def test_every_reading_exactly_once_whatever_the_page_size(
        world: tuple[str, httpx.Client], offsets: set[int], page: int) -> None:
    db, client = world
    eui, times = _seed(db, offsets)
    expected = [t for t in times if t < END]
    url: str | None = f"/v1/devices/{eui}/readings"
    params: dict[str, str | int] | None = {"metric": "co2", "from": START.isoformat(),
                                           "to": END.isoformat(), "limit": page}
    seen: list[datetime] = []
    pages = 0
    while url is not None:
        r = client.get(url, params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["readings"]) <= page
        seen += [datetime.fromisoformat(p["time"]) for p in body["readings"]]
        url, params = body["next"], None
        pages += 1
        assert pages <= len(expected) // page + 2, "paging does not end"
    assert seen == expected
    assert pages >= len(expected) // page  # the pages were really followed
