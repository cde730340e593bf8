"""The zebra crossing dashboard (docs/domain.md, "Zebra crossings"): pedestrians and vehicles per
hour, and the V85 of approaching vehicles against each crossing's own speed limit (device
configuration ``speed_limit_kmh``: a limit is configuration, not a constant)."""

from __future__ import annotations

from dashboards.panels import (
    Json,
    color_steps,
    colored_column,
    column_unit,
    dashboard,
    per_device,
    stat,
    table,
    timeseries,
)

UID = "meetnet-crossing"


def crossing_dashboard() -> Json:
    """Counts per hour and V85 per crossing, and the share of intervals over the limit."""
    panels = [
        stat("Pedestrians", "People counted crossing in the selected time range.", """
            SELECT sum(r.value) AS pedestrians
            FROM grafana.readings r
            JOIN grafana.metrics m ON m.id = r.metric_id
            JOIN grafana.devices d ON d.id = r.device_id
            WHERE m.name = 'pedestrian_count' AND $__timeFilter(r.time)
              AND <org>
            """, unit="none", thresholds=color_steps("blue"), w=12, h=4, decimals=0),
        stat("Vehicles", "Vehicles counted in the selected time range.", """
            SELECT sum(r.value) AS vehicles
            FROM grafana.readings r
            JOIN grafana.metrics m ON m.id = r.metric_id
            JOIN grafana.devices d ON d.id = r.device_id
            WHERE m.name = 'vehicle_count' AND $__timeFilter(r.time)
              AND <org>
            """, unit="none", thresholds=color_steps("purple"), w=12, h=4, decimals=0),
        # Counts are "since the previous uplink", so an hour's total is the sum of its uplinks.
        timeseries("Pedestrians per hour", "People crossing per hour, per crossing.",
                   per_device("pedestrian_count", agg="sum", hourly=True),
                   unit="short", bars=True, w=12, minimum=0),
        timeseries("Vehicles per hour", "Vehicles passing per hour, per crossing.",
                   per_device("vehicle_count", agg="sum", hourly=True),
                   unit="short", bars=True, w=12, minimum=0),
        timeseries("Vehicle speed V85", "The speed 85 % of approaching vehicles do not exceed, "
                   "per reporting interval.",
                   per_device("vehicle_speed_v85", agg="max"),
                   unit="velocitykmh", interval="15m", minimum=0),
        table("Speed against the limit", "Per crossing over the selected time range: its speed "
              "limit (device configuration speed_limit_kmh), the median and highest V85 of the "
              "reporting intervals, and the share of intervals whose V85 exceeded the limit.", """
            SELECT <name> AS crossing,
                   (d.config ->> 'speed_limit_kmh')::double precision AS "limit",
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY r.value) AS "median V85",
                   max(r.value) AS "highest V85",
                   CASE WHEN d.config ? 'speed_limit_kmh' THEN
                       100.0 * count(*) FILTER (
                           WHERE r.value > (d.config ->> 'speed_limit_kmh')::double precision)
                       / count(*)
                   END AS "intervals above the limit"
            FROM grafana.readings r
            JOIN grafana.metrics m ON m.id = r.metric_id
            JOIN grafana.devices d ON d.id = r.device_id
            WHERE m.name = 'vehicle_speed_v85' AND $__timeFilter(r.time)
              AND <org>
            GROUP BY d.id, d.name, d.dev_eui, d.config
            ORDER BY 1
            """, overrides=[
                column_unit("limit", "velocitykmh", 0),
                column_unit("median V85", "velocitykmh", 1),
                column_unit("highest V85", "velocitykmh", 1),
                colored_column("intervals above the limit", "percent",
                               color_steps("green", (15, "orange"), (50, "red")), 0),
            ]),
    ]
    return dashboard(UID, "Zebra crossings: pedestrians, vehicles and speed",
                     "Counts per hour and vehicle speed V85 at each crossing.",
                     ["crossing"], panels)
