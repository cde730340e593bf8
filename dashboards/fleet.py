"""The fleet-health dashboard: is the network delivering? Per device when it was last seen, its
battery, its radio link (RSSI and SNR of the strongest gateway, how many gateways heard it),
uplinks per 5 minutes, and the messages ingest refused, by stage (docs/architecture.md,
"Ingest": parse, lookup, decode, validate, store, internal).

Everything comes from the views of schema ``grafana`` (migrations 0009 and 0011): the radio
metadata of visible devices' uplinks (``grafana.uplinks``, never a payload) and refused
messages by stage and time only (``grafana.dead_letters``, never a payload or reason). Dead
letters of no registered device belong to no organisation and show whatever organisations are
picked; those of a device the role may not see never show."""

from __future__ import annotations

from dashboards.panels import (
    Json,
    bargauge,
    color_steps,
    colored_column,
    column_unit,
    dashboard,
    stat,
    table,
    timeseries,
)

UID = "meetnet-fleet"

#: Battery charge: red below 20 %, orange below 40 % (the alert runner's low-battery default
#: is MEETNET_ALERTS_LOW_BATTERY_PCT; these colours only rank the fleet).
BATTERY = color_steps("red", (20, "orange"), (40, "green"))
#: RSSI of the strongest gateway (dBm): LoRa gateways decode down to about -120 to -140 dBm
#: depending on the spreading factor; below -115 a link has little margin left.
RSSI = color_steps("red", (-115, "orange"), (-105, "green"))
#: SNR (dB): SF7 needs about -7.5 dB, SF12 about -20 dB (Semtech SX1276 datasheet, table 13);
#: below -7.5 only the slow spreading factors get through.
SNR = color_steps("red", (-15, "orange"), (-7.5, "green"))
#: Seconds since the last uplink.
SILENCE = color_steps("green", (3600, "yellow"), (86400, "red"))
#: The dead-letter filter: a visible device's letters by its organisation, and the letters of no
#: registered device (organisation NULL) always.
DEAD_LETTER_FILTER = "(<org> OR d.organisation IS NULL)"


