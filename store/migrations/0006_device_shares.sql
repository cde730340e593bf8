-- Issue 10: a `shared` device is readable by its own organisation and by the organisations it is
-- shared with, named here (`meetnet devices share EUI --with SLUG`).
CREATE TABLE IF NOT EXISTS device_shares (
    device_id        bigint NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    organisation_id  bigint NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, organisation_id)
);
CREATE INDEX IF NOT EXISTS device_shares_organisation_idx ON device_shares (organisation_id);
