"""Decodes per second per registered model, on each model's own vendor example payloads, next to
a baseline measured in the same run: `bytes.hex()` + `int.from_bytes` over the same payloads (the
least any decoder must do), so the ratio says how much the decoding logic costs.

Usage: .venv/bin/python bench/decoders.py [--seconds 0.5]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder is sys.path[0], and this file's name would shadow the package of
# the same name: put the project root there instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

import argparse
import contextlib
import json
import time
from pathlib import Path
from typing import Any

import decoders

VECTORS = Path(__file__).resolve().parent.parent / "tests" / "vectors" / "devices"


def _rate(fn: object, seconds: float) -> float:
    n = 0
    deadline = time.perf_counter() + seconds
    started = time.perf_counter()
    while time.perf_counter() < deadline:
        for _ in range(100):
            fn()  # type: ignore[operator]
        n += 100
    return n / (time.perf_counter() - started)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=0.5)
    args = ap.parse_args()
    print(f"{'model':44} {'decodes/s':>12} {'baseline/s':>12} {'ratio':>7}")
    for key, model in decoders.MODELS.items():
        doc = json.loads((VECTORS / model.vectors).read_text())
        # Passthrough examples carry the network server's decoded object and the field map.
        cases = [(ex["f_port"], bytes.fromhex(ex["payload_hex"]), ex.get("config"),
                  ex.get("decoded")) for ex in doc["examples"]
                 if not ex.get("expected_errors")]
        if not cases:
            continue

        def run(cases: list[tuple[int, bytes, Any, Any]] = cases, key: str = key) -> None:
            for port, payload, config, decoded in cases:
                with contextlib.suppress(decoders.DecodeError):
                    decoders.decode(key, port, payload, config, decoded)

        def base(cases: list[tuple[int, bytes, Any, Any]] = cases) -> None:
            for _port, payload, _config, _decoded in cases:
                int.from_bytes(payload, "big")
                payload.hex()

        ours = _rate(run, args.seconds) * len(cases)
        ref = _rate(base, args.seconds) * len(cases)
        print(f"{key:44} {ours:12.0f} {ref:12.0f} {ours / ref:7.3f}")


if __name__ == "__main__":
    main()
