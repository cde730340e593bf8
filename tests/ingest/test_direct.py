"""DirectIngest: messages that arrive without MQTT, stored through the same pipeline and writer."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from ingest.direct import DirectIngest, StoreUnavailable
from meetnet.runtime import free_port
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import devices as registry

T0 = datetime(2026, 11, 3, tzinfo=UTC)
BIN = SimDevice(dev_eui="24e124713c03bb01", device_id="bin-direct-1",
                application_id="meetnet-waste", model_key="milesight-iot/em310-udl",
                organisation="gemeente-leiden", use_case="waste", name="bin", lat=52.16,
                lon=4.49, config={"bin_depth_m": 1.5}, interval_s=600)


@pytest.fixture(autouse=True)
def _registered(db: str) -> None:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            device_id=BIN.device_id, application_id=BIN.application_id, config=BIN.config))


def _uplink(i: int) -> tuple[str, bytes]:
    port, payload = ENCODERS[BIN.model_key]({"distance": 0.5, "battery": 80, "tilt": 0})
    return tts_uplink(BIN, port, payload, f_cnt=i, received_at=T0 + timedelta(seconds=i))


def _count(db: str, sql: str) -> Any:
    with psycopg.connect(db) as conn:
        row = conn.execute(sql).fetchone()
        assert row is not None
        return row[0]


def test_messages_are_committed_before_ingest_returns_and_a_retry_is_harmless(db: str) -> None:
    direct = DirectIngest(db)
    try:
        first = direct.ingest([_uplink(1), _uplink(2)])
        # Returned means committed: another connection sees the rows now.
        assert _count(db, "SELECT count(*) FROM uplinks") == 2
        assert (first.messages, first.uplinks) == (2, 2)
        assert first.readings > 0
        again = direct.ingest([_uplink(2)])
        assert (again.messages, again.uplinks, again.readings) == (1, 0, 0)
        assert _count(db, "SELECT count(*) FROM uplinks") == 2
    finally:
        direct.close()


def test_bad_messages_are_dead_letters_like_on_mqtt(db: str) -> None:
    direct = DirectIngest(db)
    try:
        topic, _ = _uplink(3)
        stored = direct.ingest([(topic, b"{not json\x00\xff")])
        assert stored.dead_letters == 1 and stored.dead_stages == {"parse": 1}
        assert _count(db, "SELECT count(*) FROM dead_letters WHERE stage = 'parse'") == 1
    finally:
        direct.close()


def test_concurrent_callers_each_get_their_own_commit(db: str) -> None:
    direct = DirectIngest(db)
    results: dict[int, int] = {}
    errors: list[BaseException] = []

    def send(k: int) -> None:
        try:
            results[k] = direct.ingest([_uplink(100 + 10 * k + j) for j in range(10)]).uplinks
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(k,)) for k in range(4)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        direct.close()
    assert not errors
    # Each caller's report is its own batch's, not another caller's.
    assert results == {0: 10, 1: 10, 2: 10, 3: 10}


def test_an_unreachable_database_raises_instead_of_waiting() -> None:
    direct = DirectIngest(f"postgresql://meetnet@127.0.0.1:{free_port()}/meetnet"
                          "?connect_timeout=2")
    with pytest.raises(StoreUnavailable):
        direct.ingest([_uplink(1)])
    direct.close()
