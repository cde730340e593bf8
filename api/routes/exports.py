"""Exports a spreadsheet or pandas takes directly: CSV and SenML (RFC 8428), streamed.

Three scopes, each as CSV and SenML JSON:

- one series: ``/devices/{dev_eui}/readings.csv?metric=co2`` (and ``.senml``),
- one device, all its metrics: ``/devices/{dev_eui}/export.csv``,
- one use case, every device the caller may see: ``/use-cases/{use_case}/export.csv``.

The body is produced while it is sent: rows come from a server-side cursor a batch at a time,
so a year of 5-minute data is never in memory (docs/architecture.md, "Exports").
"""

from __future__ import annotations

import csv
import io
import re
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Annotated, Any, Literal

import orjson
import psycopg
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from api.deps import Caller, Conn, visible_device
from api.problems import Problem
from store import exports, queries, series
from store.queries import DeviceRow

router = APIRouter(tags=["exports"])

#: Without `from`, an export starts this long before `to` (or now), as readings do.
DEFAULT_WINDOW = timedelta(hours=24)
#: The longest from..to of one export: a year, leap years included.
MAX_EXPORT_RANGE = timedelta(days=366)
#: Bytes gathered before a chunk is sent: few enough sends, little held in memory.
CHUNK_BYTES = 64 * 1024

CSV_MEDIA_TYPE = "text/csv; charset=utf-8"
#: RFC 8428 section 12.3 (IANA media type registration).
SENML_MEDIA_TYPE = "application/senml+json"
_USE_CASE = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class ExportStream:
    """The request's pooled connection, for a body that is read after the route returned.

    FastAPI ends a ``yield`` dependency of scope "request" after the response is sent, so the
    connection stays checked out while the body streams. The body's generator is closed here
    before the connection goes back to the pool: after a client hangs up mid-export its cursor
    and transaction end on this connection, never on one another request has taken since."""

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn
        self._bodies: list[Generator[bytes, None, None]] = []
        # Starlette runs each step of a body in a worker thread and does not wait for it when
        # the client hangs up, so the close below can come while a step still runs on the
        # connection ("generator already executing"). Steps and the close take turns.
        self._lock = threading.Lock()
        self._closed = False

    def body(self, gen: Generator[bytes, None, None]) -> Generator[bytes, None, None]:
        self._bodies.append(gen)
        while True:
            with self._lock:
                chunk = None if self._closed else next(gen, None)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        with self._lock:
            self._closed = True
            for gen in self._bodies:
                gen.close()


def export_stream(conn: Conn) -> Iterator[ExportStream]:
    stream = ExportStream(conn)
    try:
        yield stream
    finally:
        stream.close()


Stream = Annotated[ExportStream, Depends(export_stream, scope="request")]

Metric = Annotated[str, Query(description="catalog metric name", examples=["co2"],
                              max_length=64)]
From = Annotated[datetime | None, Query(
    alias="from", description="inclusive, RFC 3339 with offset; default: 24 h before `to`")]
To = Annotated[datetime | None, Query(description="exclusive, RFC 3339 with offset; "
                                      "default: now; at most 366 days after `from`")]
Tz = Annotated[str | None, Query(
    description="IANA time zone for the CSV's times, e.g. Europe/Amsterdam; default UTC "
                "(written with `Z`)", max_length=64, examples=["Europe/Amsterdam"])]

_CSV_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {"example": "time,co2 [ppm],temperature [Cel]\r\n"
                                              "2026-11-23T08:00:00.000000Z,812.0,20.5\r\n"}},
          "description": "RFC 4180 CSV, one header row; times ISO 8601 in UTC (`Z`) unless "
                         "`tz` is given"}}
_SENML_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {SENML_MEDIA_TYPE: {"example": [
        {"bn": "urn:dev:mac:a8175892077ef6c2:", "bt": 1795420800.0, "n": "co2", "u": "ppm",
         "v": 812.0, "t": 0.0}]}},
          "description": "SenML JSON pack (RFC 8428)"}}


