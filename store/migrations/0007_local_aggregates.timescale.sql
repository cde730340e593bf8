-- Time buckets in local days (issue 10, store/series.py). readings_daily held UTC days, which
-- are wrong for every user outside UTC (a Dutch day starts at 23:00 or 22:00 UTC), and a
-- per-zone daily aggregate would be one view per time zone: it goes. Local days, and hours,
-- of any zone with a whole-hour UTC offset are unions of UTC hours, so one hourly aggregate
-- serves them all. It replaces readings_hourly, which lacked sum and last: avg of a bucket is
-- sum / n over its hours (never an average of averages), last is the last value of its latest
-- hour. Real-time (materialized_only = false): hours after the newest materialized one are read
-- from the raw readings, so answers match stock PostgreSQL. A reading stored late into an hour
-- that is materialized already (backfill, meetnet reprocess) shows once the policy has run
-- again, within 30 minutes; its start_offset is NULL so that it re-materializes such hours
-- however old they are.
-- Runs outside a transaction, like 0002; every statement is idempotent.
DROP MATERIALIZED VIEW IF EXISTS readings_daily;
DROP MATERIALIZED VIEW IF EXISTS readings_hourly;
CREATE MATERIALIZED VIEW IF NOT EXISTS readings_by_hour
    WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
    SELECT time_bucket(INTERVAL '1 hour', time) AS bucket, device_id, metric_id,
           sum(value) AS sum, count(*) AS n, min(value) AS min, max(value) AS max,
           last(value, time) AS last
    FROM readings GROUP BY bucket, device_id, metric_id WITH NO DATA;
SELECT add_continuous_aggregate_policy('readings_by_hour', start_offset => NULL, end_offset => INTERVAL '1 hour', schedule_interval => INTERVAL '30 minutes', if_not_exists => TRUE);
