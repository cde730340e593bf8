"""The x axis of the pages' line charts (api/pages/svg.py): ticks and labels chosen by the span,
so a chart of several days does not print the same date under several ticks."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.pages.render import LOCAL
from api.pages.svg import line_chart, time_ticks

START = datetime(2025, 8, 8, 13, 37, tzinfo=UTC)


def _labels(span: timedelta, start: datetime = START) -> list[str]:
    return [label for _, label in time_ticks(start, start + span, LOCAL)]


@pytest.mark.parametrize(("span", "pattern", "at_least"), [
    (timedelta(hours=6), r"\d\d:\d\d", 5),
    (timedelta(days=1), r"\d\d:\d\d", 6),
    (timedelta(days=3), r"\d\d-\d\d \d\d:\d\d", 5),
    (timedelta(days=7), r"\d\d-\d\d", 6),
    (timedelta(days=31), r"\d\d-\d\d", 4),
])
def test_labels_by_span_are_distinct_and_increasing(span: timedelta, pattern: str,
                                                    at_least: int) -> None:
    ticks = time_ticks(START, START + span, LOCAL)
    labels = [label for _, label in ticks]
    assert len(labels) == len(set(labels)) >= at_least, labels
    assert len(labels) <= 13, labels
    assert all(re.fullmatch(pattern, label) for label in labels), labels
    times = [t for t, _ in ticks]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(START <= t <= START + span for t in times)


def test_the_water_pages_three_days_are_dates_with_times() -> None:
    """The water page's cloudburst window (two days before, one after): no "09-08" four times."""
    assert _labels(timedelta(days=3), datetime(2025, 8, 8, 14, tzinfo=UTC)) == [
        "09-08 00:00", "09-08 12:00", "10-08 00:00", "10-08 12:00", "11-08 00:00",
        "11-08 12:00"]


def test_a_week_is_local_midnights() -> None:
    ticks = time_ticks(START, START + timedelta(days=7), LOCAL)
    assert all(t.astimezone(LOCAL).hour == 0 for t, _ in ticks)
    assert [label for _, label in ticks][:2] == ["09-08", "10-08"]


def test_midnights_stay_midnights_across_the_clock_change() -> None:
    start = datetime(2025, 10, 22, tzinfo=UTC)  # the clocks go back on 26 October
    ticks = time_ticks(start, start + timedelta(days=8), LOCAL)
    assert [t.astimezone(LOCAL).strftime("%d %H:%M") for t, _ in ticks] == [
        f"{d} 00:00" for d in range(23, 31)]


@given(start=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                          timezones=st.just(UTC)),
       span=st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=400)))
def test_any_span_has_distinct_increasing_labels(start: datetime, span: timedelta) -> None:
    ticks = time_ticks(start, start + span, LOCAL)
    labels = [label for _, label in ticks]
    assert len(labels) == len(set(labels))
    times = [t for t, _ in ticks]
    assert times == sorted(times) and all(start <= t <= start + span for t in times)


def test_the_chart_prints_the_ticks_labels() -> None:
    svg = str(line_chart([(START, 1.0)], start=START, end=START + timedelta(days=3),
                         title="t", tz=LOCAL))
    assert "09-08 00:00" in svg and "11-08 12:00" in svg
    assert len(re.findall(r">09-08<", svg)) == 0


def test_the_local_day_the_clocks_go_back_is_hours() -> None:
    """The classroom page's day is local midnight to midnight: 25 hours on 26 October 2025."""
    start = datetime(2025, 10, 25, 22, tzinfo=UTC)  # 00:00 CEST
    labels = _labels(timedelta(hours=25), start)
    assert labels[0] == "00:00" and all(re.fullmatch(r"\d\d:\d\d", x) for x in labels)
