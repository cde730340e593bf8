"""The classroom dashboard (Meet de Klas; docs/domain.md, "Classrooms"): a live traffic light per
room in the Frisse Scholen CO2 classes, the week's course, and the share of school time in each
class."""

from __future__ import annotations

from dashboards.panels import (
    Json,
    barchart,
    color_steps,
    dashboard,
    per_device,
    stat,
    timeseries,
)

UID = "meetnet-classroom"

#: Frisse Scholen CO2 classes (Programma van Eisen Frisse Scholen; docs/domain.md, "Classrooms").
CO2_CLASS_A_PPM = 800
CO2_CLASS_B_PPM = 950
CO2_CLASS_C_PPM = 1200


def classroom_dashboard() -> Json:
    """CO2 now and over time in the Frisse Scholen classes, temperature and humidity per room."""
    co2 = color_steps("green", (CO2_CLASS_A_PPM, "yellow"), (CO2_CLASS_B_PPM, "orange"),
                      (CO2_CLASS_C_PPM, "red"))
    # Comfort 18-22 Cel; performance drops above 25. Relative humidity 35-70 %.
    temperature = color_steps("blue", (18, "green"), (22, "yellow"), (25, "red"))
    humidity = color_steps("orange", (35, "green"), (70, "orange"))
    panels = [
        stat("CO2 now", "Latest CO2 per room, measured within the last hour, coloured by Frisse "
             "Scholen class: green A (≤ 800 ppm), yellow B (≤ 950), orange C (≤ 1200), red above.",
             """
            SELECT <name> AS room,
                   l.value AS co2
            FROM grafana.latest_readings l
            JOIN grafana.metrics m ON m.id = l.metric_id
            JOIN grafana.devices d ON d.id = l.device_id
            WHERE m.name = 'co2' AND l.time > now() - interval '1 hour'
              AND <org>
            ORDER BY 1
            """, unit="ppm", thresholds=co2, w=24, h=5, per_row=True, decimals=0),
        timeseries("CO2", "CO2 per room against the Frisse Scholen class limits 800, 950 and "
                   "1200 ppm.",
                   per_device("co2"),
                   unit="ppm", thresholds=co2, threshold_style="line+area", interval="5m",
                   minimum=400),
        barchart("Share of school time per Frisse Scholen class",
                 "Per room, the share of CO2 readings in each class during school hours "
                 "(Monday to Friday, 08:30-15:30 Europe/Amsterdam) in the selected time range. "
                 "With regular uplinks this is the share of time.", """
            SELECT <name> AS room,
                   100.0 * count(*) FILTER (WHERE r.value <= 800) / count(*)
                       AS "A (≤ 800 ppm)",
                   100.0 * count(*) FILTER (WHERE r.value > 800 AND r.value <= 950) / count(*)
                       AS "B (≤ 950 ppm)",
                   100.0 * count(*) FILTER (WHERE r.value > 950 AND r.value <= 1200) / count(*)
                       AS "C (≤ 1200 ppm)",
                   100.0 * count(*) FILTER (WHERE r.value > 1200) / count(*)
                       AS "above C (> 1200 ppm)"
            FROM grafana.readings r
            JOIN grafana.metrics m ON m.id = r.metric_id
            JOIN grafana.devices d ON d.id = r.device_id
            WHERE m.name = 'co2' AND $__timeFilter(r.time) AND <org>
              AND extract(isodow FROM r.time AT TIME ZONE 'Europe/Amsterdam') <= 5
              AND (r.time AT TIME ZONE 'Europe/Amsterdam')::time >= time '08:30'
              AND (r.time AT TIME ZONE 'Europe/Amsterdam')::time < time '15:30'
            GROUP BY 1
            ORDER BY 1
            """, x_field="room", unit="percent",
                 colors={"A (≤ 800 ppm)": "green", "B (≤ 950 ppm)": "yellow",
                         "C (≤ 1200 ppm)": "orange", "above C (> 1200 ppm)": "red"}),
        # Water and waste sensors report temperature too: only classroom devices here.
        timeseries("Temperature", "Air temperature per room; comfortable between 18 and 22 °C.",
                   per_device("temperature", use_case="classroom"),
                   unit="celsius", thresholds=temperature, threshold_style="dashed", w=12,
                   interval="5m"),
        timeseries("Relative humidity", "Relative humidity per room; healthy between 35 and "
                   "70 %.",
                   per_device("humidity"),
                   unit="humidity", thresholds=humidity, threshold_style="dashed", w=12,
                   interval="5m"),
    ]
    return dashboard(UID, "Classrooms: CO2, temperature and humidity",
                     "Indoor air per classroom in the Frisse Scholen classes.",
                     ["classroom"], panels, refresh="1m")
