#!/bin/sh
# Create the read-only role Grafana logs in as (dashboards/provisioning/datasources/meetnet.yaml).
# Grafana runs whatever SQL a dashboard editor types, so it must not connect as the owner of the
# tables, and it reads no table at all: only the views of schema `grafana` (made by migration
# 0009), which show open devices, plus the devices of organisations granted to the role with
# `meetnet grafana grant grafana_reader --org SLUG` (docs/architecture.md, "Who sees my data").
# docker-compose.yml mounts this file into /docker-entrypoint-initdb.d/, which the timescaledb
# image runs once, as POSTGRES_USER, when it initialises an empty data volume, i.e. before
# `meetnet migrate` creates the tables. For an existing volume (or to change the password) run
# it by hand; it is idempotent, and takes back the SELECT on every table that earlier versions
# of it granted:
#   docker compose exec timescaledb sh /docker-entrypoint-initdb.d/100-grafana-reader.sh
set -eu
: "${GRAFANA_DB_PASSWORD:?set GRAFANA_DB_PASSWORD}"

psql -v ON_ERROR_STOP=1 -v reader_password="$GRAFANA_DB_PASSWORD" \
     --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<'SQL'
SELECT 'CREATE ROLE grafana_reader'
WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'grafana_reader') \gexec
ALTER ROLE grafana_reader WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS
    PASSWORD :'reader_password';
-- Belt and braces: even a grant given by mistake later cannot be used to write, and a runaway
-- dashboard query is stopped before it slows ingest down.
ALTER ROLE grafana_reader SET default_transaction_read_only = on;
ALTER ROLE grafana_reader SET statement_timeout = '30s';
-- An editor's `FROM readings` finds the view; public stays on the path for functions
-- (TimescaleDB's time_bucket), whose tables the role may not read.
ALTER ROLE grafana_reader SET search_path = grafana, public;
GRANT CONNECT ON DATABASE :"DBNAME" TO grafana_reader;
-- No table: the views decide what the role sees.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM grafana_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE SELECT ON TABLES FROM grafana_reader;
-- The schema is made here when this runs before the migrations (owned by POSTGRES_USER, who
-- runs them), so that the views migration 0009 creates in it later are granted by default.
CREATE SCHEMA IF NOT EXISTS grafana;
GRANT USAGE ON SCHEMA grafana TO grafana_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA grafana TO grafana_reader;
ALTER DEFAULT PRIVILEGES IN SCHEMA grafana GRANT SELECT ON TABLES TO grafana_reader;
SQL
