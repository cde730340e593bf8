"""What `meetnet classrooms`, `meetnet water` and `meetnet crossings` share: the operator's
database connection, a device of any organisation, the report period, and printing a report as
JSON or a table."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    import psycopg
    from pydantic import BaseModel

    from store.queries import DeviceRow


@contextmanager
def connect() -> Iterator[psycopg.Connection[Any]]:
    import psycopg

    from meetnet.cli import _require_dsn, _settings

    with psycopg.connect(_require_dsn(_settings())) as conn:
        yield conn


def device(conn: psycopg.Connection[Any], dev_eui: str) -> DeviceRow:
    """The device of whatever organisation (the operator sees all); a ValueError names one
    that is not registered."""
    from store import devices, queries

    eui = dev_eui.lower()
    owner = devices.owner_of(conn, eui)
    row = queries.get_device(conn, eui, organisation=owner) if owner is not None else None
    if row is None:
        raise ValueError(f"no device with dev_eui {dev_eui}")
    return row


def _time(text: str | None, name: str) -> datetime | None:
    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"--{name}: not an RFC 3339 time: {text!r}") from None


def period(from_: str | None, to: str | None) -> tuple[datetime, datetime]:
    """The API's report period (api/params.py: default the 7 days before `to`, at most 366
    days, times with an offset), its problems as a ValueError with the API's detail."""
    from api.params import report_window
    from api.problems import Problem

    try:
        return report_window(_time(from_, "from"), _time(to, "to"))
    except Problem as exc:
        raise ValueError(exc.detail) from None


def dump(model: BaseModel) -> None:
    """The report as the API answers it."""
    typer.echo(json.dumps(model.model_dump(mode="json", by_alias=True), indent=2,
                          ensure_ascii=False))


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*("-" if v is None else f"{v:.2f}" if isinstance(v, float) else str(v)
                    for v in r))
    Console().print(t)


FROM = typer.Option("--from", help="RFC 3339 start (default: 7 days before --to)")
TO = typer.Option("--to", help="RFC 3339 end (default: now)")
JSON = typer.Option("--json", help="print the API's JSON instead of a table")
