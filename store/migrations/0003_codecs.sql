-- JavaScript codecs (TTN device repository format) that organisations attach to a device model of
-- their own: meetnet runs them in a sandbox (decoders/js.py) and maps their `data` to catalog
-- metrics through the field map.
CREATE TABLE IF NOT EXISTS codecs (
    model_key        text PRIMARY KEY CHECK (model_key ~ '^[a-z0-9-]+/[a-z0-9-]+$'),
    organisation_id  bigint NOT NULL REFERENCES organisations(id) ON DELETE CASCADE,
    use_case         text NOT NULL DEFAULT 'any',
    source           text NOT NULL,
    field_map        jsonb NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
