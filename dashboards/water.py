"""The water dashboard (docs/domain.md, "Water level"): level in m NAP against each gauge's target
and alarm levels, how fast it rises, and sensors gone silent.

The target comes from each gauge's device config through the view ``grafana.water_targets``
(migration 0011), read as analytics.water's ``target_from_config`` reads it: fixed, summer/winter
or a band. The season dates, the alarm distance from the target (the widest deviation band) and
the default rise alarm are analytics.water's constants, written into the SQL here, so the
dashboard draws the lines the analytics judge by (docs/grafana.md, "Water: target and alarm
lines")."""

from __future__ import annotations

from analytics import water
from dashboards.panels import (
    Json,
    color_steps,
    colored_column,
    column_unit,
    dashboard,
    dashed_series,
    stat,
    table,
    timeseries,
)

UID = "meetnet-water"

#: Lines at this distance beyond the target (m): the widest of analytics.water's deviation
#: bands, where the water board's practice alarms.
ALARM_M = max(water.DEVIATION_BANDS_CM) / 100.0


def band_at(t: str, at: str) -> tuple[str, str]:
    """SQL for the (lower, upper) target in m NAP of the gauge whose grafana.water_targets row
    is ``t`` at the time expression ``at``: analytics.water.Target.band_at in SQL (months and
    days of the UTC date, as the analytics read their UTC-indexed series)."""
    (sm, sd), (wm, wd) = water.SUMMER_FROM, water.WINTER_FROM
    day = (f"(extract(month FROM {at} AT TIME ZONE 'UTC'), "
           f"extract(day FROM {at} AT TIME ZONE 'UTC'))")
    seasonal = (f"CASE WHEN {day} >= ({sm}, {sd}) AND {day} < ({wm}, {wd}) "
                f"THEN {t}.target_summer_nap_m ELSE {t}.target_winter_nap_m END")

    def pick(band_column: str) -> str:
        return (f"CASE {t}.kind WHEN 'fixed' THEN {t}.target_nap_m "
                f"WHEN 'band' THEN {t}.{band_column} "
                f"WHEN 'seasonal' THEN {seasonal} END")

    return pick("target_lower_nap_m"), pick("target_upper_nap_m")


def _level_and_lines_sql() -> str:
    bucket = "$__interval_ms * interval '1 millisecond'"
    lower, upper = band_at("d", "s.time")
    # Constant text: the band expressions and figures are analytics.water's constants.
    return f"""
        SELECT date_bin({bucket}, r.time, timestamptz '2000-01-01') AS time,
               <name> AS metric,
               avg(r.value) AS value
        FROM grafana.readings r
        JOIN grafana.metrics m ON m.id = r.metric_id
        JOIN grafana.devices d ON d.id = r.device_id
        WHERE m.name = 'water_level' AND <org> AND $__timeFilter(r.time)
        GROUP BY 1, 2
        UNION ALL
        SELECT s.time,
               <name> || ' ' || line.name AS metric,
               line.value
        FROM grafana.water_targets d
        CROSS JOIN generate_series(
            date_bin({bucket}, $__timeFrom()::timestamptz, timestamptz '2000-01-01'),
            $__timeTo()::timestamptz, {bucket}) AS s(time)
        CROSS JOIN LATERAL (SELECT {lower} AS lower,
                                   {upper} AS upper) AS b
        CROSS JOIN LATERAL (VALUES
            (CASE WHEN d.kind = 'band' THEN 'target low' ELSE 'target' END, b.lower),
            ('target high', CASE WHEN d.kind = 'band' THEN b.upper END),
            ('alarm high', b.upper + {ALARM_M}),
            ('alarm low', b.lower - {ALARM_M})) AS line(name, value)
        WHERE d.kind IS NOT NULL AND line.value IS NOT NULL AND <org>
        ORDER BY 1
        """  # noqa: S608


