-- Issue 10: the network servers' HTTP integrations (The Things Stack webhooks, ChirpStack's HTTP
-- integration) post uplinks to /v1/ingest/{tts,chirpstack} with a secret of the organisation
-- whose devices they carry (`meetnet orgs ingest-secret create SLUG`). Separate from api_keys:
-- a key that reads data must not be able to write uplinks, and a secret pasted into a network
-- server's console must not be able to read anything. Stored like API keys: SHA-256 of the
-- secret, its first characters as the lookup prefix.
CREATE TABLE IF NOT EXISTS ingest_secrets (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id  bigint NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    prefix           text NOT NULL UNIQUE,
    secret_hash      bytea NOT NULL,
    -- NULL: either network server may use it
    network          text CHECK (network IN ('tts', 'chirpstack')),
    name             text NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    revoked_at       timestamptz
);
CREATE INDEX IF NOT EXISTS ingest_secrets_organisation_idx ON ingest_secrets (organisation_id);
