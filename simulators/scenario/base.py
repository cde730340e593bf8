"""The parts every use case shares: a simulated device, the physical-model interface, the
scenario clock that says which device sends an uplink when, and small deterministic helpers.

Determinism. Every random draw comes from a ``random.Random`` seeded from text naming the scenario
seed, the device and the absolute time step (``keyed_rng``), never from a long-lived generator.
So a value depends on the seed and the moment it describes, not on when the simulation started:
a backfill that ends at T and a live run that starts at T join without a seam, and two runs with
the same seed agree uplink for uplink. Physical state (a bin's fill, a room's CO2) is warmed up
over a period longer than the model's memory before the first uplink, which makes it forget the
arbitrary initial condition.

Uplink times sit on a fixed grid per device, ``SCENARIO_EPOCH + phase + k * interval_s``, and
the frame counter is ``k``: as if every device joined at the epoch and never rejoined.
"""

from __future__ import annotations

import hashlib
import heapq
import math
import random
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

#: Schedules (school timetable, rush hours, collection rounds) follow Dutch local time.
LOCAL_TZ = ZoneInfo("Europe/Amsterdam")
#: Every simulated device "joined" here; its frame counter counts grid steps since then.
SCENARIO_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)
#: LoRaWAN 1.0.x frame counters are 32-bit (the radio carries the low 16 bits).
F_CNT_MODULUS = 2**32
SECONDS_PER_HOUR = 3600.0
SECONDS_PER_DAY = 86400.0
DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class SimDevice:
    """One simulated end device, with everything meetnet's registry needs to know about it.

    Not slotted, so ``SimDevice(**{**dev.__dict__, ...})`` derives a variant; ``config`` is left
    out of the hash because a dict cannot be hashed.
    """

    dev_eui: str  # 16 lowercase hex digits
    device_id: str  # The Things Stack device id (lowercase slug)
    application_id: str
    model_key: str  # TTN device repository id "<brand_id>/<model_id>"
    organisation: str  # slug of the owning organisation
    use_case: str  # waste | classroom | crossing | water
    name: str  # for people
    lat: float
    lon: float
    config: dict[str, float] = field(default_factory=dict, hash=False)  # decoders.DeviceConfig
    interval_s: float = 600.0  # uplink interval


def make_dev_eui(oui_prefix: str, device_id: str) -> str:
    """A stable DevEUI: the vendor's prefix followed by hex digits hashed from the device id.

    Real devices carry their vendor's IEEE OUI in the DevEUI; the rest is a serial number.
    Hashing the id (not the seed) keeps a device's identity across seeds and runs.
    """
    prefix = oui_prefix.lower()
    if len(prefix) >= 16 or any(c not in "0123456789abcdef" for c in prefix):
        raise ValueError(f"bad OUI prefix {oui_prefix!r}")
    digest = hashlib.sha256(f"meetnet-scenario:{device_id}".encode()).hexdigest()
    return prefix + digest[: 16 - len(prefix)]


def keyed_rng(*key: object) -> random.Random:
    """A generator whose draws depend only on ``key``: the same key gives the same numbers in
    every run and process (a str seed is hashed with SHA-512, independent of PYTHONHASHSEED)."""
    return random.Random(":".join(str(k) for k in key))


#: Knuth's multiplication method underflows past ~700 and costs O(lambda); summing Poissons of
#: at most this mean is exact (a sum of independent Poissons is Poisson) and cheap enough for
#: the few hundred events per uplink interval simulated here.
_POISSON_CHUNK = 20.0


def poisson(rng: random.Random, lam: float) -> int:
    """A Poisson(lam) draw (the standard library has none)."""
    if lam <= 0:
        return 0
    count = 0
    while lam > 0:
        chunk = min(lam, _POISSON_CHUNK)
        lam -= chunk
        limit = math.exp(-chunk)
        p = rng.random()
        while p > limit:
            count += 1
            p *= rng.random()
    return count


def lognormal_unit_mean(rng: random.Random, sigma: float) -> float:
    """A multiplicative noise factor with mean 1 (lognormal with mu = -sigma^2 / 2)."""
    return rng.lognormvariate(-sigma * sigma / 2, sigma)


def local_time(t: float) -> datetime:
    """Epoch seconds -> Dutch local time (CET/CEST)."""
    return datetime.fromtimestamp(t, LOCAL_TZ)


def hour_of_day(local: datetime) -> float:
    return local.hour + local.minute / 60 + local.second / 3600


def interpolate_profile(profile: Sequence[float], hour: float) -> float:
    """Value of an hourly profile (24 entries, entry h = mean over [h, h+1)) at ``hour``,
    linearly interpolated between hour centres so that rates do not jump on the hour."""
    x = hour - 0.5
    i = math.floor(x)
    frac = x - i
    return profile[i % 24] * (1 - frac) + profile[(i + 1) % 24] * frac