def _window(from_: datetime | None, to: datetime | None) -> tuple[datetime, datetime]:
    """[start, end) in UTC; naive times and ranges over a year are refused."""
    for value, name in ((from_, "from"), (to, "to")):
        if value is not None and value.utcoffset() is None:
            raise Problem(400, "naive-time", "Time without timezone",
                          f"`{name}` needs a UTC offset, e.g. 2026-11-23T08:00:00Z")
    try:
        end = to.astimezone(UTC) if to is not None else datetime.now(UTC)
        start = from_.astimezone(UTC) if from_ is not None else end - DEFAULT_WINDOW
    except OverflowError:
        raise Problem(400, "invalid-time", "Time out of range",
                      "`from` and `to` must lie between the years 1 and 9999 in UTC") from None
    if end < start:
        raise Problem(400, "invalid-range", "Invalid range", "`to` is before `from`")
    if end - start > MAX_EXPORT_RANGE:
        raise Problem(400, "range-too-long", "Range too long",
                      f"at most {MAX_EXPORT_RANGE.days} days per export; "
                      "ask for consecutive windows")
    return start, end


def _zone(tz: str | None) -> tzinfo:
    if tz is None or tz == "UTC":
        return UTC
    try:
        # The readings route's check: tz database names only, no paths or POSIX TZ strings.
        return series.zone(tz)
    except series.BucketError as exc:
        raise Problem(400, "invalid-timezone", "Invalid time zone", str(exc)) from None


def _device(stream: ExportStream, caller: Caller, dev_eui: str) -> DeviceRow:
    return visible_device(stream.conn, caller, dev_eui)


def _column(stream: ExportStream, metric: str) -> exports.Column:
    unit = queries.metric_unit(stream.conn, metric)
    if unit is None:
        raise Problem(400, "unknown-metric", "Unknown metric", f"{metric!r} is not in the catalog")
    return exports.Column(metric, unit)


def _use_case(use_case: str) -> str:
    if not _USE_CASE.match(use_case):
        raise Problem(400, "invalid-use-case", "Invalid use case",
                      "a use case is lower-case letters, digits, '-' and '_', e.g. classroom")
    return use_case


# --- CSV -----------------------------------------------------------------------------------

def _cell(text: str) -> str:
    """A name as a spreadsheet shows it, not as a formula it runs (OWASP "CSV injection"):
    names are set by other organisations and land in teachers' spreadsheets."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _time_text(zone: tzinfo) -> Callable[[datetime], str]:
    """ISO 8601 with a fixed number of fraction digits in every row: pandas infers one format
    from the first value and leaves a column whose rows differ as text. isoformat, not
    strftime: strftime was half the CPU of a CSV export."""
    if zone is UTC:
        return lambda t: t.isoformat(timespec="microseconds")[:-6] + "Z"
    return lambda t: t.astimezone(zone).isoformat(timespec="microseconds")


def _quoted(text: str) -> str:
    """One RFC 4180 field, quoted where the text needs it."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow([text])
    return buf.getvalue()


def _csv_body(conn: psycopg.Connection[Any], devices: Sequence[DeviceRow],
              cols: Sequence[exports.Column], start: datetime, end: datetime, zone: tzinfo,
              per_device: bool) -> Generator[bytes, None, None]:
    """RFC 4180 CSV, wide by metric: one row per time (and device, when ``per_device``).

    Rows are joined by hand, not by csv.writer: times come as fixed ISO text from the server and
    values are floats, neither of which needs quoting; the names, which may, are quoted once per
    device. Times have the same number of fraction digits in every row, because pandas infers
    one format from the first value and leaves a column whose rows differ as text."""
    header = ["time", *(["dev_eui", "name"] if per_device else []),
              *(f"{c.metric} [{c.unit}]" for c in cols)]
    yield (",".join(_quoted(h) for h in header) + "\r\n").encode()
    lead = {d.dev_eui: f",{d.dev_eui},{_quoted(_cell(d.name))}" if per_device else ""
            for d in devices}
    index = {c.metric: i for i, c in enumerate(cols)}
    empty = [""] * len(cols)
    fmt = _time_text(zone)
    lines: list[str] = []
    size = 0
    key: tuple[datetime, str] | None = None
    values = empty
    for batch in exports.readings(conn, [d.dev_eui for d in devices], list(index), start, end):
        for time, eui, metric, value in batch:
            if key is None or time != key[0] or eui != key[1]:
                if key is not None:
                    line = f"{fmt(key[0])}{lead[key[1]]},{','.join(values)}\r\n"
                    lines.append(line)
                    size += len(line)
                key, values = (time, eui), empty.copy()
            values[index[metric]] = repr(value)
        if size >= CHUNK_BYTES:
            yield "".join(lines).encode()
            lines, size = [], 0
    if key is not None:
        lines.append(f"{fmt(key[0])}{lead[key[1]]},{','.join(values)}\r\n")
    if lines:
        yield "".join(lines).encode()


