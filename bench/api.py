"""API overhead as ratios against the same SQL run directly through psycopg, in the same run.

  latest   /v1/latest over 10,000 devices (paged, 1,000 a page) over HTTP, against
           store.queries.latest for the same pages on a plain psycopg connection;
  buckets  one year of 5-minute data of one series, bucketed per hour, over HTTP, against the
           bucket query of store/series.py run directly;
  csv      that year exported as CSV over HTTP (streamed), against PostgreSQL's own
           COPY ... TO STDOUT (CSV) of the same rows; and the API process's peak memory before
           and after the export (VmHWM), which shows whether the year sat in memory.

The API runs as its own process (`meetnet api`, uvicorn), as in production. The goal of issue
10 is a ratio <= 1.5 for latest and buckets.

Usage: .venv/bin/python bench/api.py [--rounds 5] [--devices 10000] [--days 365]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder is sys.path[0], and this file's name would shadow the package of
# the same name: put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import psycopg
from rich.progress import Progress

from meetnet.runtime import free_port, start_postgres
from store import Batch, ReadingRow, Writer, migrate, queries
from store import devices as registry

YEAR_EUI = "a81758fffe0b0001"
END = datetime(2026, 11, 1, tzinfo=UTC)


def seed(dsn: str, n_devices: int, days: int) -> None:
    """``n_devices`` open classroom sensors with one value of each of three metrics, and one of
    them with ``days`` of 5-minute CO2 readings."""
    rows: list[ReadingRow] = []
    with psycopg.connect(dsn, autocommit=True) as conn, Progress() as progress:
        task = progress.add_task("devices", total=n_devices)
        for i in range(n_devices):
            eui = YEAR_EUI if i == 0 else f"a81758fffe{i:06x}"
            device_id = registry.upsert_device(conn, registry.NewDevice(
                dev_eui=eui, organisation="bench", model_key="elsys/ers-co2",
                name=f"lokaal {i:05d}", use_case="classroom", visibility="open",
                lat=52.1 + (i % 100) / 1000, lon=4.4 + (i // 100) / 1000))
            rows += [ReadingRow(END, device_id, "co2", 600.0 + i % 500),
                     ReadingRow(END, device_id, "temperature", 20.5),
                     ReadingRow(END, device_id, "humidity", 45.0)]
            if i == 0:
                year_id = device_id
            progress.advance(task)
    step = timedelta(minutes=5)
    n_year = int(timedelta(days=days) / step)
    with Writer(dsn) as w:
        w.write(Batch(readings=rows))
        for start in range(0, n_year, 50_000):
            w.write(Batch(readings=[
                ReadingRow(END - (k + 1) * step, year_id, "co2", 400.0 + (k * 7919) % 1200)
                for k in range(start, min(start + 50_000, n_year))]))
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("ANALYZE")


def timed(fn: Callable[[], Any], rounds: int) -> float:
    """Median seconds of ``rounds`` runs after one warm-up run."""
    fn()
    runs = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs)


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--devices", type=int, default=10_000)
    ap.add_argument("--days", type=int, default=365)
    args = ap.parse_args()

    root = Path(tempfile.mkdtemp(prefix="meetnet-bench-api-", dir="/tmp"))
    pg = start_postgres(root / "pg", fast=True, dbname="bench")
    api: subprocess.Popen[bytes] | None = None
    try:
        migrate(pg.dsn)
        seed(pg.dsn, args.devices, args.days)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MEETNET_")}
        env.update(MEETNET_DATABASE_URL=pg.dsn, MEETNET_API_PORT=str(port),
                   MEETNET_API_RATE_LIMIT_PER_MINUTE="0",
                   MEETNET_API_ANONYMOUS_RATE_LIMIT_PER_MINUTE="0", MEETNET_LOG_LEVEL="WARNING")
        api = subprocess.Popen([sys.executable, "-m", "meetnet.cli", "api"], env=env,
                               stdin=subprocess.DEVNULL)
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get("/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or api.poll() is not None:
                raise SystemExit("the API did not start")
            time.sleep(0.1)
        conn = psycopg.connect(pg.dsn, autocommit=True)
        results: list[tuple[str, float, float]] = []

        # latest: every page of 1,000 devices.
        def latest_http() -> None:
            for offset in range(0, args.devices, 1000):
                r = client.get("/v1/latest", params={"limit": 1000, "offset": offset})
                r.raise_for_status()
                # orjson, not r.json(): the API's work ends at the bytes, and Python's json
                # parser would add several ms per page to the API's side of the ratio.
                assert len(orjson.loads(r.content)) == min(1000, args.devices - offset)

        def latest_sql() -> None:
            for offset in range(0, args.devices, 1000):
                queries.latest(conn, limit=1000, offset=offset)

        results.append((f"latest, {args.devices // 1000} pages of 1,000 devices",
                         timed(latest_http, args.rounds), timed(latest_sql, args.rounds)))

        start = END - timedelta(days=args.days)
        window = {"from": start.isoformat(), "to": END.isoformat()}
        def buckets_http() -> None:
            r = client.get(f"/v1/devices/{YEAR_EUI}/readings",
                           params={"metric": "co2", "bucket": "1h", "agg": "avg", "tz": "UTC",
                                   "limit": 10_000, **window})
            r.raise_for_status()
            page = orjson.loads(r.content)
            assert page["next"] is None and len(page["readings"]) == 24 * args.days

        results.append((f"{args.days} days of 5-minute data per hour",
                        timed(buckets_http, args.rounds),
                        timed(_bucket_sql(conn, start), args.rounds)))

        rss_before = peak_rss_mib(api.pid)
        csv_bytes = 0

        def csv_http() -> None:
            nonlocal csv_bytes
            csv_bytes = 0
            with client.stream("GET", f"/v1/devices/{YEAR_EUI}/readings.csv",
                               params={"metric": "co2", **window}) as r:
                r.raise_for_status()
                for chunk in r.iter_raw():
                    csv_bytes += len(chunk)

        def csv_copy() -> None:
            with conn.cursor() as cur, cur.copy(
                    """COPY (SELECT r.time, r.value FROM readings r
                             JOIN devices d ON d.id = r.device_id
                             JOIN metrics m ON m.id = r.metric_id
                             WHERE d.dev_eui = %s AND m.name = 'co2' AND r.time >= %s
                               AND r.time < %s ORDER BY r.time) TO STDOUT WITH (FORMAT csv)""",
                    (YEAR_EUI, start, END)) as copy:
                for _ in copy:
                    pass

        results.append((f"CSV export of {args.days} days",
                        timed(csv_http, args.rounds), timed(csv_copy, args.rounds)))
        rss_after = peak_rss_mib(api.pid)

        print(f"\nbench/api.py, {args.rounds} rounds (median), {args.devices} devices, "
              f"{args.days} days of 5-minute data")
        print(f"{'':42} {'API (s)':>9} {'direct (s)':>10} {'ratio':>6}")
        for name, http_s, sql_s in results:
            print(f"{name:42} {http_s:9.3f} {sql_s:10.3f} {http_s / sql_s:6.2f}")
        print(f"CSV: {csv_bytes / 1e6:.1f} MB; API process peak memory {rss_before:.0f} MiB "
              f"before the exports, {rss_after:.0f} MiB after")
        conn.close()
    finally:
        if api is not None:
            api.terminate()
            api.wait(10)
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


def _bucket_sql(conn: psycopg.Connection[Any], start: datetime) -> Callable[[], Any]:
    """The bucket query of store/series.py with the route's arguments, called directly."""
    from store import series

    spec = series.parse_bucket("1h", longest=timedelta(days=367))
    utc = series.zone("UTC")
    return lambda: series.bucketed(conn, YEAR_EUI, "co2", bucket=spec, agg="avg", tz=utc,
                                   start=start, end=END, limit=10_001)


if __name__ == "__main__":
    main()
