"""`meetnet reprocess`: re-derive readings after a decoder fix or a configuration change, and
replay dead letters (docs/architecture.md, "Bad input"). Both are idempotent: running them twice changes
nothing more."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from rich.progress import Progress

import decoders
from decoders import DecodeError
from decoders.config import config_model
from ingest.pipeline import Pipeline, validated_rows
from store import Batch, Writer
from store import devices as registry
from store import reprocess as raw
from store.rows import ReadingRow


class ReprocessError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class DeviceReprocessResult:
    uplinks: int
    readings: int
    undecodable: int
    refused_values: int


def reprocess_device(dsn: str, dev_eui: str, start: datetime, end: datetime | None = None, *,
                     progress: bool = False) -> DeviceReprocessResult:
    """Decode the device's stored raw uplinks again with its current model and config, and
    replace its readings in [start, end) with the result."""
    eui = dev_eui.lower()
    with psycopg.connect(dsn) as conn:
        info = registry.get_device(conn, eui)
        if info is None:
            raise ReprocessError(f"no device with dev_eui {dev_eui}")
        if info.model_key not in decoders.MODELS:
            raise ReprocessError(f"no decoder for model {info.model_key!r}")
        config = config_model(info.use_case).model_validate(info.config)  # as ingest reads it
        rows: list[ReadingRow] = []
        n = undecodable = refused = 0
        with Progress(disable=not progress, transient=True) as bar:
            task = bar.add_task(f"re-deriving {eui}", total=None)
            for up in raw.raw_uplinks(conn, eui, start, end):
                n += 1
                bar.advance(task)
                if not up.f_port or not up.payload:
                    continue
                try:
                    readings = decoders.decode_frame(info.model_key, up.f_port, up.payload,
                                                     config, up.decoded).readings
                except DecodeError as exc:
                    undecodable += 1
                    if exc.partial is None:
                        continue
                    # As ingest does: what the frame held before it broke off is kept (a
                    # replacement without it would delete readings ingest stored).
                    readings = exc.partial.readings
                good, bad = validated_rows(readings, info.id, up.received_at)
                rows.extend(good)
                refused += len(bad)
        stored = raw.replace_readings(conn, info.id, start, end, rows)
    return DeviceReprocessResult(n, stored, undecodable, refused)


@dataclass(frozen=True, slots=True)
class DeadLetterReplayResult:
    replayed: int
    resolved: int
    still_refused: int


def replay_dead_letters(dsn: str, stage: str | None = None, *, progress: bool = False
                        ) -> DeadLetterReplayResult:
    """Run every pending dead letter through the pipeline again (a device registered since, a
    decoder fixed): stored ones are marked reprocessed, the rest keep their row with the new
    reason."""
    pipeline = Pipeline(dsn)
    resolved = still = 0
    try:
        with psycopg.connect(dsn, autocommit=True) as conn, Writer(dsn) as writer:
            letters = raw.pending_dead_letters(conn, stage)
            with Progress(disable=not progress, transient=True) as bar:
                task = bar.add_task("replaying dead letters", total=len(letters))
                for dl in letters:
                    batch = Batch()
                    pipeline.handle(dl.topic, dl.payload, batch)
                    if batch.dead_letters:
                        still += 1
                        raw.mark_dead_letter(conn, dl.id, resolved=False,
                                             reason=batch.dead_letters[0].reason)
                    else:
                        writer.write(batch)
                        raw.mark_dead_letter(conn, dl.id, resolved=True)
                        resolved += 1
                    bar.advance(task)
    finally:
        pipeline.close()
    return DeadLetterReplayResult(len(letters), resolved, still)
