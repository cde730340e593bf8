"""Several ingest processes on one MQTT shared subscription (docs/architecture.md step 2: "Several ingest
workers share the load through $share/meetnet/...").

One ingest uses about two cores (paho's process and its store process, `ingest.store_process`),
so on bigger machines more throughput comes from more workers. Each worker is a full
`meetnet ingest` with its own
stable client id (``<client_id>-<n>``) and so its own persistent session: a worker that dies is
restarted under the same id and the broker redelivers what it had not acked.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

_RESTART_MAX_S = 30.0
#: How long the workers get to stop after SIGTERM (each bounds its own stop at under 10 s).
STOP_TIMEOUT_S = 10.0


def run_workers(n: int, *, client_id: str, group: str, metrics_port: int,
                stop: threading.Event) -> int:
    """Run ``n`` worker processes until ``stop``; returns the number of restarts."""
    procs: dict[int, subprocess.Popen[bytes]] = {}
    delay: dict[int, float] = {}
    restarts = 0

    def spawn(i: int) -> subprocess.Popen[bytes]:
        env = {**os.environ, "MEETNET_MQTT_CLIENT_ID": f"{client_id}-{i}",
               "MEETNET_MQTT_SHARED_GROUP": group}
        if i:
            # One backfill from the Storage Integration is enough (dedup would make N harmless,
            # but they would cost N times the requests against The Things Stack's rate limits).
            env["MEETNET_TTS_APPLICATIONS"] = ""
        port = str(metrics_port + i if metrics_port else 0)
        return subprocess.Popen([sys.executable, "-m", "meetnet.cli", "ingest", "--workers", "1",
                                 "--metrics-port", port], env=env, stdin=subprocess.DEVNULL)

    for i in range(n):
        procs[i] = spawn(i)
        delay[i] = 1.0
    log.info("started %d ingest workers on $share/%s", n, group)
    try:
        while not stop.wait(0.5):
            for i, proc in list(procs.items()):
                code = proc.poll()
                if code is None:
                    continue
                restarts += 1
                log.warning("ingest worker %d exited with %s; restarting in %.0f s", i, code,
                            delay[i])
                if stop.wait(delay[i]):
                    break
                delay[i] = min(delay[i] * 2, _RESTART_MAX_S)
                procs[i] = spawn(i)
    finally:
        # Each worker commits and acks what it can on SIGTERM and exits within 10 s, also with
        # the database down; one that does not is killed (it acked nothing uncommitted).
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for proc in procs.values():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return restarts
