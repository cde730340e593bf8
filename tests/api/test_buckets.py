"""Time buckets on /v1/devices/{eui}/readings (issue 10, item 3): local days of the caller's time
zone (23 and 25 hours on the DST changes), hours that stay hours, every aggregate against the
same numbers worked out in Python from the inserted readings, and no input that answers 500."""

from __future__ import annotations

import itertools
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

import httpx
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql
from timescale_support import timescale_server

from store import Batch, ReadingRow, Writer, keys, series
from store import devices as registry

AMS = ZoneInfo("Europe/Amsterdam")
OPEN, PRIVATE = "a81758fffe0410aa", "a81758fffe0410bb"
URL = f"/v1/devices/{OPEN}/readings"
#: Three local days around each DST change of 2026 in Europe/Amsterdam (29 March, 25 October).
SPRING = (datetime(2026, 3, 28, tzinfo=AMS), datetime(2026, 3, 31, tzinfo=AMS))
AUTUMN = (datetime(2026, 10, 24, tzinfo=AMS), datetime(2026, 10, 27, tzinfo=AMS))

Series = list[tuple[datetime, float]]


def _every_5_minutes(start: datetime, end: datetime, rng: random.Random) -> Series:
    # Steps in absolute time (UTC): local wall-clock arithmetic would skip or repeat an hour.
    at, out = start.astimezone(UTC), []
    while at < end:
        out.append((at, round(rng.uniform(350, 2500), 3)))
        at += timedelta(minutes=5)
    return out


def _seed(db: str) -> Series:
    """An open and a private CO2 sensor with the same readings every 5 minutes over both
    periods; returns the open one's readings."""
    with psycopg.connect(db) as conn:
        ids = [registry.upsert_device(conn, registry.NewDevice(
            dev_eui=eui, organisation=org, model_key="elsys/ers-co2", name=eui,
            use_case="classroom", visibility=vis))
            for eui, org, vis in ((OPEN, "gemeente-leiden", "open"),
                                  (PRIVATE, "bedrijf-x", "private"))]
    rng = random.Random(10)
    points = _every_5_minutes(*SPRING, rng) + _every_5_minutes(*AUTUMN, rng)
    with Writer(db) as w:
        w.write(Batch(readings=[ReadingRow(t, dev, "co2", v) for dev in ids for t, v in points]))
    return points


@pytest.fixture
def readings(db: str) -> Series:
    return _seed(db)


def _get(api: httpx.Client, **params: str) -> httpx.Response:
    return api.get(URL, params={"metric": "co2", **params})


