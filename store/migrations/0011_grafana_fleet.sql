-- Issue 12, Grafana finished (docs/grafana.md): what the fleet-health, water and waste dashboards
-- and the `organisation` variable read. Grafana's role still reads only views of schema
-- `grafana` (0009): each new view shows rows of the devices grafana.devices shows the role, and
-- nothing else. Idempotent; the same on plain PostgreSQL and TimescaleDB (the views read
-- `uplinks` whether it is a hypertable or not; bin_status is one row per bin, no hypertable).

-- The waste analytics' answer per bin (analytics.waste.assess), written by the alert runner at
-- every evaluation (alerts/runner.py, store/bin_status.py): Grafana cannot run pandas, so the
-- due list it shows is the one the runner computed, at `assessed_at`.
CREATE TABLE IF NOT EXISTS bin_status (
    device_id         bigint PRIMARY KEY REFERENCES devices(id) ON DELETE CASCADE,
    assessed_at       timestamptz NOT NULL,
    fill_pct          double precision,
    rate_pct_per_day  double precision,
    last_emptied      timestamptz,
    full_at           timestamptz,
    threshold_at      timestamptz,
    due               boolean NOT NULL,
    due_reason        text,
    stale             boolean NOT NULL,
    last_seen         timestamptz,
    rate_basis        text
);

-- The organisations with at least one device the role sees: the `organisation` variable's
-- options. Another organisation's name is not shown to a role that sees none of its devices.
CREATE OR REPLACE VIEW grafana.organisations WITH (security_barrier) AS
SELECT o.slug, o.name
FROM public.organisations o
WHERE EXISTS (SELECT 1 FROM grafana.devices v WHERE v.organisation_id = o.id);

-- Radio metadata of the uplinks of visible devices (never the payload): RSSI and SNR of the
-- strongest gateway, and how many gateways heard the uplink.
CREATE OR REPLACE VIEW grafana.uplinks WITH (security_barrier) AS
SELECT u.received_at, u.device_id, u.f_cnt, u.f_port, u.rssi, u.snr, u.gateway_count, u.network
FROM public.uplinks u
WHERE u.device_id IN (SELECT v.id FROM grafana.devices v);

-- Refused messages by stage and time (never payload, reason or topic, which may carry another
-- organisation's data): those of a visible device, with its organisation, and those of no
-- registered device at all (parse errors, unknown devices: the network's, no organisation's).
-- A registered device the role may not see keeps its dead letters hidden.
CREATE OR REPLACE VIEW grafana.dead_letters WITH (security_barrier) AS
SELECT dl.id, dl.first_seen_at, dl.last_seen_at, dl.times_seen, dl.stage,
       v.id AS device_id, v.organisation
FROM public.dead_letters dl
LEFT JOIN public.devices d ON d.dev_eui = lower(dl.dev_eui)
LEFT JOIN grafana.devices v ON v.id = d.id
WHERE d.id IS NULL OR v.id IS NOT NULL;

-- Each visible water gauge's target from its device config, read as analytics.water's
-- target_from_config reads it: fixed (target_nap_m), seasonal (target_summer_nap_m and
-- target_winter_nap_m) or a band (target_lower_nap_m .. target_upper_nap_m); kind NULL when it
-- has none (or an incomplete one). A value that is not a JSON number is no target, so a junk
-- config cannot make the view fail. rise_alarm_cm_h NULL: the analytics' default (5 cm/h).
CREATE OR REPLACE VIEW grafana.water_targets WITH (security_barrier) AS
SELECT t.device_id, t.dev_eui, t.name, t.organisation,
       CASE WHEN t.fixed IS NOT NULL THEN 'fixed'
            WHEN t.summer IS NOT NULL AND t.winter IS NOT NULL THEN 'seasonal'
            WHEN t.lower_m IS NOT NULL AND t.upper_m IS NOT NULL AND t.lower_m <= t.upper_m
                THEN 'band'
       END AS kind,
       t.fixed AS target_nap_m, t.summer AS target_summer_nap_m,
       t.winter AS target_winter_nap_m, t.lower_m AS target_lower_nap_m,
       t.upper_m AS target_upper_nap_m, t.rise_alarm_cm_h
FROM (SELECT v.id AS device_id, v.dev_eui, v.name, v.organisation,
             CASE WHEN jsonb_typeof(v.config -> 'target_nap_m') = 'number'
                  THEN (v.config ->> 'target_nap_m')::double precision END AS fixed,
             CASE WHEN jsonb_typeof(v.config -> 'target_summer_nap_m') = 'number'
                  THEN (v.config ->> 'target_summer_nap_m')::double precision END AS summer,
             CASE WHEN jsonb_typeof(v.config -> 'target_winter_nap_m') = 'number'
                  THEN (v.config ->> 'target_winter_nap_m')::double precision END AS winter,
             CASE WHEN jsonb_typeof(v.config -> 'target_lower_nap_m') = 'number'
                  THEN (v.config ->> 'target_lower_nap_m')::double precision END AS lower_m,
             CASE WHEN jsonb_typeof(v.config -> 'target_upper_nap_m') = 'number'
                  THEN (v.config ->> 'target_upper_nap_m')::double precision END AS upper_m,
             CASE WHEN jsonb_typeof(v.config -> 'rise_alarm_cm_h') = 'number'
                       AND (v.config ->> 'rise_alarm_cm_h')::double precision > 0
                  THEN (v.config ->> 'rise_alarm_cm_h')::double precision END
                 AS rise_alarm_cm_h
      FROM grafana.devices v
      WHERE v.use_case = 'water') AS t;

CREATE OR REPLACE VIEW grafana.bin_status WITH (security_barrier) AS
SELECT b.device_id, b.assessed_at, b.fill_pct, b.rate_pct_per_day, b.last_emptied, b.full_at,
       b.threshold_at, b.due, b.due_reason, b.stale, b.last_seen, b.rate_basis
FROM public.bin_status b
WHERE b.device_id IN (SELECT v.id FROM grafana.devices v);

-- Roles granted the views before this migration (`meetnet grafana grant`, or grafana_reader
-- where the schema's default privileges did not reach) read the new ones too: whoever may read
-- grafana.readings. The leading semicolons keep 0009's style for the statement splitter.
DO $$
DECLARE
    r record
; BEGIN
    FOR r IN SELECT rolname FROM pg_roles
             WHERE has_table_privilege(oid, 'grafana.readings', 'SELECT')
               AND NOT rolsuper AND rolname !~ '^pg_' AND rolname <> current_user
    LOOP
        EXECUTE format('GRANT SELECT ON grafana.organisations, grafana.uplinks, '
                       'grafana.dead_letters, grafana.water_targets, grafana.bin_status TO %I',
                       r.rolname)
    ; END LOOP
; END
$$;