def _filename(scope: str, start: datetime, end: datetime, ext: str) -> str:
    return f"{scope}_{start:%Y%m%dT%H%M%SZ}_{end:%Y%m%dT%H%M%SZ}.{ext}"


def _stream(stream: ExportStream, body: Generator[bytes, None, None], media_type: str,
            filename: str) -> StreamingResponse:
    return StreamingResponse(stream.body(body), media_type=media_type, headers={
        "Content-Disposition": f'attachment; filename="{filename}"'})


# --- SenML ---------------------------------------------------------------------------------

def base_name(dev_eui: str) -> str:
    """RFC 8428 section 4.5.1 base name: the device's URN plus ':', so that base name + name
    is a globally unique name per metric. A DevEUI is an IEEE EUI-64, which RFC 9039 section 4.1
    names ``urn:dev:mac:`` + its 16 lower-case hex digits."""
    return f"urn:dev:mac:{dev_eui}:"


def _epoch_us(t: datetime) -> int:
    return (t - _EPOCH) // timedelta(microseconds=1)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _senml_body(conn: psycopg.Connection[Any], devices: Sequence[DeviceRow],
                cols: Sequence[exports.Column], start: datetime,
                end: datetime) -> Generator[bytes, None, None]:
    """A SenML pack (RFC 8428 sections 4 and 5): a JSON array of records. At each device's
    first record ``bn`` and ``bt`` (absolute, seconds since 1970 UTC) are set; every record has
    ``n`` (the catalog metric), ``u`` (its SenML unit), ``v`` and ``t`` relative to ``bt``."""
    units = {c.metric: c.unit for c in cols}
    parts: list[bytes] = [b"["]
    size = 1
    first = True
    current: str | None = None
    base_us = 0
    for batch in exports.readings(conn, [d.dev_eui for d in devices], list(units), start, end,
                                  order="device"):
        for time, eui, metric, value in batch:
            at_us = _epoch_us(time)
            record: dict[str, Any] = {}
            if eui != current:
                current, base_us = eui, at_us
                record = {"bn": base_name(eui), "bt": base_us / 1e6}
            record.update(n=metric, u=units[metric], v=value, t=(at_us - base_us) / 1e6)
            text = (b"\n" if first else b",\n") + orjson.dumps(record)
            first = False
            parts.append(text)
            size += len(text)
        if size >= CHUNK_BYTES:
            yield b"".join(parts)
            parts, size = [], 0
    parts.append(b"\n]\n")
    yield b"".join(parts)


# --- Routes --------------------------------------------------------------------------------

Format = Literal["csv", "senml"]


def _respond(stream: ExportStream, fmt: Format, devices: Sequence[DeviceRow],
             cols: Sequence[exports.Column], start: datetime, end: datetime, zone: tzinfo,
             scope: str, per_device: bool) -> StreamingResponse:
    if fmt == "csv":
        return _stream(stream, _csv_body(stream.conn, devices, cols, start, end, zone,
                                         per_device), CSV_MEDIA_TYPE,
                       _filename(scope, start, end, "csv"))
    return _stream(stream, _senml_body(stream.conn, devices, cols, start, end),
                   SENML_MEDIA_TYPE, _filename(scope, start, end, "senml"))


def _series(fmt: Format, dev_eui: str, stream: ExportStream, caller: Caller, metric: str,
            from_: datetime | None, to: datetime | None, tz: str | None) -> StreamingResponse:
    device = _device(stream, caller, dev_eui)
    # The one column is there also when no reading is: the header names what was asked for.
    cols = [_column(stream, metric)]
    start, end = _window(from_, to)
    zone = _zone(tz)
    return _respond(stream, fmt, [device], cols, start, end, zone,
                    f"{device.dev_eui}_{metric}", per_device=False)


