from __future__ import annotations

import pandas as pd
import pytest

from analytics.classroom import FrisseScholen, class_shares, co2_class


@pytest.mark.parametrize(("ppm", "cls"), [(420, "A"), (800, "A"), (801, "B"), (950, "B"),
                                          (1200, "C"), (1201, "-")])
def test_absolute_classes(ppm: float, cls: str) -> None:
    assert co2_class(ppm) == cls


def test_relative_classes_use_outdoor_air() -> None:
    limits = FrisseScholen(co2_limits={"A": 400, "B": 550, "C": 800}, relative=True)
    assert co2_class(820, limits) == "A"  # 400 above 420 outdoor
    assert co2_class(821, limits) == "B"


def test_shares_weight_by_time_held() -> None:
    idx = pd.to_datetime(["2026-11-23 08:00", "2026-11-23 08:10", "2026-11-23 08:40",
                          "2026-11-23 08:50"], utc=True)
    s = pd.Series([700.0, 1000.0, 900.0, 1300.0], index=idx)
    shares = class_shares(s)
    # 10 min A, 30 min C, 10 min B, last holds the median interval (10 min) as "-".
    assert shares == pytest.approx({"A": 10 / 60, "C": 30 / 60, "B": 10 / 60, "-": 10 / 60})
    assert class_shares(pd.Series(dtype=float)) == {}