def _levels_now_sql() -> str:
    lower, upper = band_at("t", "l.time")
    # Constant text: the band expressions and figures are analytics.water's constants.
    return f"""
        SELECT <name> AS location,
               l.value AS "level",
               CASE WHEN b.lower = b.upper THEN round(b.lower::numeric, 2)::text
                    ELSE round(b.lower::numeric, 2) || ' .. ' || round(b.upper::numeric, 2)
               END AS "target",
               100 * (greatest(l.value - b.upper, 0) + least(l.value - b.lower, 0))
                   AS "deviation",
               100 * abs(greatest(l.value - b.upper, 0) + least(l.value - b.lower, 0))
                   AS "off target",
               l.time AS "measured at",
               (SELECT 360000 * regr_slope(r.value, extract(epoch FROM r.time))
                FROM grafana.readings r
                WHERE r.device_id = l.device_id AND r.metric_id = l.metric_id
                  AND r.time > l.time - interval '2 hours') AS "rise",
               COALESCE(t.rise_alarm_cm_h, {water.RISE_ALARM_CM_H}) AS "rise alarm at"
        FROM grafana.latest_readings l
        JOIN grafana.metrics m ON m.id = l.metric_id
        JOIN grafana.devices d ON d.id = l.device_id
        LEFT JOIN grafana.water_targets t ON t.device_id = d.id
        LEFT JOIN LATERAL (SELECT {lower} AS lower,
                                  {upper} AS upper) AS b ON true
        WHERE m.name = 'water_level' AND <org>
        ORDER BY 1
        """  # noqa: S608


def water_dashboard() -> Json:
    """Levels with their target and alarm lines, levels now against target, silent sensors."""
    rise = color_steps("green", (water.RISE_ALARM_CM_H / 2, "orange"),
                       (water.RISE_ALARM_CM_H, "red"))
    small, medium, large = sorted(water.DEVIATION_BANDS_CM)
    off = color_steps("green", (small, "yellow"), (medium, "orange"), (large, "red"))
    panels = [
        timeseries("Water level", "Water level per location in metres relative to NAP, with "
                   "each gauge's target from its configuration (fixed, summer/winter or a band; "
                   "dashed green) and alarm lines "
                   f"{ALARM_M * 100:g} cm beyond it (dashed red).",
                   _level_and_lines_sql(),
                   unit="suffix: m NAP", w=18, interval="10m",
                   overrides=[dashed_series(r".* target( low| high)?$", "green"),
                              dashed_series(r".* alarm (low|high)$", "red", dash=4)]),
        stat("Silent sensors", "Water level sensors without a reading for an hour.", """
            SELECT count(*) AS "silent sensors"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'water_level' AND l.time < now() - interval '1 hour'
              AND <org>
            """, unit="none", thresholds=color_steps("green", (1, "red")), w=6, h=9),
        # The rise is the least-squares slope over the two hours before the latest reading: a
        # short fit that one spike cannot dominate the way a difference of two readings can.
        table("Levels now", "Latest level per location against its target (m NAP), the "
              "deviation in cm (above the target positive, below negative, zero within a band) "
              f"coloured by the bands {small:g}, {medium:g} and {large:g} cm, and the rise in "
              "cm per hour over the two hours before it against the gauge's rise alarm "
              f"(rise_alarm_cm_h, default {water.RISE_ALARM_CM_H:g} cm/h).",
              _levels_now_sql(), overrides=[
                  column_unit("level", "suffix: m NAP", 2),
                  column_unit("deviation", "suffix: cm", 1),
                  colored_column("off target", "suffix: cm", off, 1),
                  colored_column("rise", "suffix: cm/h", rise, 1),
                  column_unit("rise alarm at", "suffix: cm/h", 1),
              ]),
    ]
    return dashboard(UID, "Water levels (m NAP)",
                     "Surface water level against each gauge's target, rate of rise and silent "
                     "sensors.", ["water"], panels)
