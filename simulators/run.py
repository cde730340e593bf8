"""Drive the Leiden scenario onto an MQTT broker, in real time (or faster), or as a fast backfill.

Each uplink: the scenario's values -> ``ENCODERS[model_key]`` -> (fPort, payload) -> the network
server's message (``simulators.tts``) -> QoS 1 publish. A device whose model has no encoder yet is
skipped with one warning. Frame counters and times come from the scenario's per-device grid, so
a backfill up to T followed by a live run from T continues every device's counter.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Literal

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from meetnet.settings import MqttTarget
from simulators.encoders import ENCODERS
from simulators.publisher import DEFAULT_WINDOW, Publisher
from simulators.scenario import DEFAULT_SEED, SimUplink, build_scenario
from simulators.tts import chirpstack_uplink, tts_uplink

log = logging.getLogger(__name__)

Network = Literal["tts", "chirpstack"]
NETWORKS: tuple[Network, ...] = ("tts", "chirpstack")
#: Update progress bars every N uplinks: rich's refresh is cheap, but not free at 10k/s.
PROGRESS_EVERY = 200


def network_format(value: str) -> Network:
    """Check a message format name from the command line or the environment."""
    for network in NETWORKS:
        if value == network:
            return network
    raise ValueError(f"network must be one of {', '.join(NETWORKS)}, not {value!r}")


def messages(uplinks: Iterable[SimUplink], network: str = "tts", tenant: str = "ttn",
             missing: set[str] | None = None) -> Iterator[tuple[SimUplink, str, bytes]]:
    """(uplink, topic, body) for each uplink whose model has an encoder, in the network's format
    ("tts" or "chirpstack"). Models without an encoder are warned about once per ``missing`` set
    (pass the same set across calls) and skipped."""
    network = network_format(network)
    missing = set() if missing is None else missing
    for up in uplinks:
        encoder = ENCODERS.get(up.device.model_key)
        if encoder is None:
            if up.device.model_key not in missing:
                missing.add(up.device.model_key)
                log.warning("no encoder for model; its devices are not simulated",
                            extra={"model_key": up.device.model_key})
            continue
        f_port, payload = encoder(up.values)
        if network == "tts":
            topic, body = tts_uplink(up.device, f_port, payload, up.f_cnt, up.time, tenant)
        else:
            topic, body = chirpstack_uplink(up.device, f_port, payload, up.f_cnt, up.time)
        yield up, topic, body


def _console() -> Console:
    return Console(stderr=True)


def run_scenario(
    target: MqttTarget,
    *,
    speed: float = 1.0,
    duration_s: float | None = None,
    start: datetime | None = None,
    seed: int = DEFAULT_SEED,
    network: str = "tts",
    progress: bool = False,
    stop: threading.Event | None = None,
    tenant: str = "ttn",
    window: int = DEFAULT_WINDOW,
) -> int:
    """Publish the scenario live until ``stop`` is set or ``duration_s`` real seconds passed.

    Simulated time runs at ``start + speed * (wall time elapsed)`` (``start`` defaults to now);
    each uplink is published when its simulated time comes. Returns the number published (all
    acknowledged by the broker).
    """
    if speed <= 0:
        raise ValueError("speed must be positive")
    network_format(network)  # refuse a bad name before connecting
    stop = stop or threading.Event()
    start = start or datetime.now(UTC)
    scenario = build_scenario(seed=seed, start=start)
    wall0 = time.monotonic()
    deadline = None if duration_s is None else wall0 + duration_s
    published = 0
    missing: set[str] = set()  # models without an encoder, warned about once
    log.info("simulator started", extra={
        "devices": len(scenario.devices), "speed": speed, "network": network,
        "sim_start": start.isoformat(), "broker": repr(target)})
    with Publisher(target, window=window) as pub, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn() if duration_s else TextColumn(""),
        TimeElapsedColumn(), console=_console(), disable=not progress, transient=True,
    ) as bar:
        task = bar.add_task("simulating", total=duration_s)
        while not stop.is_set():
            due_at = scenario.next_due()
            wall_at = wall0 + (due_at - start).total_seconds() / speed
            if deadline is not None and wall_at > deadline:
                stop.wait(max(0.0, deadline - time.monotonic()))
                break
            delay = wall_at - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            for _, topic, body in messages(scenario.due_uplinks(due_at), network, tenant,
                                             missing):
                pub.publish(topic, body)
                published += 1
            bar.update(task, completed=time.monotonic() - wall0,
                       description=f"sim {due_at:%Y-%m-%d %H:%M:%S} UTC, {published} uplinks")
        pub.flush()
    log.info("simulator stopped", extra={"published": published,
                                         "elapsed_s": round(time.monotonic() - wall0, 3)})
    return published


def backfill(
    target: MqttTarget,
    *,
    start: datetime,
    end: datetime,
    seed: int = DEFAULT_SEED,
    network: str = "tts",
    progress: bool = True,
    stop: threading.Event | None = None,
    tenant: str = "ttn",
    window: int = DEFAULT_WINDOW,
) -> int:
    """Publish every scenario uplink with a time in [start, end) as fast as the broker
    acknowledges them. Returns the number published."""
    network_format(network)
    if end <= start:
        return 0
    stop = stop or threading.Event()
    scenario = build_scenario(seed=seed, start=start)
    expected = scenario.count_until(end, include=lambda d: d.model_key in ENCODERS)
    wall0 = time.monotonic()
    published = 0
    log.info("backfill started", extra={
        "sim_start": start.isoformat(), "sim_end": end.isoformat(), "expected": expected,
        "network": network, "broker": repr(target)})
    with Publisher(target, window=window) as pub, Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
        TaskProgressColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
        console=_console(), disable=not progress, transient=True,
    ) as bar:
        task = bar.add_task("backfilling uplinks", total=expected)
        for _, topic, body in messages(scenario.uplinks(end), network, tenant):
            if stop.is_set():
                break
            pub.publish(topic, body)
            published += 1
            if published % PROGRESS_EVERY == 0:
                bar.update(task, completed=published)
        pub.flush()
        bar.update(task, completed=expected)
    elapsed = time.monotonic() - wall0
    log.info("backfill done", extra={
        "published": published, "elapsed_s": round(elapsed, 3),
        "rate_per_s": round(published / elapsed) if elapsed > 0 else None})
    return published
