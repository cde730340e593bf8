"""V85 and mean speed from a radar counter's speed-class histogram (decoders/traffic.py), and the
crossing counters that use them: cases derived by hand from the payload specs the decoders cite.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from decoders import MODELS, DecodeError
from decoders.traffic import SpeedClass, classes_from_means, mean_speed, percentile_speed, v85
from meetnet.records import Reading

# --- percentile_speed / v85 --------------------------------------------------------------------


def test_no_vehicles_gives_no_v85() -> None:
    assert v85([]) is None
    assert v85([SpeedClass(0, 30, 0), SpeedClass(30, 50, 0)]) is None


def test_all_vehicles_in_one_class_interpolate_within_it() -> None:
    # 85 % of the way through [30, 50]: 30 + 0.85 * 20 = 47.
    assert v85([SpeedClass(0, 30, 0), SpeedClass(30, 50, 10), SpeedClass(50, 70, 0)]) == pytest.approx(47.0)


def test_zero_width_class_gives_its_speed() -> None:
    assert v85([SpeedClass(42, 42, 7)]) == pytest.approx(42.0)


def test_interpolates_in_the_cumulative_histogram() -> None:
    # 100 vehicles: 50 in [0, 30], 40 in [30, 50], 10 in [50, 70]. Rank 85 lies in the second
    # class, 35 of its 40 in: 30 + 35 / 40 * 20 = 47.5.
    classes = [SpeedClass(0, 30, 50), SpeedClass(30, 50, 40), SpeedClass(50, 70, 10)]
    assert v85(classes) == pytest.approx(47.5)


def test_rank_on_a_class_boundary_gives_the_boundary() -> None:
    # 85 of 100 vehicles at or below 50 km/h exactly.
    assert v85([SpeedClass(0, 50, 85), SpeedClass(50, 80, 15)]) == pytest.approx(50.0)


def test_class_order_does_not_matter() -> None:
    classes = [SpeedClass(50, 70, 10), SpeedClass(0, 30, 50), SpeedClass(30, 50, 40)]
    assert v85(classes) == pytest.approx(47.5)


def test_other_quantiles_and_bad_quantile() -> None:
    classes = [SpeedClass(0, 100, 10)]
    assert percentile_speed(classes, 0.5) == pytest.approx(50.0)
    assert percentile_speed(classes, 1.0) == pytest.approx(100.0)
    with pytest.raises(ValueError):
        percentile_speed(classes, 0.0)
    with pytest.raises(ValueError):
        percentile_speed(classes, 1.5)


@given(st.lists(st.tuples(st.integers(0, 1000), st.floats(0, 50)), min_size=1, max_size=6))
def test_v85_lies_within_the_histogram(parts: list[tuple[int, float]]) -> None:
    classes, lower = [], 0.0
    for count, width in parts:
        classes.append(SpeedClass(lower, lower + width, count))
        lower += width
    speed = v85(classes)
    if sum(c.count for c in classes) == 0:
        assert speed is None
    else:
        assert speed is not None
        assert 0.0 <= speed <= lower + 1e-9


# --- mean_speed / classes_from_means ------------------------------------------------------------


def test_mean_speed_is_count_weighted() -> None:
    assert mean_speed([(20.0, 1), (40.0, 3), (99.0, 0)]) == pytest.approx(35.0)
    assert mean_speed([(20.0, 0)]) is None
    assert mean_speed([]) is None


def test_classes_from_means_put_boundaries_halfway() -> None:
    classes = classes_from_means([(20.0, 4), (0.0, 0), (40.0, 6)])
    assert classes == [SpeedClass(10.0, 30.0, 4), SpeedClass(30.0, 50.0, 6)]


def test_classes_from_means_never_go_below_zero() -> None:
    classes = classes_from_means([(2.0, 1), (30.0, 1)])
    assert classes[0].lower == 0.0
    assert classes[1].upper == pytest.approx(44.0)


def test_classes_from_means_single_and_empty() -> None:
    assert classes_from_means([(33.0, 5), (10.0, 0)]) == [SpeedClass(33.0, 33.0, 5)]
    assert classes_from_means([(33.0, 0)]) == []
    assert v85(classes_from_means([])) is None


# --- Parametric TCR ----------------------------------------------------------------------------

_ZERO_CLASS = "000000000000"


def _tcr(payload_hex: str, f_port: int = 15) -> dict[str, float]:
    payload = bytes.fromhex(payload_hex.replace(" ", ""))
    readings: list[Reading] = MODELS["parametric/tcr"].decode(f_port, payload)
    got = {r.metric: r.value for r in readings}
    assert len(got) == len(readings), "a metric decoded twice"
    return got


def test_tcr_without_vehicles_has_counts_but_no_speeds() -> None:
    got = _tcr("be0202 0000 0000 0100" + _ZERO_CLASS * 4)
    assert got == {"vehicle_count_ltr": 0, "vehicle_count_rtl": 0, "vehicle_count": 0, "temperature": 25.6}


def test_tcr_one_direction_two_classes() -> None:
    # Class 0: 3 from right at 20 km/h; class 2: 1 from right at 40 km/h. Windows [10, 30] and
    # [30, 50]; rank 0.85 * 4 = 3.4 lies in the second: 30 + 0.4 * 20 = 38.
    got = _tcr("be0202 0000 0000 0000 0000 00 0003 14 " + _ZERO_CLASS + " 0000 00 0001 28 " + _ZERO_CLASS)
    assert got["vehicle_count_ltr"] == 0
    assert got["vehicle_count_rtl"] == 4
    assert got["vehicle_speed_mean"] == pytest.approx(25.0)
    assert got["vehicle_speed_v85"] == pytest.approx(38.0)


def test_tcr_ignores_the_average_of_an_empty_direction() -> None:
    # Class 1: 2 from left at 30 km/h, 0 from right with a stale average of 90 km/h.
    got = _tcr("be0202 0000 0000 0000 " + _ZERO_CLASS + " 0002 1e 0000 5a " + _ZERO_CLASS * 2)
    assert got["vehicle_speed_mean"] == pytest.approx(30.0)
    assert got["vehicle_speed_v85"] == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("f_port", "payload_hex"),
    [
        (15, ""),
        (15, "be02"),
        (15, "be0202 0000 0000 0000"),  # classes cut off
        (15, "be0202 0000 0000 0000" + _ZERO_CLASS * 4 + "00"),  # trailing byte
        (15, "be0203 0000 0000 0000" + _ZERO_CLASS * 4),  # version 3 is a configuration payload
        (15, "be0102 0000 0000 0000" + _ZERO_CLASS * 4),  # PCR2 family
        (15, "a2 0000 0000 0000 0000 00"),  # firmware 2 counters payload
        (14, "be0202 0000 0000 0000" + _ZERO_CLASS * 4),  # wrong fPort
        (190, "be0102 00"),  # not a TCR configuration frame
    ],
)
def test_tcr_rejects(f_port: int, payload_hex: str) -> None:
    with pytest.raises(DecodeError):
        MODELS["parametric/tcr"].decode(f_port, bytes.fromhex(payload_hex.replace(" ", "")))


def test_tcr_device_id_frame_has_no_readings() -> None:
    assert _tcr("be0200d2 01 00 20 00 20 00", f_port=190) == {}


# --- Milesight VS133 / VS121 -------------------------------------------------------------------


def _decode(key: str, payload_hex: str) -> dict[str, float]:
    readings = MODELS[key].decode(85, bytes.fromhex(payload_hex.replace(" ", "")))
    got = {r.metric: r.value for r in readings}
    assert len(got) == len(readings), "a metric decoded twice"
    return got


def test_vs133_sums_the_period_counts_of_all_lines() -> None:
    # Line 1 period 5 in / 2 out, line 2 period 1 in / 3 out; region counts and dwell skipped.
    got = _decode("milesight-iot/vs133", "05cc 0500 0200 08cc 0100 0300 0fe3 01020304 10e4 01 0a00 1400")
    assert got == {"pedestrian_count_in": 6, "pedestrian_count_out": 5, "pedestrian_count": 11}


def test_vs133_totals_only_and_device_info() -> None:
    assert _decode("milesight-iot/vs133", "ff0bff ff0101 03d2 48000000 04d2 c8000000") == {}


def test_vs133_rejects_unknown_and_short() -> None:
    for payload in ("05cc 0500", "11cc 00000000", ""):
        with pytest.raises(DecodeError):
            MODELS["milesight-iot/vs133"].decode(85, bytes.fromhex(payload.replace(" ", "")))
    with pytest.raises(DecodeError):
        MODELS["milesight-iot/vs133"].decode(1, bytes.fromhex("05cc05000200"))


def test_vs121_people_and_line_crossings() -> None:
    # 7 people in view; line crossings 4 in, 2 out; max count, region counts, timestamp skipped.
    got = _decode("milesight-iot/vs121",
                  "04c9 07 02 0003 05cc 0400 0200 06cd 09 07d5 0102030000000000 0f85 80009265")
    assert got == {"people_count": 7, "pedestrian_count_in": 4, "pedestrian_count_out": 2,
                   "pedestrian_count": 6}


def test_vs121_device_info_and_history_frame() -> None:
    assert _decode("milesight-iot/vs121", "ff0101 ff08 010203040506 ff090100 ff1f 01020304") == {}
    with pytest.raises(DecodeError):
        MODELS["milesight-iot/vs121"].decode(85, bytes.fromhex("20ce 80009265 00"))


# --- water: Milesight EM500-UDL, Decentlab DL-MBX ------------------------------------------------


def test_em500_udl_alarm_and_history() -> None:
    readings = MODELS["milesight-iot/em500-udl"].decode(
        85, bytes.fromhex("83e9 e02e 6400 01 20ce 80009265 d204".replace(" ", ""))
    )
    # 0x2ee0 = 12000 x 0.1 mm = 1.2 m; history at 2024-01-01T00:00Z: 0x04d2 = 1234 mm.
    assert [(r.metric, r.value) for r in readings] == [("distance", 1.2), ("distance", 1.234)]
    assert readings[1].time is not None and readings[1].time.isoformat() == "2024-01-01T00:00:00+00:00"


def test_dl_mbx_without_valid_samples_has_no_distance() -> None:
    readings = MODELS["decentlab/dl-mbx"].decode(1, bytes.fromhex("02012f000304d200000bb1"))
    assert {r.metric: r.value for r in readings} == {"battery_voltage": 2.993}
    with pytest.raises(DecodeError):
        MODELS["decentlab/dl-mbx"].decode(1, bytes.fromhex("02012f0004 0bb1".replace(" ", "")))
