#!/bin/sh
# Create the read-only role Grafana logs in as (dashboards/provisioning/datasources/meetnet.yaml).
# Grafana runs whatever SQL a dashboard editor types, so it must not connect as the owner of the
# tables. docker-compose.yml mounts this file into /docker-entrypoint-initdb.d/, which the
# timescaledb image runs once, as POSTGRES_USER, when it initialises an empty data volume, i.e.
# before `meetnet migrate` creates the tables. For an existing volume (or to change the
# password) run it by hand; it is idempotent:
#   docker compose exec timescaledb sh /docker-entrypoint-initdb.d/100-grafana-reader.sh
set -eu
: "${GRAFANA_DB_PASSWORD:?set GRAFANA_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 -v reader_password="$GRAFANA_DB_PASSWORD" \
     --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
SELECT 'CREATE ROLE grafana_reader'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana_reader') \gexec
ALTER ROLE grafana_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE
    PASSWORD :'reader_password';
-- Belt and braces: even a grant given by mistake later cannot be used to write, and a runaway
-- dashboard query is stopped before it slows ingest down.
ALTER ROLE grafana_reader SET default_transaction_read_only = on;
ALTER ROLE grafana_reader SET statement_timeout = '30s';
GRANT CONNECT ON DATABASE :"DBNAME" TO grafana_reader;
GRANT USAGE ON SCHEMA public TO grafana_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO grafana_reader;
-- Tables and views that POSTGRES_USER creates later (`meetnet migrate` runs as that user);
-- on TimescaleDB, chunks take their hypertable's grants.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO grafana_reader;
SQL
