-- TimescaleDB: hypertables, hourly and daily continuous aggregates, compression and retention.
-- Runs outside a transaction (continuous aggregates refuse one); every statement is idempotent.
SELECT create_hypertable('readings', by_range('time', INTERVAL '7 days'), if_not_exists => TRUE, migrate_data => TRUE);
SELECT create_hypertable('uplinks', by_range('received_at', INTERVAL '7 days'), if_not_exists => TRUE, migrate_data => TRUE);
CREATE INDEX IF NOT EXISTS uplinks_dev_time_idx ON uplinks (dev_eui, received_at);
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_hourly WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, device_id, metric_id,
           avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
    FROM readings GROUP BY bucket, device_id, metric_id WITH NO DATA;
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_daily WITH (timescaledb.continuous) AS
    SELECT time_bucket(INTERVAL '1 day', time) AS bucket, device_id, metric_id,
           avg(value) AS avg, min(value) AS min, max(value) AS max, count(*) AS n
    FROM readings GROUP BY bucket, device_id, metric_id WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_hourly', start_offset => INTERVAL '3 days', end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes', if_not_exists => TRUE);
SELECT add_continuous_aggregate_policy('readings_daily', start_offset => INTERVAL '30 days', end_offset => INTERVAL '1 day', schedule_interval => INTERVAL '1 day', if_not_exists => TRUE);
ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id, metric_id', timescaledb.compress_orderby = 'time DESC');
SELECT add_compression_policy('readings', INTERVAL '30 days', if_not_exists => TRUE);
ALTER TABLE uplinks SET (timescaledb.compress, timescaledb.compress_segmentby = 'dev_eui', timescaledb.compress_orderby = 'received_at DESC');
SELECT add_compression_policy('uplinks', INTERVAL '30 days', if_not_exists => TRUE);
-- Raw uplinks are kept two years for re-derivation; readings are kept (aggregates keep their own).
SELECT add_retention_policy('uplinks', INTERVAL '730 days', if_not_exists => TRUE);
