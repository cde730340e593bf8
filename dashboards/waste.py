"""The waste dashboard (docs/domain.md, "Waste bins"): which bins need emptying, where they are,
and which sensors went silent. 80 % is the level a bin should not pass before its round; the due
list is the analytics' own (analytics.waste.assess: over the threshold now, or forecast to pass
it before the next round), kept per bin by the alert runner in ``bin_status`` (docs/grafana.md)."""

from __future__ import annotations

from dashboards.panels import (
    Json,
    bargauge,
    color_steps,
    colored_column,
    column_unit,
    dashboard,
    geomap,
    per_device,
    stat,
    table,
    timeseries,
)

UID = "meetnet-waste"


def waste_dashboard() -> Json:
    """Fill levels, the due list of the analytics, bins on the map and silent sensors."""
    fill = color_steps("green", (60, "yellow"), (80, "red"))
    panels = [
        stat("Due on the next round", "Bins the analytics put on the next round (over 80 % now, "
             "or forecast to pass it within 24 hours), as of the alert runner's last "
             "assessment.", """
            SELECT count(*) AS "bins due"
            FROM grafana.bin_status b
            JOIN grafana.devices d ON d.id = b.device_id
            WHERE b.due AND <org>
            """, unit="none", thresholds=color_steps("green", (1, "orange"))),
        stat("Bins at or above 80 %", "Bins whose latest fill level is at least 80 %.", """
            SELECT count(*) AS "bins at or above 80 %"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'fill_level' AND l.value >= 80 AND <org>
            """, unit="none", thresholds=color_steps("green", (1, "orange"))),
        stat("Average fill level", "Mean of every bin's latest fill level.", """
            SELECT avg(l.value) AS "average fill level"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'fill_level' AND <org>
            """, unit="percent", thresholds=fill, decimals=0),
        stat("Silent bins", "Bins without a fill level for 24 hours: a stale sensor.", """
            SELECT count(*) AS "silent bins"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'fill_level' AND l.time < now() - interval '24 hours'
              AND <org>
            """, unit="none", thresholds=color_steps("green", (1, "red"))),
        table("Due list", "The bins the analytics put on the next round, fullest first: fill "
              "now, the fill rate since the last emptying (Theil-Sen, or the weekday pattern "
              "with three weeks of history), when the bin passes 80 % and is full, why it is "
              "due, and whether its sensor went silent. Assessed by the alert runner every "
              "interval (meetnet alerts run).", """
            SELECT <name> AS bin,
                   b.fill_pct AS "fill",
                   b.rate_pct_per_day AS "rate",
                   b.threshold_at AS "passes 80 %",
                   b.full_at AS "full at",
                   replace(b.due_reason, '-', ' ') AS "why",
                   b.stale AS "silent",
                   b.last_emptied AS "last emptied",
                   b.assessed_at AS "assessed at"
            FROM grafana.bin_status b
            JOIN grafana.devices d ON d.id = b.device_id
            WHERE b.due AND <org>
            ORDER BY b.fill_pct DESC NULLS LAST, 1
            """, overrides=[
                colored_column("fill", "percent", fill, 0),
                column_unit("rate", "suffix: %/day", 1),
            ]),
        geomap("Bins on the map", "Each bin at its registered location, coloured by its latest "
               "fill level.", """
            SELECT <name> AS bin,
                   d.lat,
                   d.lon,
                   l.value AS "fill level",
                   l.time AS "measured at"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'fill_level' AND d.lat IS NOT NULL AND d.lon IS NOT NULL
              AND <org>
            """, color_field="fill level", unit="percent", thresholds=fill),
        bargauge("Fullest bins", "The 30 fullest bins by their latest fill level.", """
            SELECT <name> AS bin,
                   l.value AS "fill level"
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'fill_level' AND <org>
            ORDER BY l.value DESC
            LIMIT 30
            """, unit="percent", thresholds=fill, minimum=0, maximum=100),
        timeseries("Fill level", "Fill level per bin; a sharp drop is an emptying.",
                   per_device("fill_level"),
                   unit="percent", thresholds=fill, threshold_style="dashed", interval="15m",
                   minimum=0),
    ]
    return dashboard(UID, "Waste bins: fill levels",
                     "Fill level per bin, the analytics' due list, silent sensors.",
                     ["waste"], panels)
