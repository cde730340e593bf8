"""The alert runner on a real database: rules with duration and hysteresis over stored
readings, offline and low battery, the water scenario's cloudburst, and idempotence."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from alerts.runner import evaluate
from meetnet.settings import Settings
from simulators.scenario import Scenario
from simulators.scenario import water as sim_water
from simulators.scenario.weather import Weather
from store import Batch, DeviceSeen, ReadingRow, UplinkRow, Writer, keys
from store import alerts as store
from store import devices as registry

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
MIN = timedelta(minutes=1)
ORG = "gemeente-leiden"
EUI = "a81758fffe0399aa"


@pytest.fixture
def world(db: str) -> Iterator[tuple[psycopg.Connection, int]]:
    with psycopg.connect(db, autocommit=True) as conn:
        keys.create_organisation(conn, ORG, "Gemeente Leiden")
        device_id = registry.upsert_device(conn, registry.NewDevice(
            dev_eui=EUI, organisation=ORG, model_key="elsys/ers-co2", name="lokaal 1",
            use_case="any", visibility="private"))
        yield conn, device_id


def write(db: str, readings: list[ReadingRow] = [], seen: list[DeviceSeen] = [],  # noqa: B006
          uplinks: list[UplinkRow] = []) -> None:  # noqa: B006
    with Writer(db) as w:
        w.write(Batch(readings=list(readings), seen=list(seen), uplinks=list(uplinks)))


def alerts_of(conn: psycopg.Connection, kind: str) -> list[store.Alert]:
    return [a for a in store.list_alerts(conn, ORG) if a.kind == kind][::-1]


SETTINGS = Settings()


def test_a_rule_opens_after_its_duration_and_resolves_past_its_hysteresis(
        db: str, world: tuple[psycopg.Connection, int]) -> None:
    conn, device = world
    rule = store.create_rule(conn, ORG, metric="co2", condition=">", threshold=1000,
                             duration_s=1800, hysteresis=100, dev_eui=EUI, name="stuffy")
    # 1100 ppm every 10 minutes from T0: over the threshold, for 20 minutes so far.
    write(db, [ReadingRow(T0 + 10 * k * MIN, device, "co2", 1100.0) for k in range(3)])
    assert evaluate(conn, SETTINGS, now=T0 + 20 * MIN).opened == 0
    assert alerts_of(conn, "threshold") == []
    # 30 minutes held: open, from the first reading over the threshold.
    write(db, [ReadingRow(T0 + 30 * MIN, device, "co2", 1150.0)])
    report = evaluate(conn, SETTINGS, now=T0 + 30 * MIN)
    assert report.opened == 1
    (alert,) = alerts_of(conn, "threshold")
    assert (alert.state, alert.started_at, alert.value, alert.rule_id) == (
        "open", T0, 1150.0, rule.id)
    assert "co2 > 1000 ppm for 30 min" in alert.message and "stuffy" in alert.message
    # Back under the threshold but not past the hysteresis (950 > 900): still open.
    write(db, [ReadingRow(T0 + 40 * MIN, device, "co2", 950.0)])
    evaluate(conn, SETTINGS, now=T0 + 40 * MIN)
    assert [a.state for a in alerts_of(conn, "threshold")] == ["open"]
    # 900 is back past 1000 - 100: resolved at that reading's time.
    write(db, [ReadingRow(T0 + 50 * MIN, device, "co2", 900.0)])
    assert evaluate(conn, SETTINGS, now=T0 + 50 * MIN).resolved == 1
    (alert,) = alerts_of(conn, "threshold")
    assert (alert.state, alert.resolved_at) == ("resolved", T0 + 50 * MIN)
    # Run again and again over the same readings: nothing new.
    for _ in range(2):
        again = evaluate(conn, SETTINGS, now=T0 + 55 * MIN)
        assert (again.opened, again.resolved) == (0, 0)
    assert len(alerts_of(conn, "threshold")) == 1


def test_two_runs_open_one_alert_and_a_missed_episode_is_recorded(
        db: str, world: tuple[psycopg.Connection, int]) -> None:
    conn, device = world
    store.create_rule(conn, ORG, metric="co2", condition=">=", threshold=1200)
    # An episode that began and ended between runs, then one that still holds.
    write(db, [ReadingRow(T0 + 10 * k * MIN, device, "co2", v)
               for k, v in enumerate([800, 1250, 1300, 900, 1210])])
    first = evaluate(conn, SETTINGS, now=T0 + 45 * MIN)
    assert (first.opened, first.resolved) == (2, 1)
    second = evaluate(conn, SETTINGS, now=T0 + 45 * MIN)
    assert (second.opened, second.resolved) == (0, 0)
    found = alerts_of(conn, "threshold")
    assert [(a.state, a.started_at, a.resolved_at) for a in found] == [
        ("resolved", T0 + 10 * MIN, T0 + 30 * MIN), ("open", T0 + 40 * MIN, None)]


def test_an_acknowledged_alert_is_not_opened_again_and_resolves(
        db: str, world: tuple[psycopg.Connection, int]) -> None:
    conn, device = world
    store.create_rule(conn, ORG, metric="co2", condition=">", threshold=1000)
    write(db, [ReadingRow(T0, device, "co2", 1500.0)])
    evaluate(conn, SETTINGS, now=T0)
    (alert,) = alerts_of(conn, "threshold")
    acked = store.acknowledge(conn, ORG, alert.id)
    assert acked is not None and acked.state == "acknowledged"
    write(db, [ReadingRow(T0 + 10 * MIN, device, "co2", 1600.0)])
    assert evaluate(conn, SETTINGS, now=T0 + 10 * MIN).opened == 0
    write(db, [ReadingRow(T0 + 20 * MIN, device, "co2", 600.0)])
    evaluate(conn, SETTINGS, now=T0 + 20 * MIN)
    assert [a.state for a in alerts_of(conn, "threshold")] == ["resolved"]
    assert store.acknowledge(conn, "another-org", alert.id) is None


def test_offline_after_three_intervals_and_back_online(
        db: str, world: tuple[psycopg.Connection, int]) -> None:
    conn, device = world
    times = [T0 + 10 * k * MIN for k in range(6)]  # every 10 minutes until T0 + 50 min
    write(db, uplinks=[UplinkRow(t, EUI, k, 1, b"\x01", "tts", "app", device, None, None, 1,
                                 None) for k, t in enumerate(times)],
          seen=[DeviceSeen(device, times[-1])])
    assert evaluate(conn, SETTINGS, now=times[-1] + 29 * MIN).opened == 0
    evaluate(conn, SETTINGS, now=times[-1] + 31 * MIN)
    (alert,) = alerts_of(conn, "offline")
    assert alert.state == "open" and alert.started_at == times[-1] + 30 * MIN
    assert "last seen 2026-11-23 08:50 UTC" in alert.message
    evaluate(conn, SETTINGS, now=times[-1] + 2 * 31 * MIN)
    assert len(alerts_of(conn, "offline")) == 1
    back = times[-1] + 70 * MIN
    write(db, uplinks=[UplinkRow(back, EUI, 99, 1, b"\x01", "tts", "app", device, None, None,
                                 1, None)], seen=[DeviceSeen(device, back)])
    assert evaluate(conn, SETTINGS, now=back + MIN).resolved == 1
    assert [a.state for a in alerts_of(conn, "offline")] == ["resolved"]


def test_low_battery_from_readings(db: str, world: tuple[psycopg.Connection, int]) -> None:
    conn, device = world
    write(db, [ReadingRow(T0 + 10 * k * MIN, device, "battery", v)
               for k, v in enumerate([40.0, 21.0, 19.0, 18.0])])
    evaluate(conn, Settings(alerts_low_battery_pct=20), now=T0 + 40 * MIN)
    (alert,) = alerts_of(conn, "low_battery")
    assert (alert.state, alert.started_at, alert.value) == ("open", T0 + 20 * MIN, 18.0)
    # 23 % is not past 20 + 5: a new battery (95 %) clears it.
    write(db, [ReadingRow(T0 + 40 * MIN, device, "battery", 23.0),
               ReadingRow(T0 + 50 * MIN, device, "battery", 95.0)])
    evaluate(conn, Settings(alerts_low_battery_pct=20), now=T0 + 55 * MIN)
    (alert,) = alerts_of(conn, "low_battery")
    assert (alert.state, alert.resolved_at) == ("resolved", T0 + 50 * MIN)


def test_low_battery_from_the_network_servers_level(
        db: str, world: tuple[psycopg.Connection, int]) -> None:
    conn, device = world
    write(db, seen=[DeviceSeen(device, T0, 12.0)])
    evaluate(conn, SETTINGS, now=T0 + MIN)
    assert [a.value for a in alerts_of(conn, "low_battery")] == [12.0]


def test_the_cloudburst_raises_a_water_rise_alert(db: str) -> None:
    """The Leiden scenario's own cloudburst (simulators/scenario/weather.py) on its gauges:
    one alert per gauge, opened in the storm's hours, resolved after it."""
    seed = 71
    event = Weather(seed).cloudburst(2025)
    start = event.start - timedelta(hours=12)
    models = sim_water.models(seed, Weather(seed))
    with psycopg.connect(db, autocommit=True) as conn:
        ids = {}
        for m in models:
            d = m.device
            keys.create_organisation(conn, d.organisation, d.organisation)
            ids[d.device_id] = registry.upsert_device(conn, registry.NewDevice(
                dev_eui=d.dev_eui, organisation=d.organisation, model_key=d.model_key,
                name=d.name, use_case=d.use_case, visibility="open", config=dict(d.config)))
        readings = [ReadingRow(u.time, ids[u.device.device_id], "water_level",
                               u.values["water_depth"] + u.device.config["sensor_depth_nap_m"])
                    for u in Scenario(models, start).uplinks(event.end + timedelta(hours=12))]
        write(db, readings)
        during = evaluate(conn, SETTINGS, now=event.end + timedelta(minutes=30))
        assert during.opened == len(models)
        after = evaluate(conn, SETTINGS, now=event.end + timedelta(hours=12))
        assert after.opened == 0 and during.resolved + after.resolved == len(models)
        again = evaluate(conn, SETTINGS, now=event.end + timedelta(hours=12))
        assert (again.opened, again.resolved) == (0, 0)
        found = [a for a in store.list_alerts(conn, models[0].device.organisation)
                 if a.kind == "water_rise"]
        assert sorted(a.dev_eui for a in found) == sorted(m.device.dev_eui for m in models)
        for a in found:
            assert event.start <= a.started_at <= event.end, a
            assert a.state == "resolved" and a.resolved_at is not None
            assert a.started_at < a.resolved_at <= event.end + timedelta(hours=3), a
            assert a.value is not None and a.value >= 5.0


def test_the_loop_evaluates_and_stops_when_asked(db: str,
                                                 world: tuple[psycopg.Connection, int]) -> None:
    import threading

    from alerts.runner import run_forever
    from support import wait_for

    conn, device = world
    store.create_rule(conn, ORG, metric="co2", condition=">", threshold=1000)
    write(db, [ReadingRow(datetime.now(UTC) - MIN, device, "co2", 1500.0)])
    stop = threading.Event()
    runs: list[int] = []
    thread = threading.Thread(target=run_forever, args=(db, SETTINGS, stop),
                              kwargs={"on_run": lambda report, _: runs.append(report.opened)})
    thread.start()
    try:
        wait_for(lambda: alerts_of(conn, "threshold"))
        wait_for(lambda: sum(runs) == 1)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    assert [a.state for a in alerts_of(conn, "threshold")] == ["open"]