def _device_export(fmt: Format, dev_eui: str, stream: ExportStream, caller: Caller,
                   from_: datetime | None, to: datetime | None,
                   tz: str | None) -> StreamingResponse:
    device = _device(stream, caller, dev_eui)
    start, end = _window(from_, to)
    zone = _zone(tz)
    cols = exports.columns(stream.conn, [device.dev_eui], start, end)
    return _respond(stream, fmt, [device], cols, start, end, zone, device.dev_eui,
                    per_device=False)


def _use_case_export(fmt: Format, use_case: str, stream: ExportStream, caller: Caller,
                     from_: datetime | None, to: datetime | None,
                     tz: str | None) -> StreamingResponse:
    use_case = _use_case(use_case)
    start, end = _window(from_, to)
    zone = _zone(tz)
    devices = queries.list_devices(stream.conn, organisation=caller.organisation,
                                   where=queries.DeviceFilter(use_case=use_case))
    cols = exports.columns(stream.conn, [d.dev_eui for d in devices], start, end)
    return _respond(stream, fmt, devices, cols, start, end, zone, use_case, per_device=True)


@router.get("/devices/{dev_eui}/readings.csv", response_class=StreamingResponse,
            responses=_CSV_RESPONSES, summary="One series as CSV")
def series_csv(dev_eui: str, stream: Stream, caller: Caller, metric: Metric,
               from_: From = None, to: To = None, tz: Tz = None) -> StreamingResponse:
    """`time,<metric> [<unit>]`, one row per reading, oldest first:
    `pandas.read_csv(url, parse_dates=["time"])` reads it as it is."""
    return _series("csv", dev_eui, stream, caller, metric, from_, to, tz)


@router.get("/devices/{dev_eui}/readings.senml", response_class=StreamingResponse,
            responses=_SENML_RESPONSES, summary="One series as SenML (RFC 8428)")
def series_senml(dev_eui: str, stream: Stream, caller: Caller, metric: Metric,
                 from_: From = None, to: To = None) -> StreamingResponse:
    return _series("senml", dev_eui, stream, caller, metric, from_, to, None)


@router.get("/devices/{dev_eui}/export.csv", response_class=StreamingResponse,
            responses=_CSV_RESPONSES, summary="All metrics of one device as CSV")
def device_csv(dev_eui: str, stream: Stream, caller: Caller, from_: From = None,
               to: To = None, tz: Tz = None) -> StreamingResponse:
    """`time,<metric> [<unit>],...`: one row per time (one uplink's readings share it), one
    column per metric with readings in the range, empty where an uplink lacked the metric."""
    return _device_export("csv", dev_eui, stream, caller, from_, to, tz)


@router.get("/devices/{dev_eui}/export.senml", response_class=StreamingResponse,
            responses=_SENML_RESPONSES, summary="All metrics of one device as SenML (RFC 8428)")
def device_senml(dev_eui: str, stream: Stream, caller: Caller, from_: From = None,
                 to: To = None) -> StreamingResponse:
    return _device_export("senml", dev_eui, stream, caller, from_, to, None)


@router.get("/use-cases/{use_case}/export.csv", response_class=StreamingResponse,
            responses=_CSV_RESPONSES, summary="Every visible device of a use case as CSV")
def use_case_csv(use_case: str, stream: Stream, caller: Caller, from_: From = None,
                 to: To = None, tz: Tz = None) -> StreamingResponse:
    """`time,dev_eui,name,<metric> [<unit>],...`: one row per time and device, by time. Devices
    the caller may not see are left out."""
    return _use_case_export("csv", use_case, stream, caller, from_, to, tz)


@router.get("/use-cases/{use_case}/export.senml", response_class=StreamingResponse,
            responses=_SENML_RESPONSES,
            summary="Every visible device of a use case as SenML (RFC 8428)")
def use_case_senml(use_case: str, stream: Stream, caller: Caller, from_: From = None,
                   to: To = None) -> StreamingResponse:
    return _use_case_export("senml", use_case, stream, caller, from_, to, None)
