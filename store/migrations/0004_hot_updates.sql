-- Every committed batch updates the row of each device it heard from (last seen, battery) and
-- the newest value of each of its metrics. With full pages (the default fillfactor 100) such an
-- update cannot stay on its page, so it writes a new entry into every index of the table and
-- leaves the table to bloat. Half-empty pages let PostgreSQL make them HOT updates (no index
-- writes). Measured on 20,000 benchmark uplinks: 10% -> 100% HOT updates, both tables 6x
-- smaller, 20% less WAL per message. Pages written before this migration keep their old fill
-- until they are rewritten (VACUUM FULL); both tables are small.
ALTER TABLE devices SET (fillfactor = 50);
ALTER TABLE latest_readings SET (fillfactor = 50);
