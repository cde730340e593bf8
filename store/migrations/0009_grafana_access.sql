-- Issue 10: Grafana's database roles see open data only, unless an organisation is configured
-- for the role (`meetnet grafana grant ROLE --org SLUG`, table grafana_access); then also that
-- organisation's own devices and the devices shared with it, as its API keys do. Grafana reads
-- the views of schema `grafana`, never the tables (docs/architecture.md, "Who sees my data":
-- why views and not row-level security). The views run with their owner's (meetnet's) rights
-- on the tables and filter by `current_user`, the role Grafana logged in as; security_barrier
-- keeps a caller's own functions from seeing rows the filter drops (PostgreSQL docs, 41.5
-- "Rules and Privileges").
CREATE SCHEMA IF NOT EXISTS grafana;

CREATE TABLE IF NOT EXISTS grafana_access (
    role_name        text NOT NULL,
    organisation_id  bigint NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_name, organisation_id)
);

-- The same rule as the API's (store/queries.py _visible): open, the role's organisation's own,
-- or `shared` with the role's organisation.
CREATE OR REPLACE VIEW grafana.devices WITH (security_barrier) AS
SELECT d.id, d.dev_eui, d.device_id, d.application_id, d.organisation_id,
       o.slug AS organisation, d.model_key, d.name, d.use_case, d.visibility, d.config,
       d.lat, d.lon, d.last_seen_at, d.battery_percent, d.created_at
FROM public.devices d
JOIN public.organisations o ON o.id = d.organisation_id
WHERE d.visibility = 'open'
   OR EXISTS (SELECT 1 FROM public.grafana_access g
              WHERE g.role_name = current_user
                AND (g.organisation_id = d.organisation_id
                     OR (d.visibility = 'shared' AND EXISTS (
                         SELECT 1 FROM public.device_shares s
                         WHERE s.device_id = d.id AND s.organisation_id = g.organisation_id))));

CREATE OR REPLACE VIEW grafana.readings WITH (security_barrier) AS
SELECT r.time, r.device_id, r.metric_id, r.value
FROM public.readings r
WHERE r.device_id IN (SELECT v.id FROM grafana.devices v);

CREATE OR REPLACE VIEW grafana.latest_readings WITH (security_barrier) AS
SELECT l.device_id, l.metric_id, l.time, l.value
FROM public.latest_readings l
WHERE l.device_id IN (SELECT v.id FROM grafana.devices v);

-- The metric catalog is public knowledge.
CREATE OR REPLACE VIEW grafana.metrics AS
SELECT id, name, unit, description, minimum, maximum, use_case FROM public.metrics;

-- Databases made before this migration gave the shipped role grafana_reader (see
-- deploy/timescaledb/grafana-reader.sh) SELECT on every table: taken back here, so upgrading
-- closes the hole without a manual step, and the views granted instead. The runner splits
-- statements at a ';' that ends a line, hence the leading semicolons inside the block.
DO $$
BEGIN
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana_reader') THEN
        REVOKE ALL ON ALL TABLES IN SCHEMA public FROM grafana_reader
        ; ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM grafana_reader
        ; GRANT USAGE ON SCHEMA grafana TO grafana_reader
        ; GRANT SELECT ON ALL TABLES IN SCHEMA grafana TO grafana_reader
    ; END IF
; END
$$;
