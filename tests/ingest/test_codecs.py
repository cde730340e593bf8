"""An organisation attaches its own JavaScript codec to a model; ingest decodes that model's
uplinks with it, and a hostile codec becomes dead letters without stalling ingest."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from typer.testing import CliRunner

import decoders
from ingest.pipeline import Pipeline
from meetnet.cli import app
from simulators.scenario.base import SimDevice
from simulators.tts import tts_uplink
from store import Batch, Writer
from store import devices as registry

CODECS = Path(__file__).resolve().parents[1] / "vectors" / "codecs"
FIELDS = {"temperature": "temperature", "relative_humidity": "humidity",
          "barometric_pressure": ["pressure", 100.0]}
runner = CliRunner()
T0 = datetime(2026, 11, 23, 9, tzinfo=UTC)


def _device(eui: str, key: str) -> SimDevice:
    return SimDevice(dev_eui=eui, device_id=f"dev-{eui[-4:]}", application_id="proto",
                     model_key=key, organisation="hogeschool-leiden", use_case="classroom",
                     name="prototype", lat=52.16, lon=4.49)


def test_own_codec_decodes_and_hostile_codec_is_contained(db: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MEETNET_DATABASE_URL", db)
    add = runner.invoke(app, ["codecs", "add", "hogeschool-leiden/klimaatkastje",
                              str(CODECS / "cayenne-lpp.js"), "--organisation",
                              "hogeschool-leiden", "--field-map", json.dumps(FIELDS)])
    assert add.exit_code == 0, add.output
    hostile = runner.invoke(app, ["codecs", "add", "hogeschool-leiden/loop",
                                  str(CODECS / "endless-loop.js"), "--organisation",
                                  "hogeschool-leiden", "--field-map", '{"n": "temperature"}'])
    assert hostile.exit_code == 0, hostile.output
    refused = runner.invoke(app, ["codecs", "add", "milesight-iot/em310-udl",
                                  str(CODECS / "cayenne-lpp.js"), "--organisation", "x",
                                  "--field-map", "{}"])
    assert refused.exit_code == 1  # a built-in model cannot be overridden
    good, bad = _device("70b3d5e75e000001", "hogeschool-leiden/klimaatkastje"), \
        _device("70b3d5e75e000002", "hogeschool-leiden/loop")
    with psycopg.connect(db) as conn:
        for d in (good, bad):
            registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key))
    lpp = bytes.fromhex("0167011002683c0373277f")  # 27.2 C, 30 %RH, 1011.1 hPa
    pipeline = Pipeline(db)
    try:
        batch = Batch()
        started = time.monotonic()
        pipeline.handle(*tts_uplink(bad, 1, lpp, f_cnt=1, received_at=T0), batch)
        # A liveness bound, not a benchmark: the sandbox's 50 ms limit, with a wide margin.
        assert time.monotonic() - started < 5
        pipeline.handle(*tts_uplink(good, 1, lpp, f_cnt=1, received_at=T0), batch)
    finally:
        pipeline.close()
    assert [d.stage for d in batch.dead_letters] == ["decode"]
    assert "hogeschool-leiden/loop" in batch.dead_letters[0].reason
    got = {r.metric: r.value for r in batch.readings}
    want = {r.metric: r.value for r in decoders.decode("cayenne/lpp", 1, lpp)}
    assert got == pytest.approx(want)
    assert got == pytest.approx({"temperature": 27.2, "humidity": 30.0, "pressure": 101110.0})
    with Writer(db) as w:
        w.write(batch)
    listing = runner.invoke(app, ["codecs", "list"])
    assert "hogeschool-leiden/klimaatkastje" in listing.output
