"""Runs the `BatchStore` in a child process, so that one ingest uses two cores.

Measured (bench/ingest.py): paho's receive loop alone costs ~90 us of Python per QoS 1 message,
and building and committing the rows another ~55 us. In one process they share one core through
the GIL, which capped ingest at about 0.5-0.6 of raw paho's receive rate. Here the parent runs
paho and does nothing per message but queue it, ship batches and ack; the child builds the
rows and commits them.

Failure model: the child never acks anything (only the parent's MQTT connection can), so
whatever happens to the child, unacked messages stay with the broker and are redelivered.
- The child ignores SIGINT/SIGTERM (a terminal's Ctrl-C and systemd reach the whole process
  group): the parent decides when it stops, by closing the batch stream after the last batch.
  A child that has not committed what it holds within the parent's bound (the database is
  down and it keeps retrying) is killed: it never acked anything, so the broker redelivers.
- The parent dies (even SIGKILL): the child sees end-of-stream or a new parent pid, commits or
  abandons what it holds, and exits.
- The child dies: `StoreProcess.error` is set and the subscriber stops with that error (and
  `meetnet ingest --workers` restarts it).
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

from ingest.batch_store import BatchStore, Committed, RawMessage
from ingest.pipeline import IngestLimits

log = logging.getLogger(__name__)

#: Batches shipped to the child and not yet committed. Two keep the child busy (one building,
#: one committing); more would only hold messages the broker could redeliver after a crash.
MAX_IN_FLIGHT = 3
#: The child's first report: connected to the database, ready for batches.
READY = "ready"
#: How long `close()` waits by default for the child's last commits before killing it (the
#: messages stay unacked and the broker redelivers them).
CLOSE_TIMEOUT_S = 5.0
#: How often a blocked write to the child looks whether it should give up.
_WRITE_POLL_S = 0.2

_FRAME = struct.Struct("!I")


def _frame(obj: object) -> bytes:
    """One length-prefixed pickle; both ends are this module, in processes we started."""
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return _FRAME.pack(len(data)) + data


def _send(stream: IO[bytes], obj: object) -> None:
    stream.write(_frame(obj))
    stream.flush()


def _recv(stream: IO[bytes]) -> Any:
    head = stream.read(_FRAME.size)
    if len(head) < _FRAME.size:
        raise EOFError
    (size,) = _FRAME.unpack(head)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    # Safe to unpickle: the other end is our own parent or child process.
    return pickle.loads(data)


class StoreProcess:
    """The parent's handle on the child: `put` batches, receive `Committed` reports through
    ``on_commit`` (called on a listener thread), `close` to flush and stop."""

    def __init__(self, dsn: str, on_commit: Callable[[Committed], None], *,
                 log_level: str = "INFO", log_json: bool = False,
                 limits: IngestLimits | None = None) -> None:
        # A fresh interpreter running `child_main`, not multiprocessing: fork
        # would copy the parent's threads' locks in whatever state they were, and spawn
        # re-runs the parent's __main__ module, which breaks scripts without a main guard.
        in_r, in_w = os.pipe()
        out_r, out_w = os.pipe()
        root = str(Path(__file__).resolve().parent.parent)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [root, *filter(None, os.environ.get("PYTHONPATH", "").split(os.pathsep))])}
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-c", "import sys; from ingest.store_process import child_main;"
                 " sys.exit(child_main(int(sys.argv[1]), int(sys.argv[2])))", str(in_r), str(out_w)],
                pass_fds=(in_r, out_w), stdin=subprocess.DEVNULL, env=env)
        finally:
            os.close(in_r)
            os.close(out_w)
        # Non-blocking: a child stuck on a lost database stops reading, and a write into a full
        # pipe must not hold the parent (and its stop) with it; see `_write`.
        self._inbox_fd = in_w
        os.set_blocking(in_w, False)
        self._outbox = os.fdopen(out_r, "rb")
        self.on_commit = on_commit
        self.error: str | None = None
        #: Set when we end the child ourselves: its end of stream is then no crash.
        self._ending = False
        #: Set once the child has its database connections: until then the subscriber does
        #: not connect to the broker, so messages are not pulled while they cannot be stored.
        self.ready = threading.Event()
        self._slots = threading.BoundedSemaphore(MAX_IN_FLIGHT)
        self._pending = 0
        self._lock = threading.Lock()
        self._listener = threading.Thread(target=self._listen, name="ingest-store-listener",
                                          daemon=True)
        self._listener.start()
        # The DSN may carry a password: through the pipe, never on the command line.
        self._write(_frame((dsn, log_level, log_json, os.getpid(), limits or IngestLimits())),
                    lambda: False)

    @property
    def alive(self) -> bool:
        return self.error is None and self._listener.is_alive()

    @property
    def pending(self) -> int:
        """Batches shipped and not yet committed."""
        return self._pending

    def put(self, seq: int, msgs: Sequence[RawMessage],
            give_up: Callable[[], bool] = lambda: False) -> bool:
        """Ship one batch; blocks while `MAX_IN_FLIGHT` are uncommitted. False if the child is
        gone or ``give_up()`` turned true while waiting (the batch is not stored; its messages
        stay unacked)."""
        while not self._slots.acquire(timeout=0.5):
            if not self.alive or give_up():
                return False
        with self._lock:
            self._pending += 1
        if self._write(_frame((seq, list(msgs))), give_up):
            return True
        with self._lock:
            self._pending -= 1
        return False

    def _write(self, data: bytes, give_up: Callable[[], bool]) -> bool:
        """Write all of ``data`` to the child; False if it is gone or ``give_up()`` turned true
        while the pipe was full (the stream is then cut mid-frame: only `close` may follow)."""
        view = memoryview(data)
        fd = self._inbox_fd
        try:
            while view:
                with contextlib.suppress(BlockingIOError):
                    view = view[os.write(fd, view):]
                if view:
                    if give_up() or not self.alive:
                        if len(view) < len(data):
                            self._ending = True  # cut mid-frame: the child must not read on
                        return False
                    select.select([], [fd], [], _WRITE_POLL_S)
        except (OSError, ValueError) as exc:
            self._fail(f"store process unreachable: {exc}")
            return False
        return True

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """End the batch stream; wait up to ``timeout`` seconds until the child committed and
        reported every batch, then stop it. A child that is not done by then (it keeps
        retrying a lost database) is killed: it never acked anything, so what it held stays
        with the broker and is redelivered."""
        deadline = time.monotonic() + timeout
        if not self.ready.is_set() or timeout <= 0 or self._ending:
            # Still waiting for the database (it holds nothing), or the stream was cut.
            self._kill()
        elif self._write(_frame(None), lambda: time.monotonic() > deadline):
            self._listener.join(max(0.0, deadline - time.monotonic()))
        try:
            self.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("store process did not finish within %.1f s (is the database down?); "
                        "stopping it: %d uncommitted batches stay with the broker",
                        timeout, self._pending)
            self._kill()
        with contextlib.suppress(OSError):
            os.close(self._inbox_fd)
        self._listener.join(1)
        with contextlib.suppress(OSError):
            self._outbox.close()

    def _kill(self) -> None:
        self._ending = True
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()

    def _fail(self, reason: str) -> None:
        if self.error is None:
            self.error = reason
            log.error("%s", reason)

    def _listen(self) -> None:
        while True:
            try:
                item: Committed | str | None = _recv(self._outbox)
            except (EOFError, OSError, ValueError):
                # A child that finishes says goodbye first: this is a crash (unless we
                # stopped it before it had anything).
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.proc.wait(5)
                if not self._ending:
                    self._fail("store process ended unexpectedly "
                               f"(exit code {self.proc.returncode})")
                return
            if item is None:  # the child's goodbye: everything it got is committed
                return
            if item == READY:
                self.ready.set()
                continue
            if isinstance(item, str):
                self._fail(f"store process failed: {item}")
                return
            with self._lock:
                self._pending -= 1
            self._slots.release()
            self.on_commit(item)


# ------------------------------------------------------------------------------ the child side

def child_main(inbox_fd: int, outbox_fd: int) -> int:
    """The child process: batches in on ``inbox_fd``, `Committed` reports out on ``outbox_fd``."""
    inbox = os.fdopen(inbox_fd, "rb")
    outbox = os.fdopen(outbox_fd, "wb")
    # The parent decides when to stop (see the module docstring).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from meetnet import logs

    dsn, log_level, log_json, parent_pid, limits = _recv(inbox)
    logs.setup(log_level, log_json)
    abandon = threading.Event()
    threading.Thread(target=_watch_parent, args=(parent_pid, abandon), daemon=True).start()
    send_lock = threading.Lock()

    def report(item: Committed | str | None) -> None:
        with send_lock:
            _send(outbox, item)

    try:
        store = BatchStore(dsn, report, abandon=abandon, limits=limits)
    except Exception as exc:
        report(f"{type(exc).__name__}: {exc}")
        return 1
    # Every message leaves a few dozen short-lived objects and a batch keeps thousands alive
    # for a moment: at the collector's default (a young-generation pass every 700 allocations)
    # about a tenth of the row building went to the collector (measured on 20,000 bench
    # uplinks: 42-47 against 37-40 us per message). Freezing what the imports left moves it out
    # of every full collection.
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)
    # The writer thread waits on the server a dozen times per batch, and each time it must win
    # the GIL back from the builder thread, which keeps it up to the switch interval (5 ms by
    # default). Measured in 8 interleaved bench pairs (40,000 uplinks each): 0.5 ms was faster
    # in 7, by 8% (median); 1 ms and 0.2 ms gained nothing.
    sys.setswitchinterval(0.0005)
    report(READY)
    exit_code = 0
    try:
        while True:
            try:
                item: Any = _recv(inbox)
            except (EOFError, OSError):
                abandon.set()  # the parent is gone: nobody can ack what we would commit
                break
            if item is None:
                break
            store.put(*item)
            if not store.alive:
                break
    finally:
        try:
            store.close()
        except Exception as exc:
            exit_code = 1
            with contextlib.suppress(OSError, ValueError):
                report(f"{type(exc).__name__}: {exc}")
    with contextlib.suppress(OSError, ValueError):
        report(None)
    return exit_code


def _watch_parent(parent_pid: int, abandon: threading.Event) -> None:
    """An orphan stops retrying: a new parent pid means ours is gone (even after SIGKILL)."""
    while not abandon.is_set():
        if os.getppid() != parent_pid:
            abandon.set()
            return
        time.sleep(1.0)

