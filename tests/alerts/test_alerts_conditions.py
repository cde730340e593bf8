"""The alert conditions of analytics/alerts.py on hand-made series whose answers are known."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.alerts import (
    Episode,
    ThresholdRule,
    classroom_over_c_episodes,
    low_battery_episodes,
    offline_since,
    rise_episodes,
    threshold_episodes,
    uplink_interval_s,
)

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)  # a Monday
MIN = timedelta(minutes=1)


def every_10_min(*values: float, start: datetime = T0) -> pd.Series:
    return pd.Series(values, index=pd.DatetimeIndex(
        [start + 10 * k * MIN for k in range(len(values))]), dtype=float)


def test_duration_must_be_held_reading_after_reading() -> None:
    rule = ThresholdRule(">", 30.0, timedelta(minutes=20))
    # 31 at 0, 10 (20 min not yet reached), 29 breaks it; then 31 from 30 to 60 min.
    s = every_10_min(31, 31, 29, 31, 32, 33, 31)
    assert threshold_episodes(s, rule) == [Episode(T0 + 30 * MIN, None, 33.0)]


def test_zero_duration_fires_on_the_first_reading_and_equal_is_not_over() -> None:
    assert threshold_episodes(every_10_min(30, 30.5), ThresholdRule(">", 30.0)) == [
        Episode(T0 + 10 * MIN, None, 30.5)]
    assert threshold_episodes(every_10_min(30), ThresholdRule(">=", 30.0)) == [
        Episode(T0, None, 30.0)]


def test_hysteresis_keeps_one_alert_through_dithering() -> None:
    rule = ThresholdRule(">", 30.0, timedelta(0), hysteresis=2.0)
    # Over, dithers between 28.5 and 31 (no clear: not at or below 28), then 28 clears.
    s = every_10_min(31, 29, 30.5, 28.5, 31, 28, 27, 31)
    assert threshold_episodes(s, rule) == [
        Episode(T0, T0 + 50 * MIN, 31.0), Episode(T0 + 70 * MIN, None, 31.0)]
    # Without hysteresis every dip is an alert of its own.
    assert len(threshold_episodes(s, ThresholdRule(">", 30.0))) == 4


def test_downward_rules_clear_above_threshold_plus_hysteresis() -> None:
    rule = ThresholdRule("<", 10.0, timedelta(minutes=10), hysteresis=1.0)
    s = every_10_min(12, 9, 8, 10.5, 11, 12)
    assert threshold_episodes(s, rule) == [Episode(T0 + 10 * MIN, T0 + 40 * MIN, 8.0)]


def test_an_episode_under_way_is_ended_only_by_a_clearing_reading() -> None:
    rule = ThresholdRule(">", 30.0, timedelta(hours=1), hysteresis=2.0)
    s = every_10_min(29, 29.5, 27)  # below the threshold, above the clear level, then clear
    assert threshold_episodes(s, rule, active_since=T0 - timedelta(hours=2)) == [
        Episode(T0 - timedelta(hours=2), T0 + 20 * MIN, 29.5)]


def test_rules_refuse_nonsense() -> None:
    for bad in (dict(condition="!=", threshold=1.0), dict(condition=">", threshold=np.nan),
                dict(condition=">", threshold=1.0, hysteresis=-1.0),
                dict(condition=">", threshold=1.0, duration=-MIN)):
        with pytest.raises(ValueError):
            ThresholdRule(**bad)  # type: ignore[arg-type]


def test_offline_after_three_intervals() -> None:
    seen = T0
    assert offline_since(seen, 600, T0 + 29 * MIN) is None
    assert offline_since(seen, 600, T0 + 30 * MIN) == T0 + 30 * MIN
    assert offline_since(None, 600, T0) is None
    assert offline_since(seen, None, T0 + timedelta(days=9)) is None
    times = [T0 + 10 * k * MIN for k in range(6)] + [T0 + timedelta(hours=9)]
    assert uplink_interval_s(times) == 600.0  # the median: one long gap does not count
    assert uplink_interval_s([T0]) is None


def test_low_battery_clears_only_on_a_fresh_battery() -> None:
    s = every_10_min(30, 20, 22, 24, 26)
    assert low_battery_episodes(s, level=20, hysteresis=5) == [
        Episode(T0 + 10 * MIN, T0 + 40 * MIN, 20.0)]


def test_classroom_over_class_c_for_a_lesson_hour() -> None:
    nine = T0 + timedelta(minutes=30)  # 09:30 local (UTC+1): lesson time
    over = pd.Series([1300.0] * 7, index=pd.DatetimeIndex([nine + 10 * k * MIN
                                                            for k in range(7)]))
    assert classroom_over_c_episodes(over) == [Episode(nine, None, 1300.0)]
    assert classroom_over_c_episodes(over.iloc[:6]) == []  # 50 minutes is no lesson hour
    # The same at night: outside lesson time.
    night = over.copy()
    night.index = night.index + timedelta(hours=12)
    assert classroom_over_c_episodes(night) == []


def test_rise_episodes_ignore_unknown_rates() -> None:
    times = pd.DatetimeIndex([T0 + 10 * k * MIN for k in range(5)])
    rate = pd.Series([np.nan, 6.0, np.nan, 7.0, 1.0], index=times)
    assert rise_episodes(times, rate, 5.0) == [Episode(T0 + 10 * MIN, T0 + 40 * MIN, 7.0)]


@settings(max_examples=200, deadline=None)
@given(values=st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), max_size=60),
       condition=st.sampled_from([">", ">=", "<", "<="]),
       threshold=st.floats(-100, 100), hysteresis=st.floats(0, 50),
       minutes=st.integers(0, 120))
def test_episodes_are_ordered_and_disjoint_and_only_the_last_is_open(
        values: list[float], condition: str, threshold: float, hysteresis: float,
        minutes: int) -> None:
    rule = ThresholdRule(condition, threshold, timedelta(minutes=minutes),  # type: ignore[arg-type]
                         hysteresis)
    found = threshold_episodes(every_10_min(*values), rule)
    for a, b in itertools.pairwise(found):
        assert a.end is not None and a.start < a.end <= b.start
    assert all(e.end is not None for e in found[:-1])
    # The same readings give the same episodes: what the runner's idempotence rests on.
    assert threshold_episodes(every_10_min(*values), rule) == found