def _page(api: httpx.Client, **params: str) -> dict[str, Any]:
    r = _get(api, **params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _window(period: tuple[datetime, datetime]) -> dict[str, str]:
    return {"from": period[0].isoformat(), "to": period[1].isoformat()}


def test_local_days_around_dst_are_23_and_25_hours(api: httpx.Client, readings: Series) -> None:
    spring = _page(api, bucket="1d", **_window(SPRING))
    assert (spring["bucket"], spring["agg"], spring["tz"]) == ("1d", "avg", "Europe/Amsterdam")
    assert [p["time"] for p in spring["readings"]] == [
        "2026-03-28T00:00:00+01:00", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"]
    assert [p["count"] for p in spring["readings"]] == [288, 23 * 12, 288]
    autumn = _page(api, bucket="1d", agg="count", **_window(AUTUMN))
    assert [p["time"] for p in autumn["readings"]] == [
        "2026-10-24T00:00:00+02:00", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"]
    assert [p["count"] for p in autumn["readings"]] == [288, 25 * 12, 288]
    assert [p["value"] for p in autumn["readings"]] == [288, 300, 288]


def test_hour_buckets_stay_one_hour_across_dst(api: httpx.Client, readings: Series) -> None:
    spring = _page(api, bucket="1h", **{"from": "2026-03-29T00:00:00+01:00",
                                        "to": "2026-03-29T05:00:00+02:00"})["readings"]
    # 02:00-03:00 does not exist that night: 01:00+01:00 is followed by 03:00+02:00.
    assert [p["time"] for p in spring] == [
        "2026-03-29T00:00:00+01:00", "2026-03-29T01:00:00+01:00", "2026-03-29T03:00:00+02:00",
        "2026-03-29T04:00:00+02:00"]
    autumn = _page(api, bucket="1h", **{"from": "2026-10-25T01:00:00+02:00",
                                        "to": "2026-10-25T04:00:00+01:00"})["readings"]
    # 02:00-03:00 happens twice: once in summer time, once in winter time.
    assert [p["time"] for p in autumn] == [
        "2026-10-25T01:00:00+02:00", "2026-10-25T02:00:00+02:00", "2026-10-25T02:00:00+01:00",
        "2026-10-25T03:00:00+01:00"]
    for points in (spring, autumn):
        starts = [datetime.fromisoformat(p["time"]) for p in points]
        assert {b - a for a, b in itertools.pairwise(starts)} == {timedelta(hours=1)}
        assert {p["count"] for p in points} == {12}


def _reference(points: Series, key: Callable[[datetime], object], agg: str
               ) -> list[tuple[object, float, int]]:
    groups: dict[object, list[tuple[datetime, float]]] = defaultdict(list)
    for t, v in points:
        groups[key(t)].append((t, v))
    calc: dict[str, Callable[[list[tuple[datetime, float]]], float]] = {
        "avg": lambda g: sum(v for _, v in g) / len(g),
        "min": lambda g: min(v for _, v in g),
        "max": lambda g: max(v for _, v in g),
        "sum": lambda g: sum(v for _, v in g),
        "count": lambda g: float(len(g)),
        "last": lambda g: max(g)[1],
    }
    return [(k, calc[agg](g), len(g)) for k, g in sorted(groups.items())]


def _local_day(t: datetime) -> date:
    return t.astimezone(AMS).date()


@pytest.mark.parametrize("agg", series.AGGS)
def test_each_aggregate_matches_python(api: httpx.Client, readings: Series, agg: str) -> None:
    for period in (SPRING, AUTUMN):
        got = _page(api, bucket="1d", agg=agg, **_window(period))["readings"]
        inside = [(t, v) for t, v in readings if period[0] <= t < period[1]]
        want = _reference(inside, _local_day, agg)
        assert [datetime.fromisoformat(p["time"]).date() for p in got] == [w[0] for w in want]
        assert [p["count"] for p in got] == [w[2] for w in want]
        assert [p["value"] for p in got] == pytest.approx([w[1] for w in want], rel=1e-12)
    # Hours too, where the autumn night has two hours 02:00.
    got = _page(api, bucket="1h", agg=agg, **_window(AUTUMN))["readings"]
    want = _reference(readings, lambda t: t.replace(minute=0), agg)
    want = [w for w in want if AUTUMN[0] <= w[0] < AUTUMN[1]]  # type: ignore[operator]
    assert [datetime.fromisoformat(p["time"]) for p in got] == [w[0] for w in want]
    assert [p["value"] for p in got] == pytest.approx([w[1] for w in want], rel=1e-12)


def test_utc_days_are_not_local_days(api: httpx.Client, readings: Series) -> None:
    window = {"from": "2026-03-28T00:00:00Z", "to": "2026-03-31T00:00:00Z"}
    utc = _page(api, bucket="1d", agg="count", tz="UTC", **window)
    assert utc["tz"] == "UTC"
    assert [datetime.fromisoformat(p["time"]) for p in utc["readings"]] == [
        datetime(2026, 3, d, tzinfo=UTC) for d in (28, 29, 30)]
    assert all(datetime.fromisoformat(p["time"]).utcoffset() == timedelta(0)
               for p in utc["readings"])
    # The readings end at local midnight of 31 March, 22:00 UTC on the 30th.
    assert [p["count"] for p in utc["readings"]] == [288, 288, 264]
    local = _page(api, bucket="1d", agg="count", **window)["readings"]
    # The window starts at 01:00 local on the 28th, so that day is cut to 23 hours; the 29th
    # is 23 hours long.
    assert [(p["time"], p["count"]) for p in local] == [
        ("2026-03-28T00:00:00+01:00", 276), ("2026-03-29T00:00:00+01:00", 276),
        ("2026-03-30T00:00:00+02:00", 288)]


def test_fixed_buckets_align_to_utc_and_weeks_start_on_monday(api: httpx.Client,
                                                             readings: Series) -> None:
    six = _page(api, bucket="6h", agg="count", **_window(SPRING))["readings"]
    # 00:00, 06:00, 12:00 and 18:00 UTC; the first is cut by `from` (23:00 UTC) to one hour.
    assert [p["time"] for p in six][:5] == [
        "2026-03-27T19:00:00+01:00", "2026-03-28T01:00:00+01:00", "2026-03-28T07:00:00+01:00",
        "2026-03-28T13:00:00+01:00", "2026-03-28T19:00:00+01:00"]
    assert [p["count"] for p in six][:2] == [12, 72]
    quarter = _page(api, bucket="15m", agg="count", **_window(SPRING))["readings"]
    assert {p["count"] for p in quarter} == {3}
    week = _page(api, bucket="1w", agg="count", **_window(AUTUMN))["readings"]
    # Saturday 24 and Sunday 25 October belong to the ISO week of Monday 19 October.
    assert [(p["time"], p["count"]) for p in week] == [
        ("2026-10-19T00:00:00+02:00", 288 + 300), ("2026-10-26T00:00:00+01:00", 288)]


def test_bucketed_pages_return_every_bucket_once(api: httpx.Client, readings: Series) -> None:
    whole = _page(api, bucket="1h", agg="max", **_window(AUTUMN))
    assert whole["next"] is None and len(whole["readings"]) == 73
    url: str | None = str(_get(api, bucket="1h", agg="max", limit="10", **_window(AUTUMN)).url)
    paged: list[dict[str, Any]] = []
    while url:
        page = api.get(url).json()
        assert len(page["readings"]) <= 10
        paged += page["readings"]
        url = page["next"]
    assert paged == whole["readings"]


def test_raw_answers_keep_their_shape(api: httpx.Client, readings: Series) -> None:
    raw = _page(api, **{"from": "2026-03-28T00:00:00Z", "to": "2026-03-28T00:10:00Z"})
    assert set(raw) == {"dev_eui", "metric", "unit", "readings", "next"}
    assert raw["readings"][0] == {"time": "2026-03-28T00:00:00Z", "value": readings[12][1]}
    local = _page(api, tz="Europe/Amsterdam",
                  **{"from": "2026-03-28T00:00:00Z", "to": "2026-03-28T00:10:00Z"})
    assert local["tz"] == "Europe/Amsterdam"
    assert [p["time"] for p in local["readings"]] == ["2026-03-28T01:00:00+01:00",
                                                      "2026-03-28T01:05:00+01:00"]


def _assert_problem(r: httpx.Response, status: int, kind: str) -> None:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/" + kind), r.json()


@pytest.mark.parametrize("bucket", ["0m", "0h", "0d", "00", "7m", "25h", "48h", "368d", "53w",
                                    "9999w", "1x", "", "h", "1.5h", "-1h", "1 h", "\uff11h",
                                    "1h\n", "1H", "99999999999999999999m", "1h1m", "P1D"])
def test_invalid_buckets_are_a_400(api: httpx.Client, readings: Series, bucket: str) -> None:
    _assert_problem(_get(api, bucket=bucket), 400, "invalid-bucket")


def test_invalid_agg_tz_and_ranges(api: httpx.Client, readings: Series) -> None:
    _assert_problem(_get(api, bucket="1h", agg="median"), 422, "invalid-parameters")
    _assert_problem(_get(api, agg="max"), 400, "bucket-required")
    for tz in ("Mars/Olympus", "../../etc/passwd", "/etc/localtime", "UTC+1", "", "Europe",
               "europe/amsterdam", "zone.tab"):
        _assert_problem(_get(api, bucket="1d", tz=tz), 400, "invalid-timezone")
        _assert_problem(_get(api, tz=tz), 400, "invalid-timezone")
    year = {"from": "2025-01-01T00:00:00+01:00", "to": "2026-01-01T00:00:00+01:00"}
    assert _get(api, bucket="1h", **year).status_code == 200  # 8,760 buckets
    _assert_problem(_get(api, bucket="1d", **{"from": "2025-01-01T00:00:00Z",
                                              "to": "2026-01-04T00:00:00Z"}),
                    400, "range-too-long")
    _assert_problem(_get(api, bucket="5m", **year), 400, "too-many-buckets")
    # The raw limit of 31 days does not apply to buckets.
    assert _get(api, **year).status_code == 400
    assert _get(api, bucket="1d", **_window((SPRING[0], AUTUMN[1]))).status_code == 200


def test_private_buckets_only_for_their_organisation(api: httpx.Client, readings: Series,
                                                     db: str) -> None:
    url = f"/v1/devices/{PRIVATE}/readings"
    params = {"metric": "co2", "bucket": "1d", **_window(SPRING)}
    _assert_problem(api.get(url, params=params), 404, "device-not-found")
    with psycopg.connect(db) as conn:
        keys.create_organisation(conn, "gemeente-leiden", "Gemeente Leiden")
        _, other = keys.create_key(conn, "gemeente-leiden", "reader")
        _, own = keys.create_key(conn, "bedrijf-x", "reader")
    _assert_problem(api.get(url, params=params, headers={"X-API-Key": other}),
                    404, "device-not-found")
    mine = api.get(url, params=params, headers={"X-API-Key": own})
    assert mine.status_code == 200
    assert [p["count"] for p in mine.json()["readings"]] == [288, 276, 288]


_hostile = (st.text(max_size=30)
            | st.sampled_from(["\x00", "1h\x00", "%00", "\ud800", "9" * 5000 + "m", "1e999d",
                               "-0m", "0x10m", "NaN", "inf", "Europe/Amsterdam\x00", "\u202e1d",
                               "../" * 50, "posix/Europe/Amsterdam", "right/UTC", "1w" * 1000])
            | st.builds(lambda n, u: f"{n}{u}", st.integers(-10**30, 10**30),
                        st.sampled_from(["m", "h", "d", "w", "mo", "s", ""])))


@pytest.mark.parametrize("bucket", [None, "1d", "1h"])
@pytest.mark.parametrize("times", [{"to": "0001-01-01T00:00:00+14:00"},
                                   {"from": "0001-01-01T00:00:00+14:00"},
                                   {"from": "9999-12-31T00:00:00Z",
                                    "to": "9999-12-31T23:59:59-14:00"},
                                   {"after": "9999-12-31T23:59:59-14:00"}])
def test_times_beyond_the_calendar_are_a_400(api: httpx.Client, readings: Series,
                                             bucket: str | None, times: dict[str, str]) -> None:
    _assert_problem(_get(api, **times, **({"bucket": bucket} if bucket else {})),
                    400, "invalid-time")


def _q(text: str) -> str:
    return quote(text.encode("utf-8", "surrogatepass"), safe="")


_times = (st.datetimes(timezones=st.sampled_from([UTC, AMS, ZoneInfo("Pacific/Kiritimati"),
                                                   ZoneInfo("Pacific/Niue")])).map(
              lambda t: t.isoformat())
          | st.sampled_from(["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
                             "2026-03-29T02:30:00+01:00", "2026-10-25T02:30:00+01:00",
                             "0001-01-01T00:00:00Z"]))


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(bucket=st.sampled_from(["1h", "1d", "15m", "1w"]) | _hostile,
       tz=st.sampled_from(["UTC", "Asia/Kolkata", "Europe/Amsterdam"]) | _hostile,
       agg=st.sampled_from(series.AGGS) | _hostile, start=_times, end=_times, after=_times,
       names=st.sets(st.sampled_from(["bucket", "tz", "agg", "from", "to", "after"]),
                     min_size=1))
def test_no_bucket_tz_agg_or_time_answers_500(api: httpx.Client, readings: Series,
                                              bucket: str, tz: str, agg: str, start: str,
                                              end: str, after: str, names: Iterable[str]
                                              ) -> None:
    values = {"bucket": bucket, "tz": tz, "agg": agg, "from": start, "to": end, "after": after}
    query = "&".join(["metric=co2", *(f"{n}={_q(values[n])}" for n in sorted(names))])
    r = api.get(f"{URL}?{query}")
    assert r.status_code < 500, (query[:200], r.status_code, r.text[:300])
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), r.text[:200]
        assert r.json()["status"] == r.status_code


@pytest.fixture
def tsdb() -> Iterator[str]:
    """A migrated database on a server of its own with TimescaleDB loaded (readings_by_hour
    exists), or a skip where TimescaleDB is not installed."""
    with timescale_server() as server:
        yield server.dsn


#: (bucket, time zone) pairs whose buckets are whole UTC hours: the hourly aggregate serves them.
_HOURLY_CASES = (("1d", "Europe/Amsterdam"), ("1w", "Europe/Amsterdam"), ("1h", "UTC"),
                 ("3h", "UTC"), ("1d", "Asia/Kolkata"))


def _hourly_equals_raw(conn: psycopg.Connection[Any], start: datetime, end: datetime,
                       after: datetime | None = None) -> None:
    for agg in series.AGGS:
        for text, tz in _HOURLY_CASES:
            spec = series.parse_bucket(text, longest=timedelta(days=367))
            args: dict[str, Any] = {"bucket": spec, "agg": agg, "tz": series.zone(tz),
                                    "start": start, "end": end, "after": after,
                                    "limit": 10_000}
            hourly = series.bucketed(conn, OPEN, "co2", **args)
            raw = series.bucketed(conn, OPEN, "co2", use_aggregate=False, **args)
            assert hourly, (agg, text, tz)
            assert [(r.time, r.count) for r in hourly] == [(r.time, r.count) for r in raw], (
                agg, text, tz)
            # Sums of the same numbers in another order may differ in the last bits.
            assert [r.value for r in hourly] == pytest.approx([r.value for r in raw],
                                                              rel=1e-12), (agg, text, tz)


def _materialized_hours(conn: psycopg.Connection[Any]) -> tuple[int, datetime | None]:
    """How many hours of the open sensor's readings are materialized, and the latest."""
    schema, table = conn.execute(
        "SELECT materialization_hypertable_schema, materialization_hypertable_name "
        "FROM timescaledb_information.continuous_aggregates WHERE view_name = %s",
        (series.HOURLY_VIEW,)).fetchone() or ("", "")
    # The materialized rows of the open sensor only (the private one has the same readings).
    row = conn.execute(sql.SQL(
        "SELECT count(*), max(bucket) FROM {} WHERE device_id = "
        "(SELECT id FROM devices WHERE dev_eui = %s)").format(sql.Identifier(schema, table)),
        (OPEN,)).fetchone()
    assert row is not None
    return int(row[0]), row[1]


def test_hourly_aggregate_gives_the_raw_answers(tsdb: str) -> None:
    """TimescaleDB only: buckets read from readings_by_hour (migration 0007), fully
    materialized, equal the same buckets computed from the raw readings, for every aggregate."""
    _seed(tsdb)
    with psycopg.connect(tsdb, autocommit=True) as conn:
        conn.execute("CALL refresh_continuous_aggregate(%s, NULL, NULL)", (series.HOURLY_VIEW,))
        # 71 and 73 hours: the local days of the DST changes are 23 and 25 hours long.
        assert _materialized_hours(conn)[0] == 71 + 73
        _hourly_equals_raw(conn, SPRING[0], AUTUMN[1])


def test_hourly_aggregate_across_dst_materialized_recent_and_compressed(tsdb: str) -> None:
    """TimescaleDB only: with the aggregate materialized up to the middle of the autumn DST day
    and the rest of the readings not yet (real-time: read from readings), local days of 23 and
    25 hours, weeks and hours from readings_by_hour equal the raw answers; so they do after the
    chunks are compressed; a reading stored late into a materialized hour shows after the
    run of the 0007 refresh policy (start_offset NULL: however old the hour)."""
    points = _seed(tsdb)
    cut = datetime(2026, 10, 25, 2, tzinfo=UTC)  # 02:00+01:00, the second 02:00 that night
    with psycopg.connect(tsdb, autocommit=True) as conn:
        conn.execute("CALL refresh_continuous_aggregate(%s, NULL, %s)",
                     (series.HOURLY_VIEW, cut))
        n, newest = _materialized_hours(conn)
        assert newest == cut - timedelta(hours=1)
        # Every spring hour and the autumn ones before the cut are materialized; the rest are
        # read from the raw readings by the real-time part of the view.
        assert n == 71 + (cut - AUTUMN[0]) // timedelta(hours=1)
        assert any(t >= cut for t, _ in points)

        days = series.parse_bucket("1d", longest=timedelta(days=367))
        got = series.bucketed(conn, OPEN, "co2", bucket=days, agg="count", tz=AMS,
                              start=AUTUMN[0], end=AUTUMN[1])
        assert [(r.time, r.count) for r in got] == [
            (datetime(2026, 10, 24, tzinfo=AMS), 288), (datetime(2026, 10, 25, tzinfo=AMS), 300),
            (datetime(2026, 10, 26, tzinfo=AMS), 288)]
        _hourly_equals_raw(conn, SPRING[0], AUTUMN[1])
        _hourly_equals_raw(conn, AUTUMN[0], AUTUMN[1], after=datetime(2026, 10, 24, tzinfo=AMS))

        compressed = conn.execute("SELECT count(compress_chunk(c, if_not_compressed => true)) "
                                  "FROM show_chunks('readings') c").fetchone()
        assert compressed is not None and compressed[0] > 0
        _hourly_equals_raw(conn, SPRING[0], AUTUMN[1])

        # Late: a reading for a spring hour that is materialized already, into a compressed
        # chunk. The materialized hour holds the old answer until the refresh runs.
        late = datetime(2026, 3, 29, 1, 32, tzinfo=AMS)
        dev = conn.execute("SELECT id FROM devices WHERE dev_eui = %s", (OPEN,)).fetchone()
        assert dev is not None
        with Writer(tsdb) as w:
            w.write(Batch(readings=[ReadingRow(late, dev[0], "co2", 5000.0)]))
        spring_day = {"bucket": days, "agg": "max", "tz": AMS, "start": SPRING[0],
                      "end": SPRING[1]}
        raw = series.bucketed(conn, OPEN, "co2", use_aggregate=False, **spring_day)
        assert raw[1].value == 5000.0 and raw[1].count == 23 * 12 + 1
        stale = series.bucketed(conn, OPEN, "co2", **spring_day)
        assert stale[1].count == 23 * 12  # proof that the aggregate, not readings, was read
        job = conn.execute("SELECT job_id FROM timescaledb_information.jobs "
                           "WHERE proc_name = 'policy_refresh_continuous_aggregate'").fetchone()
        assert job is not None
        conn.execute("CALL run_job(%s)", (job[0],))
        assert series.bucketed(conn, OPEN, "co2", **spring_day) == raw
        assert _materialized_hours(conn)[0] == 71 + 73
        _hourly_equals_raw(conn, SPRING[0], AUTUMN[1])