def fleet_dashboard() -> Json:
    """Last seen, battery, radio and gateways per device; uplinks and dead letters over time."""
    panels = [
        stat("Fleet size", "Devices of the organisations picked.", """
            SELECT count(*) AS devices
            FROM grafana.devices d
            WHERE <org>
            """, unit="none", thresholds=color_steps("blue"), h=4),
        stat("Seen in the last hour", "Devices with an uplink in the last hour.", """
            SELECT count(*) AS "seen in the last hour"
            FROM grafana.devices d
            WHERE d.last_seen_at > now() - interval '1 hour' AND <org>
            """, unit="none", thresholds=color_steps("green"), h=4),
        stat("Silent for a day", "Devices without an uplink for 24 hours, or never seen.", """
            SELECT count(*) AS "silent for a day"
            FROM grafana.devices d
            WHERE (d.last_seen_at IS NULL OR d.last_seen_at < now() - interval '24 hours')
              AND <org>
            """, unit="none", thresholds=color_steps("green", (1, "red")), h=4),
        stat("Dead letters", "Messages ingest refused in the selected time range (each "
             "redelivery of the same message counted), including those of no registered "
             "device.", """
            SELECT COALESCE(sum(d.times_seen), 0) AS "dead letters"
            FROM grafana.dead_letters d
            WHERE $__timeFilter(d.last_seen_at) AND (<org> OR d.organisation IS NULL)
            """, unit="none", thresholds=color_steps("green", (1, "orange")), h=4),
        table("Devices", "Every device, the longest silent first: when it was last seen and "
              "how long ago, its battery (the latest battery reading, else the network "
              "server's level), and over the selected time range the mean RSSI and SNR of its "
              "strongest gateway, the mean number of gateways that heard it, and its uplinks.",
              """
            SELECT <name> AS device,
                   d.organisation,
                   d.use_case AS "use case",
                   d.model_key AS model,
                   d.last_seen_at AS "last seen",
                   extract(epoch FROM now() - d.last_seen_at) AS "silent for",
                   COALESCE(b.value, d.battery_percent) AS battery,
                   u.rssi AS "RSSI",
                   u.snr AS "SNR",
                   u.gateways,
                   COALESCE(u.uplinks, 0) AS uplinks
            FROM grafana.devices d
            LEFT JOIN (SELECT l.device_id, l.value
                       FROM grafana.latest_readings l
                       JOIN grafana.metrics m ON m.id = l.metric_id
                       WHERE m.name = 'battery') AS b ON b.device_id = d.id
            LEFT JOIN (SELECT device_id, avg(rssi) AS rssi, avg(snr) AS snr,
                              avg(gateway_count) AS gateways, count(*) AS uplinks
                       FROM grafana.uplinks
                       WHERE $__timeFilter(received_at)
                       GROUP BY device_id) AS u ON u.device_id = d.id
            WHERE <org>
            ORDER BY d.last_seen_at NULLS FIRST, 1
            """, h=10, overrides=[
                colored_column("silent for", "s", SILENCE),
                colored_column("battery", "percent", BATTERY, 0),
                colored_column("RSSI", "dBm", RSSI, 0),
                colored_column("SNR", "dB", SNR, 1),
                column_unit("gateways", "none", 1),
            ]),
        timeseries("Uplinks per 5 minutes", "Uplinks received per 5 minutes, per use case: a "
                   "gap or a step down is a gateway, the network server or ingest away.", """
            SELECT date_bin(interval '5 minutes', u.received_at, timestamptz '2000-01-01')
                       AS time,
                   d.use_case AS metric,
                   count(*) AS value
            FROM grafana.uplinks u
            JOIN grafana.devices d ON d.id = u.device_id
            WHERE $__timeFilter(u.received_at) AND <org>
            GROUP BY 1, 2
            ORDER BY 1
            """, unit="short", bars=True, minimum=0, h=8),
        timeseries("RSSI", "Received signal strength of the strongest gateway per device.", """
            SELECT date_bin($__interval_ms * interval '1 millisecond', u.received_at,
                            timestamptz '2000-01-01') AS time,
                   <name> AS metric,
                   avg(u.rssi) AS value
            FROM grafana.uplinks u
            JOIN grafana.devices d ON d.id = u.device_id
            WHERE u.rssi IS NOT NULL AND $__timeFilter(u.received_at) AND <org>
            GROUP BY 1, 2
            ORDER BY 1
            """, unit="dBm", thresholds=RSSI, threshold_style="dashed", w=12, interval="10m"),
        timeseries("SNR", "Signal-to-noise ratio of the strongest gateway per device.", """
            SELECT date_bin($__interval_ms * interval '1 millisecond', u.received_at,
                            timestamptz '2000-01-01') AS time,
                   <name> AS metric,
                   avg(u.snr) AS value
            FROM grafana.uplinks u
            JOIN grafana.devices d ON d.id = u.device_id
            WHERE u.snr IS NOT NULL AND $__timeFilter(u.received_at) AND <org>
            GROUP BY 1, 2
            ORDER BY 1
            """, unit="dB", thresholds=SNR, threshold_style="dashed", w=12, interval="10m"),
        timeseries("Dead letters by stage", "Refused messages per stage of ingest (parse, "
                   "lookup, decode, validate, store, internal), by when they were last seen.",
                   """
            SELECT date_bin($__interval_ms * interval '1 millisecond', d.last_seen_at,
                            timestamptz '2000-01-01') AS time,
                   d.stage AS metric,
                   sum(d.times_seen) AS value
            FROM grafana.dead_letters d
            WHERE $__timeFilter(d.last_seen_at) AND (<org> OR d.organisation IS NULL)
            GROUP BY 1, 2
            ORDER BY 1
            """, unit="short", bars=True, minimum=0, interval="1h", h=8),
        bargauge("Lowest batteries", "The 20 devices with the least battery left.", """
            SELECT <name> AS device,
                   COALESCE(b.value, d.battery_percent) AS battery
            FROM grafana.devices d
            LEFT JOIN (SELECT l.device_id, l.value
                       FROM grafana.latest_readings l
                       JOIN grafana.metrics m ON m.id = l.metric_id
                       WHERE m.name = 'battery') AS b ON b.device_id = d.id
            WHERE COALESCE(b.value, d.battery_percent) IS NOT NULL AND <org>
            ORDER BY 2, 1
            LIMIT 20
            """, unit="percent", thresholds=BATTERY, minimum=0, maximum=100),
        bargauge("Fewest gateways", "The 20 devices heard by the fewest gateways per uplink "
                 "(mean over the selected time range): one gateway less and they are gone.",
                 """
            SELECT <name> AS device,
                   avg(u.gateway_count) AS gateways
            FROM grafana.uplinks u
            JOIN grafana.devices d ON d.id = u.device_id
            WHERE $__timeFilter(u.received_at) AND <org>
            GROUP BY d.id, d.name, d.dev_eui
            ORDER BY 2, 1
            LIMIT 20
            """, unit="none", thresholds=color_steps("red", (1.5, "orange"), (2.5, "green")),
                 minimum=0, maximum=5),
    ]
    return dashboard(UID, "Fleet health: devices, radio and ingest",
                     "Last seen, battery, RSSI/SNR and gateways per device; uplinks and dead "
                     "letters over time.", ["fleet"], panels, refresh="1m", time_from="now-24h")
