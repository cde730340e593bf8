-- Stock PostgreSQL: plain tables; BRIN on time suits append-mostly, time-ordered rows at a
-- fraction of a B-tree's size.
CREATE INDEX IF NOT EXISTS readings_time_brin ON readings USING brin (time);
CREATE INDEX IF NOT EXISTS uplinks_time_brin ON uplinks USING brin (received_at);
CREATE INDEX IF NOT EXISTS uplinks_dev_time_idx ON uplinks (dev_eui, received_at);
