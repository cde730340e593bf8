"""JavaScript payload codecs in a sandbox: TTN-format ``decodeUplink`` codecs run in QuickJS.

Hundreds of device models only have a codec in The Things Network's JavaScript format
(TTN device repository, "Payload formatters": ``function decodeUplink(input)`` with
``input = {bytes: number[], fPort: number}`` returning ``{data, warnings, errors}``). `JsCodec`
runs one such codec and maps fields of its ``data`` to catalog readings, so the codec plugs into
the same decoder interface as the Python decoders (``(f_port, payload) -> list[Reading]``).

The sandbox (the ``quickjs`` binding of Fabrice Bellard's QuickJS):

- **no I/O**: a bare QuickJS context has no ``std``/``os`` modules, no ``require``, ``fetch`` or
  timers, and this module exposes no host function to it (``console`` is a no-op written in JS);
- **one runtime per codec**, so a codec cannot see or change another codec's state;
- **time limit** per call (QuickJS interrupt handler, default 50 ms) and **memory limit** per
  runtime (default 16 MiB), plus a bounded native stack;
- after a timeout, out-of-memory, stack overflow or other engine-level error the context is thrown
  away and the codec compiled again, so a call that blew a limit cannot poison the next one;
- the QuickJS regular-expression engine does not poll the interrupt handler (measured: a
  catastrophically backtracking regex ran past the time limit), so every call also has a
  wall-clock guard on the Python side. A call that outlives it cannot be stopped (a thread cannot
  be killed): the codec is disabled (every later call is a DecodeError) and the engine thread is
  replaced, so the other codecs carry on while the runaway one burns one core. Running codecs in a
  subprocess would make that case killable at the price of IPC per call.

The binding must not touch one runtime from several threads (its own ``quickjs.Function``
serialises all calls onto one thread for that reason), so all JavaScript runs on one engine
thread; the binding releases the GIL while JavaScript runs.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FuturesTimeout
from typing import Any

import quickjs

from decoders.base import DecodeError
from decoders.fieldmap import FieldMap, FieldMapSpec
from meetnet.records import Reading

__all__ = ["CodecError", "JsCodec"]

TIME_LIMIT_S = 0.05
MEMORY_LIMIT = 16 * 1024 * 1024
STACK_LIMIT = 256 * 1024
WALL_LIMIT_S = 2.0  # the Python-side guard, for code the interrupt handler does not reach
MAX_REASON = 300  # characters of a codec's message kept in a dead letter


# Written in JavaScript and evaluated before the codec: a console whose methods do nothing
# (many vendor codecs log), no host functions.
_PRELUDE = """
var console = (function () {
  function nop() {}
  return {log: nop, info: nop, warn: nop, error: nop, debug: nop};
})();
"""

# Evaluated after the codec: captures decodeUplink and JSON once, so that a codec replacing them
# at run time changes nothing, and runs parse + decode + stringify inside the time limit (a
# getter in the result that loops forever is interrupted like any other loop).
_ENTRY = """
var __meetnet_decode = (function (decode, parse, stringify) {
  if (typeof decode !== "function") {
    throw new TypeError("the codec defines no function decodeUplink(input)");
  }
  return function (input) { return stringify(decode(parse(input))); };
})(typeof decodeUplink === "undefined" ? undefined : decodeUplink, JSON.parse, JSON.stringify);
"""


class CodecError(DecodeError):
    """The codec itself is unusable (does not compile, defines no decodeUplink, was disabled)."""


class _Engine:
    """The one daemon thread all JavaScript runs on; replaced when a call on it never returns.

    A daemon thread rather than a ThreadPoolExecutor: the interpreter joins executor threads at
    exit, and a stuck one would then hang the process.
    """

    _lock = threading.Lock()
    _queue: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]] | None = None
    generation = 0

    @staticmethod
    def _work(q: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...], Future[Any]]]) -> None:
        while True:
            fn, args, future = q.get()
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn(*args))
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)

    @classmethod
    def submit(cls, fn: Callable[..., Any], *args: Any) -> tuple[Future[Any], int]:
        with cls._lock:
            if cls._queue is None:
                cls._queue = queue.SimpleQueue()
                threading.Thread(target=cls._work, args=(cls._queue,), name="meetnet-js",
                                 daemon=True).start()
            future: Future[Any] = Future()
            cls._queue.put((fn, args, future))
            return future, cls.generation

    @classmethod
    def abandon(cls, generation: int) -> None:
        """The engine thread of ``generation`` is stuck: start a fresh one for everyone else.
        Calls still queued behind the stuck one are moved to the new thread."""
        with cls._lock:
            if cls.generation != generation or cls._queue is None:
                return
            stuck = cls._queue
            cls._queue = queue.SimpleQueue()
            cls.generation += 1
            threading.Thread(target=cls._work, args=(cls._queue,), name="meetnet-js",
                             daemon=True).start()
            while True:
                try:
                    cls._queue.put(stuck.get_nowait())
                except queue.Empty:
                    break


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:MAX_REASON]


class JsCodec:
    """A TTN-format JavaScript codec as a decoder.

    ``field_map`` maps a path into the codec's ``data`` (dots between keys, numbers index lists:
    ``"line_1.total_in"``, ``"readings.0.value"``) to a catalog metric, optionally with a scale
    (``("distance", 0.001)`` for a field in mm). A mapped field that is missing, null or not a
    number gives no reading (codecs say "no value" in many ways); two fields mapped to one metric
    are refused, because readings are keyed by ``(device, metric, time)``. Warnings are ignored;
    non-empty ``errors`` raise DecodeError with them.

    ``decode`` is thread-safe; it compiles the codec once and reuses the context between calls.
    """

    def __init__(
        self,
        source: str,
        field_map: FieldMapSpec,
        *,
        name: str = "codec",
        time_limit_s: float = TIME_LIMIT_S,
        memory_limit: int = MEMORY_LIMIT,
        wall_limit_s: float = WALL_LIMIT_S,
    ) -> None:
        self.name = name
        self.source = source
        self.time_limit_s = time_limit_s
        self.memory_limit = memory_limit
        self.wall_limit_s = wall_limit_s
        self.field_map = FieldMap(field_map, name=name)
        self.fields = self.field_map.fields
        self.metrics: tuple[str, ...] = self.field_map.metrics
        self._lock = threading.Lock()
        self._fn: Any = None  # the compiled entry point, a quickjs.Object
        self._thread = 0  # ident of the engine thread the context lives on
        self._disabled: str | None = None
        with self._lock:
            self._run(self._compile)

    # -- on the engine thread -------------------------------------------------------------

    def _compile(self) -> None:
        ctx = quickjs.Context()
        ctx.set_memory_limit(self.memory_limit)
        ctx.set_max_stack_size(STACK_LIMIT)
        ctx.set_time_limit(self.time_limit_s)
        try:
            ctx.eval(_PRELUDE)
            ctx.eval(self.source)
            ctx.eval(_ENTRY)
        except quickjs.JSException as exc:
            raise CodecError(f"{self.name}: codec does not load: {_first_line(exc)}") from None
        self._fn = ctx.get("__meetnet_decode")
        self._thread = threading.get_ident()

    def _call(self, arg: str) -> Any:
        try:
            return self._fn(arg)
        except quickjs.StackOverflow:
            self._fn = None
            raise DecodeError(f"{self.name}: codec overflowed its stack") from None
        except quickjs.JSException as exc:
            reason = _first_line(exc)
            if reason.startswith("InternalError"):
                self._fn = None  # engine-level failure: never reuse this context
                if "interrupted" in reason:
                    reason = f"codec exceeded its time limit ({self.time_limit_s * 1000:g} ms)"
                elif "out of memory" in reason:
                    reason = f"codec exceeded its memory limit ({self.memory_limit / 2**20:g} MiB)"
            raise DecodeError(f"{self.name}: {reason}") from None

    def _invoke(self, arg: str) -> Any:
        if self._fn is None or self._thread != threading.get_ident():
            self._compile()  # first call, after a failure, or on a replacement engine thread
        return self._call(arg)

    # -- on the caller's thread -----------------------------------------------------------

    def _run(self, fn: Any, *args: Any) -> Any:
        future, generation = _Engine.submit(fn, *args)
        try:
            return future.result(timeout=self.wall_limit_s)
        except FuturesTimeout:
            self._disabled = (
                f"{self.name}: codec disabled: a call ran past {self.wall_limit_s:g} s and could "
                "not be interrupted"
            )
            self._fn = None
            _Engine.abandon(generation)
            raise CodecError(self._disabled) from None

    def run(self, f_port: int, payload: bytes) -> dict[str, Any]:
        """The codec's raw result for one uplink (``{data, warnings, errors}``)."""
        arg = json.dumps({"bytes": list(payload), "fPort": f_port})
        with self._lock:
            if self._disabled:
                raise CodecError(self._disabled)
            text = self._run(self._invoke, arg)
        if not isinstance(text, str):
            raise DecodeError(f"{self.name}: decodeUplink returned nothing")
        try:
            result = json.loads(text)
        except RecursionError:
            # JSON.stringify nests as deep as the codec likes; Python's parser recurses.
            raise DecodeError(f"{self.name}: decodeUplink returned an object nested too "
                              "deeply") from None
        except ValueError as exc:  # a string JSON refuses (lone surrogates ...)
            raise DecodeError(f"{self.name}: decodeUplink returned unusable JSON: {exc}") from None
        if not isinstance(result, dict):
            raise DecodeError(f"{self.name}: decodeUplink returned {type(result).__name__}, not an object")
        return result

    def decode(self, f_port: int, payload: bytes) -> list[Reading]:
        result = self.run(f_port, payload)
        errors = result.get("errors")
        if errors:
            items = errors if isinstance(errors, list) else [errors]
            raise DecodeError(f"{self.name}: " + "; ".join(str(e) for e in items)[:MAX_REASON])
        data = result.get("data")
        if not isinstance(data, dict):
            raise DecodeError(f"{self.name}: decodeUplink returned no data object")
        return self.field_map.readings(data)

    __call__ = decode
