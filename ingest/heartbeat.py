"""Ingest's heartbeat: one row per ingest in ``ingest_status`` (`store.status`), rewritten every
few seconds, so ``/readyz`` can say whether anything is ingesting and how long ago it last
committed.

It runs on its own thread with its own database connection in the parent (paho's) process: the
store process's commit thread is ingest's bottleneck and gets no extra statement, and one short
statement every few seconds costs paho's process nothing measurable. A database that does not
answer only makes the heartbeat skip beats (the readiness check then reports the ingest stale);
it never delays ingest or its stop.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable

import psycopg

from store import status

log = logging.getLogger(__name__)

#: Seconds between beats: well inside `store.status.FRESH_S`, so one lost beat is not "stale".
INTERVAL_S = 5.0
#: Bound on every connect and statement, so a hung server cannot hold a stop.
_TIMEOUT_S = 3


class Heartbeat:
    """Writes ``state()`` -> (state, seconds since the last commit or None) every ``interval_s``;
    `stop` writes the final state once more."""

    def __init__(self, dsn: str, client_id: str,
                 state: Callable[[], tuple[str, float | None]], *,
                 interval_s: float = INTERVAL_S) -> None:
        self.dsn = dsn
        self.client_id = client_id
        self.state = state
        self.interval_s = interval_s
        self.host = socket.gethostname()
        self.pid = os.getpid()
        #: Set after each successful write (tests and the demo wait on it).
        self.written = threading.Event()
        self._stop = threading.Event()
        self._final: str | None = None
        self._conn: psycopg.Connection | None = None
        self._registered = False
        self._failing = False
        self._thread = threading.Thread(target=self._loop, name="ingest-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, final_state: str = "stopped", timeout: float = 2.0) -> None:
        """Write ``final_state`` (best effort, at most ``timeout`` seconds) and end the thread."""
        self._final = final_state
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            self._write(self.state())
            if self._stop.wait(self.interval_s):
                break
        if self._final is not None:
            self._write((self._final, self.state()[1]))
        self._close()

    def _write(self, current: tuple[str, float | None]) -> None:
        state, commit_age = current
        try:
            if self._conn is None or self._conn.closed:
                self._conn = psycopg.connect(
                    self.dsn, autocommit=True, connect_timeout=_TIMEOUT_S,
                    options=f"-c statement_timeout={_TIMEOUT_S * 1000}",
                    application_name="meetnet-ingest-heartbeat")
            if not self._registered:
                status.register(self._conn, self.client_id, self.host, self.pid, state)
                self._registered = True
            status.beat(self._conn, self.client_id, self.host, self.pid, state, commit_age)
        except psycopg.Error as exc:
            if not self._failing:
                log.warning("ingest heartbeat not written (%s); retrying every %.0f s",
                            str(exc).strip().splitlines()[0] if str(exc).strip() else exc,
                            self.interval_s)
            self._failing = True
            self._close()
            return
        if self._failing:
            log.info("ingest heartbeat written again")
        self._failing = False
        self.written.set()

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
