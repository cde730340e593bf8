-- Issue 9: ingest that no message and no sender can stop or fool.

-- A message whose handling raised an unexpected exception (a bug, a pathological codec result)
-- is kept at stage 'internal' instead of stopping ingest.
ALTER TABLE dead_letters DROP CONSTRAINT IF EXISTS dead_letters_stage_check;
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_stage_check
    CHECK (stage IN ('parse', 'lookup', 'decode', 'validate', 'store', 'internal'));
-- A dead letter keeps at most the first 64 KiB of a message (a sender must not be able to fill
-- the database with one publish), plus the whole message's length and SHA-256, so an operator
-- can still tell messages apart and match them with the network server's logs. NULL in rows
-- from before this migration: their payload is whole.
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_length integer;
ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS payload_sha256 bytea;

-- The network (and, on The Things Stack, the tenant) a device's uplinks must come from; NULL:
-- not known, any. Set on auto-registration from the first uplink, or by the registry's owner.
ALTER TABLE devices ADD COLUMN IF NOT EXISTS network text
    CHECK (network IN ('tts', 'chirpstack', 'webhook'));
ALTER TABLE devices ADD COLUMN IF NOT EXISTS tenant_id text;

-- Ingest's heartbeat, one row per ingest client id: lets the API's readiness check (and an
-- operator) see that ingest is alive and how long ago it last committed, also when ingest runs
-- as its own process or on another host.
CREATE TABLE IF NOT EXISTS ingest_status (
    client_id       text PRIMARY KEY,
    host            text NOT NULL DEFAULT '',
    pid             integer,
    started_at      timestamptz NOT NULL DEFAULT now(),
    heartbeat_at    timestamptz NOT NULL DEFAULT now(),
    last_commit_at  timestamptz,
    state           text NOT NULL DEFAULT 'running'
);
