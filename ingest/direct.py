"""Messages that reach meetnet without MQTT, stored synchronously through the MQTT path's code.

The network servers' HTTP integrations (webhooks) and The Things Stack's Storage Integration
(backfill after a disconnect) deliver the same JSON the MQTT topics carry. They go through the
same `Pipeline` (envelope checks, device lookup, decoding, dead letters) and the same `Writer`
(deduplication on the uplink's identity), via `BatchStore`, so a message delivered twice, once
by MQTT and once by HTTP, is stored once. Unlike MQTT there is no broker to hold a message while
the database is away: `ingest` returns only after the commit and raises `StoreUnavailable`
otherwise, so the caller can answer "try again" (HTTP 503) and the network server retries.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from ingest.batch_store import BatchStore, Committed, RawMessage
from ingest.pipeline import IngestLimits

#: How long a caller waits for its commit before giving up (the database is slow or gone).
COMMIT_TIMEOUT_S = 30.0


class StoreUnavailable(Exception):
    """The messages were not stored (the database is unreachable or too slow); send them again."""


@dataclass(frozen=True, slots=True)
class Stored:
    """What one `DirectIngest.ingest` call stored."""

    messages: int
    uplinks: int  # new raw uplinks; a message stored before counts 0 (a duplicate)
    readings: int
    dead_letters: int
    outcomes: dict[str, int] = field(default_factory=dict)  # stored, dead_letter, event, ...
    dead_stages: dict[str, int] = field(default_factory=dict)


class DirectIngest:
    """Stores ``(topic, payload)`` messages and returns after their commit. Thread-safe: calls
    are serialised (one batch at a time), which webhook and backfill rates allow."""

    def __init__(self, dsn: str, limits: IngestLimits | None = None) -> None:
        self.dsn = dsn
        self.limits = limits or IngestLimits()
        self._lock = threading.Lock()
        self._store: BatchStore | None = None
        self._seq = 0
        self._done = threading.Condition()
        self._committed: dict[int, Committed] = {}

    def _on_commit(self, committed: Committed) -> None:
        with self._done:
            self._committed[committed.seq] = committed
            self._done.notify_all()

    def _batch_store(self) -> BatchStore:
        if self._store is not None and not self._store.alive:
            self._discard()
        if self._store is None:
            abandon = threading.Event()
            # Set from the start: with nobody (no broker) holding the messages, retrying a lost
            # database here would only keep the HTTP caller waiting; it retries itself.
            abandon.set()
            self._store = BatchStore(self.dsn, self._on_commit, abandon=abandon,
                                     limits=self.limits)
        return self._store

    def _discard(self) -> None:
        store, self._store = self._store, None
        if store is not None:
            # Its error, if any, was reported to the caller already.
            with contextlib.suppress(Exception):
                store.close()

    def ingest(self, messages: Sequence[RawMessage]) -> Stored:
        """Store ``messages`` as one batch; raises `StoreUnavailable` if they were not committed."""
        if not messages:
            return Stored(0, 0, 0, 0)
        with self._lock:
            try:
                store = self._batch_store()
                self._seq += 1
                seq = self._seq
                store.put(seq, list(messages))
            except Exception as exc:  # Abandoned, psycopg.OperationalError: not stored
                self._discard()
                raise StoreUnavailable(str(exc).splitlines()[0] if str(exc) else
                                       type(exc).__name__) from exc
            with self._done:
                ok = self._done.wait_for(
                    lambda: seq in self._committed or not store.alive, COMMIT_TIMEOUT_S)
                committed = self._committed.pop(seq, None)
            if not ok or committed is None:
                error = store.error
                self._discard()
                raise StoreUnavailable(str(error).splitlines()[0] if error else
                                       "no commit within the timeout")
        return Stored(committed.messages, committed.uplinks, committed.readings,
                      committed.dead_letters, committed.outcomes, committed.dead_stages)

    def close(self) -> None:
        with self._lock:
            self._discard()
