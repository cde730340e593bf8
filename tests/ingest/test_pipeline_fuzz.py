"""Any payload, for any registered model and port, goes through the real pipeline into the real
database as readings or as a dead letter with a reason: never an exception, never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import decoders
from decoders import DecodeError
from decoders.config import config_model
from ingest.pipeline import Pipeline
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import Batch, Writer
from store import devices as registry

MODELS = sorted(decoders.MODELS)
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def _device(i: int, key: str) -> SimDevice:
    return SimDevice(dev_eui=f"f0220000{i:08x}", device_id=f"fuzz-{i}", application_id="fuzz",
                     model_key=key, organisation="fuzz", use_case="any", name=key, lat=52.0,
                     lon=4.5, config={"bin_depth_m": 1.5, "mount_height_nap_m": 1.0,
                                      "sensor_depth_nap_m": -2.0})


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_payload_is_stored_or_dead_lettered(db: str, data: st.DataObject) -> None:
    with psycopg.connect(db) as conn:
        for i, key in enumerate(MODELS):
            dev = _device(i, key)
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=dev.dev_eui, organisation=dev.organisation, model_key=key,
                config=dev.config))
    i = data.draw(st.integers(0, len(MODELS) - 1), label="model")
    port = data.draw(st.integers(1, 223), label="f_port")
    payload = data.draw(st.binary(min_size=1, max_size=48), label="payload")
    f_cnt = data.draw(st.integers(0, 2**31), label="f_cnt")
    dev = _device(i, MODELS[i])
    topic, body = tts_uplink(dev, port, payload, f_cnt=f_cnt,
                             received_at=T0 + timedelta(seconds=f_cnt % 86400))
    pipeline = Pipeline(db)
    try:
        batch = Batch()
        pipeline.handle(topic, body, batch)
    finally:
        pipeline.close()
    assert len(batch.uplinks) == 1  # the raw uplink is always kept
    try:
        config = config_model(dev.use_case).model_validate(dev.config)
        decoded = decoders.decode(MODELS[i], port, payload, config)
    except DecodeError:
        decoded = None
    if decoded is None:  # refused by the decoder: kept with the reason
        assert [d.stage for d in batch.dead_letters] == ["decode"]
    elif decoded:  # every value either stored or refused with a reason
        assert batch.readings or [d.stage for d in batch.dead_letters] == ["validate"]
    else:
        # A valid frame that carries no catalog metric (an LPP digital input, a Milesight
        # device-information frame): the raw uplink is what there is to keep.
        assert not batch.readings and not batch.dead_letters
    with Writer(db) as writer:  # and the database takes whatever the pipeline produced
        writer.write(batch)


def test_every_scenario_device_is_derived_with_its_use_case_config(db: str) -> None:
    """Each use case's config carries keys only its own model knows (a gauge's target level, a
    classroom's timetable): ingest must read the config by that model, as registration
    validates it. Read by the base model, the scenario's gauges (seasonal target in their
    config) were refused and got no level in m NAP."""
    from simulators.encoders import ENCODERS
    from simulators.scenario import build_scenario, scenario_devices

    devices = scenario_devices()
    with psycopg.connect(db) as conn:
        for dev in devices:
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=dev.dev_eui, organisation=dev.organisation, model_key=dev.model_key,
                use_case=dev.use_case, config=dict(dev.config)))
    scenario = build_scenario(start=T0)
    first = {}
    for up in scenario.uplinks(T0 + timedelta(hours=2)):
        first.setdefault(up.device.dev_eui, up)
    assert set(first) == {d.dev_eui for d in devices}
    pipeline = Pipeline(db)
    batch = Batch()
    try:
        for up in first.values():
            f_port, payload = ENCODERS[up.device.model_key](up.values)
            topic, body = tts_uplink(up.device, f_port, payload, f_cnt=1, received_at=up.time)
            pipeline.handle(topic, body, batch)
    finally:
        pipeline.close()
    assert not batch.dead_letters, [d.reason for d in batch.dead_letters]
    derived = {"water": "water_level", "waste": "fill_level"}
    with psycopg.connect(db) as conn:
        eui_of = dict(conn.execute("SELECT id, dev_eui FROM devices").fetchall())
    metrics: dict[str, set[str]] = {}
    for r in batch.readings:
        metrics.setdefault(eui_of[r.device_id], set()).add(r.metric)
    for dev in devices:
        if dev.use_case in derived:
            assert derived[dev.use_case] in metrics.get(dev.dev_eui, set()), dev.name
