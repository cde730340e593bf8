"""Raw messages in batches -> rows (`Pipeline`) -> one committed transaction per batch (`Writer`).

No MQTT here: the subscriber hands over ``(topic, payload)`` batches and acks a batch's messages
when its `Committed` report arrives. `store_process` runs this in a child process so paho's
receive loop keeps a core (and the GIL) to itself.

Two threads: the caller's builds the rows of batch N+1 while the writer thread commits batch N
(psycopg releases the GIL while it waits on the server), so database time and Python time
overlap instead of adding up. At most two built batches wait for the writer: a slow database
slows intake instead of filling memory.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import psycopg

from ingest.pipeline import IngestLimits, Pipeline, internal_reason
from store import Writer, WriteResult
from store.rows import Batch, dead_letter

log = logging.getLogger(__name__)

_RETRY_MAX_S = 30.0
_T = TypeVar("_T")

#: One message as the subscriber hands it over.
RawMessage = tuple[str, bytes]


class Abandoned(Exception):
    """The batch could not be committed and nobody is left to ack it (the subscriber is gone)."""


@dataclass(frozen=True, slots=True)
class Committed:
    """What one committed batch stored; its messages may now be acked."""

    seq: int
    messages: int
    uplinks: int  # new raw uplinks (duplicates excluded)
    readings: int  # new readings
    dead_letters: int
    outcomes: dict[str, int] = field(default_factory=dict)  # per message: stored, dead_letter, ...
    dead_stages: dict[str, int] = field(default_factory=dict)  # dead letters per stage
    seconds: float = 0.0  # from building the rows to the commit
    retries: int = 0  # commits retried after losing the database


@dataclass(frozen=True, slots=True)
class _Built:
    seq: int
    msgs: Sequence[RawMessage]
    batch: Batch
    started: float


class BatchStore:
    """Builds and commits batches in order; calls ``on_commit`` (from the writer thread) after
    each commit, never before."""

    def __init__(self, dsn: str, on_commit: Callable[[Committed], None], *,
                 abandon: threading.Event | None = None,
                 limits: IngestLimits | None = None) -> None:
        self.dsn = dsn
        self.limits = limits or IngestLimits()
        self.on_commit = on_commit
        #: Set when committing is pointless (the subscriber died): stop retrying a lost database.
        self.abandon = abandon or threading.Event()
        self.error: BaseException | None = None
        self.pipeline = self._retry_db(lambda: Pipeline(dsn, self.limits))
        self.writer = self._retry_db(lambda: Writer(dsn))
        self._handoff: queue.Queue[_Built | None] = queue.Queue(maxsize=2)
        self._thread = threading.Thread(target=self._write_loop, name="ingest-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def put(self, seq: int, msgs: Sequence[RawMessage]) -> None:
        """Build the batch's rows here, then queue it for the writer (blocks while two wait)."""
        started = time.perf_counter()
        built = _Built(seq, msgs, self._build(msgs), started)
        while self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._handoff.put(built, timeout=0.5)
                return

    def _build(self, msgs: Sequence[RawMessage]) -> Batch:
        delay = 0.5
        while True:
            batch = Batch()
            handle = self.pipeline.handle
            try:
                for topic, payload in msgs:
                    handle(topic, payload, batch)
                try:
                    # Here, while the writer thread commits the previous batch, not on its path.
                    batch.seal()
                    self.writer.encode(batch, self.pipeline.devices.conn)
                except psycopg.OperationalError:
                    raise
                except Exception as exc:
                    # One message's rows cannot be encoded (a value no column type holds): find
                    # it, rather than let it stop ingest and hold back the whole batch.
                    log.warning("batch could not be encoded (%s: %s); building it message by "
                                "message", type(exc).__name__, exc)
                    batch = self._build_one_by_one(msgs)
                return batch
            except psycopg.OperationalError as exc:
                # A device lookup lost the database: build the batch again once it is back,
                # rather than crash and make the broker redeliver everything in flight.
                if self.abandon.is_set():
                    raise Abandoned(str(exc)) from exc
                log.warning("device lookup failed (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)
                with contextlib.suppress(psycopg.Error):
                    self.pipeline.close()
                self.pipeline = self._retry_db(lambda: Pipeline(self.dsn, self.limits))

    def _build_one_by_one(self, msgs: Sequence[RawMessage]) -> Batch:
        """The batch again, each message built and encoded alone: a message whose rows do not
        encode becomes a dead letter at stage ``internal``; the rest go in as one batch."""
        merged = Batch()
        conn = self.pipeline.devices.conn
        for topic, payload in msgs:
            single = Batch()
            self.pipeline.handle(topic, payload, single)
            try:
                single.seal()
                self.writer.encode(single, conn)
            except psycopg.OperationalError:
                raise
            except Exception as exc:
                single = Batch()
                single.outcomes["dead_letter"] += 1
                single.dead_letters.append(dead_letter("internal", internal_reason(exc), topic,
                                                       payload))
            merged.uplinks += single.uplinks
            merged.readings += single.readings
            merged.dead_letters += single.dead_letters
            merged.seen += single.seen
            merged.outcomes.update(single.outcomes)
        merged.seal()
        self.writer.encode(merged, conn)
        return merged

    def close(self) -> None:
        """Commit what was put, stop the writer and close the connections; re-raises the
        writer's error, if it stopped on one."""
        try:
            while self._thread.is_alive():
                with contextlib.suppress(queue.Full):
                    self._handoff.put(None, timeout=0.5)
                    break
            self._thread.join()
        finally:
            self.pipeline.close()
            self.writer.close()
        if self.error is not None:
            raise self.error

    def _write_loop(self) -> None:
        try:
            while (item := self._handoff.get()) is not None:
                result, batch, retries = self._commit(item)
                stages = Counter(d.stage for d in batch.dead_letters)
                self.on_commit(Committed(
                    seq=item.seq, messages=len(item.msgs), uplinks=result.uplinks,
                    readings=result.readings, dead_letters=result.dead_letters,
                    outcomes=dict(batch.outcomes), dead_stages=dict(stages),
                    seconds=time.perf_counter() - item.started, retries=retries))
        except BaseException as exc:  # surfaced by close(); nothing of this batch was acked
            if not isinstance(exc, Abandoned):
                log.exception("ingest writer stopped")
            self.error = exc

    def _commit(self, item: _Built) -> tuple[WriteResult, Batch, int]:
        delay = 0.5
        retries = 0
        while True:
            try:
                return self.writer.write(item.batch), item.batch, retries
            except psycopg.OperationalError as exc:
                # The database went away: keep the batch (nothing is acked) and retry; the
                # broker keeps the messages meanwhile.
                if self.abandon.is_set():
                    raise Abandoned(str(exc)) from exc
                retries += 1
                log.warning("commit failed (%s); retrying in %.1f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)
                with contextlib.suppress(psycopg.OperationalError):
                    self.writer.reconnect()
            except psycopg.Error as exc:
                # The server refused something in this batch (a constraint, a value it cannot
                # store). Store the messages one by one so only the culprit is dead-lettered.
                log.warning("batch refused (%s); storing its messages one by one", exc)
                result, batch = self._commit_one_by_one(item.msgs)
                return result, batch, retries

    def _commit_one_by_one(self, msgs: Sequence[RawMessage]) -> tuple[WriteResult, Batch]:
        """Returns what was stored and a batch holding only what counts for the metrics (the
        outcomes and the dead letters actually written)."""
        total = WriteResult(0, 0, 0)
        tally = Batch()
        for topic, payload in msgs:
            single = Batch()
            self.pipeline.handle(topic, payload, single)
            try:
                r = self.writer.write(single)
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                reason = f"database refused the message: {str(exc).splitlines()[0]}"
                single = Batch(dead_letters=[dead_letter("store", reason, topic, payload)])
                single.outcomes["dead_letter"] += 1
                r = self.writer.write(single)
            except Exception as exc:  # its rows cannot even be encoded
                single = Batch(dead_letters=[dead_letter("internal", internal_reason(exc), topic,
                                                         payload)])
                single.outcomes["dead_letter"] += 1
                r = self.writer.write(single)
            tally.outcomes.update(single.outcomes)
            tally.dead_letters.extend(single.dead_letters)
            total = WriteResult(total.uplinks + r.uplinks, total.readings + r.readings,
                                total.dead_letters + r.dead_letters)
        return total, tally

    def _retry_db(self, make: Callable[[], _T]) -> _T:
        delay = 1.0
        while True:
            try:
                return make()
            except psycopg.OperationalError as exc:
                if self.abandon.is_set():
                    raise
                log.warning("database unavailable (%s); retrying in %.0f s", exc, delay)
                time.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)
