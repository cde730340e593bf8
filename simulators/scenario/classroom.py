"""Three classrooms of one primary school (Meet de Klas) with Elsys ERS CO2 sensors.

CO2 follows the well-mixed mass balance ``V dC/dt = E + Q (C_out - C)`` (docs/domain.md,
"Classrooms"; Batterman 2017, doi 10.3390/ijerph14020145), solved exactly over one-minute
sub-steps in which occupancy E and ventilation Q are constant:
``C(t + dt) = C_ss + (C - C_ss) exp(-Q dt / V)`` with ``C_ss = C_out + E / Q``. Water vapour
follows the same balance; relative humidity is vapour over saturation at the room temperature.
Temperature relaxes towards the heating setpoint plus the pupils' heat, and towards outdoors
when the windows are open.

Occupancy follows a Dutch primary-school week: lessons 08:30-12:00 and 12:45-15:00, a short
break at 10:15, Wednesday afternoon free, nobody at the weekend (school holidays are not
modelled). Teachers air the room in the breaks on most days (``p_air_at_break``); the rooms
differ in how well they are ventilated during lessons, so the scenario shows Frisse Scholen
classes from B to well beyond C.

The school, OBS De Regenboog, is fictional; its location is a residential street in Leiden's
Merenwijk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime

from simulators.scenario.base import (
    SECONDS_PER_HOUR,
    DeviceSim,
    SimDevice,
    hour_of_day,
    local_time,
    make_dev_eui,
    poisson,
)
from simulators.scenario.weather import Weather, saturation_vapour_density

MODEL_KEY = "elsys/ers-co2"
APPLICATION_ID = "meetnet-classroom"
ORGANISATION = "obs-de-regenboog"
ELSYS_OUI = "a81758"  # Elsys' DevEUI prefix (tests/vectors/envelopes/tts-v3-uplink-opensource-nodecoder.json)
#: Five minutes: the ventilation estimate fits the CO2 decay over >= 20 min (docs/domain.md), so it
#: needs several points in that window.
INTERVAL_S = 300.0
WARMUP_S = 2 * 86400.0  # far longer than the slowest time constant (night air change, ~5 h)
SUBSTEP_S = 60.0

OUTDOOR_CO2_PPM = 420.0  # docs/domain.md, "Classrooms"
PPM = 1e6  # volume fraction -> ppm
#: CO2 generation per person, m3/s, seated classroom activity: about 0.0030 L/s for a child of
#: 6-11 and about 0.0052 L/s for an adult (order of magnitude of Persily & de Jonge 2017,
#: Indoor Air 27:868, doi 10.1111/ina.12383; docs/domain.md).
CO2_PER_CHILD_M3_S = 0.0030e-3
CO2_PER_ADULT_M3_S = 0.0052e-3
#: Water vapour given off per person, g/s (about 30 g/h for a seated child, 50 g/h for an adult;
#: assumed textbook values).
VAPOUR_PER_CHILD_G_S = 30 / 3600
VAPOUR_PER_ADULT_G_S = 50 / 3600
#: Share of pupils present on a given day (illness, appointments).
ATTENDANCE = 0.95

# Timetable, local hours.
TEACHER_ARRIVES = 8.0
TEACHER_LEAVES = 16.0
LESSONS = ((8.5, 10.25), (10.5, 12.0), (12.75, 15.0))
WEDNESDAY_LESSONS = LESSONS[:2]  # Wednesday afternoon free, as at most Dutch primary schools
BREAKS = ((10.25, 10.5), (12.0, 12.75))  # pupils outside; the room may be aired
WEDNESDAY = 2
SCHOOL_DAYS = range(5)  # Monday .. Friday
VENTILATION_ON = (7.5, 17.0)  # mechanical ventilation / opened grilles during the school day
HEATING_ON = (6.5, 16.5)
SETPOINT_DAY_C = 21.0
SETPOINT_NIGHT_C = 16.0
#: A free-running building sits a little above the outdoor daily mean (sun, internal gains).
FREE_RUNNING_OFFSET_C = 3.0
THERMAL_TAU_S = 2 * SECONDS_PER_HOUR  # room air plus furniture
AIRING_TAU_S = 0.5 * SECONDS_PER_HOUR  # with the windows wide open
AIRING_MIX = 0.5  # airing pulls the room's target halfway to outdoors
#: Above this outdoor temperature the windows stay open during lessons too.
WARM_WEATHER_C = 18.0

# Light (lx): NEN-EN 12464-1 asks 300-500 lx on the desks; the sensor on the wall sees less.
ARTIFICIAL_LIGHT_LX = 380.0
DAYLIGHT_PEAK_LX = 600.0  # indoor daylight near the window at noon, clear summer sky
OVERCAST_TRANSMISSION = 0.3  # share of clear-sky daylight left under full overcast
LATITUDE_DAYLENGTH_AMPLITUDE_H = 4.4  # Leiden (52.2 N): ~16.6 h in June, ~7.8 h in December
SOLAR_NOON_UTC_H = 11.7  # 12:00 minus 4.5 E / 15 deg per hour
SPRING_EQUINOX = datetime(2000, 3, 20, tzinfo=UTC).timestamp()
YEAR_S = 365.25 * 86400
#: PIR detections per minute: the ERS counts motion events since the last uplink.
MOTION_PER_MIN_CLASS = 2.0
MOTION_PER_MIN_TEACHER = 0.4
MOTION_MAX = 255  # one byte in the Elsys frame

# Sensor scatter between consecutive readings (well inside the ERS CO2 accuracy of ~50 ppm).
CO2_NOISE_PPM = 8.0
TEMPERATURE_NOISE_C = 0.05
HUMIDITY_NOISE_RH = 0.4
LIGHT_NOISE = 0.05  # relative


@dataclass(frozen=True, slots=True)
class Room:
    """One classroom. Ventilation rates in m3/s of outdoor air."""

    slug: str
    name: str
    pupils: int
    volume_m3: float
    q_school: float  # during the school day, windows shut
    q_night: float  # infiltration, ventilation off
    q_airing: float  # extra with the windows wide open
    p_air_at_break: float
    heat_gain_c: float  # temperature rise a full class adds in steady state
    lat: float
    lon: float


# The Bouwbesluit asks 3.44 dm3/s per person in existing schools and 8.5 in new ones
# (docs/domain.md); 26 people need 0.089 resp. 0.22 m3/s.
ROOMS = (
    # Old wing, ventilated by grilles the teacher opens in the morning: well below the minimum.
    Room("lokaal-1", "OBS De Regenboog, lokaal 1 (groep 3)", 24, 165.0,
         q_school=0.045, q_night=0.02, q_airing=0.30, p_air_at_break=0.7, heat_gain_c=1.8,
         lat=52.17712, lon=4.50838),
    # Mechanical exhaust sized to the minimum for existing schools.
    Room("lokaal-2", "OBS De Regenboog, lokaal 2 (groep 5)", 26, 170.0,
         q_school=0.09, q_night=0.008, q_airing=0.25, p_air_at_break=0.5, heat_gain_c=1.4,
         lat=52.17705, lon=4.50862),
    # New wing (2022), balanced ventilation with heat recovery, below the new-build 8.5 dm3/s.
    Room("lokaal-3", "OBS De Regenboog, lokaal 3 (groep 8)", 28, 180.0,
         q_school=0.15, q_night=0.009, q_airing=0.20, p_air_at_break=0.2, heat_gain_c=1.0,
         lat=52.17698, lon=4.50885),
)


def device_for(room: Room) -> SimDevice:
    device_id = f"co2-regenboog-{room.slug}"
    return SimDevice(
        dev_eui=make_dev_eui(ELSYS_OUI, device_id),
        device_id=device_id,
        application_id=APPLICATION_ID,
        model_key=MODEL_KEY,
        organisation=ORGANISATION,
        use_case="classroom",
        name=room.name,
        lat=room.lat,
        lon=room.lon,
        config={"room_volume_m3": room.volume_m3},
        interval_s=INTERVAL_S,
    )


def _within(hour: float, span: tuple[float, float]) -> bool:
    return span[0] <= hour < span[1]


def _lessons(local: datetime) -> tuple[tuple[float, float], ...]:
    return WEDNESDAY_LESSONS if local.weekday() == WEDNESDAY else LESSONS


def in_lesson(local: datetime) -> bool:
    """Are the pupils in class at this local time?"""
    if local.weekday() not in SCHOOL_DAYS:
        return False
    hour = hour_of_day(local)
    return any(_within(hour, span) for span in _lessons(local))


@dataclass(frozen=True, slots=True)
class _Conditions:
    children: int
    adults: int
    q: float
    airing: bool
    setpoint_c: float


class ClassroomModel(DeviceSim):
    """CO2 (ppm), vapour density (g/m3) and temperature (C) of one room."""

    warmup_s = WARMUP_S

    def __init__(self, room: Room, seed: int, weather: Weather) -> None:
        super().__init__(device_for(room), seed)
        self.room = room
        self.weather = weather
        self.co2 = OUTDOOR_CO2_PPM
        self.temperature = SETPOINT_NIGHT_C
        self.vapour = 0.0  # set from outdoors on the first step
        self._last_t: float | None = None
        self._attendance: tuple[str, int] = ("", 0)  # (date, pupils): drawn once per day
        self._warm: tuple[str, bool] = ("", False)  # (date, windows open in lessons)

    def _day_key(self, local: datetime) -> str:
        return local.date().isoformat()

    def _pupils_today(self, local: datetime) -> int:
        day = self._day_key(local)
        if self._attendance[0] != day:
            rng = self.rng(0, "attendance", day)
            self._attendance = (day, sum(rng.random() < ATTENDANCE for _ in range(self.room.pupils)))
        return self._attendance[1]

    def _warm_day(self, local: datetime) -> bool:
        day = self._day_key(local)
        if self._warm[0] != day:
            noon = local.replace(hour=12, minute=0, second=0, microsecond=0).timestamp()
            self._warm = (day, self.weather.daily_mean_temperature(noon) > WARM_WEATHER_C)
        return self._warm[1]

    def _aired(self, local: datetime, which: int) -> bool:
        return self.rng(0, "airing", self._day_key(local), which).random() < self.room.p_air_at_break

    def conditions(self, t: float) -> _Conditions:
        local = local_time(t)
        hour = hour_of_day(local)
        school_day = local.weekday() in SCHOOL_DAYS
        end_of_day = _lessons(local)[-1][1]
        lesson = in_lesson(local)
        children = self._pupils_today(local) if lesson else 0
        adults = 1 if school_day and TEACHER_ARRIVES <= hour < TEACHER_LEAVES else 0
        airing = False
        if school_day:
            for i, span in enumerate(BREAKS):
                if _within(hour, span) and span[0] < end_of_day and self._aired(local, i):
                    airing = True
            if lesson and self._warm_day(local):
                airing = True
        ventilated = school_day and _within(hour, VENTILATION_ON)
        q = (self.room.q_school if ventilated else self.room.q_night)
        if airing:
            q += self.room.q_airing
        heating = school_day and _within(hour, HEATING_ON)
        return _Conditions(children, adults, q, airing,
                           SETPOINT_DAY_C if heating else SETPOINT_NIGHT_C)

    def _substep(self, t_mid: float, dt: float) -> float:
        """Advance the state by ``dt`` seconds under the conditions at ``t_mid``; return the
        expected number of PIR detections in that time."""
        c = self.conditions(t_mid)
        v = self.room.volume_m3
        decay = math.exp(-c.q * dt / v)
        co2_source = c.children * CO2_PER_CHILD_M3_S + c.adults * CO2_PER_ADULT_M3_S
        co2_ss = OUTDOOR_CO2_PPM + co2_source / c.q * PPM
        self.co2 = co2_ss + (self.co2 - co2_ss) * decay
        vapour_out = self.weather.vapour_density(t_mid)
        vapour_ss = vapour_out + (c.children * VAPOUR_PER_CHILD_G_S
                                  + c.adults * VAPOUR_PER_ADULT_G_S) / c.q
        self.vapour = vapour_ss + (self.vapour - vapour_ss) * decay
        outdoor = self.weather.temperature(t_mid)
        base = max(c.setpoint_c, self.weather.daily_mean_temperature(t_mid) + FREE_RUNNING_OFFSET_C)
        target = base + self.room.heat_gain_c * c.children / self.room.pupils
        tau = THERMAL_TAU_S
        if c.airing:
            target += (outdoor - target) * AIRING_MIX
            tau = AIRING_TAU_S
        self.temperature = target + (self.temperature - target) * math.exp(-dt / tau)
        per_min = MOTION_PER_MIN_CLASS if c.children else MOTION_PER_MIN_TEACHER * c.adults
        return per_min * dt / 60

    def _light(self, t: float) -> float:
        local = local_time(t)
        hour = hour_of_day(local)
        lit = local.weekday() in SCHOOL_DAYS and TEACHER_ARRIVES <= hour < TEACHER_LEAVES
        day_length = 12 + LATITUDE_DAYLENGTH_AMPLITUDE_H * math.sin(
            2 * math.pi * (t - SPRING_EQUINOX) / YEAR_S)
        hour_utc = (t % 86400) / SECONDS_PER_HOUR
        x = (hour_utc - (SOLAR_NOON_UTC_H - day_length / 2)) / day_length
        sun = math.sin(math.pi * x) if 0 < x < 1 else 0.0
        clear = 1.0 - (1.0 - OVERCAST_TRANSMISSION) * self.weather.cloudiness(t)
        # Longer days have a higher sun: scale the peak by the day length relative to June's.
        season = day_length / (12 + LATITUDE_DAYLENGTH_AMPLITUDE_H)
        return (ARTIFICIAL_LIGHT_LX if lit else 0.0) + DAYLIGHT_PEAK_LX * sun * clear * season

    def step(self, t: float) -> dict[str, float]:
        if self._last_t is None:
            self._last_t = t - self.device.interval_s
            self.vapour = self.weather.vapour_density(self._last_t)
        t0, self._last_t = self._last_t, t
        n = max(1, math.ceil((t - t0) / SUBSTEP_S))
        dt = (t - t0) / n
        motion_mean = sum(self._substep(t0 + (j + 0.5) * dt, dt) for j in range(n))
        rng = self.rng(t)
        humidity = 100 * self.vapour / saturation_vapour_density(self.temperature)
        return {
            "temperature": self.temperature + rng.gauss(0, TEMPERATURE_NOISE_C),
            "humidity": min(100.0, max(0.0, humidity + rng.gauss(0, HUMIDITY_NOISE_RH))),
            "light": max(0.0, self._light(t) * (1 + rng.gauss(0, LIGHT_NOISE))),
            "motion": float(min(MOTION_MAX, poisson(rng, motion_mean))),
            "co2": max(0.0, self.co2 + rng.gauss(0, CO2_NOISE_PPM)),
        }


def models(seed: int, weather: Weather) -> list[DeviceSim]:
    return [ClassroomModel(room, seed, weather) for room in ROOMS]
