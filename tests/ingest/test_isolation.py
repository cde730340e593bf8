"""One message can never stop ingest nor hold back the others (issue 9, items 1, 3 and 4): the
pipeline and the batch store on a real PostgreSQL."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from ingest.batch_store import BatchStore, Committed
from ingest.pipeline import IngestLimits, Pipeline
from simulators.encoders import ENCODERS
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import Batch, Writer
from store import devices as registry
from store.rows import DEAD_LETTER_KEEP_BYTES

T0 = datetime(2026, 11, 3, tzinfo=UTC)
BIN = SimDevice(dev_eui="24e124713c03aa01", device_id="bin-iso-1", application_id="meetnet-waste",
                model_key="milesight-iot/em310-udl", organisation="gemeente-leiden",
                use_case="waste", name="bin", lat=52.16, lon=4.49,
                config={"bin_depth_m": 1.5}, interval_s=600)


def _register(db: str, **binding: Any) -> None:
    with psycopg.connect(db) as conn:
        registry.upsert_device(conn, registry.NewDevice(
            dev_eui=BIN.dev_eui, organisation=BIN.organisation, model_key=BIN.model_key,
            device_id=BIN.device_id, application_id=BIN.application_id, config=BIN.config,
            **binding))


def _uplink(i: int, dev: SimDevice = BIN) -> tuple[str, bytes]:
    port, payload = ENCODERS[dev.model_key]({"distance": 0.5, "battery": 80, "tilt": 0})
    return tts_uplink(dev, port, payload, f_cnt=i, received_at=T0 + timedelta(seconds=i))


def _rows(db: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(db) as conn:
        return conn.execute(sql).fetchall()  # type: ignore[arg-type]


def _store(db: str, msgs: list[tuple[str, bytes]], limits: IngestLimits | None = None
           ) -> list[Committed]:
    reports: list[Committed] = []
    store = BatchStore(db, reports.append, limits=limits)
    store.put(1, msgs)
    store.close()
    return reports


def test_an_exception_in_one_message_is_an_internal_dead_letter(db: str) -> None:
    _register(db)
    pipeline = Pipeline(db)
    try:
        good = _uplink(1)
        batch = Batch()

        def broken(*args: object) -> None:
            # Stands in for any bug below the envelope: the decoder raising something that is
            # not a DecodeError, after the uplink row was already added.
            raise RecursionError("maximum recursion depth exceeded")

        pipeline.handle(*good, batch)
        original = pipeline._decode
        pipeline._decode = broken  # type: ignore[method-assign,assignment]
        pipeline.handle(*_uplink(2), batch)
        pipeline._decode = original  # type: ignore[method-assign]
        pipeline.handle(*_uplink(3), batch)
    finally:
        pipeline.close()
    # The failing message's own rows were taken back; the others are whole.
    assert [u.f_cnt for u in batch.uplinks] == [1, 3]
    assert [d.stage for d in batch.dead_letters] == ["internal"]
    assert batch.dead_letters[0].reason.startswith("RecursionError: maximum recursion")
    assert batch.outcomes == {"stored": 2, "dead_letter": 1}
    with Writer(db) as writer:
        writer.write(batch)


def test_a_message_whose_rows_cannot_be_encoded_does_not_hold_back_its_batch(db: str) -> None:
    """Ranges at the door keep today's values in their columns; should a value still not fit
    (here: a decoded object json cannot dump), only its message is dead-lettered."""
    _register(db)
    topic, body = _uplink(5)
    doc = json.loads(body)
    nested: object = 1
    for _ in range(600):  # parsed fine, too deep for the jsonb encoder
        nested = [nested]
    doc["uplink_message"]["decoded_payload"] = {"deep": nested}
    msgs = [_uplink(4), (topic, json.dumps(doc).encode()), _uplink(6)]
    reports = _store(db, msgs)
    assert len(reports) == 1 and reports[0].outcomes == {"stored": 2, "dead_letter": 1}
    assert _rows(db, "SELECT f_cnt FROM uplinks ORDER BY f_cnt") == [(4,), (6,)]
    dead = _rows(db, "SELECT stage, reason FROM dead_letters")
    assert len(dead) == 1 and dead[0][0] == "internal", dead


@pytest.mark.parametrize("f_cnt", [9223372036854775808, 2**64 + 5, 1e300, -5])
def test_out_of_range_frame_counters_are_parse_dead_letters(db: str, f_cnt: object) -> None:
    _register(db)
    topic, body = _uplink(10)
    doc = json.loads(body)
    doc["uplink_message"]["f_cnt"] = f_cnt
    reports = _store(db, [_uplink(9), (topic, json.dumps(doc).encode()), _uplink(11)])
    assert reports[0].outcomes == {"stored": 2, "dead_letter": 1}
    assert _rows(db, "SELECT count(*) FROM uplinks") == [(2,)]
    (stage, reason), = _rows(db, "SELECT stage, reason FROM dead_letters")
    assert stage == "parse" and "f_cnt" in reason


def test_oversize_messages_are_dead_letters_keeping_64_kib_length_and_hash(db: str) -> None:
    import hashlib

    topic, body = _uplink(1)
    huge = body + b" " * 200_000  # still valid JSON: the size alone refuses it
    reports = _store(db, [(topic, huge)], IngestLimits(max_message_bytes=65536))
    assert reports[0].dead_stages == {"parse": 1}
    (reason, kept, length, digest), = _rows(
        db, "SELECT reason, length(payload), payload_length, payload_sha256 FROM dead_letters")
    assert "larger than the limit of 65536 bytes" in reason
    assert kept == DEAD_LETTER_KEEP_BYTES and length == len(huge)
    assert bytes(digest) == hashlib.sha256(huge).digest()


def test_nul_bytes_and_invalid_utf8_end_as_dead_letters(db: str) -> None:
    _register(db)
    topic, body = _uplink(1)
    msgs = [(topic, b"\xff\xfe\x00garbage"), (topic, body.replace(b"bin-iso-1", b"bin\\u0000")),
            (topic.replace("bin-iso-1", "bin\x00iso"), body), _uplink(2)]
    reports = _store(db, msgs)
    assert reports[0].outcomes == {"stored": 1, "dead_letter": 3}
    dead = _rows(db, "SELECT stage, topic, reason FROM dead_letters ORDER BY stage")
    assert [d[0] for d in dead] == ["lookup", "parse", "parse"]
    # Kept, with the NUL escaped: PostgreSQL text cannot hold it.
    assert "bin\\x00iso" in dead[0][1] and "\x00" not in dead[0][2]


# ------------------------------------------------------------------------ who may send what

def test_a_registered_device_named_from_another_application_is_refused(db: str) -> None:
    _register(db)
    other = SimDevice(**{**BIN.__dict__, "application_id": "someone-else"})
    reports = _store(db, [_uplink(1, other), _uplink(2)])
    assert reports[0].dead_stages == {"lookup": 1}
    (reason,), = _rows(db, "SELECT reason FROM dead_letters")
    assert reason.startswith("application mismatch") and "someone-else" in reason
    # No uplink row and no readings for the forged message.
    assert _rows(db, "SELECT f_cnt FROM uplinks") == [(2,)]


def test_a_device_bound_to_a_network_and_tenant_refuses_others(db: str) -> None:
    _register(db, network="chirpstack")
    reports = _store(db, [_uplink(1)])
    assert reports[0].dead_stages == {"lookup": 1}
    assert "registered on network chirpstack" in _rows(db, "SELECT reason FROM dead_letters")[0][0]


def test_auto_registration_binds_the_device_to_where_it_was_heard(db: str) -> None:
    from simulators.tts import tts_message, tts_topic

    with psycopg.connect(db) as conn:
        registry.link_application(conn, "tts", "auto-app", "gemeente-leiden")
    dev = SimDevice(**{**BIN.__dict__, "dev_eui": "24e124713c03aa77", "application_id": "auto-app"})
    port, payload = ENCODERS[dev.model_key]({"distance": 0.5, "battery": 80, "tilt": 0})
    doc = tts_message(dev, port, payload, 1, T0, "ttn")
    doc["uplink_message"]["version_ids"] = {"brand_id": "milesight-iot", "model_id": "em310-udl"}
    _store(db, [(tts_topic(dev, "ttn"), json.dumps(doc).encode())])
    assert _rows(db, "SELECT network, tenant_id, application_id FROM devices "
                     "WHERE dev_eui = '24e124713c03aa77'") == [("tts", "ttn", "auto-app")]


# ---------------------------------------------------------------------- bounded device cache

def test_a_flood_of_made_up_dev_euis_costs_no_memory_and_no_query_each(db: str) -> None:
    _register(db)
    pipeline = Pipeline(db, IngestLimits(device_cache_size=50))
    try:
        batch = Batch()
        for i in range(2000):
            eui = secrets.token_hex(8)
            dev = SimDevice(**{**BIN.__dict__, "dev_eui": eui, "device_id": f"made-up-{i}"})
            pipeline.handle(*_uplink(i, dev), batch)
        flood_queries = pipeline.devices.queries
        for i in range(100):
            pipeline.handle(*_uplink(5000 + i), batch)
        cache = pipeline.devices
        assert len(cache._entries) <= 50
        assert flood_queries <= 3, flood_queries  # the registered set, refreshed at most a few times
        assert cache.queries - flood_queries <= 2  # the real device: looked up once, then cached
    finally:
        pipeline.close()
    assert batch.outcomes["dead_letter"] == 2000 and batch.outcomes["stored"] == 100


def test_the_device_cache_drops_the_least_recently_used(db: str) -> None:
    devs = [SimDevice(**{**BIN.__dict__, "dev_eui": f"24e124713c04{i:04x}",
                         "device_id": f"lru-{i}"}) for i in range(5)]
    with psycopg.connect(db) as conn:
        for d in devs:
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key,
                device_id=d.device_id, application_id=d.application_id, config=d.config))
    pipeline = Pipeline(db, IngestLimits(device_cache_size=3))
    try:
        cache = pipeline.devices
        for d in devs[:3]:
            assert cache.get(d.dev_eui) is not None
        cache.get(devs[0].dev_eui)  # used again: now the most recent
        cache.get(devs[3].dev_eui)  # evicts devs[1], the least recently used
        assert list(cache._entries) == [devs[2].dev_eui, devs[0].dev_eui, devs[3].dev_eui]
    finally:
        pipeline.close()