def years_since(t: float, since: datetime) -> float:
    return (t - since.timestamp()) / (SECONDS_PER_DAY * DAYS_PER_YEAR)


class DeviceSim(ABC):
    """The physical model behind one device.

    ``step(t)`` is called for the device's uplink grid times in increasing order (warm-up steps
    included); it advances the state to ``t`` and returns the values the device reports at
    ``t``, in catalog units, keyed as the model's encoder expects.
    """

    #: How long before the first uplink the model must run to forget its initial state.
    warmup_s: float = 0.0

    def __init__(self, device: SimDevice, seed: int) -> None:
        self.device = device
        self.seed = seed

    def rng(self, t: float, *extra: object) -> random.Random:
        """The draws of this device at grid time ``t`` (see the module docstring)."""
        return keyed_rng(self.seed, self.device.device_id, int(t), *extra)

    @abstractmethod
    def step(self, t: float) -> dict[str, float]: ...


@dataclass(frozen=True, slots=True)
class SimUplink:
    """One uplink of the scenario: when, which device, what it reports, its frame counter."""

    time: datetime
    device: SimDevice
    values: dict[str, float]
    f_cnt: int


def _phase_s(device: SimDevice) -> int:
    """Where in its interval a device sends: spread devices out, deterministic per device."""
    digest = hashlib.sha256(f"meetnet-phase:{device.device_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % max(1, int(device.interval_s))


class Scenario:
    """The scenario clock: which device reports when, and what.

    Cheap per call: a heap keyed by each device's next uplink time, so ``due(now)`` touches only
    the devices that are due and costs O(log n) when nothing is.
    """

    def __init__(self, models: Sequence[DeviceSim], start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self._models = list(models)
        self.devices: list[SimDevice] = [m.device for m in self._models]
        if len({d.dev_eui for d in self.devices}) != len(self.devices):
            raise ValueError("duplicate dev_eui in scenario")
        self.start = start
        self._epoch = SCENARIO_EPOCH.timestamp()
        self._phase = [_phase_s(m.device) for m in self._models]
        t0 = start.timestamp()
        self._heap: list[tuple[float, int, int]] = []  # (time, model index, grid index)
        for i, m in enumerate(self._models):
            k_first = math.ceil((t0 - self._grid(i, 0)) / m.device.interval_s)
            warmup_steps = math.ceil(m.warmup_s / m.device.interval_s)
            for k in range(k_first - warmup_steps, k_first):
                m.step(self._grid(i, k))
            heapq.heappush(self._heap, (self._grid(i, k_first), i, k_first))

    def _grid(self, i: int, k: int) -> float:
        return self._epoch + self._phase[i] + k * self._models[i].device.interval_s

    def next_due(self) -> datetime:
        """Time of the next uplink of any device."""
        return datetime.fromtimestamp(self._heap[0][0], UTC)

    def due_uplinks(self, now: datetime) -> list[SimUplink]:
        """Uplinks of every device whose next uplink time is at or before ``now``, in time order.

        A device that missed several grid times (``now`` jumped) has its state advanced through
        all of them and reports once, at its latest grid time not after ``now``.
        """
        t_now = now.timestamp()
        out: list[SimUplink] = []
        while self._heap and self._heap[0][0] <= t_now:
            _, i, k = heapq.heappop(self._heap)
            model = self._models[i]
            k_last = max(k, math.floor((t_now - self._grid(i, 0)) / model.device.interval_s))
            for skipped in range(k, k_last):
                model.step(self._grid(i, skipped))
            t = self._grid(i, k_last)
            values = model.step(t)
            out.append(SimUplink(datetime.fromtimestamp(t, UTC), model.device, values,
                                 k_last % F_CNT_MODULUS))
            heapq.heappush(self._heap, (self._grid(i, k_last + 1), i, k_last + 1))
        out.sort(key=lambda u: u.time)
        return out

    def due(self, now: datetime) -> list[tuple[SimDevice, dict[str, float]]]:
        """(device, values) for each device whose next uplink time has come (see due_uplinks)."""
        return [(u.device, u.values) for u in self.due_uplinks(now)]

    def uplinks(self, end: datetime) -> Iterator[SimUplink]:
        """Every uplink from the current position up to (not including) ``end``, in time order."""
        t_end = end.timestamp()
        while self._heap and self._heap[0][0] < t_end:
            yield from self.due_uplinks(self.next_due())

    def count_until(self, end: datetime, include: Callable[[SimDevice], bool] | None = None) -> int:
        """How many uplinks ``uplinks(end)`` will yield (of the devices ``include`` accepts),
        for progress bars."""
        t_end = end.timestamp()
        total = 0
        for t, i, _ in self._heap:
            if t < t_end and (include is None or include(self._models[i].device)):
                total += math.ceil((t_end - t) / self._models[i].device.interval_s)
        return total
